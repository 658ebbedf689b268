import assert from 'node:assert/strict';
import os from 'node:os';
import { describe, test } from 'node:test';
import { parseConfigText } from '../../src/config/load.js';
import { ProxyAccess } from '../../src/handlers/forward/access.js';
import { SelfCheck } from '../../src/handlers/forward/self.js';
import { parseAbsolute, parseAuthority } from '../../src/handlers/forward/target.js';
import { requestHeaders } from '../../src/handlers/proxy/headers.js';
import { assertPlace, failure } from '../config/helpers.js';

describe('forward proxy targets', () => {
  test('CONNECT authority-form: host:port only', () => {
    assert.deepEqual(parseAuthority('Example.COM:443'), { host: 'example.com', port: 443, name: 'example.com:443' });
    assert.deepEqual(parseAuthority('[::1]:8443'), { host: '::1', port: 8443, name: '[::1]:8443' });
    assert.deepEqual(parseAuthority('0x7f.1:443'), { host: '127.0.0.1', port: 443, name: '127.0.0.1:443' }, 'IPv4 forms are normalised');
    for (const bad of ['example.com', 'example.com:', ':443', 'a:0', 'a:65536', 'a:+1', 'u@a:443', 'http://a:443', 'a b:1', '[::1:443', 'a:443/x']) {
      assert.equal(parseAuthority(bad), undefined, bad);
    }
  });

  test('absolute-form: the origin to connect to and the path exactly as written', () => {
    assert.deepEqual(parseAbsolute('http://a.example/x/../y?q=%41'), {
      kind: 'ok', target: { host: 'a.example', port: 80, name: 'a.example:80' }, origin: 'http://a.example:80', path: '/x/../y?q=%41',
    });
    const bare = parseAbsolute('HTTP://A:8080?x=1');
    assert.equal(bare.kind === 'ok' && `${bare.origin} ${bare.path}`, 'http://a:8080 /?x=1');
    const v6 = parseAbsolute('http://[::1]:81');
    assert.equal(v6.kind === 'ok' && `${v6.origin} ${v6.path}`, 'http://[::1]:81 /');
    const empty = parseAbsolute('http://a:/');
    assert.equal(empty.kind === 'ok' && empty.target.port, 80, 'an empty port is the default one');
    assert.deepEqual(parseAbsolute('https://a/'), { kind: 'scheme', scheme: 'https' });
    assert.equal(parseAbsolute('http://u:p@a/').kind, 'bad');
    assert.equal(parseAbsolute('http:///x').kind, 'bad');
    assert.equal(parseAbsolute('http://a:0/').kind, 'bad');
    assert.equal(parseAbsolute('/x').kind, 'bad');
  });
});

describe('forward proxy access', () => {
  test('clients by address (IPv4-mapped included), ports by list and range', () => {
    const access = new ProxyAccess(['127.0.0.1', '10.0.0.0/8', '::1'], ['443', '8000-8099']);
    for (const ip of ['127.0.0.1', '::ffff:127.0.0.1', '10.2.3.4', '::1']) assert.ok(access.allowsClient(ip), ip);
    for (const ip of ['127.0.0.2', '11.0.0.1', '::2', '', 'nonsense']) assert.ok(!access.allowsClient(ip), ip);
    for (const port of [443, 8000, 8050, 8099]) assert.ok(access.allowsPort(port), String(port));
    for (const port of [80, 442, 7999, 8100]) assert.ok(!access.allowsPort(port), String(port));
    assert.ok(!new ProxyAccess([], ['443']).allowsClient('127.0.0.1'), 'empty proxy_allow = nobody');
  });

  test('the proxy recognises itself by address and port, and by its Via entry', () => {
    const self = new SelfCheck(() => 5000, '');
    for (const host of ['127.0.0.1', '127.9.9.9', '::1', '::ffff:7f00:1', 'localhost', os.hostname().toLowerCase(), '0.0.0.0']) assert.ok(self.isSelf(host, 5000), host);
    // Other spellings of the same hosts, as the URL parser hands them over.
    const iface = Object.values(os.networkInterfaces()).flat().find((a) => a?.family === 'IPv4' && !a.internal)?.address;
    const mapped = iface === undefined ? [] : [new URL(`http://[::ffff:${iface}]/`).hostname.slice(1, -1)];
    for (const host of ['localhost.', `${os.hostname().toLowerCase()}.`, '127.0.0.1.', ...mapped]) assert.ok(self.isSelf(host, 5000), host);
    assert.ok(new SelfCheck(() => 5000, '10.9.8.7').isSelf(new URL('http://[::ffff:10.9.8.7]/').hostname.slice(1, -1), 5000), 'the bind address, IPv4-mapped');
    assert.ok(!self.isSelf('127.0.0.1', 5001));
    assert.ok(!self.isSelf('192.0.2.1', 5000));
    assert.equal(self.via, `1.1 ${os.hostname().toLowerCase()}:5000`);
    assert.ok(self.seenIn(['1.0 cache', `1.1 ${os.hostname().toUpperCase()}:5000 (comment)`]));
    assert.ok(!self.seenIn(`1.1 ${os.hostname()}:5001, 1.1 other:5000`));
    assert.ok(!self.seenIn(undefined));
  });

  test('forwarded request headers: Via appended, X-Forwarded-Proto/-Host left as the client sent them', () => {
    const raw = ['Host', 'a', 'Via', '1.0 c1', 'X-Forwarded-Proto', 'https', 'Proxy-Connection', 'keep-alive', 'Via', '1.1 c2', 'Accept', '*/*'];
    assert.deepEqual(requestHeaders(raw, { peer: '127.0.0.1', trustedPeer: false, via: '1.1 me:1' }, false), [
      'X-Forwarded-Proto', 'https', 'Accept', '*/*', 'x-forwarded-for', '127.0.0.1', 'via', '1.0 c1, 1.1 c2, 1.1 me:1',
    ]);
  });
});

describe('forward proxy config keys', () => {
  const server = (body: string) => parseConfigText(`[server]\n${body}\n`, '/etc/skitai/site.conf', '/srv').server;

  test('defaults: loopback clients, CONNECT to 443', () => {
    const s = server('');
    assert.deepEqual(s.proxyAllow, ['127.0.0.1', '::1']);
    assert.deepEqual(s.proxyConnectPorts, ['443']);
    assert.equal(s.proxyConnectTimeout, 10_000);
    assert.equal(s.proxyTimeout, 60_000);
    assert.equal(s.proxyIdleTimeout, 300_000);
  });

  for (const [line, expected] of [
    ['proxy_allow = 127.0.0.1, localhost', /"localhost" is not one/],
    ['proxy_connect_ports = 443, 0', /"0" is not one/],
    ['proxy_connect_ports = 9000-8000', /"9000-8000" is not one/],
    ['proxy_connect_ports = https', /ports \(443\) or port ranges/],
    ['proxy_timeout = 0', /a duration from 1ms/],
  ] as const) {
    test(line, () => {
      const err = failure('SKT_CONFIG_VALUE', () => server(line));
      assertPlace(err, 2, line.split('=')[0]!.trim());
      assert.match(err.message, expected);
    });
  }
});

describe('forward proxy per-request shortcuts (the answers are remembered, never changed)', () => {
  test('the same authority parses the same, good or bad, past the bound of remembered ones', () => {
    const first = parseAbsolute('http://Cache.Example:8080/a');
    for (let i = 0; i < 1100; i++) parseAbsolute(`http://h${i}.example/`);
    const again = parseAbsolute('http://Cache.Example:8080/b?x');
    assert.deepEqual(again, { kind: 'ok', target: { host: 'cache.example', port: 8080, name: 'cache.example:8080' }, origin: 'http://cache.example:8080', path: '/b?x' });
    assert.ok(first.kind === 'ok' && first.path === '/a');
    assert.equal(parseAbsolute('http://a b/').kind, 'bad');
    assert.equal(parseAbsolute('http://a b/x').kind, 'bad', 'a remembered bad authority stays bad');
  });

  test('client verdicts hold for thousands of addresses', () => {
    const access = new ProxyAccess(['10.0.0.0/8'], ['443']);
    for (let i = 0; i < 5000; i++) assert.equal(access.allowsClient(`10.0.${i >> 8}.${i & 255}`), true);
    for (let i = 0; i < 5000; i++) assert.equal(access.allowsClient(`11.0.${i >> 8}.${i & 255}`), false);
    assert.equal(access.allowsClient('::ffff:10.1.2.3'), true);
    assert.equal(access.allowsClient('::ffff:10.1.2.3'), true, 'asked again');
    assert.equal(access.allowsClient('not an address'), false);
  });

  test('the listening port is read until it is known (0 before listen), then kept', () => {
    let port = 0;
    let reads = 0;
    const self = new SelfCheck(() => (reads++, port), '');
    assert.equal(self.isSelf('127.0.0.1', 5001), false);
    port = 5001;
    assert.equal(self.isSelf('127.0.0.1', 5001), true, 'the port once listening');
    const after = reads;
    assert.equal(self.isSelf('127.0.0.1', 5001), true);
    assert.equal(self.isSelf('127.0.0.1', 5002), false);
    assert.equal(reads, after, 'not read again');
  });
});

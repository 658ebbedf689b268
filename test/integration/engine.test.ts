import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { rawRequest } from '../support/raw.js';
import { startSite, type TestSite } from '../support/site.js';
import { until } from '../support/until.js';

const WEBAPP = `
import { App } from 'skitai';
export const app = new App();
app.route('/hello', () => 'Hello World');
app.route('/remote', (was) => ({ remote: was.request.remote }));
app.route('/slow', async () => { await new Promise((r) => setTimeout(r, 400)); return 'finally'; });
app.route('/later', async () => { await new Promise((r) => setImmediate(r)); return 'answered later'; });
`;

let s: TestSite;

before(async () => {
  s = await startSite(
    `[server]
header_timeout = 1
request_timeout = 5
keep_alive = 2
max_header_size = 4k
access_log = access.log

[routes:line]
/ = ./webapp
`,
    { 'webapp.ts': WEBAPP },
  );
});
after(() => s.close());

describe('HTTP engine', () => {
  test('keep-alive: several requests on one connection', async () => {
    const r = await rawRequest(
      s.port,
      'GET /hello HTTP/1.1\r\nHost: x\r\n\r\nGET /ping HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );
    assert.equal(r.text.match(/HTTP\/1\.1 200 OK/g)?.length, 3);
    assert.match(r.text, /pong/);
    assert.equal(r.closed, true);
  });

  test('malformed request lines and headers get 400 and the connection is closed', async () => {
    for (const payload of ['GARBAGE\r\n\r\n', 'GET /hello HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n', 'GET /hello HTTP/9.9\r\nHost: x\r\n\r\n']) {
      const r = await rawRequest(s.port, payload);
      assert.equal(r.status, 400, JSON.stringify(payload));
      assert.equal(r.closed, true);
    }
  });

  /** Status lines of a raw reply, in order. */
  const statuses = (text: string): number[] => [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));

  test('pipelined requests before a malformed one are all answered, in order, then 400 and close', async () => {
    const bad = 'GET /hello HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n';
    const after = 'GET /hello HTTP/1.1\r\nHost: x\r\n\r\n';
    // Synchronous and asynchronous handlers: the async ones answer after the parser met the bad request.
    for (const [first, body] of [['/hello', 'Hello World'], ['/later', 'answered later'], ['/slow', 'finally']] as const) {
      const r = await rawRequest(s.port, `GET ${first} HTTP/1.1\r\nHost: x\r\n\r\n${bad}${after}`, 3000);
      assert.deepEqual(statuses(r.text), [200, 400], `${first}: ${JSON.stringify(r.text)}`);
      assert.equal(r.body.slice(0, body.length), body, `${first}: the first response is whole, first`);
      assert.ok(r.text.indexOf(body) < r.text.indexOf('400 Bad Request'));
      assert.equal(r.closed, true);
    }
    // Several before the bad one, the slowest first: each in request order, then the 400.
    const r = await rawRequest(s.port, `GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /later HTTP/1.1\r\nHost: x\r\n\r\nGET /ping HTTP/1.1\r\nHost: x\r\n\r\n${bad}${after}`, 3000);
    assert.deepEqual(statuses(r.text), [200, 200, 200, 400]);
    const order = ['finally', 'answered later', 'pong', '400 Bad Request'].map((t) => r.text.indexOf(t));
    assert.deepEqual([...order].sort((a, b) => a - b), order, JSON.stringify(r.text));
    assert.equal(r.closed, true);
    // An error inside a request's body (bad chunking) is that request's answer, after the ones before it.
    const chunked = 'POST /hello HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nZZ\r\n';
    const b = await rawRequest(s.port, `GET /later HTTP/1.1\r\nHost: x\r\n\r\n${chunked}`, 3000);
    assert.deepEqual(statuses(b.text), [200, 400], JSON.stringify(b.text));
    assert.ok(b.text.indexOf('answered later') < b.text.indexOf('400 Bad Request'));
    assert.equal(b.closed, true);
    // A response that closes the connection itself is the last: no 400 follows it.
    const c = await rawRequest(s.port, `GET /later HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n${bad}`, 3000);
    assert.deepEqual(statuses(c.text), [200]);
    assert.equal(c.closed, true);
  });

  test('HTTP/0.9 request lines get 400 and other major versions 505, and the connection is closed', async () => {
    for (const payload of [
      'GET /ping\r\n\r\n',
      // llhttp reads a bare LF after the target as HTTP/0.9 too, headers and body included.
      'GET /ping\nHost: x\r\nContent-Length: 5\r\n\r\nhello',
    ]) {
      const r = await rawRequest(s.port, payload);
      assert.deepEqual(statuses(r.text), [400], JSON.stringify(payload));
      assert.match(r.body, /HTTP\/0\.9 is not supported/);
      assert.equal(r.closed, true);
    }
    // `GET /ping` + CRLF, and the client done sending: never a 200.
    const eof = await rawRequest(s.port, 'GET /ping\r\n', 3000, { halfClose: true });
    assert.deepEqual(statuses(eof.text), [400]);
    assert.equal(eof.closed, true);
    const two = await rawRequest(s.port, 'GET /ping HTTP/2.0\r\nHost: x\r\n\r\n');
    assert.deepEqual(statuses(two.text), [505]);
    assert.equal(two.closed, true);
    // HTTP/1.0 is still served.
    const ten = await rawRequest(s.port, 'GET /ping HTTP/1.0\r\n\r\n');
    assert.equal(ten.status, 200);
    assert.equal(ten.body, 'pong');
  });

  test('HTTP/1.1 without Host is a 400', async () => {
    const r = await rawRequest(s.port, 'GET /hello HTTP/1.1\r\n\r\n');
    assert.equal(r.status, 400);
  });

  test('oversized headers get 431', async () => {
    const r = await rawRequest(s.port, `GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(8000)}\r\n\r\n`);
    assert.equal(r.status, 431);
    assert.equal(r.closed, true);
  });

  test('a client that never finishes its headers gets 408 and is disconnected', async () => {
    const started = Date.now();
    const r = await rawRequest(s.port, 'GET /hello HTTP/1.1\r\nHost: x\r\n', 4000);
    assert.equal(r.status, 408);
    assert.equal(r.closed, true);
    // header_timeout is 1 s; request_timeout (5 s) would be the later cut.
    assert.ok(Date.now() - started < 4500, 'cut near header_timeout, not later');
  });

  test('an idle keep-alive connection is closed after keep_alive seconds', async () => {
    const socket = net.connect(s.port, '127.0.0.1');
    socket.write('GET /ping HTTP/1.1\r\nHost: x\r\n\r\n');
    const started = Date.now();
    await new Promise<void>((resolve) => socket.on('close', () => resolve()).on('data', () => undefined));
    const waited = Date.now() - started;
    assert.ok(waited >= 1500 && waited < 4500, `closed after ${waited} ms`);
  });

  test('OPTIONS * and absolute-form targets', async () => {
    const o = await rawRequest(s.port, 'OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.equal(o.status, 200);
    assert.match(o.headers.allow!, /GET/);
    const a = await rawRequest(s.port, `GET http://127.0.0.1:${s.port}/hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.equal(a.status, 200);
    assert.match(a.body, /Hello World/);
  });

  test('X-Forwarded-For is ignored when no proxy is trusted', async () => {
    const r = (await (await fetch(s.base + '/remote', { headers: { 'x-forwarded-for': '203.0.113.9' } })).json()) as { remote: string };
    assert.equal(r.remote, '127.0.0.1');
  });

  test('the access log has one Skitai-format line per request', async () => {
    await fetch(s.base + '/hello?x=1');
    const log = path.join(s.dir, 'access.log');
    const line = await until(() => fs.readFileSync(log, 'utf8').split('\n').find((l) => l.includes('/hello?x=1')), 5000, 'the access line');
    assert.match(line, /^\d{4}\.\d\d\.\d\d \d\d:\d\d:\d\d \[info\] 127\.0\.0\.1:\d+ GET \/hello\?x=1 HTTP\/1\.1 200 \d+ [\d.]+ms [\w-]+$/);
  });
});

describe('access log as JSON', () => {
  test('one JSON object per request, with status, bytes and time', async () => {
    const t = await startSite('[server]\naccess_log = access.json\naccess_log_format = json\n[routes:line]\n/ = ./webapp\n', { 'webapp.ts': WEBAPP });
    try {
      await (await fetch(t.base + '/hello?json=1')).text();
      const entry = await until(() => {
        const lines = fs.readFileSync(path.join(t.dir, 'access.json'), 'utf8').trim().split('\n');
        return lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e.url === '/hello?json=1');
      }, 5000, 'a JSON access line for the request');
      assert.equal(entry.method, 'GET');
      assert.equal(entry.status, 200);
      assert.equal(entry.remote, '127.0.0.1');
      assert.ok((entry.bytes as number) > 11);
      assert.equal(typeof entry.ms, 'number');
      assert.equal(entry.aborted, false);
    } finally {
      await t.close();
    }
  });

  test('bytes: exactly what the client received for each response, head and body, on a kept-alive connection', async () => {
    const t = await startSite('[server]\naccess_log = access.json\naccess_log_format = json\n[routes:line]\n/ = ./webapp\n', { 'webapp.ts': WEBAPP });
    try {
      // Two requests one after the other on one connection: each line counts its own response, not
      // the connection's total. (Pipelined requests are not: see docs/logging.md.)
      const socket = net.connect(t.port, '127.0.0.1');
      let received = '';
      socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
      const sizes: number[] = [];
      for (const q of ['a', 'bb']) {
        const before = received.length;
        socket.write(`GET /hello?bytes=${q} HTTP/1.1\r\nHost: x\r\n\r\n`);
        await until(() => received.slice(before).endsWith('\r\n\r\nHello World'), 5000, `the answer to ${q}`);
        sizes.push(received.length - before);
      }
      socket.destroy();
      const entries = await until(() => {
        const lines = fs.readFileSync(path.join(t.dir, 'access.json'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
        const mine = ['/hello?bytes=a', '/hello?bytes=bb'].map((u) => lines.find((e) => e.url === u));
        return mine.every(Boolean) ? mine : undefined;
      }, 5000, 'both access lines');
      assert.deepEqual(entries.map((e) => e!.bytes), sizes);
    } finally {
      await t.close();
    }
  });
});

describe('graceful close', () => {
  test('an in-flight request finishes; new connections are refused', async () => {
    const t = await startSite('[routes:line]\n/ = ./webapp\n', { 'webapp.ts': WEBAPP });
    const slow = fetch(t.base + '/slow').then((r) => r.text());
    await until(() => t.site.engine.inFlight === 1, 5000, 'the slow request in flight');
    // close() stops listening before its first await: the next connection is refused at once.
    const closing = t.close();
    await assert.rejects(fetch(t.base + '/hello'));
    assert.equal(await slow, 'finally');
    await closing;
  });
});

describe('X-Forwarded-For chain', () => {
  test('only the hops added by trusted proxies are skipped', async () => {
    const t = await startSite('[server]\ntrusted_proxies = 127.0.0.1, 10.0.0.0/8\n[routes:line]\n/ = ./webapp\n', { 'webapp.ts': WEBAPP });
    try {
      const remote = async (xff: string): Promise<string> =>
        ((await (await fetch(t.base + '/remote', { headers: { 'x-forwarded-for': xff } })).json()) as { remote: string }).remote;
      assert.equal(await remote('198.51.100.1, 10.1.2.3'), '198.51.100.1');
      assert.equal(await remote('1.1.1.1, 198.51.100.1, 10.1.2.3'), '198.51.100.1', 'a forged left-most hop is not believed');
      assert.equal(await remote('not-an-ip'), '127.0.0.1');
    } finally {
      await t.close();
    }
  });
});

import assert from 'node:assert/strict';
import fs from 'node:fs';
import type https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeTestCerts, type TestCerts } from '../support/certs.js';
import { rawRequest } from '../support/raw.js';
import { startSite, type TestSite } from '../support/site.js';
import { closedWithin, curl, deadPort, startHttps, startTcp } from '../support/targets.js';
import { until as waitUntil } from '../support/until.js';

// CONNECT tunnels through a real site: curl -p to a local HTTPS server (trusting the test CA), raw
// sockets for everything curl would not do, and a TCP origin whose sockets the tests watch close.

const uncaught: unknown[] = [];
process.on('uncaughtException', (err) => uncaught.push(err));
process.on('unhandledRejection', (err) => uncaught.push(err));

let site: TestSite;
let certs: TestCerts;
let tls: https.Server & { port: number };
let tcp: net.Server & { port: number };
const accepted: net.Socket[] = [];
let dead: number;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** True once `check` holds (the suite's until(), which waits generously), false if it never does. */
const until = (check: () => boolean, ms?: number): Promise<boolean> => waitUntil(check, ms).then(() => true, () => false);

/** A client socket with a tunnel to `port` established; resolves after the 200 line. */
async function tunnel(port: number, sitePort = site.port): Promise<{ socket: net.Socket; origin: net.Socket; received: () => string }> {
  const count = accepted.length;
  const socket = net.connect(sitePort, '127.0.0.1');
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
  socket.on('error', () => undefined);
  socket.write(`CONNECT 127.0.0.1:${port} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
  await waitUntil(() => text.includes('\r\n\r\n'), 10_000, 'the answer to the CONNECT');
  assert.equal(text, 'HTTP/1.1 200 Connection Established\r\n\r\n');
  await waitUntil(() => accepted.length > count, 10_000, 'the origin to accept the tunnel');
  return { socket, origin: accepted[count]!, received: () => text.slice(text.indexOf('\r\n\r\n') + 4) };
}

function accessLines(): string[] {
  const file = path.join(site.dir, 'access.log');
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

before(async () => {
  certs = makeTestCerts();
  tls = await startHttps(certs.cert, certs.key);
  tcp = await startTcp(accepted);
  dead = await deadPort();
  site = await startSite(
    `[server]\nenable_proxy = yes\naccess_log = access.log\nproxy_connect_ports = ${tls.port}, ${tcp.port}, ${dead}\n` +
      'proxy_idle_timeout = 1s\nheader_timeout = 1s\nrequest_timeout = 1s\n',
  );
});

after(async () => {
  await site.close();
  tls.close();
  tcp.close();
  for (const s of accepted) s.destroy();
  certs.remove();
  assert.deepEqual(uncaught, []);
});

describe('forward proxy: CONNECT tunnels', () => {
  test('curl -p reaches a local HTTPS server through the tunnel; the access line has the bytes up/down', async () => {
    const r = await curl(['-p', '-x', site.base, '--cacert', certs.caFile, `https://127.0.0.1:${tls.port}/hello`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'secure hello /hello');
    assert.ok(await until(() => accessLines().some((l) => l.includes(`CONNECT 127.0.0.1:${tls.port}`))));
    const line = accessLines().find((l) => l.includes(`CONNECT 127.0.0.1:${tls.port}`))!;
    const m = / HTTP\/1\.1 200 (\d+)\/(\d+) /.exec(line);
    assert.ok(m, line);
    assert.ok(Number(m[1]) > 100 && Number(m[2]) > 100, `TLS both ways: ${line}`);
  });

  test('bytes sent with the CONNECT head reach the target; bytes flow both ways', async () => {
    const count = accepted.length;
    // 1 s of quiet after the last byte: the echo comes through the tunnel after the 200 line.
    const r = await rawRequest(site.port, `CONNECT 127.0.0.1:${tcp.port} HTTP/1.1\r\nHost: x\r\n\r\nearly`, 1000);
    assert.equal(r.text, 'HTTP/1.1 200 Connection Established\r\n\r\necho:early');
    assert.ok(await closedWithin(accepted[count]!, 1000), 'the client left, so the target connection closes');
  });

  test('the client leaving mid-tunnel closes the target connection; nothing stays in flight', async () => {
    const t = await tunnel(tcp.port);
    t.socket.write('ping');
    assert.ok(await until(() => t.received() === 'echo:ping'));
    t.socket.destroy();
    assert.ok(await closedWithin(t.origin, 1000));
    // A reset instead of a FIN: the error path closes the target too.
    const reset = await tunnel(tcp.port);
    reset.socket.resetAndDestroy();
    assert.ok(await closedWithin(reset.origin, 1000));
    assert.ok(await until(() => site.site.engine.inFlight === 0));
  });

  test('the target closing closes the client connection, after what it sent', async () => {
    const t = await tunnel(tcp.port);
    t.origin.end('bye');
    assert.ok(await closedWithin(t.socket, 1000));
    assert.equal(t.received(), 'bye');
  });

  test('a tunnel lives past request_timeout while bytes flow, and closes after proxy_idle_timeout of silence', async () => {
    const t = await tunnel(tcp.port);
    // Traffic every 0.1 s for 1.5 s is the behaviour under test (only a stall of 0.9 s on a loaded
    // machine could reach the 1 s idle timeout).
    for (let i = 0; i < 15; i++) {
      await sleep(100);
      t.socket.write('.');
    }
    assert.ok(!t.socket.destroyed && !t.origin.destroyed, 'alive after 1.5 s of traffic with request_timeout = 1s');
    const silent = Date.now();
    assert.ok(await closedWithin(t.origin, 2500));
    assert.ok(await closedWithin(t.socket, 500));
    assert.ok(Date.now() - silent >= 900, 'not before the idle timeout');
  });

  test('malformed CONNECT targets are 400 and the connection closes', async () => {
    for (const target of ['example.com', '127.0.0.1:0', ':443', '127.0.0.1:99999', 'user@127.0.0.1:443', `[::1:${tcp.port}`, `http://127.0.0.1:${tcp.port}/`]) {
      const r = await rawRequest(site.port, `CONNECT ${target} HTTP/1.1\r\nHost: x\r\n\r\n`, 100);
      assert.equal(r.status, 400, target);
      assert.match(r.body, /SKT_FORWARD_TARGET: CONNECT needs a host:port target/, target);
      assert.ok(r.closed, target);
    }
  });

  test('a password in a refused target reaches neither the access log nor the server log', async () => {
    await rawRequest(site.port, `CONNECT bob:hunter2@127.0.0.1:${tcp.port} HTTP/1.1\r\nHost: x\r\n\r\n`, 100);
    await rawRequest(site.port, `GET http://bob:hunter2@127.0.0.1:${tcp.port}/ HTTP/1.1\r\nHost: x\r\n\r\n`, 100);
    await rawRequest(site.port, `GET http://bob:hunter2@127.0.0.1:${tcp.port}/ HTTP/1.1\r\nHost: x\r\n\r\n`, 100, { localAddress: '127.0.0.2' });
    assert.ok(await until(() => accessLines().filter((l) => l.includes('***@127.0.0.1')).length >= 3), 'the three requests are logged, user info masked');
    assert.deepEqual(accessLines().filter((l) => l.includes('hunter2')), []);
    assert.ok(site.logLines.some((l) => l.includes('forward-proxy') && l.includes('***@127.0.0.1')), 'the refusals are in the server log, masked');
    assert.deepEqual(site.logLines.filter((l) => l.includes('hunter2')), []);
  });

  test('a client outside proxy_allow gets 403', async () => {
    const r = await rawRequest(site.port, `CONNECT 127.0.0.1:${tcp.port} HTTP/1.1\r\nHost: x\r\n\r\n`, 300, { localAddress: '127.0.0.2' });
    assert.equal(r.status, 403);
    assert.match(r.body, /SKT_FORWARD_DENIED: 127\.0\.0\.2 may not use this proxy/);
    assert.ok(r.closed);
  });

  test('a port outside proxy_connect_ports gets 403 and no connection is made', async () => {
    const count = accepted.length;
    const r = await rawRequest(site.port, 'CONNECT 127.0.0.1:25 HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(r.status, 403);
    assert.match(r.body, /SKT_FORWARD_PORT: tunnels to port 25 are not allowed/);
    assert.equal(accepted.length, count);
    assert.ok(await until(() => accessLines().some((l) => / CONNECT 127\.0\.0\.1:25 HTTP\/1\.1 403 0\/\d+ /.test(l))), 'the refusal is in the access log');
  });

  test('a dead target is 502 with the reason', async () => {
    const r = await rawRequest(site.port, `CONNECT 127.0.0.1:${dead} HTTP/1.1\r\nHost: x\r\n\r\n`);
    assert.equal(r.status, 502);
    assert.match(r.body, new RegExp(`SKT_FORWARD_BAD_GATEWAY: cannot connect to 127\\.0\\.0\\.1:${dead} \\(ECONNREFUSED\\)`));
    assert.ok(r.closed);
  });

  test('a CONNECT that already passed through this proxy (Via) is 508', async () => {
    const r = await rawRequest(site.port, `CONNECT 127.0.0.1:${tcp.port} HTTP/1.1\r\nHost: x\r\nVia: 1.1 ${os.hostname()}:${site.port}\r\n\r\n`);
    assert.equal(r.status, 508);
    assert.match(r.body, /SKT_FORWARD_LOOP/);
  });

  test('a proxy listening on HTTPS tunnels too (TLS to the proxy, TLS inside the tunnel)', async () => {
    const secure = await startSite(
      `[server]\nssl = yes\ncertfile = server.pem\nkeyfile = server.key\nenable_proxy = yes\nproxy_connect_ports = ${tls.port}\n`,
      { 'server.pem': certs.cert, 'server.key': certs.key },
    );
    try {
      const r = await curl(['--proxy', `https://127.0.0.1:${secure.port}`, '--proxy-cacert', certs.caFile, '-p', '--cacert', certs.caFile, `https://127.0.0.1:${tls.port}/inner`]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'secure hello /inner');
    } finally {
      await secure.close();
    }
  });

  test('stopping the site closes open tunnels within the grace period', async () => {
    const own = await startSite(`[server]\nenable_proxy = yes\nproxy_connect_ports = ${tcp.port}\ngrace_period = 300ms\n`);
    const t = await tunnel(tcp.port, own.port);
    const started = Date.now();
    await own.site.close(300);
    await own.close();
    assert.ok(Date.now() - started < 2000);
    assert.ok(await closedWithin(t.origin, 500));
    assert.ok(await closedWithin(t.socket, 500));
  });
});

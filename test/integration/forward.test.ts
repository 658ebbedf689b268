import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseReply, rawRequest } from '../support/raw.js';
import { startSite, type TestSite } from '../support/site.js';
import { BIG_SIZE, bigSha, curl, deadPort, floodHandler, listen, startEcho, type Echoed } from '../support/targets.js';
import { until as waitUntil } from '../support/until.js';
import net from 'node:net';

// `enable_proxy = yes` with real clients: curl -x for absolute-form forwarding, raw sockets for the
// requests curl will not send. Every origin is a real server on 127.0.0.1.

const uncaught: unknown[] = [];
process.on('uncaughtException', (err) => uncaught.push(err));
process.on('unhandledRejection', (err) => uncaught.push(err));

let site: TestSite;
let echo: http.Server & { port: number };
let badStatus: net.Server & { port: number };
let dead: number;
const hanging: http.IncomingMessage[] = [];
let scratch: string;

/** curl through the proxy with `-i`: the status, lower-case headers and body of the (last) response. */
async function viaProxy(url: string, ...args: string[]): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const r = await curl(['-i', '-x', site.base, ...args, url]);
  assert.equal(r.code, 0, `curl failed: ${r.stderr}`);
  // Interim answers (`100 Continue` to curl's Expect) come first; the last head is the response.
  const reply = parseReply(r.stdout.replace(/^(?:HTTP\/1\.1 1\d\d [^\r]*\r\n(?:[^\r]+\r\n)*\r\n)+/, ''));
  return { status: reply.status, headers: reply.headers, body: reply.body };
}

const echoed = (body: string): Echoed => JSON.parse(body) as Echoed;

/** True once `check` holds (the suite's until(), which waits generously), false if it never does. */
const until = (check: () => boolean, ms?: number): Promise<boolean> => waitUntil(check, ms).then(() => true, () => false);

before(async () => {
  echo = await startEcho(hanging);
  badStatus = await listen(net.createServer((s) => s.on('error', () => undefined).end('HTTP/1.1 999 Odd\r\ncontent-length: 0\r\n\r\n')));
  dead = await deadPort();
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-forward-'));
  site = await startSite(`[server]\nenable_proxy = yes\nproxy_timeout = 500ms\n`);
});

after(async () => {
  for (const req of hanging) req.socket.destroy();
  await site.close();
  echo.close();
  badStatus.close();
  fs.rmSync(scratch, { recursive: true, force: true });
  assert.deepEqual(uncaught, []);
});

describe('forward proxy: absolute-form requests (curl -x)', () => {
  test('GET reaches the origin with its path and query as written, hop-by-hop headers dropped, Via and X-Forwarded-For added', async () => {
    const r = await viaProxy(`http://127.0.0.1:${echo.port}/a/b?c=1&d=%41`, '-H', 'Connection: X-Secret', '-H', 'X-Secret: 1', '-H', 'X-Forwarded-For: 10.1.2.3',
      '-H', 'Proxy-Authorization: Basic Zm9vOmJhcg==', '-H', 'Via: 1.0 upstream-cache');
    assert.equal(r.status, 200);
    const seen = echoed(r.body);
    assert.equal(seen.method, 'GET');
    assert.equal(seen.url, '/a/b?c=1&d=%41');
    assert.equal(seen.headers.host, `127.0.0.1:${echo.port}`);
    assert.equal(seen.headers['x-secret'], undefined, 'a header named by Connection is hop-by-hop');
    assert.equal(seen.headers['proxy-authorization'], undefined);
    assert.equal(seen.headers['proxy-connection'], undefined, "curl's Proxy-Connection stops at the proxy");
    assert.equal(seen.headers['x-forwarded-for'], '10.1.2.3, 127.0.0.1');
    assert.equal(seen.headers['x-forwarded-proto'], undefined, 'a forward proxy speaks for no origin');
    assert.equal(seen.headers.via, `1.0 upstream-cache, 1.1 ${os.hostname().toLowerCase()}:${site.port}`);
    // The answer: the origin's headers minus its hop-by-hop ones, with our Via.
    assert.equal(r.headers['x-origin'], 'echo');
    assert.equal(r.headers['proxy-agent'], undefined);
    assert.equal(r.headers.via, `1.1 ${os.hostname().toLowerCase()}:${site.port}`);
  });

  test("the origin gets the request's id as X-Request-Id (the client's replaced), and the client's traceparent as sent", async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const r = await viaProxy(`http://127.0.0.1:${echo.port}/id`, '-H', 'X-Request-Id: forged-3', '-H', `traceparent: ${traceparent}`);
    assert.equal(r.status, 200);
    const seen = echoed(r.body);
    const id = r.headers['x-request-id'];
    assert.match(id ?? '', /^[0-9a-z]{10}-[0-9a-z]+$/, 'the answer names the request');
    assert.equal(seen.headers['x-request-id'], id, 'the origin can log the same id');
    assert.equal(seen.headers.traceparent, traceparent);
  });

  test('POST with a small body, and HEAD', async () => {
    const r = await viaProxy(`http://127.0.0.1:${echo.port}/form`, '-d', 'a=1&b=2');
    const seen = echoed(r.body);
    assert.equal(seen.method, 'POST');
    assert.equal(seen.length, 7);
    assert.equal(seen.headers['content-length'], '7');
    const head = await viaProxy(`http://127.0.0.1:${echo.port}/x`, '-I');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
  });

  test('an 8 MiB upload streams through with its Content-Length, and chunked as chunked', async () => {
    const file = path.join(scratch, 'upload.bin');
    const data = randomBytes(8 * 1024 * 1024);
    fs.writeFileSync(file, data);
    const sha = createHash('sha256').update(data).digest('hex');
    const sized = echoed((await viaProxy(`http://127.0.0.1:${echo.port}/up`, '--data-binary', `@${file}`)).body);
    assert.equal(sized.length, data.length);
    assert.equal(sized.sha256, sha);
    assert.equal(sized.headers['content-length'], String(data.length));
    const chunked = echoed((await viaProxy(`http://127.0.0.1:${echo.port}/up`, '-H', 'Transfer-Encoding: chunked', '--data-binary', `@${file}`)).body);
    assert.equal(chunked.length, data.length);
    assert.equal(chunked.sha256, sha);
    assert.equal(chunked.headers['transfer-encoding'], 'chunked');
    assert.equal(chunked.headers['content-length'], undefined);
  });

  test('an 8 MiB download streams back whole', async () => {
    const out = path.join(scratch, 'down.bin');
    const r = await curl(['-x', site.base, '-o', out, '-w', '%{http_code} %{size_download}', `http://127.0.0.1:${echo.port}/big`]);
    assert.equal(r.stdout, `200 ${BIG_SIZE}`);
    assert.equal(createHash('sha256').update(fs.readFileSync(out)).digest('hex'), bigSha());
  });

  test('a dead origin is 502 with a clear message; the connection stays usable', async () => {
    const r = await viaProxy(`http://127.0.0.1:${dead}/`);
    assert.equal(r.status, 502);
    assert.match(r.body, /SKT_FORWARD_BAD_GATEWAY: cannot connect to 127\.0\.0\.1:\d+: .*ECONNREFUSED/);
    assert.notEqual(r.headers.connection, 'close');
    // undici never reads the body of a POST it cannot send; the client still gets its page, not a reset.
    const post = await viaProxy(`http://127.0.0.1:${dead}/`, '-d', 'x=1');
    assert.equal(post.status, 502);
  });

  test('an origin that never answers is 504 after proxy_timeout', async () => {
    const started = Date.now();
    const r = await viaProxy(`http://127.0.0.1:${echo.port}/hang`);
    assert.equal(r.status, 504);
    assert.match(r.body, /SKT_FORWARD_TIMEOUT: no response from 127\.0\.0\.1:\d+ within 0\.5 s/);
    assert.ok(Date.now() - started < 5000, 'answered at proxy_timeout (curl start-up included), not held');
    assert.ok(hanging.length > 0);
    assert.ok(await until(() => hanging.every((req) => req.socket.destroyed)), 'the origin connection of a timed-out request is closed');
  });

  test('an invalid status from the origin is 502, never a crash', async () => {
    const r = await viaProxy(`http://127.0.0.1:${badStatus.port}/`);
    assert.equal(r.status, 502);
    assert.match(r.body, /SKT_FORWARD_BAD_GATEWAY: 127\.0\.0\.1:\d+ answered with an invalid status \(999\)/);
  });

  test('the proxy does not forward to itself: its own address, or a Via that already names it (508)', async () => {
    const self = await viaProxy(`http://127.0.0.1:${site.port}/ping`);
    assert.equal(self.status, 508);
    assert.match(self.body, /SKT_FORWARD_LOOP/);
    const local = await viaProxy(`http://localhost:${site.port}/ping`);
    assert.equal(local.status, 508);
    const dotted = await rawRequest(site.port, `GET http://localhost.:${site.port}/ping HTTP/1.1\r\nHost: localhost.:${site.port}\r\nConnection: close\r\n\r\n`);
    assert.equal(dotted.status, 508, 'the fully qualified spelling localhost.');
    const via = await viaProxy(`http://127.0.0.1:${echo.port}/`, '-H', `Via: 1.1 ${os.hostname()}:${site.port}`);
    assert.equal(via.status, 508);
  });

  test('Max-Forwards: 0 on OPTIONS or TRACE is answered by the proxy; otherwise it is decremented', async () => {
    const url = `http://127.0.0.1:${echo.port}/mf`;
    const options = await viaProxy(url, '-X', 'OPTIONS', '-H', 'Max-Forwards: 0');
    assert.equal(options.status, 200);
    assert.equal(options.headers.allow, 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, CONNECT');
    assert.equal(options.headers['x-origin'], undefined, 'the origin was not asked');
    const trace = await viaProxy(url, '-X', 'TRACE', '-H', 'Max-Forwards: 0');
    assert.equal(trace.status, 405);
    assert.equal(echoed((await viaProxy(url, '-X', 'OPTIONS', '-H', 'Max-Forwards: 3')).body).headers['max-forwards'], '2');
    assert.equal(echoed((await viaProxy(url, '-H', 'Max-Forwards: 0')).body).headers['max-forwards'], '0', 'only OPTIONS and TRACE count hops');
  });

  test('malformed and unsupported targets', async () => {
    const https = await rawRequest(site.port, `GET https://127.0.0.1:${echo.port}/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`, 150);
    assert.equal(https.status, 501);
    assert.match(https.body, /SKT_FORWARD_SCHEME: https:\/\/ targets are not forwarded; use CONNECT/);
    const creds = await rawRequest(site.port, `GET http://user:secret@127.0.0.1:${echo.port}/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`, 150);
    assert.equal(creds.status, 400);
    assert.match(creds.body, /SKT_FORWARD_TARGET: user:password in the target is not forwarded/);
    assert.doesNotMatch(creds.body, /secret/);
    const ftp = await rawRequest(site.port, 'GET ftp://127.0.0.1/x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', 150);
    assert.equal(ftp.status, 400, 'the engine refuses targets it cannot read before any handler');
  });

  test('a client outside proxy_allow gets 403; origin-form requests are still served', async () => {
    const denied = await rawRequest(site.port, `GET http://127.0.0.1:${echo.port}/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`, 150, { localAddress: '127.0.0.2' });
    assert.equal(denied.status, 403);
    assert.match(denied.body, /SKT_FORWARD_DENIED: 127\.0\.0\.2 may not use this proxy/);
    const ping = await rawRequest(site.port, 'GET /ping HTTP/1.1\r\nHost: x\r\n\r\n', 150, { localAddress: '127.0.0.2' });
    assert.equal(ping.body, 'pong');
  });

  test('a client that stops reading is cut after proxy_timeout, freeing the origin connection', async () => {
    let originClosed = false;
    const stalled = await listen(http.createServer(floodHandler(() => (originClosed = true))));
    const client = net.connect(site.port, '127.0.0.1');
    client.on('error', () => undefined);
    client.once('data', () => client.pause());
    client.write(`GET http://127.0.0.1:${stalled.port}/ HTTP/1.1\r\nHost: x\r\n\r\n`);
    try {
      assert.ok(await until(() => originClosed, 4000), 'the origin response is closed, not held for ever');
    } finally {
      client.destroy();
      stalled.closeAllConnections();
      stalled.close();
    }
  });

  test('the client leaving aborts the origin request', async () => {
    const before = hanging.length;
    const socket = net.connect(site.port, '127.0.0.1');
    socket.write(`GET http://127.0.0.1:${echo.port}/hang HTTP/1.1\r\nHost: x\r\n\r\n`);
    assert.ok(await until(() => hanging.length === before + 1));
    socket.destroy();
    const origin = hanging[before]!.socket;
    assert.ok(await until(() => origin.destroyed), 'the origin connection is closed when the client leaves');
  });
});

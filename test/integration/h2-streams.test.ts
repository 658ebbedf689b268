// h2 streams without a request body are answered over node:http2's stream API (H2Request/H2Response,
// docs/http2.md); streams with a body, an Expect or CONNECT through its compatibility API. What a
// client sees of both: frames on the wire (raw h2c), headers, streamed bodies with backpressure, a
// client that leaves mid-stream, the access log.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import http2 from 'node:http2';
import { after, before, describe, test } from 'node:test';
import { FRAME, frame, h2Connect, h2Request, PREFACE, readFrames, requestBlock } from '../support/h2.js';
import { startSite, type TestSite } from '../support/site.js';
import { until } from '../support/until.js';

const CHUNK = 16 * 1024;
const APP = `
import { App } from 'skitai';
export const app = new App();
const g = globalThis as any;
app.route('/hello', () => 'Hello h2');
app.route('/remote', (was) => was.request.remote);
app.route('/two-cookies', (was) => { was.cookie.set('a', '1'); was.cookie.set('b', '2'); return 'ok'; });
// No body: respond() ends the response without writeHead(); the cookie hook must still run.
app.route('/cookie-no-body', (was) => { was.cookie.set('c', '3'); return undefined; });
app.route('/bad-header', (was) => { was.response.set('x-bad', 'a\\r\\nb'); return 'never'; });
app.route('/cookie-204', (was) => { was.cookie.set('d', '4'); was.response.status = 204; return undefined; });
// 4 MiB in 16 KiB chunks: more than the stream's buffer and the client's window, so it only gets
// through if 'drain' reaches the pipeline.
app.route('/big', async function* () { for (let i = 0; i < 256; i++) yield Buffer.alloc(${CHUNK}, 97 + (i % 26)); });
app.route('/endless', async function* () {
  g.endless = 'running';
  try { for (;;) yield Buffer.alloc(${CHUNK}, 120); } finally { g.endless = 'stopped'; }
});
app.route('/echo', (was) => ({ method: was.request.method, body: String(was.request.body) }), { methods: ['POST'] });
`;

let s: TestSite;
before(async () => {
  s = await startSite('[server]\nhttp2 = h2c\naccess_log = access.log\n[routes:line]\n/bare = ./listener.mjs:default\n/read = ./read.mjs:default\n/ = ./static\n/ = ./app\n', {
    'app.ts': APP,
    'listener.mjs': "export default (req, res) => { res.setHeader('x-seen', req.url); res.statusCode = 201; res.end('mounted ' + req.method + ' ' + req.headers[':authority']); };\n",
    // Reads a GET's body as a stream, as a framework waiting for 'end' would.
    'read.mjs': "export default async (req, res) => { let n = 0; for await (const c of req) n += c.length; res.end(JSON.stringify({ n, ended: req.readableEnded, remote: req.socket.remoteAddress })); };\n",
    'static/one.txt': 'a'.repeat(1024),
  });
});
after(() => s.close());

/** The frames the server sends on stream 1 for one request (`headers` flags: END_HEADERS, plus END_STREAM without a body). */
async function framesFor(method: string, path: string, extra: Buffer[] = []): Promise<ReturnType<typeof readFrames>> {
  const sock = net.connect(s.port, '127.0.0.1');
  await new Promise((resolve) => sock.once('connect', resolve));
  const got: Buffer[] = [];
  sock.on('data', (d: Buffer) => got.push(d));
  sock.on('error', () => undefined);
  const END_STREAM = 0x1;
  const END_HEADERS = 0x4;
  sock.write(Buffer.concat([PREFACE, frame(FRAME.SETTINGS, 0, 0), frame(FRAME.HEADERS, END_HEADERS | (extra.length ? 0 : END_STREAM), 1, requestBlock(method, path)), ...extra]));
  try {
    return await until(() => {
      const frames = readFrames(Buffer.concat(got)).filter((f) => f.stream === 1);
      return frames.some((f) => (f.flags & END_STREAM) !== 0 || f.type === FRAME.RST_STREAM) ? frames : undefined;
    }, 10_000, `the answer to ${method} ${path}`);
  } finally {
    sock.destroy();
  }
}

const kinds = (frames: ReturnType<typeof readFrames>): string[] =>
  frames.map((f) => `${f.type === FRAME.HEADERS ? 'HEADERS' : f.type === FRAME.DATA ? `DATA(${f.payload.length})` : `type ${f.type}`}${f.flags & 1 ? '+END' : ''}`);

describe('h2 streams without a body (stream API)', () => {
  test('an app answer is HEADERS and one DATA frame that ends the stream: no trailing empty frame', async () => {
    assert.deepEqual(kinds(await framesFor('GET', '/hello')), ['HEADERS', 'DATA(8)+END']);
  });

  test('a cached static file: HEADERS + DATA; HEAD ends the stream on HEADERS', async () => {
    await framesFor('GET', '/one.txt'); // the first hit reads the file; the next ones are prepared
    assert.deepEqual(kinds(await framesFor('GET', '/one.txt')), ['HEADERS', 'DATA(1024)+END']);
    assert.deepEqual(kinds(await framesFor('HEAD', '/one.txt')), ['HEADERS+END']);
    assert.deepEqual(kinds(await framesFor('HEAD', '/hello')), ['HEADERS+END']);
  });

  test('headers: one X-Request-Id, Date, every Set-Cookie; static 200, HEAD and 304 from the prepared file', async () => {
    const session = await h2Connect(s.base);
    try {
      const hello = await h2Request(session, '/hello');
      assert.equal(hello.status, 200);
      assert.equal(hello.headers['content-type'], 'text/html; charset=utf-8');
      assert.equal(hello.headers['content-length'], '8');
      assert.match(String(hello.headers['x-request-id']), /\S+/);
      assert.ok(hello.headers.date);
      const cookies = await h2Request(session, '/two-cookies');
      assert.deepEqual((cookies.headers['set-cookie'] as string[]).map((c) => c.split(';')[0]), ['a=1', 'b=2']);
      for (const [path, status, cookie] of [['/cookie-no-body', 200, 'c=3'], ['/cookie-204', 204, 'd=4']] as const) {
        const got = await h2Request(session, path);
        assert.equal(got.status, status, path);
        assert.deepEqual((got.headers['set-cookie'] as string[] | undefined)?.map((c) => c.split(';')[0]), [cookie], path);
        assert.equal(got.body.length, 0);
      }
      // A header value with CR/LF is refused on every response, however often its name was seen.
      for (let i = 0; i < 2; i++) assert.equal((await h2Request(session, '/bad-header')).status, 500);
      for (let i = 0; i < 2; i++) {
        const file = await h2Request(session, '/one.txt');
        assert.equal(file.status, 200);
        assert.equal(file.body.toString(), 'a'.repeat(1024));
        assert.equal(file.headers['content-length'], '1024');
        assert.equal(file.headers['content-type'], 'text/plain; charset=utf-8');
        assert.match(String(file.headers['x-request-id']), /\S+/);
        assert.notEqual(file.headers['x-request-id'], hello.headers['x-request-id']);
        const head = await h2Request(session, '/one.txt', { method: 'HEAD' });
        assert.equal(head.headers['content-length'], '1024');
        assert.equal(head.body.length, 0);
        const cached = await h2Request(session, '/one.txt', { headers: { 'if-none-match': file.headers.etag as string } });
        assert.equal(cached.status, 304);
        assert.equal(cached.headers.etag, file.headers.etag);
        assert.equal(cached.body.length, 0);
      }
    } finally {
      session.close();
    }
  });

  test('X-Request-Id is sent HPACK never-indexed: a new value per response must not churn the dynamic table', async () => {
    const session = await h2Connect(s.base);
    try {
      for (const path of ['/hello', '/cookie-no-body', '/one.txt', '/one.txt']) {
        const got = await h2Request(session, path);
        assert.deepEqual((got.headers as Record<symbol, unknown>)[http2.sensitiveHeaders], ['x-request-id'], path);
      }
    } finally {
      session.close();
    }
  });

  test('a mounted Node listener gets the request and answers through the same response', async () => {
    const session = await h2Connect(s.base);
    try {
      const got = await h2Request(session, '/bare/x?y=1');
      assert.equal(got.status, 201);
      assert.equal(got.headers['x-seen'], '/x?y=1');
      assert.equal(got.body.toString(), `mounted GET 127.0.0.1:${s.port}`);
    } finally {
      session.close();
    }
  });

  test('the client address reaches the app; a mounted listener reading a GET as a stream gets its end at once', async () => {
    const session = await h2Connect(s.base);
    try {
      assert.equal((await h2Request(session, '/remote')).body.toString(), '127.0.0.1');
      const got = await h2Request(session, '/read/x');
      assert.equal(got.status, 200);
      assert.deepEqual(JSON.parse(got.body.toString()), { n: 0, ended: true, remote: '127.0.0.1' });
    } finally {
      session.close();
    }
  });

  test('a streamed body larger than the window arrives whole (backpressure through drain)', async () => {
    const session = await h2Connect(s.base);
    try {
      const big = await h2Request(session, '/big');
      assert.equal(big.status, 200);
      assert.equal(big.body.length, 256 * CHUNK);
      for (let i = 0; i < 256; i += 37) assert.equal(big.body[i * CHUNK], 97 + (i % 26));
    } finally {
      session.close();
    }
  });

  test('a client that resets a stream mid-body: the generator is stopped and the request leaves the in-flight count', async () => {
    const g = globalThis as { endless?: string };
    const session = await h2Connect(s.base);
    try {
      const stream = session.request({ ':path': '/endless' });
      let received = 0;
      stream.on('data', (d: Buffer) => (received += d.length));
      stream.on('error', () => undefined);
      await until(() => received > 4 * CHUNK, 10_000, 'the first chunks');
      stream.close(http2.constants.NGHTTP2_CANCEL);
      await until(() => g.endless === 'stopped', 10_000, "the generator's finally");
      await until(() => s.site.engine.inFlight === 0, 10_000, 'no request in flight');
    } finally {
      session.close();
    }
  });

  test('the access log line of an h2 stream has its status, version and bytes', async () => {
    const session = await h2Connect(s.base);
    try {
      await h2Request(session, '/hello?logged=1');
    } finally {
      session.close();
    }
    const line = await until(() => fs.readFileSync(path.join(s.dir, 'access.log'), 'utf8').split('\n').find((l) => l.includes('/hello?logged=1')), 10_000, 'the access line');
    assert.match(line, / 200 /);
    assert.match(line, /HTTP\/2\.0/);
    assert.doesNotMatch(line, / 200 0 /);
    assert.doesNotMatch(line, /aborted/);
  });
});

describe('h2 streams with a body, Expect or CONNECT (compatibility API)', () => {
  test('a POST body and an Expect: 100-continue body reach the app', async () => {
    const session = await h2Connect(s.base);
    try {
      const post = await h2Request(session, '/echo', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'over h2' });
      assert.deepEqual(JSON.parse(post.body.toString()), { method: 'POST', body: 'over h2' });
      const stream = session.request({ ':method': 'POST', ':path': '/echo', 'content-type': 'text/plain', expect: '100-continue' }, { endStream: false });
      const chunks: Buffer[] = [];
      stream.on('continue', () => stream.end('after continue'));
      stream.on('data', (d: Buffer) => chunks.push(d));
      await new Promise((resolve) => stream.on('end', resolve));
      assert.deepEqual(JSON.parse(Buffer.concat(chunks).toString()), { method: 'POST', body: 'after continue' });
    } finally {
      session.close();
    }
  });

  test('an Expect other than 100-continue gets 417', async () => {
    const session = await h2Connect(s.base);
    try {
      assert.equal((await h2Request(session, '/hello', { headers: { expect: 'something' } })).status, 417);
    } finally {
      session.close();
    }
  });
});

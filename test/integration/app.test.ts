import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { startSite, type TestSite } from '../support/site.js';
import { settle, until } from '../support/until.js';

const run = promisify(execFile);

const WEBAPP = `
import { App, abort } from 'skitai';
import { Readable } from 'node:stream';
import fs from 'node:fs';
export const app = new App();
export const seen = { closedStreams: 0, startups: 0 };
app.startup(() => { seen.startups++; });
app.route('/hello', () => 'Hello World');
app.route('/item/<int:id>', (was, { id }) => ({ id, type: typeof id }));
app.route('/price/<float:p>', (was, { p }) => ({ p }));
app.route('/name/<name>', (was, { name }) => ({ name }));
app.route('/files/<path:rest>', (was, { rest }) => ({ rest }));
app.route('/args', (was, args) => {
  const out = { ...args };
  for (const [k, v] of Object.entries(out)) {
    if (v && typeof v === 'object' && 'local' in v) out[k] = { ...v, content: fs.readFileSync(v.local, 'utf8'), exists: true };
  }
  return { method: was.request.method, args: out };
});
app.route('/only-post', () => 'posted', { methods: ['POST'] });
app.route('/buffer', () => Buffer.from([1, 2, 3]));
app.route('/array', () => [1, 'two', { three: 3 }]);
app.route('/number', () => 42);
app.route('/readable', () => Readable.from(['a', 'b', 'c']));
app.route('/generator', async function* () { yield 'x'; yield 'y'; });
app.route('/endless', () => {
  let i = 0;
  const stream = new Readable({ read() { setTimeout(() => this.push('tick ' + i++ + '\\n'), 5); } });
  stream.on('close', () => { seen.closedStreams++; });
  return stream;
});
app.route('/closed', () => seen);
app.route('/response', () => {
  const headers = new Headers({ 'x-made': 'yes', 'content-type': 'text/plain' });
  headers.append('set-cookie', 'a=1');
  headers.append('set-cookie', 'b=2');
  return new Response('made', { status: 201, headers });
});
app.route('/status', (was) => { was.response.status = 202; was.response.set('x-custom', 'c'); return 'accepted'; });
app.route('/abort', () => abort(403, 'not for you'));
app.route('/boom', () => { throw new Error('kaboom secret-detail'); });
app.route('/async-boom', async () => { throw new Error('async kaboom'); });
app.route('/big', () => 'lorem ipsum dolor sit amet '.repeat(200));
app.route('/bigjson', () => ({ text: 'lorem ipsum '.repeat(300) }));
app.route('/fn', () => () => 1);
app.route('/dir/', () => 'dir index');
app.route('/remote', (was) => ({ remote: was.request.remote }));
app.route('/both.txt', () => 'from app');
`;

const HOOKAPP = `
import { App } from 'skitai';
export const app = new App();
app.before((was) => (was.request.getHeader('x-block') ? { blocked: true } : undefined));
app.before((was) => { was.g.user = 'ann'; });
app.after((was, result) => (typeof result === 'object' ? { ...result, wrapped: true } : undefined));
app.teardown((was, err) => (was.request.getHeader('x-rescue') ? { rescued: String(err.message) } : undefined));
app.route('/who', (was) => ({ user: was.g.user }));
app.route('/fail', () => { throw new Error('fail'); });
`;

let s: TestSite;

before(async () => {
  s = await startSite(
    `[server]
trusted_proxies = 127.0.0.1
compress_min_size = 1024
max_body_size = 64k

[routes:line]
/ = ./static
/ = ./webapp
/hooks = ./hookapp
/deep = ./static/sub
`,
    {
      'webapp.ts': WEBAPP,
      'hookapp.ts': HOOKAPP,
      'static/index.html': '<h1>index</h1>',
      'static/both.txt': 'from file',
      'static/sub/index.htm': 'sub index',
    },
  );
});
after(() => s.close());

async function get(p: string, init?: RequestInit): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(s.base + p, init);
  return { status: res.status, text: await res.text(), headers: res.headers };
}

describe('routes and static files', () => {
  test('/hello, /ping and the static index', async () => {
    assert.deepEqual((await get('/hello')).text, 'Hello World');
    const hello = await get('/hello');
    assert.match(hello.headers.get('content-type')!, /^text\/html/);
    const ping = await get('/ping');
    assert.equal(ping.text, 'pong');
    assert.equal(ping.headers.get('content-type'), 'text/plain');
    assert.equal((await get('/')).text, '<h1>index</h1>');
  });

  test('a real file wins for GET; the app answers other methods on the same path', async () => {
    assert.equal((await get('/both.txt')).text, 'from file');
    assert.equal((await get('/both.txt', { method: 'POST', body: 'x=1' })).text, 'from app');
  });

  test('longest prefix wins, and a directory without slash gets 301', async () => {
    assert.equal((await get('/deep/')).text, 'sub index');
    const r = await fetch(s.base + '/deep?x=1', { redirect: 'manual' });
    assert.equal(r.status, 301);
    assert.equal(r.headers.get('location'), '/deep/?x=1');
    const d = await fetch(s.base + '/dir?q=2', { redirect: 'manual' });
    assert.equal(d.status, 301, 'an app route ending in / redirects the bare path');
    assert.equal(d.headers.get('location'), '/dir/?q=2');
  });

  test('unknown paths get a 404 page', async () => {
    const r = await get('/nope');
    assert.equal(r.status, 404);
    assert.match(r.text, /404 Not Found/);
  });
});

describe('route params', () => {
  test('int, float, string and path converters', async () => {
    assert.deepEqual(JSON.parse((await get('/item/42')).text), { id: 42, type: 'number' });
    assert.equal((await get('/item/abc')).status, 404);
    assert.deepEqual(JSON.parse((await get('/price/3.25')).text), { p: 3.25 });
    assert.deepEqual(JSON.parse((await get('/name/J%C3%BCrgen%20K')).text), { name: 'Jürgen K' });
    assert.deepEqual(JSON.parse((await get('/files/a/b/c.txt')).text), { rest: 'a/b/c.txt' });
  });
});

describe('argument binding', () => {
  test('query args, repeated names become arrays', async () => {
    const r = JSON.parse((await get('/args?a=1&b=x&b=y')).text);
    assert.deepEqual(r.args, { a: '1', b: ['x', 'y'] });
  });

  test('urlencoded form and JSON bodies', async () => {
    const form = JSON.parse((await get('/args?q=1', { method: 'POST', body: new URLSearchParams('a=1&a=2&c=3') })).text);
    assert.deepEqual(form.args, { q: '1', a: ['1', '2'], c: '3' });
    const json = JSON.parse((await get('/args', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"n":5,"list":[1,2]}' })).text);
    assert.deepEqual(json.args, { n: 5, list: [1, 2] });
  });

  test('multipart upload through curl: fields and spooled files, removed after the request', async () => {
    const file = path.join(s.dir, 'upload.txt');
    fs.writeFileSync(file, 'file body');
    const { stdout } = await run('curl', ['-s', '-F', 'title=hi', '-F', `doc=@${file};type=text/plain`, s.base + '/args']);
    const r = JSON.parse(stdout);
    assert.equal(r.args.title, 'hi');
    assert.equal(r.args.doc.remote, 'upload.txt');
    assert.equal(r.args.doc.mimetype, 'text/plain');
    assert.equal(r.args.doc.size, 9);
    assert.equal(r.args.doc.content, 'file body');
    await until(() => !fs.existsSync(r.args.doc.local), 5000, 'the temp file removed after the response');
  });

  test('a malformed JSON body is a 400, and the server keeps serving', async () => {
    const r = await get('/args', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"n":' });
    assert.equal(r.status, 400);
    assert.equal((await get('/hello')).text, 'Hello World');
  });

  test('a body over max_body_size gets 413', async () => {
    const r = await get('/args', { method: 'POST', body: new URLSearchParams({ a: 'x'.repeat(70_000) }) });
    assert.equal(r.status, 413);
    assert.equal((await get('/hello')).status, 200);
  });
});

describe('methods', () => {
  test('405 with Allow for a method the route does not take', async () => {
    const r = await get('/only-post');
    assert.equal(r.status, 405);
    assert.equal(r.headers.get('allow'), 'POST, OPTIONS');
    assert.equal((await get('/only-post', { method: 'POST' })).text, 'posted');
  });

  test('OPTIONS answers Allow; HEAD sends headers without a body', async () => {
    const o = await get('/only-post', { method: 'OPTIONS' });
    assert.equal(o.status, 204);
    assert.equal(o.headers.get('allow'), 'POST, OPTIONS');
    const any = await get('/hello', { method: 'OPTIONS' });
    assert.match(any.headers.get('allow')!, /GET, HEAD, POST/);
    const h = await get('/hello', { method: 'HEAD' });
    assert.equal(h.status, 200);
    assert.equal(h.text, '');
    assert.equal(h.headers.get('content-length'), '11');
  });
});

describe('return values', () => {
  test('Buffer, array, number, streams and Response objects', async () => {
    const b = await fetch(s.base + '/buffer');
    assert.equal(b.headers.get('content-type'), 'application/octet-stream');
    assert.deepEqual([...new Uint8Array(await b.arrayBuffer())], [1, 2, 3]);
    assert.deepEqual(JSON.parse((await get('/array')).text), [1, 'two', { three: 3 }]);
    assert.equal((await get('/number')).text, '42');
    assert.equal((await get('/readable')).text, 'abc');
    assert.equal((await get('/generator')).text, 'xy');
    const made = await get('/response');
    assert.equal(made.status, 201);
    assert.equal(made.headers.get('x-made'), 'yes');
    assert.deepEqual(made.headers.getSetCookie(), ['a=1', 'b=2']);
    assert.equal(made.text, 'made');
    const st = await get('/status');
    assert.equal(st.status, 202);
    assert.equal(st.headers.get('x-custom'), 'c');
  });

  test('a streamed body is destroyed when the client goes away', async () => {
    const before = JSON.parse((await get('/closed')).text).closedStreams;
    await new Promise<void>((resolve) => {
      const req = http.get(s.base + '/endless', (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => undefined);
    });
    await settle(async () => JSON.parse((await get('/closed')).text).closedStreams, (n) => n === before + 1, 'the stream destroyed');
  });

  test('a handler returning a function is a 500, not a crash', async () => {
    assert.equal((await get('/fn')).status, 500);
  });
});

describe('errors', () => {
  test('a throwing handler gives a 500 page without the stack, a log line with it, and the worker keeps serving', async () => {
    const r = await get('/boom');
    assert.equal(r.status, 500);
    assert.doesNotMatch(r.text, /kaboom|at .*webapp/);
    assert.ok(s.logLines.some((l) => l.includes('[error]') && l.includes('kaboom') && l.includes('webapp.ts')), 'stack in the log');
    assert.equal((await get('/async-boom')).status, 500);
    assert.equal((await get('/hello')).text, 'Hello World');
  });

  test('abort() answers with its status', async () => {
    const r = await get('/abort');
    assert.equal(r.status, 403);
    assert.match(r.text, /not for you/);
  });
});

describe('hooks', () => {
  test('startup ran once', async () => {
    assert.equal(JSON.parse((await get('/closed')).text).startups, 1);
  });

  test('before can short-circuit or prepare, after wraps, teardown rescues', async () => {
    assert.deepEqual(JSON.parse((await get('/hooks/who')).text), { user: 'ann', wrapped: true });
    assert.deepEqual(JSON.parse((await get('/hooks/who', { headers: { 'x-block': '1' } })).text), { blocked: true, wrapped: true });
    assert.equal((await get('/hooks/fail')).status, 500);
    const rescued = await get('/hooks/fail', { headers: { 'x-rescue': '1' } });
    assert.equal(rescued.status, 200);
    assert.deepEqual(JSON.parse(rescued.text), { rescued: 'fail' });
  });
});

/** GET without decoding (fetch would gunzip): the headers and the body as sent. */
function rawBody(p: string, acceptEncoding: string): Promise<{ headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http.get(s.base + p, { headers: { 'accept-encoding': acceptEncoding } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
    }).on('error', reject);
  });
}

describe('compression', () => {
  test('gzip and brotli for large text bodies, with Vary; none below the threshold', async () => {
    const g = await rawBody('/big', 'gzip');
    assert.equal(g.headers['content-encoding'], 'gzip');
    assert.equal(g.headers.vary, 'Accept-Encoding');
    assert.equal(zlib.gunzipSync(g.body).toString(), 'lorem ipsum dolor sit amet '.repeat(200));
    const b = await rawBody('/bigjson', 'gzip, br');
    assert.equal(b.headers['content-encoding'], 'br');
    assert.equal(JSON.parse(zlib.brotliDecompressSync(b.body).toString()).text.length, 3600);
    const small = await get('/hello', { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(small.headers.get('content-encoding'), null);
  });
});

describe('client address', () => {
  test('X-Forwarded-For is honoured from a trusted proxy only', async () => {
    const r = JSON.parse((await get('/remote', { headers: { 'x-forwarded-for': '203.0.113.9, 127.0.0.1' } })).text);
    assert.equal(r.remote, '203.0.113.9');
  });
});

import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { Exchange } from '../../src/http/handler.js';
import { BIG, BIG_TEXT, CSS, HELLO, get, makeTree, rawGet, serve, type Served, useServedTree } from './static-fixture.js';

let tree: ReturnType<typeof makeTree>;
let srv: Served;

useServedTree((t, s) => {
  tree = t;
  srv = s;
});

test('serves a file with type, length, validators and cache headers (fetch)', async () => {
  const res = await fetch(`http://127.0.0.1:${srv.port}/hello.html`);
  assert.equal(res.status, 200);
  assert.equal(await res.text(), HELLO);
  assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
  assert.equal(res.headers.get('content-length'), String(Buffer.byteLength(HELLO)));
  assert.equal(res.headers.get('cache-control'), 'max-age=60');
  assert.equal(res.headers.get('accept-ranges'), 'bytes');
  const mtime = fs.statSync(path.join(tree.root, 'hello.html')).mtimeMs;
  assert.equal(res.headers.get('last-modified'), new Date(mtime).toUTCString());
  assert.match(res.headers.get('etag') ?? '', /^"[0-9a-f]+-[0-9a-f]+"$/);
  // An HTML file is compressible, so caches must key on Accept-Encoding even when it was not compressed.
  assert.equal(res.headers.get('vary'), 'Accept-Encoding');
});

test('content types by extension, with the octet-stream default', async () => {
  const cases: Array<[string, string]> = [
    ['/app.css', 'text/css; charset=utf-8'],
    ['/big.bin', 'application/octet-stream'],
    ['/noext', 'application/octet-stream'],
    ['/big.txt', 'text/plain; charset=utf-8'],
  ];
  for (const [target, type] of cases) {
    const res = await get(srv.port, target, {}, 'HEAD');
    assert.equal(res.status, 200, target);
    assert.equal(res.headers['content-type'], type, target);
  }
  const bin = await get(srv.port, '/big.bin', {}, 'HEAD');
  assert.equal(bin.headers.vary, undefined, 'no Vary on a type that is never compressed');
});

test('a file with a space, a hidden file and a symlink inside the root are served', async () => {
  assert.equal((await get(srv.port, '/with%20space.txt')).body.toString(), 'spaced out\n');
  assert.equal((await get(srv.port, '/.hidden')).body.toString(), 'hidden but served\n');
  assert.equal((await get(srv.port, '/link-in.html')).body.toString(), HELLO);
});

test('methods other than GET and HEAD are declined without touching the response', async () => {
  for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS']) {
    const res = await get(srv.port, '/hello.html', {}, method);
    assert.equal(res.status, 404, method);
    assert.equal(res.body.toString(), 'declined', method);
  }
  const fake = { method: 'POST', res: { headersSent: false } } as unknown as Exchange;
  assert.equal(srv.handler.handle(fake, '', '/hello.html'), false, 'declines synchronously');
});

test('a missing file is declined so an app on the same prefix can answer', async () => {
  for (const target of ['/nope.html', '/sub/nope', '/hello.html/', '/noindex/', '/pipe.txt']) {
    const res = await get(srv.port, target);
    assert.equal(res.status, 404, target);
    assert.equal(res.body.toString(), 'declined', target);
  }
});

test('a directory without a trailing slash is redirected, query and prefix kept', async () => {
  let res = await get(srv.port, '/sub?a=1&b=%20');
  assert.equal(res.status, 301);
  assert.equal(res.headers.location, '/sub/?a=1&b=%20');
  res = await get(srv.port, '/static/sub');
  assert.equal(res.status, 301);
  assert.equal(res.headers.location, '/static/sub/');
  res = await get(srv.port, '/static');
  assert.equal(res.status, 301);
  assert.equal(res.headers.location, '/static/');
  // `//sub` must not become the protocol-relative `//sub/` (another host).
  const raw = await rawGet(srv.port, '//sub');
  assert.equal(raw.status, 301);
  assert.match(raw.head, /\r\nLocation: \/sub\/\r\n/i);
});

test('a directory with a slash serves index.html, then index.htm', async () => {
  assert.equal((await get(srv.port, '/sub/')).body.toString(), '<p>sub index</p>\n');
  assert.equal((await get(srv.port, '/static/sub/')).body.toString(), '<p>sub index</p>\n');
  const htm = await get(srv.port, '/oldstyle/');
  assert.equal(htm.body.toString(), '<p>htm index</p>\n');
  assert.equal(htm.headers['content-type'], 'text/html; charset=utf-8');
  const rootDir = await get(srv.port, '/');
  assert.equal(rootDir.status, 404, 'the root has no index file');
});

test('HEAD has the same headers as GET and no body', async () => {
  for (const [target, headers] of [
    ['/hello.html', {}],
    ['/app.css', { 'accept-encoding': 'gzip' }],
    ['/big.bin', {}],
    ['/big.txt', { 'accept-encoding': 'br' }],
  ] as const) {
    const g = await get(srv.port, target, headers);
    const h = await get(srv.port, target, headers, 'HEAD');
    assert.equal(h.status, 200, target);
    assert.equal(h.body.length, 0, target);
    for (const name of ['content-type', 'content-length', 'content-encoding', 'etag', 'last-modified', 'cache-control', 'vary', 'accept-ranges']) {
      assert.equal(h.headers[name], g.headers[name], `${target} ${name}`);
    }
    assert.equal(Number(h.headers['content-length']), g.body.length, target);
  }
});

test('a 1 MiB file streams intact with its length', async () => {
  const res = await get(srv.port, '/big.bin', { 'accept-encoding': 'gzip, br' });
  assert.equal(res.status, 200);
  assert.equal(res.headers['content-length'], String(BIG.length));
  assert.equal(res.headers['content-encoding'], undefined);
  assert.equal(createHash('sha256').update(res.body).digest('hex'), createHash('sha256').update(BIG).digest('hex'));
});

test('a large text file streams uncompressed but still says Vary', async () => {
  const res = await get(srv.port, '/big.txt', { 'accept-encoding': 'gzip' });
  assert.equal(res.headers['content-encoding'], undefined);
  assert.equal(res.headers.vary, 'Accept-Encoding');
  assert.equal(res.body.toString(), BIG_TEXT);
});

test('an empty file is a 200 with length 0, even when a range is asked', async () => {
  for (const headers of [{}, { range: 'bytes=0-10' }]) {
    const res = await get(srv.port, '/empty.txt', headers);
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-length'], '0');
    assert.equal(res.body.length, 0);
  }
});

test('concurrent cold requests for one small file share one read', async () => {
  fs.writeFileSync(path.join(tree.root, 'cold.css'), CSS);
  const opened: string[] = [];
  const open = fs.promises.open;
  const spy = mock.method(fs.promises, 'open', (p: fs.PathLike, ...rest: []) => {
    opened.push(String(p));
    return open(p, ...rest);
  });
  try {
    const all = await Promise.all(Array.from({ length: 20 }, () => get(srv.port, '/cold.css')));
    for (const res of all) assert.equal(res.body.toString(), CSS);
    assert.equal(opened.filter((p) => p.endsWith('cold.css')).length, 1);
  } finally {
    spy.mock.restore();
  }
});

test('a client that disconnects mid-stream does not disturb the server', async () => {
  await new Promise<void>((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: srv.port, path: '/big.bin', agent: false }, (res) => {
      res.once('data', () => {
        req.destroy();
        resolve();
      });
    });
    req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' ? resolve() : reject(err)));
  });
  const res = await get(srv.port, '/big.bin');
  assert.equal(res.body.length, BIG.length);
});

test('an unreadable file is a 403 page, not a crash', { skip: process.getuid?.() === 0 ? 'root reads everything' : false }, async () => {
  const file = path.join(tree.root, 'locked.txt');
  fs.writeFileSync(file, 'locked');
  fs.chmodSync(file, 0o000);
  const res = await get(srv.port, '/locked.txt');
  assert.equal(res.status, 403);
  assert.doesNotMatch(res.body.toString(), /locked$/);
});

test('file-system errors become 403 and 500 pages, and the 500 is reported', async () => {
  fs.writeFileSync(path.join(tree.root, 'denied.txt'), 'denied');
  fs.writeFileSync(path.join(tree.root, 'broken.txt'), 'broken');
  const reported: unknown[] = [];
  const local = await serve(tree.root, { maxAge: 1, onError: (_message, err) => reported.push(err) });
  const fail = (code: string): never => {
    throw Object.assign(new Error(`simulated ${code}`), { code });
  };
  const realpath = fs.promises.realpath;
  const open = fs.promises.open;
  // Root reads everything, so the failures are simulated at the fs boundary the handler uses.
  const r = mock.method(fs.promises, 'realpath', (p: fs.PathLike, ...rest: []) =>
    String(p).endsWith('broken.txt') ? Promise.reject(fail('EIO')) : realpath(p, ...rest));
  const o = mock.method(fs.promises, 'open', (p: fs.PathLike, ...rest: []) =>
    String(p).endsWith('denied.txt') ? Promise.reject(fail('EACCES')) : open(p, ...rest));
  try {
    const denied = await get(local.port, '/denied.txt');
    assert.equal(denied.status, 403);
    assert.doesNotMatch(denied.body.toString(), /^denied$/);
    const broken = await get(local.port, '/broken.txt');
    assert.equal(broken.status, 500);
    assert.doesNotMatch(broken.body.toString(), /simulated/, 'no details outside devel mode');
    assert.equal(reported.length, 1);
    assert.equal((reported[0] as NodeJS.ErrnoException).code, 'EIO');
    assert.equal((await get(local.port, '/hello.html')).status, 200, 'the server keeps serving');
  } finally {
    r.mock.restore();
    o.mock.restore();
    await local.close();
  }
});

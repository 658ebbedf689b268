/** Conditional requests, byte ranges, compression and cache freshness of the static handler. */
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import zlib from 'node:zlib';
import { BIG, CSS, HELLO, get, makeTree, serve, type Served, useServedTree } from './static-fixture.js';

let tree: ReturnType<typeof makeTree>;
let srv: Served;

useServedTree((t, s) => {
  tree = t;
  srv = s;
});

const CACHE_HEADERS = ['etag', 'last-modified', 'cache-control'] as const;

test('If-None-Match: a matching tag, a list, a weak tag and * give 304 with the cache headers', async () => {
  const first = await get(srv.port, '/hello.html');
  const etag = first.headers.etag!;
  for (const inm of [etag, `"nope", ${etag}`, `W/${etag}`, '*']) {
    for (const method of ['GET', 'HEAD']) {
      const res = await get(srv.port, '/hello.html', { 'if-none-match': inm }, method);
      assert.equal(res.status, 304, `${method} ${inm}`);
      assert.equal(res.body.length, 0);
      for (const name of CACHE_HEADERS) assert.equal(res.headers[name], first.headers[name], name);
      assert.equal(res.headers.vary, 'Accept-Encoding');
    }
  }
  const other = await get(srv.port, '/hello.html', { 'if-none-match': '"nope"' });
  assert.equal(other.status, 200);
  assert.equal(other.body.toString(), HELLO);
});

test('If-Modified-Since: 304 when not modified, ignored when invalid or when If-None-Match is present', async () => {
  const first = await get(srv.port, '/app.css');
  const lastModified = first.headers['last-modified']!;
  const later = new Date(Date.parse(lastModified) + 3600_000).toUTCString();
  const earlier = new Date(Date.parse(lastModified) - 3600_000).toUTCString();
  const cases: Array<[Record<string, string>, number]> = [
    [{ 'if-modified-since': lastModified }, 304],
    [{ 'if-modified-since': later }, 304],
    [{ 'if-modified-since': `${lastModified}; length=${CSS.length}` }, 304],
    [{ 'if-modified-since': earlier }, 200],
    [{ 'if-modified-since': 'not a date' }, 200],
    // If-None-Match wins: it does not match, so the (otherwise "not modified") date is ignored.
    [{ 'if-modified-since': later, 'if-none-match': '"other"' }, 200],
  ];
  for (const [headers, status] of cases) {
    const res = await get(srv.port, '/app.css', headers);
    assert.equal(res.status, status, JSON.stringify(headers));
    for (const name of CACHE_HEADERS) assert.equal(res.headers[name], first.headers[name], `${name} ${JSON.stringify(headers)}`);
    assert.equal(res.headers.vary, 'Accept-Encoding');
  }
});

test('If-Match and If-Unmodified-Since that fail give 412', async () => {
  const first = await get(srv.port, '/hello.html');
  assert.equal((await get(srv.port, '/hello.html', { 'if-match': '"other"' })).status, 412);
  assert.equal((await get(srv.port, '/hello.html', { 'if-match': first.headers.etag! })).status, 200);
  assert.equal((await get(srv.port, '/hello.html', { 'if-match': '*' })).status, 200);
  const earlier = new Date(Date.parse(first.headers['last-modified']!) - 3600_000).toUTCString();
  assert.equal((await get(srv.port, '/hello.html', { 'if-unmodified-since': earlier })).status, 412);
  assert.equal((await get(srv.port, '/hello.html', { 'if-unmodified-since': first.headers['last-modified']! })).status, 200);
});

test('single ranges give 206 with Content-Range, from memory and from disk', async () => {
  const css = Buffer.from(CSS);
  const cases: Array<[string, Buffer, string, number, number]> = [
    ['/app.css', css, 'bytes=0-9', 0, 9],
    ['/app.css', css, 'bytes=100-', 100, css.length - 1],
    ['/app.css', css, 'bytes=-7', css.length - 7, css.length - 1],
    ['/app.css', css, 'bytes=10-99999999', 10, css.length - 1],
    ['/app.css', css, 'bytes=-99999999', 0, css.length - 1],
    ['/big.bin', BIG, 'bytes=1000-1999', 1000, 1999],
    ['/big.bin', BIG, 'bytes=-4096', BIG.length - 4096, BIG.length - 1],
    ['/big.bin', BIG, 'Bytes = 524288-', 524288, BIG.length - 1],
  ];
  const full = await get(srv.port, '/app.css');
  for (const [target, data, range, start, end] of cases) {
    // Accept-Encoding too: a byte range must never be compressed.
    const res = await get(srv.port, target, { range, 'accept-encoding': 'gzip, br' });
    assert.equal(res.status, 206, `${target} ${range}`);
    assert.equal(res.headers['content-range'], `bytes ${start}-${end}/${data.length}`);
    assert.equal(res.headers['content-length'], String(end - start + 1));
    assert.equal(res.headers['content-encoding'], undefined);
    assert.deepEqual(res.body, data.subarray(start, end + 1), `${target} ${range}`);
    assert.equal(res.headers['cache-control'], 'max-age=60');
    assert.ok(res.headers['last-modified']);
    if (target === '/app.css') {
      assert.equal(res.headers.etag, full.headers.etag);
      assert.equal(res.headers.vary, 'Accept-Encoding');
    }
  }
});

test('an unsatisfiable range is a 416 with bytes */size', async () => {
  for (const [target, size] of [['/app.css', CSS.length], ['/big.bin', BIG.length]] as const) {
    for (const range of [`bytes=${size}-`, `bytes=${size + 10}-${size + 20}`, 'bytes=-0']) {
      const res = await get(srv.port, target, { range });
      assert.equal(res.status, 416, `${target} ${range}`);
      assert.equal(res.headers['content-range'], `bytes */${size}`);
    }
  }
});

test('several ranges, bad syntax, other units and HEAD get the full 200', async () => {
  for (const range of ['bytes=0-1,5-6', 'bytes=abc', 'bytes=5-1', 'items=0-1', 'bytes=-', 'bytes 0-1']) {
    const res = await get(srv.port, '/app.css', { range });
    assert.equal(res.status, 200, range);
    assert.equal(res.body.toString(), CSS, range);
  }
  const head = await get(srv.port, '/app.css', { range: 'bytes=0-9' }, 'HEAD');
  assert.equal(head.status, 200);
  assert.equal(head.headers['content-length'], String(CSS.length));
});

test('If-Range: a matching strong tag or date keeps the range, anything else sends it all', async () => {
  const first = await get(srv.port, '/big.bin');
  const { etag, 'last-modified': lastModified } = first.headers;
  const earlier = new Date(Date.parse(lastModified!) - 3600_000).toUTCString();
  const cases: Array<[string, number]> = [
    [etag!, 206],
    [lastModified!, 206],
    ['"other"', 200],
    [`W/${etag}`, 200],
    [earlier, 200],
    ['garbage', 200],
  ];
  for (const [ifRange, status] of cases) {
    const res = await get(srv.port, '/big.bin', { range: 'bytes=0-99', 'if-range': ifRange });
    assert.equal(res.status, status, ifRange);
    assert.equal(res.body.length, status === 206 ? 100 : BIG.length, ifRange);
  }
});

test('gzip and br variants decode to the file, with their own ETag and Vary', async () => {
  const plain = await get(srv.port, '/app.css', { 'accept-encoding': 'identity' });
  assert.equal(plain.headers['content-encoding'], undefined);
  assert.equal(plain.body.toString(), CSS);
  assert.equal(plain.headers.vary, 'Accept-Encoding');
  const seen = new Set([plain.headers.etag]);
  for (const [coding, decode] of [['gzip', zlib.gunzipSync], ['br', zlib.brotliDecompressSync]] as const) {
    const res = await get(srv.port, '/app.css', { 'accept-encoding': coding });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-encoding'], coding);
    assert.equal(res.headers.vary, 'Accept-Encoding');
    assert.equal(res.headers['content-length'], String(res.body.length));
    assert.ok(res.body.length < CSS.length);
    assert.equal(decode(res.body).toString(), CSS);
    assert.equal(res.headers['cache-control'], 'max-age=60');
    assert.equal(res.headers['last-modified'], plain.headers['last-modified']);
    seen.add(res.headers.etag);
    // The compressed representation revalidates against its own tag.
    const again = await get(srv.port, '/app.css', { 'accept-encoding': coding, 'if-none-match': res.headers.etag! });
    assert.equal(again.status, 304);
    assert.equal(again.headers.etag, res.headers.etag);
    // Served from the cache: the same bytes.
    assert.deepEqual((await get(srv.port, '/app.css', { 'accept-encoding': coding })).body, res.body);
  }
  assert.equal(seen.size, 3, 'identity, gzip and br carry different strong ETags');
  // fetch negotiates and decodes on its own.
  const fetched = await fetch(`http://127.0.0.1:${srv.port}/app.css`);
  assert.equal(await fetched.text(), CSS);
});

test('files under compressMin and clients refusing codings get identity, still with Vary', async () => {
  const small = await get(srv.port, '/hello.html', { 'accept-encoding': 'gzip, br' });
  assert.equal(small.headers['content-encoding'], undefined);
  assert.equal(small.headers.vary, 'Accept-Encoding');
  const refused = await get(srv.port, '/app.css', { 'accept-encoding': 'gzip;q=0, br;q=0' });
  assert.equal(refused.headers['content-encoding'], undefined);
  assert.equal(refused.body.toString(), CSS);
});

test('a changed, created or removed file is seen within about a second', async () => {
  const file = path.join(tree.root, 'changing.txt');
  const added = path.join(tree.root, 'added.txt');
  fs.writeFileSync(file, 'version one');
  const one = await get(srv.port, '/changing.txt');
  assert.equal(one.body.toString(), 'version one');
  assert.equal((await get(srv.port, '/added.txt')).status, 404);
  assert.equal((await get(srv.port, '/hello.html')).status, 200);

  // Same size, so only mtime tells the versions apart; also a new file and a removed one.
  fs.writeFileSync(file, 'version two');
  fs.utimesSync(file, new Date(), new Date(Date.now() + 5000));
  fs.writeFileSync(added, 'new file');
  const helloBackup = path.join(tree.dir, 'hello.backup');
  fs.renameSync(path.join(tree.root, 'hello.html'), helloBackup);
  // Waiting out the stat cache's 1 s TTL is the behaviour under test; a loaded machine only waits longer, which is still past it.
  await sleep(1100);
  try {
    const two = await get(srv.port, '/changing.txt');
    assert.equal(two.body.toString(), 'version two');
    assert.notEqual(two.headers.etag, one.headers.etag);
    assert.equal((await get(srv.port, '/added.txt')).body.toString(), 'new file');
    assert.equal((await get(srv.port, '/hello.html')).status, 404);
  } finally {
    fs.renameSync(helloBackup, path.join(tree.root, 'hello.html'));
  }
});

test('a file re-read after eviction is not re-read again on the next request', async () => {
  // Room for one 60-byte file only: reading the second evicts the first.
  const local = await serve(tree.root, { maxAge: 1, cacheFileMax: 100, cacheSize: 100 });
  const one = path.join(tree.root, 'evict-one.txt');
  fs.writeFileSync(one, '1'.repeat(60));
  fs.writeFileSync(path.join(tree.root, 'evict-two.txt'), '2'.repeat(60));
  const opens: string[] = [];
  const open = fs.promises.open;
  const spy = mock.method(fs.promises, 'open', (p: fs.PathLike, ...rest: []) => {
    opens.push(String(p));
    return open(p, ...rest);
  });
  try {
    assert.equal((await get(local.port, '/evict-one.txt')).body.toString(), '1'.repeat(60));
    // Changed while its stat is still remembered, then evicted, then read again.
    fs.writeFileSync(one, '3'.repeat(60));
    fs.utimesSync(one, new Date(), new Date(Date.now() + 5000));
    await get(local.port, '/evict-two.txt');
    assert.equal((await get(local.port, '/evict-one.txt')).body.toString(), '3'.repeat(60));
    const before = opens.length;
    for (let i = 0; i < 3; i++) assert.equal((await get(local.port, '/evict-one.txt')).body.toString(), '3'.repeat(60));
    assert.equal(opens.length, before, 'served from memory, the fresh stat having replaced the remembered one');
  } finally {
    spy.mock.restore();
    await local.close();
  }
});

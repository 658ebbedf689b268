/**
 * The hot path of cached files through the real engine: head written from prepared blocks
 * (http/rawhead.ts), small bodies in the same write. What a client sees must not change.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mock } from 'node:test';
import { FileCache } from '../../src/handlers/static/filecache.js';
import { StatCache, type Lookup } from '../../src/handlers/static/statcache.js';
import { HotPaths } from '../../src/handlers/static/hotpaths.js';
import { PreparedFile } from '../../src/handlers/static/prepared.js';
import { headBlock, writeHeadBlock } from '../../src/http/rawhead.js';
import { beforeHeaders } from '../../src/http/onheaders.js';
import { rawRequest } from '../support/raw.js';
import { startSite, type TestSite } from '../support/site.js';

// Every byte value, so a body that went through latin1 and back must come out the same.
const BINARY = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) % 256));
// Above the size whose body joins the head (8 KiB), below the memory-cache limit.
const MIDDLE = Buffer.from(Array.from({ length: 20_000 }, (_, i) => (i * 13) % 256));
let site: TestSite;

before(async () => {
  site = await startSite('[routes:line]\n/ = ./www\n', { 'www/all.bin': BINARY, 'www/mid.bin': MIDDLE, 'www/app.css': 'p { color: red; }\n'.repeat(100) });
});
after(() => site.close());

/** A GET or HEAD on a connection of its own, with the head as received (names in their case). */
function fetchRaw(target: string, method = 'GET', headers: Record<string, string> = {}): Promise<{ status: number; raw: string[]; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ port: site.port, host: '127.0.0.1', path: target, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, raw: res.rawHeaders, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Header names in order, with the values of those that do not change per request. */
const shape = (raw: string[]): string[] =>
  raw.map((v, i) => (i % 2 === 0 ? v : ['Date', 'X-Request-Id', 'x-request-id'].includes(raw[i - 1]!) ? '*' : v));

test('a cached file answered from the hot path has the bytes and the head of the first answer', async () => {
  for (const file of ['/all.bin', '/mid.bin', '/app.css']) {
    const first = await fetchRaw(file);
    const expected = file === '/all.bin' ? BINARY : file === '/mid.bin' ? MIDDLE : undefined;
    if (expected) assert.deepEqual(first.body, expected);
    for (let i = 0; i < 3; i++) {
      const next = await fetchRaw(file);
      assert.equal(next.status, 200);
      assert.deepEqual(next.body, first.body, file);
      assert.deepEqual(shape(next.raw), shape(first.raw), file);
    }
    const head = await fetchRaw(file, 'HEAD');
    assert.deepEqual(head.body, Buffer.alloc(0));
    assert.deepEqual(shape(head.raw), shape(first.raw), `HEAD ${file}`);
    const etag = first.raw[first.raw.findIndex((v, i) => i % 2 === 0 && v.toLowerCase() === 'etag') + 1]!;
    const notModified = await fetchRaw(file, 'GET', { 'if-none-match': etag });
    assert.equal(notModified.status, 304);
    assert.deepEqual(notModified.body, Buffer.alloc(0));
    const names = notModified.raw.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
    for (const name of ['etag', 'last-modified', 'cache-control', 'x-request-id', 'date']) assert.ok(names.includes(name), `304 ${file}: ${name}`);
    assert.ok(!names.includes('content-length') && !names.includes('content-type'), `304 ${file}: ${names.join(', ')}`);
  }
});

test('pipelined requests on one keep-alive connection are answered in order; HTTP/1.0 gets Connection: close', async () => {
  await fetchRaw('/all.bin'); // warm: the next ones take the hot path
  const one = 'GET /all.bin HTTP/1.1\r\nHost: x\r\n\r\n';
  const reply = await rawRequest(site.port, `${one}HEAD /all.bin HTTP/1.1\r\nHost: x\r\n\r\n${one}`, 500);
  assert.equal(reply.closed, false, 'kept alive');
  const bytes = Buffer.from(reply.text, 'latin1');
  const heads = reply.text.split('HTTP/1.1 200 OK\r\n').slice(1);
  assert.equal(heads.length, 3);
  assert.equal(bytes.length, reply.text.length);
  // Each GET carries the whole file after its head; the HEAD between them none.
  const body = BINARY.toString('latin1');
  assert.ok(heads[0]!.endsWith(`\r\n\r\n${body}`));
  assert.ok(heads[1]!.endsWith('\r\n\r\n'));
  assert.ok(heads[2]!.endsWith(`\r\n\r\n${body}`));
  for (const h of heads) assert.match(h, /\r\nKeep-Alive: timeout=\d+\r\n/);
  const old = await rawRequest(site.port, 'GET /all.bin HTTP/1.0\r\nHost: x\r\n\r\n', 500);
  assert.equal(old.status, 200);
  assert.equal(old.headers.connection, 'close');
  assert.equal(old.closed, true);
  assert.equal(Buffer.from(old.body, 'latin1').length, BINARY.length);
});

test('writeHeadBlock: the block after the status line; declined when setHeader() or a beforeHeaders hook must merge', async () => {
  const block = headBlock(['cache-control', 'max-age=60', 'content-type', 'text/plain']);
  assert.equal(block, 'cache-control: max-age=60\r\ncontent-type: text/plain\r\n');
  assert.throws(() => headBlock(['x-evil', 'a\r\nset-cookie: b']), /Invalid character/);
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    if (req.url === '/set') res.setHeader('x-set', '1');
    if (req.url === '/hook') beforeHeaders(res, () => (seen.push('hook'), undefined));
    const taken = writeHeadBlock(res, req.url === '/304' ? 304 : 200, block, req.url === '/304' ? undefined : '5', req.url === '/304' ? '' : 'hello');
    seen.push(`${req.url} ${taken}`);
    if (taken) res.end();
    else res.writeHead(200, ['content-type', 'text/plain', 'content-length', '5']).end('hello');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  try {
    const plain = await rawRequest(port, 'GET /plain HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.match(plain.text, /^HTTP\/1\.1 200 OK\r\ncache-control: max-age=60\r\ncontent-type: text\/plain\r\ncontent-length: 5\r\nDate: [^\r]+\r\nConnection: keep-alive\r\n/);
    assert.equal(plain.body, 'hello');
    const set = await rawRequest(port, 'GET /set HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(set.headers['x-set'], '1');
    const hook = await rawRequest(port, 'GET /hook HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(hook.body, 'hello');
    const nm = await rawRequest(port, 'GET /304 HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(nm.status, 304);
    assert.equal(nm.headers['content-length'], undefined);
    assert.equal(nm.headers['cache-control'], 'max-age=60');
    assert.deepEqual(seen, ['/plain true', '/set false', '/hook false', 'hook', '/304 true']);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test('FileCache.text: a latin1 copy counted with its entry, never evicting that entry', () => {
  const stat = (size: number) => ({ size, mtimeMs: 1, ino: 1 }) as import('node:fs').Stats;
  const cache = new FileCache(300);
  const a = cache.put('/a', Buffer.from([0, 128, 255, 65]), stat(4));
  const text = cache.text('/a', a, 'identity', a.data)!;
  assert.deepEqual(Buffer.from(text, 'latin1'), a.data);
  assert.equal(cache.text('/a', a, 'identity', a.data), text, 'made once');
  assert.equal(cache.bytes, 8);
  const b = cache.put('/b', Buffer.alloc(200), stat(200));
  assert.equal(cache.text('/b', b, 'identity', b.data), undefined, 'the entry and its copy would not fit together');
  assert.equal(cache.bytes, 208);
  const c = cache.put('/c', Buffer.alloc(60), stat(60));
  assert.ok(cache.text('/c', c, 'identity', c.data));
  assert.ok(cache.get('/c', stat(60)), 'kept: the least recently used went instead');
  assert.equal(cache.get('/a', stat(4)), undefined);
  assert.equal(cache.get('/b', stat(200)), undefined);
  assert.equal(cache.bytes, 120, '/c and its copy');
});

test('StatCache: the lookups that find an answer expired together share one probe', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-stat-'));
  try {
    const file = path.join(root, 'f.txt');
    fs.writeFileSync(file, 'x');
    let now = 0;
    const stats = new StatCache(root, { ttlMs: 100, now: () => now });
    assert.equal((await stats.lookup(file)).kind, 'file');
    now = 1000;
    const realpath = fs.promises.realpath;
    const spy = mock.method(fs.promises, 'realpath', (p: string) => realpath(p));
    try {
      const all = await Promise.all(Array.from({ length: 10 }, () => stats.lookup(file)));
      assert.equal(spy.mock.callCount(), 1);
      assert.ok(all.every((l) => l === all[0] && l.kind === 'file'));
      fs.rmSync(file);
      now = 2000;
      assert.equal((await stats.lookup(file)).kind, 'missing', 'the next expiry probes again');
      assert.equal(spy.mock.callCount(), 2);
    } finally {
      spy.mock.restore();
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('HotPaths: a hit late in an entry\'s second stats its file again; unchanged, the entry lives on; changed or gone, it leaves', async () => {
  let now = 0;
  const asked: string[] = [];
  let answer: (found: Lookup, at: number) => void = () => undefined;
  const paths = new HotPaths((abs) => {
    asked.push(abs);
    return new Promise((resolve) => (answer = (found, at) => resolve({ found, at })));
  }, () => now);
  const files = new FileCache(10_000);
  const version = { size: 3, mtimeMs: 5, ino: 7 } as fs.Stats;
  const entry = files.put('/www/a.txt', Buffer.from('abc'), version);
  const file = new PreparedFile(entry, 'text/plain', 'max-age=0', true);
  paths.remember('/a.txt', { at: 0, abs: '/srv/a.txt', real: '/www/a.txt', file, cache: files });
  const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

  now = 700;
  assert.ok(paths.fresh('/a.txt'));
  assert.deepEqual(asked, [], 'young entries are not stat-ed');
  now = 800;
  assert.ok(paths.fresh('/a.txt'), 'the entry answers while its file is stat-ed again');
  assert.ok(paths.fresh('/a.txt'));
  assert.deepEqual(asked, ['/srv/a.txt'], 'one stat for all the hits meanwhile');
  answer({ kind: 'file', real: '/www/a.txt', stat: version }, 790);
  await settle();
  now = 1500;
  assert.ok(paths.fresh('/a.txt'), 'unchanged: vouched for from when that stat began (790)');
  now = 1790;
  assert.equal(paths.fresh('/a.txt'), undefined, 'and expires a second after it, like a stat');

  // A changed file: the entry leaves at once, the next request takes the full path.
  paths.remember('/a.txt', { at: 2000, abs: '/srv/a.txt', real: '/www/a.txt', file, cache: files });
  now = 2800;
  assert.ok(paths.fresh('/a.txt'));
  answer({ kind: 'file', real: '/www/a.txt', stat: { ...version, mtimeMs: 6 } as fs.Stats }, 2795);
  await settle();
  assert.equal(paths.fresh('/a.txt'), undefined);
  assert.equal(paths.get('/a.txt'), undefined);

  // Gone.
  paths.remember('/a.txt', { at: 3000, abs: '/srv/a.txt', real: '/www/a.txt', file, cache: files });
  now = 3800;
  assert.ok(paths.fresh('/a.txt'));
  answer({ kind: 'missing' }, 3800);
  await settle();
  assert.equal(paths.get('/a.txt'), undefined);
});

test('a large file is read on the thread pool first, then from the page cache synchronously, intact either way', async () => {
  const big = Buffer.from(Array.from({ length: 700_000 }, (_, i) => (i * 31 + (i >> 11)) % 256));
  fs.writeFileSync(path.join(site.dir, 'www', 'large.bin'), big);
  const calls = { read: 0, readSync: 0 };
  const read = fs.read;
  const readSync = fs.readSync;
  const spyRead = mock.method(fs, 'read', (...args: Parameters<typeof fs.read>) => (calls.read++, (read as (...a: unknown[]) => void)(...args)));
  const spySync = mock.method(fs, 'readSync', (...args: Parameters<typeof fs.readSync>) => (calls.readSync++, (readSync as (...a: unknown[]) => number)(...args)));
  try {
    const first = await fetchRaw('/large.bin');
    assert.deepEqual(first.body, big);
    assert.ok(calls.read > 0, 'the first download reads on the pool');
    assert.equal(calls.readSync, 0, 'nothing says the pages are cached yet');
    // The descriptor (and with it what was learnt) lasts a second: a loaded machine may need a few tries.
    for (let i = 0; i < 5 && calls.readSync === 0; i++) assert.deepEqual((await fetchRaw('/large.bin')).body, big);
    assert.ok(calls.readSync > 0, 'a later download reads synchronously');
    const part = await fetchRaw('/large.bin', 'GET', { range: 'bytes=100000-100099' });
    assert.equal(part.status, 206);
    assert.deepEqual(part.body, big.subarray(100000, 100100));
  } finally {
    spyRead.mock.restore();
    spySync.mock.restore();
  }
});

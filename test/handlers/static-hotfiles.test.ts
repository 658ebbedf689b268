/**
 * Large files downloaded again and again are kept whole in memory (static/hotfiles.ts,
 * `static_cache_hot_size`): later downloads read nothing from disk, and a client sees the same
 * bytes and headers as when they streamed — uncompressed, with ranges, validators and HEAD.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { FileCache } from '../../src/handlers/static/filecache.js';
import { HotFiles } from '../../src/handlers/static/hotfiles.js';
import { HotPaths } from '../../src/handlers/static/hotpaths.js';
import { PreparedFile } from '../../src/handlers/static/prepared.js';
import { OpenFiles } from '../../src/handlers/static/openfiles.js';
import { until } from '../support/until.js';
import { get, serve, type Served } from './static-fixture.js';

const KiB = 1024;
const HOT = randomBytes(300 * KiB);
const TEXT = 'lorem ipsum dolor sit amet '.repeat(6000); // ~158 KiB, compressible
const HEADERS = ['content-type', 'content-length', 'content-encoding', 'etag', 'last-modified', 'cache-control', 'vary', 'accept-ranges'];
let dir: string;
let srv: Served;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-hotfiles-'));
  fs.writeFileSync(path.join(dir, 'hot.bin'), HOT);
  fs.writeFileSync(path.join(dir, 'hot.txt'), TEXT);
  srv = await serve(dir, { maxAge: 60, hotCacheSize: 4 * 1024 * KiB });
});
after(async () => {
  await srv.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/**
 * Counts the file reads the server makes (pool and synchronous) while `run` goes. Wrapped by hand:
 * mock.method() would keep every call's arguments, the file buffers included, alive.
 */
async function reads<T>(run: () => Promise<T>): Promise<[T, number]> {
  let count = 0;
  const { read, readSync } = fs;
  const patched = fs as unknown as Record<'read' | 'readSync', (...args: unknown[]) => unknown>;
  patched.read = (...args) => (count++, (read as (...a: unknown[]) => unknown)(...args));
  patched.readSync = (...args) => (count++, (readSync as (...a: unknown[]) => unknown)(...args));
  try {
    return [await run(), count];
  } finally {
    fs.read = read;
    fs.readSync = readSync;
  }
}

/** Download `target` until a download reads nothing from disk (the copy is loaded); that download. */
function untilInMemory(target: string, headers = {}, port = srv.port) {
  return until(async () => {
    const [res, n] = await reads(() => get(port, target, headers));
    return n === 0 && res;
  }, 5000, `${target} served from memory`);
}

test('a large file downloaded again is then sent from memory, with the bytes and headers it streamed with', async () => {
  const [streamed, n] = await reads(() => get(srv.port, '/hot.bin'));
  assert.ok(n > 0, 'the first download reads the file');
  assert.deepEqual(streamed.body, HOT);
  const held = await untilInMemory('/hot.bin');
  assert.equal(held.status, 200);
  assert.deepEqual(held.body, HOT);
  for (const name of HEADERS) assert.equal(held.headers[name], streamed.headers[name], name);

  const [head, headReads] = await reads(() => get(srv.port, '/hot.bin', {}, 'HEAD'));
  assert.equal(headReads, 0);
  assert.equal(head.body.length, 0);
  for (const name of HEADERS) assert.equal(head.headers[name], streamed.headers[name], `HEAD ${name}`);

  const etag = String(streamed.headers.etag);
  const part = await get(srv.port, '/hot.bin', { range: 'bytes=1000-1999', 'if-range': etag });
  assert.equal(part.status, 206);
  assert.equal(part.headers['content-range'], `bytes 1000-1999/${HOT.length}`);
  assert.deepEqual(part.body, HOT.subarray(1000, 2000));
  const stale = await get(srv.port, '/hot.bin', { range: 'bytes=0-9', 'if-range': '"other"' });
  assert.equal(stale.status, 200, 'If-Range with another tag sends it all');
  assert.deepEqual(stale.body, HOT);
  assert.equal((await get(srv.port, '/hot.bin', { range: `bytes=${HOT.length}-` })).status, 416);
  assert.equal((await get(srv.port, '/hot.bin', { 'if-none-match': etag })).status, 304);
  assert.equal((await get(srv.port, '/hot.bin', { 'if-match': '"other"' })).status, 412);
});

test('a large text file kept in memory is still sent uncompressed, with Vary', async () => {
  const ask = { 'accept-encoding': 'gzip, br' };
  const held = await untilInMemory('/hot.txt', ask);
  assert.equal(held.headers['content-encoding'], undefined);
  assert.equal(held.headers.vary, 'Accept-Encoding');
  assert.equal(held.headers['content-length'], String(TEXT.length));
  assert.equal(held.body.toString(), TEXT);
  const head = await get(srv.port, '/hot.txt', ask, 'HEAD');
  assert.equal(head.headers['content-encoding'], undefined);
  assert.equal(head.headers['content-length'], String(TEXT.length));
});

test('a kept file replaced, changed in place or removed is seen within about a second', async () => {
  const file = path.join(dir, 'swap.bin');
  const one = randomBytes(200 * KiB);
  fs.writeFileSync(file, one);
  const first = await untilInMemory('/swap.bin');
  assert.deepEqual(first.body, one);

  const two = randomBytes(150 * KiB);
  fs.writeFileSync(`${file}.new`, two);
  fs.renameSync(`${file}.new`, file);
  await until(async () => (await get(srv.port, '/swap.bin')).body.equals(two), 5000, 'the replacing file');
  assert.deepEqual((await untilInMemory('/swap.bin')).body, two);

  // Same inode and size, new bytes and mtime: what an editor saving over the file does.
  const three = randomBytes(two.length);
  fs.writeFileSync(file, three);
  const later = new Date(Date.now() + 5000);
  fs.utimesSync(file, later, later);
  const changed = await until(async () => {
    const res = await get(srv.port, '/swap.bin');
    return res.body.equals(three) && res;
  }, 5000, 'the file changed in place');
  assert.notEqual(changed.headers.etag, first.headers.etag);

  fs.rmSync(file);
  await until(async () => (await get(srv.port, '/swap.bin')).status === 404, 5000, 'the removed file to be gone');
});

// Freed buffers' memory goes back in a later task: collect, let it, collect again.
async function settle(): Promise<number> {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  gc();
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  return process.memoryUsage().arrayBuffers;
}

for (const [kind, options] of [
  // A quarter of the budget each, and smaller than a stream chunk (pump.ts keeps spare 256 KiB
  // chunks, which would blur the count).
  ['hot copies', { maxAge: 60, cacheFileMax: 1024, hotCacheSize: 256 * KiB }],
] as const) {
  test(`${kind} pushed out of the budget are freed, not kept alive by the hot path`, async () => {
    const own = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-evict-'));
    const small = await serve(own, options);
    try {
      // 24 files of 60 KiB: 1.4 MiB, more than five times the 256 KiB budget.
      const names = Array.from({ length: 24 }, (_, i) => `/evict-${i}.bin`);
      const sums = new Map<string, string>();
      for (const name of names) {
        const data = randomBytes(60 * KiB);
        fs.writeFileSync(path.join(own, name), data);
        sums.set(name, createHash('sha256').update(data).digest('hex'));
      }
      const before = await settle();
      for (const name of names) {
        const res = await untilInMemory(name, {}, small.port);
        assert.equal(createHash('sha256').update(res.body).digest('hex'), sums.get(name), name);
      }
      // Connections closed (their buffers with them): what is left is the handler's.
      await small.close();
      const held = (await settle()) - before;
      assert.ok(held < 768 * KiB, `${Math.round(held / KiB)} KiB of buffers still held (budget 256 KiB)`);
    } finally {
      await small.close();
      fs.rmSync(own, { recursive: true, force: true });
    }
  });
}

test('HotPaths.forget: a file the cache lets go leaves the hot path, whichever path named it', () => {
  const paths = new HotPaths(() => Promise.reject(new Error('not asked here')));
  const files = new FileCache(100, (real) => paths.forget(real, files));
  const other = new FileCache(1000);
  const stat = (ino: number) => ({ size: 60, mtimeMs: 1, ino }) as fs.Stats;
  const a = files.put('/www/a', Buffer.alloc(60), stat(1));
  const file = new PreparedFile(a, 'application/octet-stream', 'max-age=60', false);
  paths.remember('/a', { at: Date.now(), abs: '/www/a', real: '/www/a', file, cache: files });
  paths.remember('/link-to-a', { at: Date.now(), abs: '/www/a', real: '/www/a', file, cache: files });
  // The same real file from another cache (it grew past the small-file limit) is not this drop's.
  paths.remember('/a-big', { at: Date.now(), abs: '/www/a', real: '/www/a', file, cache: other });
  files.put('/www/b', Buffer.alloc(60), stat(2)); // 120 bytes > 100: /www/a goes
  assert.equal(files.size, 1);
  assert.equal(paths.get('/a'), undefined);
  assert.equal(paths.get('/link-to-a'), undefined);
  assert.ok(paths.get('/a-big'));
});

test('HotFiles: loads on the second download, keeps at most a quarter of its budget per file and its budget in all', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-hotunit-'));
  const descriptors = new OpenFiles({ ttlMs: 60_000 });
  const hot = new HotFiles(1024 * KiB);
  const write = (name: string, size: number): { real: string; data: Buffer } => {
    const data = randomBytes(size);
    fs.writeFileSync(path.join(root, name), data);
    return { real: path.join(root, name), data };
  };
  /** Two downloads' worth of opens; what the second one's consider() started. */
  const twice = async (real: string): Promise<void> => {
    const a = (await descriptors.open(real, fs.constants.O_RDONLY))!;
    assert.equal(hot.consider(real, a), undefined, 'not on the first download');
    const b = (await descriptors.open(real, fs.constants.O_RDONLY))!;
    await hot.consider(real, b);
    a.release();
    b.release();
  };
  try {
    const small = write('a.bin', 200 * KiB);
    await twice(small.real);
    assert.deepEqual(hot.get(small.real, fs.statSync(small.real))?.data, small.data);

    const big = write('big.bin', 256 * KiB + 1);
    await twice(big.real);
    assert.equal(hot.get(big.real, fs.statSync(big.real)), undefined, 'over a quarter of the budget');

    const many = ['b', 'c', 'd', 'e', 'f'].map((n) => write(`${n}.bin`, 250 * KiB));
    for (const f of many) await twice(f.real);
    assert.ok(hot.files.bytes <= 1024 * KiB, `${hot.files.bytes} bytes held`);
    assert.equal(hot.get(small.real, fs.statSync(small.real)), undefined, 'the least recently used went first');
    assert.deepEqual(hot.get(many[4]!.real, fs.statSync(many[4]!.real))?.data, many[4]!.data);

    // Grown between the open and the end of the read: a copy of no single version, not kept.
    const grows = write('grows.bin', 100 * KiB);
    const a = (await descriptors.open(grows.real, fs.constants.O_RDONLY))!;
    const b = (await descriptors.open(grows.real, fs.constants.O_RDONLY))!;
    fs.appendFileSync(grows.real, 'more');
    await hot.consider(grows.real, b);
    a.release();
    b.release();
    assert.equal(hot.files.size, 4);
    assert.equal(hot.get(grows.real, b.stat), undefined);

    // A load that ends after clear() does not refill the cache.
    const late = write('late.bin', 100 * KiB);
    const c = (await descriptors.open(late.real, fs.constants.O_RDONLY))!;
    const d = (await descriptors.open(late.real, fs.constants.O_RDONLY))!;
    const loading = hot.consider(late.real, d);
    hot.clear();
    await loading;
    c.release();
    d.release();
    assert.equal(hot.files.size, 0);
  } finally {
    descriptors.clear();
    fs.rmSync(root, { recursive: true, force: true });
  }
});

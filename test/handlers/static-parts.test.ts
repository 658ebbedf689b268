/** Unit tests of the static handler's parts: ranges, validators, types, the two caches. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { evaluatePreconditions, ifRangeAllows, makeEtag, matchesAny, parseDate } from '../../src/handlers/static/conditional.js';
import { FileCache } from '../../src/handlers/static/filecache.js';
import { DEFAULT_TYPE, contentType } from '../../src/handlers/static/mime.js';
import { parseRange } from '../../src/handlers/static/range.js';
import { StatCache, errorKind } from '../../src/handlers/static/statcache.js';

test('parseRange: single ranges, suffixes, clamping, unsatisfiable and ignored forms', () => {
  assert.deepEqual(parseRange(undefined, 10), { kind: 'full' });
  assert.deepEqual(parseRange('bytes=0-0', 10), { kind: 'partial', start: 0, end: 0 });
  assert.deepEqual(parseRange('bytes=2-', 10), { kind: 'partial', start: 2, end: 9 });
  assert.deepEqual(parseRange('bytes=-3', 10), { kind: 'partial', start: 7, end: 9 });
  assert.deepEqual(parseRange('bytes=-30', 10), { kind: 'partial', start: 0, end: 9 });
  assert.deepEqual(parseRange('bytes=5-100', 10), { kind: 'partial', start: 5, end: 9 });
  assert.deepEqual(parseRange('BYTES = 1 - 2', 10), { kind: 'partial', start: 1, end: 2 });
  assert.deepEqual(parseRange('bytes=99999999999999999999-', 10), { kind: 'unsatisfiable' });
  for (const h of ['bytes=10-', 'bytes=10-20', 'bytes=-0']) assert.deepEqual(parseRange(h, 10), { kind: 'unsatisfiable' }, h);
  for (const h of ['bytes=0-1,3-4', 'bytes=3-1', 'bytes=-', 'bytes=a-b', 'lines=0-1', '', 'bytes=0-1,']) {
    assert.deepEqual(parseRange(h, 10), { kind: 'full' }, h);
  }
  assert.deepEqual(parseRange('bytes=0-1', 0), { kind: 'full' }, 'an empty file is sent whole');
});

test('ETags: strong, per coding; weak and strong comparison', () => {
  const tag = makeEtag(4096, 1_700_000_000_123.7);
  assert.equal(tag, `"${(1_700_000_000_123).toString(16)}-1000"`);
  assert.equal(makeEtag(4096, 1_700_000_000_123, 'gzip'), `"${(1_700_000_000_123).toString(16)}-1000-gzip"`);
  assert.equal(matchesAny(`"a", ${tag}`, tag, false), true);
  assert.equal(matchesAny(`W/${tag}`, tag, false), true);
  assert.equal(matchesAny(`W/${tag}`, tag, true), false);
  assert.equal(matchesAny('"a,b", "c"', '"a,b"', true), true, 'commas inside a tag');
  assert.equal(matchesAny('*', tag, true), true);
  assert.equal(matchesAny('"other"', tag, false), false);
  assert.equal(matchesAny(tag.slice(1, -1), tag, false), false, 'an unquoted tag is not a tag');
});

test('preconditions follow RFC 9110 §13.2.2 order', () => {
  const mtimeMs = Date.parse('Tue, 14 Nov 2023 22:13:20 GMT') + 456;
  const v = { etag: '"x"', mtimeMs };
  const lm = new Date(mtimeMs).toUTCString();
  const before = new Date(mtimeMs - 1000).toUTCString();
  assert.equal(evaluatePreconditions({}, v), 'proceed');
  assert.equal(evaluatePreconditions({ 'if-none-match': '"x"' }, v), 'not-modified');
  assert.equal(evaluatePreconditions({ 'if-none-match': '"y"', 'if-modified-since': lm }, v), 'proceed');
  assert.equal(evaluatePreconditions({ 'if-modified-since': lm }, v), 'not-modified', 'sub-second mtime still matches');
  assert.equal(evaluatePreconditions({ 'if-modified-since': `${lm}; length=12` }, v), 'not-modified');
  assert.equal(evaluatePreconditions({ 'if-modified-since': before }, v), 'proceed');
  assert.equal(evaluatePreconditions({ 'if-modified-since': 'yesterday' }, v), 'proceed');
  assert.equal(evaluatePreconditions({ 'if-match': '"y"', 'if-none-match': '"x"' }, v), 'failed', 'If-Match first');
  assert.equal(evaluatePreconditions({ 'if-unmodified-since': before }, v), 'failed');
  assert.equal(evaluatePreconditions({ 'if-match': '"x"', 'if-unmodified-since': before }, v), 'proceed', 'If-Match wins');
  assert.equal(ifRangeAllows(undefined, v), true);
  assert.equal(ifRangeAllows('"x"', v), true);
  assert.equal(ifRangeAllows('W/"x"', v), false);
  assert.equal(ifRangeAllows(lm, v), true);
  assert.equal(ifRangeAllows(before, v), false);
  assert.equal(parseDate('nonsense'), undefined);
});

test('content types by extension', () => {
  assert.equal(contentType('/a/index.HTML'), 'text/html; charset=utf-8');
  assert.equal(contentType('app.mjs'), 'text/javascript; charset=utf-8');
  assert.equal(contentType('data.json'), 'application/json; charset=utf-8');
  assert.equal(contentType('logo.svg'), 'image/svg+xml; charset=utf-8');
  assert.equal(contentType('photo.jpeg'), 'image/jpeg');
  assert.equal(contentType('font.woff2'), 'font/woff2');
  assert.equal(contentType('mod.wasm'), 'application/wasm');
  assert.equal(contentType('archive.tar.gz'), 'application/gzip');
  for (const name of ['README', '.bashrc', 'file.unknownext', 'dot.']) assert.equal(contentType(name), DEFAULT_TYPE, name);
});

function fakeStat(size: number, mtimeMs = 1, ino = 1): fs.Stats {
  return { size, mtimeMs, ino } as fs.Stats;
}

test('FileCache: versions, LRU eviction by bytes, variants counted', () => {
  const cache = new FileCache(300);
  cache.put('/a', Buffer.alloc(100, 'a'), fakeStat(100));
  cache.put('/b', Buffer.alloc(100, 'b'), fakeStat(100));
  assert.equal(cache.bytes, 200);
  assert.equal(cache.get('/a', fakeStat(100, 2)), undefined, 'another mtime is another version');
  assert.equal(cache.bytes, 100, 'the stale entry is dropped');
  cache.put('/a', Buffer.alloc(100, 'a'), fakeStat(100));
  assert.ok(cache.get('/b', fakeStat(100)), '/b is now the most recently used');
  cache.put('/c', Buffer.alloc(150, 'c'), fakeStat(150));
  assert.equal(cache.get('/a', fakeStat(100)), undefined, 'the least recently used entry went first');
  assert.ok(cache.get('/b', fakeStat(100)));
  assert.ok(cache.get('/c', fakeStat(150)));
  assert.equal(cache.bytes, 250);
  const c = cache.get('/c', fakeStat(150))!;
  const gz = cache.variant('/c', c, 'gzip');
  assert.equal(zlib.gunzipSync(gz).toString(), 'c'.repeat(150));
  assert.equal(cache.variant('/c', c, 'gzip'), gz, 'compressed once');
  assert.equal(cache.bytes, 250 + gz.length);
  const huge = cache.put('/huge', Buffer.alloc(400), fakeStat(400));
  assert.equal(huge.data.length, 400, 'too big to hold, still returned');
  assert.equal(cache.get('/huge', fakeStat(400)), undefined);
});

test('FileCache: repeated hits on the newest entry, touch() and a dropped newest keep the LRU order', () => {
  const cache = new FileCache(300);
  const a = cache.put('/a', Buffer.alloc(100, 'a'), fakeStat(100));
  const b = cache.put('/b', Buffer.alloc(100, 'b'), fakeStat(100));
  assert.ok(cache.touch('/b', b) && cache.touch('/b', b), 'the newest entry, hit twice');
  assert.ok(cache.touch('/a', a), '/a is now the most recently used');
  assert.ok(cache.touch('/a', a));
  cache.put('/c', Buffer.alloc(150, 'c'), fakeStat(150));
  assert.equal(cache.touch('/b', b), false, '/b was the least recently used: evicted');
  assert.ok(cache.touch('/a', a));
  // The newest entry replaced by another version: the old one is no longer a hit.
  const a2 = cache.put('/a', Buffer.alloc(100, 'A'), fakeStat(100, 2));
  assert.equal(cache.touch('/a', a), false, 'a replaced version');
  assert.ok(cache.touch('/a', a2));
  assert.equal(cache.get('/a', fakeStat(100, 3)), undefined, 'stale: dropped');
  assert.equal(cache.touch('/a', a2), false, 'the dropped newest entry is not a hit');
  cache.clear();
  assert.equal(cache.touch('/c', cache.put('/c', Buffer.alloc(1), fakeStat(1))), true);
  const c = cache.put('/c', Buffer.alloc(1), fakeStat(1, 5));
  cache.clear();
  assert.equal(cache.touch('/c', c), false, 'nothing is held after clear()');
});

test('StatCache: remembers hits and misses for the TTL, refuses symlinks out of the root', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-stat-'));
  try {
    const root = path.join(dir, 'root');
    fs.mkdirSync(root);
    fs.writeFileSync(path.join(dir, 'out.txt'), 'out');
    fs.symlinkSync(path.join(dir, 'out.txt'), path.join(root, 'out.txt'));
    let now = 0;
    const stats = new StatCache(root, { ttlMs: 150, now: () => now });
    const file = path.join(root, 'f.txt');
    assert.equal((await stats.lookup(file)).kind, 'missing');
    fs.writeFileSync(file, 'x');
    assert.equal((await stats.lookup(file)).kind, 'missing', 'the miss is remembered');
    assert.equal((await stats.lookup(root)).kind, 'dir');
    assert.equal((await stats.lookup(path.join(root, 'out.txt'))).kind, 'missing');
    execFileSync('mkfifo', [path.join(root, 'fifo')]);
    assert.equal((await stats.lookup(path.join(root, 'fifo'))).kind, 'missing', 'a FIFO is no file to serve');
    now += 149;
    assert.equal((await stats.lookup(file)).kind, 'missing', 'still remembered just before the TTL ends');
    now += 1;
    const found = await stats.lookup(file);
    assert.equal(found.kind, 'file');
    assert.equal(found.kind === 'file' && found.stat.size, 1);
    fs.rmSync(file);
    assert.equal((await stats.lookup(file)).kind, 'file', 'the hit is remembered');
    now += 150;
    assert.equal((await stats.lookup(file)).kind, 'missing');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('StatCache stays bounded', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-stat-'));
  try {
    const stats = new StatCache(dir, { maxEntries: 2 });
    fs.writeFileSync(path.join(dir, 'a'), 'a');
    await stats.lookup(path.join(dir, 'a'));
    await stats.lookup(path.join(dir, 'b'));
    await stats.lookup(path.join(dir, 'c'));
    fs.rmSync(path.join(dir, 'a'));
    assert.equal((await stats.lookup(path.join(dir, 'a'))).kind, 'missing', 'the oldest answer was evicted');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('errorKind maps file-system errors to 404, 403 or 500', () => {
  const e = (code: string): Error => Object.assign(new Error(code), { code });
  for (const code of ['ENOENT', 'ENOTDIR', 'ELOOP', 'ENAMETOOLONG']) assert.equal(errorKind(e(code)), 'absent', code);
  for (const code of ['EACCES', 'EPERM']) assert.equal(errorKind(e(code)), 'denied', code);
  for (const code of ['EIO', 'EMFILE']) assert.equal(errorKind(e(code)), 'other', code);
  assert.equal(errorKind(new Error('no code')), 'other');
  assert.equal(errorKind(undefined), 'other');
});

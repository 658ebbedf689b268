/** Precompressed files beside the originals (`app.js.br`, `app.js.gz`), like nginx `gzip_static`. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { get, makeTree, removeTree, serve, type Served, useServedTree } from './static-fixture.js';

const run = promisify(execFile);

let tree: ReturnType<typeof makeTree>;
let srv: Served;
useServedTree((t, s) => {
  tree = t;
  srv = s;
});

const JS = Array.from({ length: 200 }, (_, i) => `export const value${i} = ${i * 7} + "${'x'.repeat(i % 13)}";`).join('\n');
// ~130 KiB: above the 64 KiB memory-cache limit, so streamed from disk.
const BIG_JS = Array.from({ length: 4000 }, (_, i) => `function f${i}() { return ${i}; }`).join('\n');
// Level 1, not what Skitai makes on the fly (9): the bytes tell which one was sent.
const stored = (text: string) => ({ gz: zlib.gzipSync(text, { level: 1 }), br: zlib.brotliCompressSync(text, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 1 } }) });

function write(name: string, text: string, codings: ('gz' | 'br')[] = ['gz', 'br']): { gz: Buffer; br: Buffer } {
  const file = path.join(tree.root, name);
  fs.writeFileSync(file, text);
  const packed = stored(text);
  const later = new Date(fs.statSync(file).mtimeMs + 1000);
  for (const c of codings) {
    fs.writeFileSync(`${file}.${c}`, packed[c]);
    fs.utimesSync(`${file}.${c}`, later, later);
  }
  return packed;
}

test('the stored encoding the client accepts is sent as is, with its own ETag and Vary', async () => {
  const packed = write('app.js', JS);
  const plain = await get(srv.port, '/app.js');
  assert.equal(plain.headers['content-encoding'], undefined);
  assert.equal(plain.body.toString(), JS);
  assert.equal(plain.headers.vary, 'Accept-Encoding');
  const tags = new Set([plain.headers.etag]);
  const cases = [
    ['gzip', 'gzip', packed.gz], ['gzip, deflate, br', 'br', packed.br], ['br;q=0, gzip', 'gzip', packed.gz],
    // `*` stands for the codings not named: not for one refused by name.
    ['br;q=0, *', 'gzip', packed.gz], ['*, gzip;q=0', 'br', packed.br],
  ] as const;
  for (const [accept, coding, body] of cases) {
    for (const method of ['GET', 'HEAD']) {
      const res = await get(srv.port, '/app.js', { 'accept-encoding': accept }, method);
      assert.equal(res.status, 200, accept);
      assert.equal(res.headers['content-encoding'], coding, accept);
      assert.equal(res.headers['content-type'], 'text/javascript; charset=utf-8');
      assert.equal(res.headers['content-length'], String(body.length));
      assert.equal(res.headers.vary, 'Accept-Encoding');
      assert.equal(res.headers['accept-ranges'], 'bytes');
      assert.deepEqual(res.body, method === 'GET' ? body : Buffer.alloc(0), `${method} ${accept}: the file on disk, byte for byte`);
      tags.add(res.headers.etag);
      const again = await get(srv.port, '/app.js', { 'accept-encoding': accept, 'if-none-match': res.headers.etag! }, method);
      assert.equal(again.status, 304);
      assert.equal(again.headers.etag, res.headers.etag);
    }
  }
  assert.equal(tags.size, 3, 'identity, gzip and br each have their own strong ETag');
  // The identity tag does not revalidate the gzip answer, nor the reverse.
  assert.equal((await get(srv.port, '/app.js', { 'accept-encoding': 'gzip', 'if-none-match': plain.headers.etag! })).status, 200);
});

test('curl --compressed decodes what it gets to the original file', async () => {
  const packed = write('curl.js', JS);
  const url = `http://127.0.0.1:${srv.port}/curl.js`;
  for (const [coding, body] of [['br', packed.br], ['gzip', packed.gz]] as const) {
    const raw = await run('curl', ['-s', '-H', `Accept-Encoding: ${coding}`, url], { encoding: 'buffer', maxBuffer: 1 << 22 });
    assert.deepEqual(raw.stdout, body, `${coding}: the stored file on the wire`);
  }
  const { stdout } = await run('curl', ['-s', '--compressed', '-D', '-', url], { encoding: 'buffer', maxBuffer: 1 << 22 });
  const split = stdout.indexOf('\r\n\r\n');
  const head = stdout.subarray(0, split).toString();
  assert.match(head, /^content-encoding: (br|gzip)\r?$/im, 'curl asks for both; a stored one is sent');
  assert.equal(stdout.subarray(split + 4).toString(), JS);
  const plain = await run('curl', ['-s', url], { maxBuffer: 1 << 22 });
  assert.equal(plain.stdout, JS, 'without --compressed: identity');
});

test('a byte range applies to the stored encoding, as nginx does; If-Range uses its tag', async () => {
  for (const [name, text] of [['range.js', JS], ['range-big.js', BIG_JS]] as const) {
    const packed = write(name, text);
    const full = await get(srv.port, `/${name}`, { 'accept-encoding': 'gzip' });
    const part = await get(srv.port, `/${name}`, { 'accept-encoding': 'gzip', range: 'bytes=0-9' });
    assert.equal(part.status, 206, name);
    assert.equal(part.headers['content-encoding'], 'gzip');
    assert.equal(part.headers['content-range'], `bytes 0-9/${packed.gz.length}`);
    assert.deepEqual(part.body, packed.gz.subarray(0, 10));
    const tail = await get(srv.port, `/${name}`, { 'accept-encoding': 'gzip', range: 'bytes=10-', 'if-range': full.headers.etag! });
    assert.equal(tail.status, 206);
    assert.deepEqual(Buffer.concat([part.body, tail.body]), packed.gz);
    // The identity tag in If-Range names another representation: the whole gzip body instead.
    const identityTag = (await get(srv.port, `/${name}`)).headers.etag!;
    const whole = await get(srv.port, `/${name}`, { 'accept-encoding': 'gzip', range: 'bytes=0-9', 'if-range': identityTag });
    assert.equal(whole.status, 200);
    assert.deepEqual(whole.body, packed.gz);
  }
});

test('a large file streams its stored encoding from disk', async () => {
  const packed = write('big.js', BIG_JS);
  const res = await get(srv.port, '/big.js', { 'accept-encoding': 'br' });
  assert.equal(res.headers['content-encoding'], 'br');
  assert.deepEqual(res.body, packed.br);
  assert.equal(zlib.brotliDecompressSync(res.body).toString(), BIG_JS);
  const plain = await get(srv.port, '/big.js', { 'accept-encoding': 'identity' });
  assert.equal(plain.body.toString(), BIG_JS);
  assert.equal(plain.headers.vary, 'Accept-Encoding');
});

test('only .gz stored: gzip for a client that accepts br too', async () => {
  const packed = write('only-gz.js', JS, ['gz']);
  const res = await get(srv.port, '/only-gz.js', { 'accept-encoding': 'br, gzip' });
  assert.equal(res.headers['content-encoding'], 'gzip');
  assert.deepEqual(res.body, packed.gz);
});

test('a stored encoding older than the file, or a symlink out of the root, is not used', async () => {
  const file = path.join(tree.root, 'stale.js');
  const packed = write('stale.js', JS);
  // The original edited after its encodings were made: they hold old content.
  const newer = new Date(Date.now() + 60_000);
  fs.utimesSync(file, newer, newer);
  const res = await get(srv.port, '/stale.js', { 'accept-encoding': 'gzip' });
  assert.equal(res.headers['content-encoding'], 'gzip', 'compressed on the fly instead');
  assert.notDeepEqual(res.body, packed.gz);
  assert.equal(zlib.gunzipSync(res.body).toString(), JS);

  fs.writeFileSync(path.join(tree.root, 'escape.js'), JS);
  fs.writeFileSync(path.join(tree.outside, 'escape.js.gz'), zlib.gzipSync('outside'));
  fs.symlinkSync(path.join(tree.outside, 'escape.js.gz'), path.join(tree.root, 'escape.js.gz'));
  const out = await get(srv.port, '/escape.js', { 'accept-encoding': 'gzip' });
  assert.equal(zlib.gunzipSync(out.body).toString(), JS);
});

test('precompressed: false ignores stored encodings', async () => {
  const own = makeTree();
  const off = await serve(own.root, { maxAge: 60, precompressed: false });
  try {
    fs.writeFileSync(path.join(own.root, 'x.js'), JS);
    fs.writeFileSync(path.join(own.root, 'x.js.gz'), stored(JS).gz);
    const res = await get(off.port, '/x.js', { 'accept-encoding': 'gzip' });
    assert.notDeepEqual(res.body, stored(JS).gz);
    assert.equal(zlib.gunzipSync(res.body).toString(), JS);
  } finally {
    await off.close();
    removeTree(own.dir);
  }
});

test('repeated answers of a cached file (the hot path) carry the same headers as the first', async () => {
  fs.writeFileSync(path.join(tree.root, 'hot.css'), JS);
  const strip = (h: Record<string, unknown>) => Object.fromEntries(Object.entries(h).filter(([k]) => k !== 'date'));
  for (const headers of [{}, { 'accept-encoding': 'gzip' }, { 'accept-encoding': 'br' }]) {
    const first = await get(srv.port, '/hot.css', headers);
    for (const method of ['GET', 'HEAD']) {
      const next = await get(srv.port, '/hot.css', headers, method);
      assert.deepEqual(strip(next.headers), strip(first.headers), `${method} ${JSON.stringify(headers)}`);
      assert.deepEqual(next.body, method === 'GET' ? first.body : Buffer.alloc(0));
    }
    const revalidated = await get(srv.port, '/hot.css', { ...headers, 'if-none-match': first.headers.etag! });
    assert.equal(revalidated.status, 304);
    assert.equal(revalidated.headers.etag, first.headers.etag);
    const failed = await get(srv.port, '/hot.css', { ...headers, 'if-match': '"other"' });
    assert.equal(failed.status, 412);
    const part = await get(srv.port, '/hot.css', { ...headers, range: 'bytes=0-3' });
    assert.equal(part.status, 206);
    assert.equal(part.body.toString(), JS.slice(0, 4));
  }
});

test('a large file replaced on disk is seen within about a second, and a deleted one is not kept open', async () => {
  const { until } = await import('../support/smtp.js');
  const file = path.join(tree.root, 'swap.bin');
  const one = Buffer.alloc(200 * 1024, 1);
  const two = Buffer.alloc(150 * 1024, 2);
  fs.writeFileSync(file, one);
  const first = await get(srv.port, '/swap.bin');
  assert.deepEqual(first.body, one);
  assert.deepEqual((await get(srv.port, '/swap.bin')).body, one, 'served again while the descriptor is shared');
  // A new inode under the same name, as deploy tools do (write elsewhere, rename over).
  fs.writeFileSync(`${file}.new`, two);
  fs.renameSync(`${file}.new`, file);
  await until(async () => (await get(srv.port, '/swap.bin')).body.equals(two), 5000, 'the new file');
  const second = await get(srv.port, '/swap.bin');
  assert.equal(second.headers['content-length'], String(two.length));
  assert.notEqual(second.headers.etag, first.headers.etag);

  fs.rmSync(file);
  const openOnDeleted = () => fs.readdirSync('/proc/self/fd').some((fd) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith(file);
    } catch {
      return false;
    }
  });
  await until(() => !openOnDeleted(), 5000, 'the descriptor of the deleted file to be closed');
  await until(async () => (await get(srv.port, '/swap.bin')).status === 404, 5000, 'the deleted file to be gone');
});

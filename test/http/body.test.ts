/**
 * The body layer against real clients: a node:http server whose handler calls readBody, driven by
 * fetch (undici), curl and hand-written HTTP/1.1 over node:http and raw sockets.
 */
import { test, before, beforeEach, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { EventEmitter, once } from 'node:events';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { watch } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { readBody, cleanupFiles, queryArgs, type BodyLimits, type ParsedBody, type UploadedFile } from '../../src/http/body.js';
import { isSkitaiError } from '../../src/errors.js';
import { until } from '../support/until.js';

interface Outcome {
  body?: ParsedBody;
  code?: string;
}

let server: Server;
let base: string;
let port: number;
let spool: string; // temp dir the server spools uploads into
let scratch: string; // client-side files for curl
const outcomes = new EventEmitter();
// a broken limit or abort path hangs rather than fails: bound every test (generously: curl and
// two loaded cores can take seconds, and a hang is still caught)
const T = { timeout: 20_000 };

const BIG: BodyLimits = { maxBody: 5 * 1024 * 1024, maxUpload: 2 * 1024 ** 3, tmpDir: '' };
const SMALL: BodyLimits = { maxBody: 1024, maxUpload: 64 * 1024, maxFields: 20, maxFiles: 2, tmpDir: '' };

before(async () => {
  spool = await mkdtemp(join(tmpdir(), 'skitai-body-spool-'));
  scratch = await mkdtemp(join(tmpdir(), 'skitai-body-client-'));
  BIG.tmpDir = SMALL.tmpDir = spool;
  server = createServer(async (req, res) => {
    try {
      const body = await readBody(req, req.url?.startsWith('/small') ? SMALL : BIG);
      outcomes.emit('outcome', { body } satisfies Outcome);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ args: body.args, json: body.json, raw: body.raw?.toString('utf8'), files: body.files }));
    } catch (err) {
      const code = isSkitaiError(err) ? err.code : 'UNEXPECTED';
      outcomes.emit('outcome', { code } satisfies Outcome);
      if (res.destroyed) return;
      // what the engine does: an unread body means the connection cannot carry another request
      res.writeHead(isSkitaiError(err) ? err.status : 500, {
        'content-type': 'application/json',
        ...(req.complete ? {} : { connection: 'close' }),
      });
      res.end(JSON.stringify({ code }));
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
});

after(async () => {
  server.closeAllConnections();
  server.close();
  await rm(spool, { recursive: true, force: true });
  await rm(scratch, { recursive: true, force: true });
});

// a failed test must not leave files that make the next one fail too
beforeEach(async () => {
  await Promise.all((await readdir(spool)).map((name) => rm(join(spool, name), { force: true })));
});

/** The next handler outcome; call before sending so the event cannot be missed. */
function nextOutcome(): Promise<Outcome> {
  return once(outcomes, 'outcome').then(([o]) => o as Outcome);
}

async function post(path: string, body: RequestInit['body'], headers?: Record<string, string>): Promise<{ status: number; json: any }> {
  const res = await fetch(base + path, { method: 'POST', body, headers });
  return { status: res.status, json: await res.json() };
}

async function spoolEntries(): Promise<string[]> {
  return readdir(spool);
}

function multipart(boundary: string, parts: Array<{ name: string; value: string | Buffer; filename?: string; type?: string }>, end = true): Buffer {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"`;
    if (p.filename !== undefined) head += `; filename="${p.filename}"`;
    head += '\r\n';
    if (p.type) head += `Content-Type: ${p.type}\r\n`;
    chunks.push(Buffer.from(head + '\r\n'), Buffer.from(p.value), Buffer.from('\r\n'));
  }
  if (end) chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

/** Check the spooled file, then clean up as the engine would and check it is gone. */
async function assertSpooled(file: UploadedFile, content: Buffer): Promise<void> {
  assert.equal(dirname(file.local), spool);
  assert.equal(file.size, content.length);
  assert.deepEqual(await readFile(file.local), content);
  assert.equal((await stat(file.local)).mode & 0o777, 0o600);
}

test('no body: empty args', T, async () => {
  const seen = nextOutcome();
  const res = await fetch(`${base}/`);
  assert.equal(res.status, 200);
  const { body } = await seen;
  assert.deepEqual({ ...body!.args }, {});
  assert.equal(body!.raw, undefined);
  assert.deepEqual(body!.files, []);
});

test('urlencoded: repeated names become arrays in order, UTF-8 decoded', T, async () => {
  const seen = nextOutcome();
  const { status, json } = await post('/', 'a=1&b=x+y&a=2&c=%E2%9C%93&a=3&bad=%zz', {
    'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
  });
  assert.equal(status, 200);
  assert.deepEqual(json.args, { a: ['1', '2', '3'], b: 'x y', c: '✓', bad: '%zz' });
  const { body } = await seen;
  assert.equal(Object.getPrototypeOf(body!.args), null);
});

test('urlencoded: more fields than maxFields is 413', T, async () => {
  const form = new URLSearchParams(Array.from({ length: 21 }, (_, i): [string, string] => [`k${i}`, 'v']));
  const { status, json } = await post('/small', form);
  assert.equal(status, 413);
  assert.equal(json.code, 'SKT_BODY_TOO_LARGE');
});

test('JSON object: members become args, prototype keys stay plain data', T, async () => {
  const seen = nextOutcome();
  const text = '\ufeff{"keyword":"Mozart","n":[1,2],"__proto__":{"polluted":true},"constructor":"c"}';
  const { status, json } = await post('/', text, { 'content-type': 'application/json' });
  assert.equal(status, 200);
  assert.equal(json.args.keyword, 'Mozart');
  assert.deepEqual(json.args.n, [1, 2]);
  const { body } = await seen;
  const args = body!.args;
  assert.equal(Object.getPrototypeOf(args), null);
  assert.deepEqual(args['__proto__'], { polluted: true });
  assert.equal(args['constructor'], 'c');
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
});

test('JSON non-object (+json type): args empty, value in json', T, async () => {
  const { status, json } = await post('/', '[1,"two",null]', { 'content-type': 'application/vnd.api+json' });
  assert.equal(status, 200);
  assert.deepEqual(json.args, {});
  assert.deepEqual(json.json, [1, 'two', null]);
  assert.equal(json.raw, '[1,"two",null]');
});

test('malformed JSON is 400 SKT_BODY_MALFORMED', T, async () => {
  const { status, json } = await post('/', '{"a": 1,', { 'content-type': 'application/json' });
  assert.equal(status, 400);
  assert.equal(json.code, 'SKT_BODY_MALFORMED');
});

test('text/xml: raw bytes only, no args', T, async () => {
  const xml = '<?xml version="1.0"?><methodCall><methodName>a.b</methodName></methodCall>';
  const { status, json } = await post('/', xml, { 'content-type': 'text/xml' });
  assert.equal(status, 200);
  assert.deepEqual(json.args, {});
  assert.equal(json.raw, xml);
  assert.equal(json.json, undefined);
});

test('multipart from fetch: fields and two files arrive intact, cleanup removes them', T, async () => {
  const binary = randomBytes(300 * 1024);
  const text = Buffer.from('héllo wörld\n'.repeat(100));
  const form = new FormData();
  form.append('title', 'Überschrift');
  form.append('tag', 'a');
  form.append('tag', 'b');
  form.append('bin', new Blob([binary], { type: 'application/octet-stream' }), 'data.bin');
  form.append('doc', new Blob([text], { type: 'text/plain' }), '노트.txt');
  const seen = nextOutcome();
  const { status, json } = await post('/', form);
  assert.equal(status, 200, JSON.stringify(json));
  assert.equal(json.args.title, 'Überschrift');
  assert.deepEqual(json.args.tag, ['a', 'b']);
  const { body } = await seen;
  const { bin, doc } = body!.args as Record<string, UploadedFile>;
  assert.equal(bin!.remote, 'data.bin');
  assert.equal(bin!.mimetype, 'application/octet-stream');
  assert.equal(doc!.remote, '노트.txt');
  assert.equal(doc!.field, 'doc');
  await assertSpooled(bin!, binary);
  await assertSpooled(doc!, text);
  assert.deepEqual(body!.files, [bin, doc]);
  await cleanupFiles(body!.files);
  assert.deepEqual(await spoolEntries(), []);
});

test('multipart from curl: repeated file field becomes an array', T, async () => {
  const one = randomBytes(70 * 1024);
  const two = Buffer.from('second file\r\n--not-a-boundary\r\n');
  await writeFile(join(scratch, 'one.bin'), one);
  await writeFile(join(scratch, 'two.txt'), two);
  const seen = nextOutcome();
  const { stdout } = await promisify(execFile)('curl', [
    '-s', '-F', 'name=value', '-F', `up=@${join(scratch, 'one.bin')}`, '-F', `up=@${join(scratch, 'two.txt')};type=text/plain`,
    `${base}/`,
  ]);
  assert.equal(JSON.parse(stdout).args.name, 'value');
  const { body } = await seen;
  const up = body!.args['up'] as UploadedFile[];
  assert.equal(up.length, 2);
  assert.deepEqual(up.map((f) => f.remote), ['one.bin', 'two.txt']);
  assert.equal(up[1]!.mimetype, 'text/plain');
  await assertSpooled(up[0]!, one);
  await assertSpooled(up[1]!, two);
  await cleanupFiles(body!.files);
  assert.deepEqual(await spoolEntries(), []);
});

test('multipart: an empty file input (filename="") is not an upload', T, async () => {
  const body = multipart('b0und', [
    { name: 'a', value: '1' },
    { name: 'file', value: '', filename: '', type: 'application/octet-stream' },
  ]);
  const { status, json } = await post('/', body, { 'content-type': 'multipart/form-data; boundary=b0und' });
  assert.equal(status, 200);
  assert.deepEqual(json.args, { a: '1' });
  assert.deepEqual(json.files, []);
});

test('oversize by Content-Length is 413 before any byte is read, and the server keeps serving', T, async () => {
  // the socket never sends the promised 100 MB: only an answer that does not wait for it can arrive
  const sock = connect(port, '127.0.0.1');
  sock.write(
    'POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n' +
      'Content-Length: 100000000\r\n\r\na=1',
  );
  const [chunk] = (await once(sock, 'data')) as [Buffer];
  assert.match(chunk.toString('latin1'), /^HTTP\/1\.1 413 /);
  sock.destroy();

  const small = await post('/small', 'a=' + 'x'.repeat(2000), { 'content-type': 'application/x-www-form-urlencoded' });
  assert.equal(small.status, 413);
  assert.equal(small.json.code, 'SKT_BODY_TOO_LARGE');

  const again = await post('/small', 'a=1', { 'content-type': 'application/x-www-form-urlencoded' });
  assert.equal(again.status, 200);
  assert.deepEqual(again.json.args, { a: '1' });
});

/** POST an endless chunked body until the server answers; resolves with the status. */
function endlessPost(path: string, headers: Record<string, string>, first?: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', headers });
    req.on('response', (res) => {
      answered = true;
      res.resume();
      resolve(res.statusCode!);
    });
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    const chunk = Buffer.alloc(16 * 1024, 0x61);
    if (first) req.write(first);
    const pump = (): void => {
      while (!answered && !req.destroyed) {
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
    };
    pump();
  });
}

test('oversize chunked body is 413 while the client is still sending', T, async () => {
  const seen = nextOutcome();
  const status = await endlessPost('/small', { 'content-type': 'text/plain' });
  assert.equal(status, 413);
  assert.equal((await seen).code, 'SKT_BODY_TOO_LARGE');
});

test('oversize chunked upload is 413 and removes the temp files already written', T, async () => {
  const created: string[] = [];
  const watcher = watch(spool, (_event, name) => name && created.push(name));
  try {
    const head = multipart('zz', [
      { name: 'small', value: randomBytes(8 * 1024), filename: 's.bin' },
      { name: 'f', value: 'v' },
    ], false);
    const open = Buffer.from('--zz\r\nContent-Disposition: form-data; name="big"; filename="b.bin"\r\n\r\n');
    const seen = nextOutcome();
    const status = await endlessPost('/small', { 'content-type': 'multipart/form-data; boundary=zz' }, Buffer.concat([head, open]));
    assert.equal(status, 413);
    assert.equal((await seen).code, 'SKT_BODY_TOO_LARGE');
    assert.ok(created.length >= 2, `both uploads were spooled before the limit hit (${created})`);
    assert.deepEqual(await spoolEntries(), []);
  } finally {
    watcher.close();
  }
});

test('too many files is 413 with no temp file left', T, async () => {
  const body = multipart('qq', [1, 2, 3].map((i) => ({ name: `f${i}`, value: `content ${i}`, filename: `${i}.txt` })));
  const { status, json } = await post('/small', body, { 'content-type': 'multipart/form-data; boundary=qq' });
  assert.equal(status, 413);
  assert.equal(json.code, 'SKT_BODY_TOO_LARGE');
  assert.deepEqual(await spoolEntries(), []);
});

test('a client aborting mid-upload leaves no temp files', T, async () => {
  const seen = nextOutcome();
  const req = request({
    host: '127.0.0.1', port, path: '/', method: 'POST',
    headers: { 'content-type': 'multipart/form-data; boundary=ab', 'content-length': String(10 * 1024 * 1024) },
  });
  req.on('error', () => {}); // our own destroy
  req.write('--ab\r\nContent-Disposition: form-data; name="f"; filename="x.bin"\r\n\r\n');
  req.write(randomBytes(128 * 1024));
  // abort only once the server has really started spooling
  await until(async () => (await spoolEntries()).length > 0, 5000, 'the server spooling the upload');
  assert.equal((await spoolEntries()).length, 1);
  req.destroy();
  assert.equal((await seen).code, 'SKT_BODY_ABORTED');
  assert.deepEqual(await spoolEntries(), []);
});

test('a client aborting mid-form is SKT_BODY_ABORTED', T, async () => {
  const seen = nextOutcome();
  // Leave once the server has the request (its handler is reading the body), not after a guessed delay.
  const arrived = once(server, 'request');
  const sock = connect(port, '127.0.0.1');
  sock.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"a":');
  await arrived;
  sock.destroy();
  assert.equal((await seen).code, 'SKT_BODY_ABORTED');
});

test('truncated multipart is 400 and leaves no temp files', T, async () => {
  const body = multipart('tt', [
    { name: 'a', value: '1' },
    { name: 'f', value: randomBytes(4096), filename: 'f.bin' },
  ], false).subarray(0, -100);
  const { status, json } = await post('/', body, { 'content-type': 'multipart/form-data; boundary=tt' });
  assert.equal(status, 400);
  assert.equal(json.code, 'SKT_BODY_MALFORMED');
  assert.deepEqual(await spoolEntries(), []);
});

test('multipart without a boundary is 400', T, async () => {
  const { status, json } = await post('/', 'whatever', { 'content-type': 'multipart/form-data' });
  assert.equal(status, 400);
  assert.equal(json.code, 'SKT_BODY_MALFORMED');
});

test('queryArgs: repeated names become arrays, leading ? optional', T, () => {
  const q = queryArgs('?a=1&b=2&a=3&name=%ED%95%9C');
  assert.equal(Object.getPrototypeOf(q), null);
  assert.deepEqual({ ...q }, { a: ['1', '3'], b: '2', name: '한' });
  assert.deepEqual({ ...queryArgs('x=1') }, { x: '1' });
  assert.deepEqual({ ...queryArgs('') }, {});
});

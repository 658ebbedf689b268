// HTTP/2 twins of the main HTTP/1.1 families, with real clients: curl --http2 (nghttp2) and node's http2.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http2 from 'node:http2';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { makeCert, type TestCert } from '../support/cert.js';
import { h2Connect, h2Request } from '../support/h2.js';
import { echo, Members, type Member } from '../support/plain-members.js';
import { startSite, type TestSite } from '../support/site.js';
import { until } from '../support/until.js';

const run = promisify(execFile);

const WEBAPP = `
import { App } from 'skitai';
import { Readable } from 'node:stream';
export const app = new App().useSession();
app.route('/hello', () => 'Hello h2');
app.route('/big', () => 'lorem ipsum dolor sit amet '.repeat(200));
app.route('/args', (was, args) => {
  const out = { ...args };
  for (const [k, v] of Object.entries(out)) if (v && typeof v === 'object' && 'local' in v) out[k] = { size: v.size, remote: v.remote };
  return { method: was.request.method, args: out, host: was.request.getHeader('host') ?? null };
});
app.route('/count', (was) => { const n = ((was.session.get('n') as number) ?? 0) + 1; was.session.set('n', n); return { n }; });
app.route('/generator', async function* () { yield 'x'; yield 'y'; yield 'z'; });
app.route('/add', (was, { a, b }) => a + b, { params: ['a', 'b'] });
// Answered when the test calls globalThis.releaseHeld(): a request in flight across a stop.
app.route('/held', () => new Promise((resolve) => {
  (globalThis as any).heldWaiting = ((globalThis as any).heldWaiting ?? 0) + 1;
  (globalThis as any).releaseHeld = () => resolve('held done');
}));
`;

const KEY = 'h2-session-s3cret';
const members = new Members();
let dir: string;
let cert: TestCert;
let member: Member;
let s: TestSite;
let base: string;

const files = {
  'webapp.ts': WEBAPP,
  'static/one.txt': 'a'.repeat(1024),
  'static/style.css': 'body { color: red; }\n'.repeat(200),
};

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-h2-'));
  cert = makeCert(dir);
  member = await members.start(echo);
  s = await startSite(
    `[server]\nssl = yes\nhttp2 = yes\ncertfile = ${cert.cert}\nkeyfile = ${cert.key}\nsecurekey = ${KEY}\nadmin_password = adm1n-pass\nstatus_path = /server-status\n` +
      `[routes:line]\n/ = ./static\n/ = ./webapp\n/m = @m\n[@m]\nmembers = ${member.node}\n`,
    files,
  );
  base = `https://127.0.0.1:${s.port}`;
});
after(async () => {
  await s?.close();
  await members.closeAll();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function curl(args: string[]): Promise<string> {
  return (await run('curl', ['-s', '--cacert', cert.cert, ...args], { encoding: 'utf8' })).stdout;
}

describe('http2 = yes with ssl = yes', () => {
  test('curl --http2 is answered over h2, and HTTP/1.1 on the same port', async () => {
    const h2 = await curl(['--http2', '-i', `${base}/hello`]);
    assert.match(h2, /^HTTP\/2 200/);
    assert.match(h2, /x-request-id: \S+/);
    assert.match(h2, /Hello h2$/);
    const h1 = await curl(['--http1.1', '-i', `${base}/hello`]);
    assert.match(h1, /^HTTP\/1\.1 200/);
    assert.match(h1, /Hello h2$/);
    // The HTTP/1 side keeps node:http's limits: Host is required.
    const noHost = await curl(['--http1.1', '-o', '/dev/null', '-w', '%{http_code}', '-H', 'Host:', `${base}/hello`]);
    assert.equal(noHost, '400');
  });

  test('app routes over node http2: JSON, forms, Host from :authority, 404, streamed bodies', async () => {
    const session = await h2Connect(base, cert.ca);
    try {
      const args = await h2Request(session, '/args?q=1', {
        method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=b',
      });
      assert.equal(args.status, 200);
      assert.deepEqual(JSON.parse(args.body.toString()), { method: 'POST', args: { q: '1', a: 'b' }, host: `127.0.0.1:${s.port}` });
      assert.equal((await h2Request(session, '/nothing-here')).status, 404);
      const gen = await h2Request(session, '/generator');
      assert.equal(gen.body.toString(), 'xyz');
      // Many streams on one connection at once.
      const all = await Promise.all(Array.from({ length: 20 }, () => h2Request(session, '/hello')));
      assert.ok(all.every((r) => r.status === 200 && r.body.toString() === 'Hello h2'));
      const big = await h2Request(session, '/big', { headers: { 'accept-encoding': 'gzip' } });
      assert.equal(big.headers['content-encoding'], 'gzip');
      assert.equal(zlib.gunzipSync(big.body).toString(), 'lorem ipsum dolor sit amet '.repeat(200));
    } finally {
      session.close();
    }
  });

  test('static files: Range, 304, compression', async () => {
    const session = await h2Connect(base, cert.ca);
    try {
      const whole = await h2Request(session, '/one.txt');
      assert.equal(whole.status, 200);
      assert.equal(whole.body.length, 1024);
      const etag = whole.headers.etag as string;
      assert.ok(etag);
      const range = await h2Request(session, '/one.txt', { headers: { range: 'bytes=0-9' } });
      assert.equal(range.status, 206);
      assert.equal(range.headers['content-range'], 'bytes 0-9/1024');
      assert.equal(range.body.toString(), 'a'.repeat(10));
      const cached = await h2Request(session, '/one.txt', { headers: { 'if-none-match': etag } });
      assert.equal(cached.status, 304);
      assert.equal(cached.body.length, 0);
      const css = await h2Request(session, '/style.css', { headers: { 'accept-encoding': 'br' } });
      assert.equal(css.headers['content-encoding'], 'br');
      assert.equal(zlib.brotliDecompressSync(css.body).toString(), files['static/style.css']);
    } finally {
      session.close();
    }
  });

  test('sessions (cookies), JSON-RPC, uploads and the status page through curl --http2', async () => {
    const jar = path.join(dir, 'jar.txt');
    await curl(['--http2', '-c', jar, '-b', jar, `${base}/count`]);
    assert.deepEqual(JSON.parse(await curl(['--http2', '-c', jar, '-b', jar, `${base}/count`])), { n: 2 });
    const rpc = await curl(['--http2', '-H', 'content-type: application/json', '-d', '{"jsonrpc":"2.0","method":"add","params":[2,3],"id":1}', `${base}/`]);
    assert.deepEqual(JSON.parse(rpc), { jsonrpc: '2.0', result: 5, id: 1 });
    const file = path.join(dir, 'upload.txt');
    fs.writeFileSync(file, 'file body');
    const up = JSON.parse(await curl(['--http2', '-F', 'title=hi', '-F', `doc=@${file};type=text/plain`, `${base}/args`]));
    assert.deepEqual(up.args, { title: 'hi', doc: { size: 9, remote: 'upload.txt' } });
    const status = await curl(['--http2', '-u', 'admin:adm1n-pass', '-H', 'accept: application/json', '-w', '\n%{http_version}', `${base}/server-status`]);
    const cut = status.lastIndexOf('\n');
    assert.equal(status.slice(cut + 1), '2');
    assert.ok(JSON.parse(status.slice(0, cut)));
  });

  test('the reverse proxy: h2 in front, HTTP/1.1 to the member, no pseudo-headers passed on', async () => {
    const out = await curl(['--http2', '-H', 'x-mine: 1', '-w', '\n%{http_version}', `${base}/m/path?x=1`]);
    const [json, version] = out.split('\n');
    assert.equal(version, '2');
    const seen = JSON.parse(json!);
    assert.equal(seen.url, '/path?x=1');
    assert.equal(seen.headers['x-mine'], '1');
    assert.equal(seen.headers['x-forwarded-host'], `127.0.0.1:${s.port}`);
    assert.equal(seen.headers['x-forwarded-proto'], 'https');
    assert.ok(Object.keys(seen.headers).every((k) => !k.startsWith(':')), `pseudo-headers reached the member: ${json}`);
  });

  test('the reverse proxy passes on an h2 request body sent without Content-Length', async () => {
    const session = await h2Connect(base, cert.ca);
    try {
      const got = await h2Request(session, '/m/upload', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'body over h2' });
      const seen = JSON.parse(got.body.toString());
      assert.equal(seen.method, 'POST');
      assert.equal(seen.body, 'body over h2');
    } finally {
      session.close();
    }
  });
});

describe('http2 = h2c', () => {
  test('cleartext h2 with prior knowledge', async () => {
    const h2c = await startSite('[server]\nhttp2 = h2c\n[routes:line]\n/ = ./webapp\n', { 'webapp.ts': WEBAPP.replace('.useSession()', '') });
    try {
      const out = await run('curl', ['-s', '--http2-prior-knowledge', '-i', `${h2c.base}/hello`], { encoding: 'utf8' });
      assert.match(out.stdout, /^HTTP\/2 200/);
      const session = await h2Connect(h2c.base);
      assert.equal((await h2Request(session, '/hello')).body.toString(), 'Hello h2');
      session.close();
    } finally {
      await h2c.close();
    }
  });

  test('http2 = yes without ssl, and h2c with ssl, are config errors naming the key', async () => {
    await assert.rejects(startSite('[server]\nhttp2 = yes\n'), /\[server\] http2: http2 = yes needs ssl = yes/);
    await assert.rejects(startSite(`[server]\nhttp2 = h2c\nssl = yes\ncertfile = ${cert.cert}\nkeyfile = ${cert.key}\n`), /\[server\] http2: http2 = h2c is cleartext/);
  });
});

describe('graceful stop and reload over h2', () => {
  for (const drain of [false, true]) {
    test(`${drain ? 'a reload (drain)' : 'a stop'} sends GOAWAY and lets the open stream finish`, async () => {
      const site = await startSite(
        `[server]\nssl = yes\nhttp2 = yes\ncertfile = ${cert.cert}\nkeyfile = ${cert.key}\nsecurekey = ${KEY}\n[routes:line]\n/ = ./webapp\n`, files);
      const g = globalThis as { heldWaiting?: number; releaseHeld?: () => void };
      g.heldWaiting = 0;
      const session = await h2Connect(`https://127.0.0.1:${site.port}`, cert.ca);
      let goaway: number | undefined;
      session.on('goaway', (code: number) => (goaway = code));
      session.on('error', () => undefined);
      const held = h2Request(session, '/held');
      await until(() => g.heldWaiting === 1, 5000, 'the held request reached the app');
      const closing = site.site.close(10_000, drain);
      await until(() => goaway !== undefined, 5000, 'GOAWAY from the server');
      assert.equal(goaway, http2.constants.NGHTTP2_NO_ERROR);
      g.releaseHeld!();
      const got = await held;
      assert.equal(got.status, 200);
      assert.equal(got.body.toString(), 'held done');
      await closing;
      await until(() => session.closed || session.destroyed, 5000, 'the session closed after its last stream');
      fs.rmSync(site.dir, { recursive: true, force: true });
    });
  }
});

describe('members over h2 ([@c] http2 = yes)', () => {
  test('the reverse proxy speaks h2 to a member that offers it, multiplexed over one connection', async () => {
    let sessions = 0;
    const versions: string[] = [];
    const member = http2.createSecureServer({ cert: fs.readFileSync(cert.cert), key: fs.readFileSync(cert.key), allowHTTP1: true }, (req, res) => {
      versions.push(req.httpVersion);
      res.setHeader('content-type', 'text/plain');
      res.end(`member saw ${req.httpVersion}`);
    });
    member.on('session', () => sessions++);
    await new Promise<void>((resolve) => member.listen(0, '127.0.0.1', resolve));
    const port = (member.address() as { port: number }).port;
    const conf = (h2: string): string =>
      `[routes:line]\n/m = @m\n[@m]\nmembers = 127.0.0.1:${port}\nssl = yes\nca_file = ${cert.cert}\n${h2}\n`;
    const front = await startSite(conf('http2 = yes'));
    const plain = await startSite(conf(''));
    try {
      // One request first: requests that arrive while the first connection is still being set up each open their own.
      assert.equal(await (await fetch(`${front.base}/m/x`)).text(), 'member saw 2.0');
      const got = await Promise.all(Array.from({ length: 8 }, () => fetch(`${front.base}/m/x`).then((r) => r.text())));
      assert.ok(got.every((t) => t === 'member saw 2.0'), got.join(', '));
      assert.equal(sessions, 1, 'one h2 connection carried every request');
      assert.equal(await (await fetch(`${plain.base}/m/x`)).text(), 'member saw 1.1');
      await assert.rejects(startSite('[routes:line]\n/m = @m\n[@m]\nmembers = 127.0.0.1:1\nhttp2 = yes\n'), /\[@m\] http2: http2 = yes needs ssl = yes/);
    } finally {
      await front.close();
      await plain.close();
      member.close();
    }
  });
});

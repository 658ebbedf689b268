// Cached static files over h2 answered at the session's stream event (http/h2fast.ts, docs/http2.md):
// what a client sees must be what the full path gives — the headers and bytes, HEAD, compression,
// the request id, the access line, the metrics — and only where the route table would send the
// request to that static mount; a changed file is seen as before. A spy on StaticHandler#prepared
// tells which answers came from the stream event.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import http2 from 'node:http2';
import { after, before, describe, mock, test } from 'node:test';
import { StaticHandler } from '../../src/handlers/static.js';
import type { PreparedAnswer } from '../../src/http/handler.js';
import { h2Connect, h2Request, type H2Got } from '../support/h2.js';
import { startMember, type MemberServer } from '../support/members.js';
import { startSite, type TestSite } from '../support/site.js';
import { until } from '../support/until.js';

const TEXT = 'static text over h2\n'.repeat(100); // 2 KiB: compressible, above compress_min_size
const BINARY = Buffer.from(Array.from({ length: 1500 }, (_, i) => (i * 31) % 256));
const APP = `
import { App } from 'skitai';
export const app = new App();
app.route('/hello', () => 'hello from the app');
// Routes added while the site runs, on paths the static mount behind the app has already served.
app.route('/add-late', () => { app.route('/late.txt', () => 'the app took it'); return 'added'; });
app.route('/add-guarded', () => { app.route('/guarded.txt', () => 'secret', { permit: 'ops' }); return 'added'; });
`;
const OTHER = `
import { App } from 'skitai';
export const app = new App();
app.route('/a.txt', () => 'a.txt of other.test');
`;

let s: TestSite;
let member: MemberServer;
let fast = 0;
let session: http2.ClientHttp2Session;

before(async () => {
  member = await startMember('m1');
  s = await startSite(
    '[server]\nhttp2 = h2c\naccess_log = access.log\nmetrics_path = /metrics\nmetrics_allow = 127.0.0.1\ntrusted_proxies = 127.0.0.1\n' +
      'cors_origins = https://front.example\ncors_paths = /cors\n' +
      `[users]\nalice = alice-pw-1 ops\n[@m]\nmembers = ${member.node}\n` +
      '[routes:line]\n/ = ./app.ts\n/ = ./www\n@ other.test\n/ = ./other.ts\n@ proxied.test\n/ = @m\n',
    {
      'app.ts': APP, 'other.ts': OTHER,
      'www/a.txt': TEXT, 'www/b.txt': TEXT.toUpperCase(), 'www/c.bin': BINARY, 'www/d.txt': TEXT, 'www/e.txt': TEXT,
      'www/late.txt': 'the file', 'www/guarded.txt': 'the file', 'www/cors/x.txt': 'cors file', 'www/changing.txt': 'version 1', 'www/never.txt': 'n', 'www/log.txt': TEXT,
    },
  );
  const original = StaticHandler.prototype.prepared;
  mock.method(StaticHandler.prototype, 'prepared', function (this: StaticHandler, ...args: Parameters<StaticHandler['prepared']>): PreparedAnswer | undefined {
    const answer = original.apply(this, args);
    if (answer !== undefined) fast++;
    return answer;
  });
  session = await h2Connect(s.base);
});
after(async () => {
  session.close();
  mock.restoreAll();
  await s.close();
  await member.kill();
});

/** A request, and whether it was answered at the stream event. */
async function get(target: string, headers: http2.OutgoingHttpHeaders = {}, method = 'GET'): Promise<H2Got & { fast: boolean }> {
  const before = fast;
  const got = await h2Request(session, target, { method, headers });
  return { ...got, fast: fast > before };
}

/** The response headers a client compares: all but those that differ per response. */
function stable(h: http2.IncomingHttpHeaders): Record<string, unknown> {
  const { date: _date, 'x-request-id': _id, ...rest } = h;
  return rest;
}

describe('a cached file at the stream event', () => {
  test('the same status, headers and bytes as the full path, identity and compressed', async () => {
    for (const [file, accept] of [['/a.txt', undefined], ['/b.txt', 'gzip'], ['/e.txt', 'br, gzip'], ['/c.bin', 'gzip']] as const) {
      const headers = accept ? { 'accept-encoding': accept } : {};
      const first = await get(file, headers);
      const second = await get(file, headers);
      assert.equal(first.fast, false, `${file}: the first request reads the file the full way`);
      assert.equal(second.fast, true, `${file}: the next one is answered at the stream event`);
      assert.equal(second.status, 200);
      assert.deepEqual(stable(second.headers), stable(first.headers), file);
      assert.deepEqual(second.body, first.body, file);
      assert.match(String(second.headers.date), /GMT$/);
    }
    const gz = await get('/b.txt', { 'accept-encoding': 'gzip' });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.equal(gz.headers.vary, 'Accept-Encoding');
    assert.equal(zlib.gunzipSync(gz.body).toString(), TEXT.toUpperCase());
    const br = await get('/e.txt', { 'accept-encoding': 'br, gzip' });
    assert.equal(br.headers['content-encoding'], 'br');
    assert.equal(zlib.brotliDecompressSync(br.body).toString(), TEXT);
    // Another Accept-Encoding on a hot file: its own representation, still at the stream event.
    const plain = await get('/b.txt');
    assert.equal(plain.fast, true);
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(plain.body.toString(), TEXT.toUpperCase());
    assert.notEqual(plain.headers.etag, gz.headers.etag);
    const bin = await get('/c.bin', { 'accept-encoding': 'gzip' });
    assert.deepEqual(bin.body, BINARY, 'a binary type is never compressed');
    assert.equal(bin.headers.vary, undefined);
    assert.equal(bin.headers['content-type'], 'application/octet-stream');
  });

  test('HEAD: the headers of a GET, Content-Length included, and no body', async () => {
    const body = await get('/d.txt');
    const head = await get('/d.txt', {}, 'HEAD');
    assert.equal(head.fast, true);
    assert.deepEqual(stable(head.headers), stable(body.headers));
    assert.equal(head.headers['content-length'], String(TEXT.length));
    assert.equal(head.body.length, 0);
  });

  test('a request id per answer, a trusted proxy\'s kept, an invalid one replaced', async () => {
    await get('/a.txt');
    const ids = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const got = await get('/a.txt');
      assert.equal(got.fast, true);
      ids.add(String(got.headers['x-request-id']));
    }
    assert.equal(ids.size, 5);
    const kept = await get('/a.txt', { 'x-request-id': 'edge-42.a' });
    assert.equal(kept.fast, true);
    assert.equal(kept.headers['x-request-id'], 'edge-42.a');
    const replaced = await get('/a.txt', { 'x-request-id': 'bad id*' });
    assert.notEqual(replaced.headers['x-request-id'], 'bad id*');
    assert.match(String(replaced.headers['x-request-id']), /^[\w.:=+/-]+$/);
  });

  test('the access line of an answer at the stream event: as the full path writes it', async () => {
    const full = await get('/log.txt?log=full');
    const quick = await get('/log.txt?log=fast', { 'user-agent': 'fast-test' });
    assert.equal(full.fast, false);
    assert.equal(quick.fast, true);
    const lines = await until(() => {
      const all = fs.readFileSync(path.join(s.dir, 'access.log'), 'utf8').split('\n');
      const f = all.find((l) => l.includes('/log.txt?log=full'));
      const q = all.find((l) => l.includes('/log.txt?log=fast'));
      return f && q ? { f, q } : undefined;
    }, 10_000, 'both access lines');
    for (const [line, got] of [[lines.f, full], [lines.q, quick]] as const) {
      // The client's port and the bytes the response put on the connection.
      const m = / 127\.0\.0\.1:(\d+) GET (\S+) HTTP\/2\.0 200 (-?\d+) [\d.]+ms (\S+)$/.exec(line);
      assert.ok(m, line);
      assert.ok(Number(m[1]) > 0, `port: ${line}`);
      assert.ok(Number(m[3]) > 0, `bytes: ${line}`);
      assert.equal(m[4], got.headers['x-request-id']);
    }
  });

  test('the metrics count it on its route, with its duration', async () => {
    const scrape = async (): Promise<{ ok: number; durations: number }> => {
      const text = (await get('/metrics')).body.toString();
      const ok = Number(/skitai_http_requests_total\{route="\/",status_class="2xx"\} (\d+)/.exec(text)?.[1] ?? 0);
      const durations = Number(/skitai_http_request_duration_seconds_count (\d+)/.exec(text)?.[1] ?? NaN);
      return { ok, durations };
    };
    // A stream is counted when it closes, just after its client has the answer.
    const settled = (): Promise<true> => until(() => s.site.engine.inFlight === 0, 10_000, 'nothing in flight');
    await get('/a.txt');
    await settled();
    const before = await scrape();
    for (let i = 0; i < 7; i++) assert.equal((await get('/a.txt')).fast, true);
    await settled();
    const after = await scrape();
    assert.equal(after.ok - before.ok, 7);
    // The seven answers and the first scrape.
    assert.equal(after.durations - before.durations, 8);
  });

  test('Range and conditionals still take the full path: 206, 304', async () => {
    const ok = await get('/a.txt');
    const range = await get('/a.txt', { range: 'bytes=0-9' });
    assert.equal(range.fast, false);
    assert.equal(range.status, 206);
    assert.equal(range.body.toString(), TEXT.slice(0, 10));
    const cached = await get('/a.txt', { 'if-none-match': String(ok.headers.etag) });
    assert.equal(cached.fast, false);
    assert.equal(cached.status, 304);
    assert.equal(cached.headers.etag, ok.headers.etag);
  });
});

describe('only where the route table sends the request to that static mount', () => {
  test('an app route added on a served path takes it; so does one that needs a login', async () => {
    for (const [file, add] of [['/late.txt', '/add-late'], ['/guarded.txt', '/add-guarded']] as const) {
      await get(file);
      assert.equal((await get(file)).fast, true);
      assert.equal((await get(add)).body.toString(), 'added');
      const after = await get(file);
      assert.equal(after.fast, false);
      if (file === '/late.txt') assert.equal(after.body.toString(), 'the app took it');
      else {
        assert.equal(after.status, 401);
        assert.match(String(after.headers['www-authenticate']), /^Basic /);
      }
    }
  });

  test('another host group: its app, its proxy mount; the Host header before :authority', async () => {
    await get('/a.txt');
    assert.equal((await get('/a.txt')).fast, true);
    const other = await h2Request(session, '/a.txt', { headers: { ':authority': 'other.test' } });
    assert.equal(other.body.toString(), 'a.txt of other.test');
    const byHost = await h2Request(session, '/a.txt', { headers: { host: 'other.test' } });
    assert.equal(byHost.body.toString(), 'a.txt of other.test');
    const proxied = await h2Request(session, '/a.txt', { headers: { ':authority': 'proxied.test' } });
    assert.equal(proxied.status, 200);
    assert.equal(JSON.parse(proxied.body.toString()).name, 'm1');
    assert.equal((await get('/a.txt')).body.toString(), TEXT, 'the default group still gets the file');
  });

  test('a path under the CORS policy gets its headers (the full path); others stay at the stream event', async () => {
    await get('/cors/x.txt');
    const cors = await get('/cors/x.txt', { origin: 'https://front.example' });
    assert.equal(cors.fast, false);
    assert.equal(cors.headers['access-control-allow-origin'], 'https://front.example');
    assert.match(String(cors.headers.vary), /Origin/);
    assert.equal(cors.body.toString(), 'cors file');
    const plain = await get('/cors/x.txt');
    assert.equal(plain.fast, false);
    assert.match(String(plain.headers.vary), /Origin/);
    assert.equal((await get('/a.txt', { origin: 'https://front.example' })).fast, true);
  });
});

test('X-Request-Id goes HPACK never-indexed on every answer without a body: app, full path, stream event', async () => {
  const never = (got: H2Got): unknown => (got.headers as Record<symbol, unknown>)[http2.sensitiveHeaders];
  assert.deepEqual(never(await get('/hello')), ['x-request-id']);
  const first = await get('/never.txt');
  assert.equal(first.fast, false);
  assert.deepEqual(never(first), ['x-request-id']);
  const second = await get('/never.txt');
  assert.equal(second.fast, true);
  assert.deepEqual(never(second), ['x-request-id']);
  assert.deepEqual(never(await get('/never.txt', { 'if-none-match': String(first.headers.etag) })), ['x-request-id'], 'a 304');
});

test('a file changed on disk is seen within the stat cache\'s second, as on the full path', async () => {
  const file = path.join(s.dir, 'www', 'changing.txt');
  await get('/changing.txt');
  assert.equal((await get('/changing.txt')).fast, true);
  fs.writeFileSync(file, 'version 2, longer');
  const changed = await until(async () => {
    const got = await get('/changing.txt');
    return got.body.toString() === 'version 2, longer' ? got : undefined;
  }, 5_000, 'the new content');
  assert.equal(changed.headers['content-length'], '17');
  await until(async () => ((await get('/changing.txt')).fast ? true : undefined), 5_000, 'the new version at the stream event');
  fs.rmSync(file);
  await until(async () => ((await get('/changing.txt')).status === 404 ? true : undefined), 5_000, 'a 404 once the file is gone');
});

/**
 * Node apps mounted in `[routes:line]` (`/legacy = ./server.js:app`): real Express 5, Koa, Hono and
 * Fastify apps and a bare listener (test/fixtures/mount/) behind a real site on 127.0.0.1, a real
 * cluster member for `was.lb`, and curl for uploads.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { was } from '../../src/index.js';
import { isSkitaiError } from '../../src/errors.js';
import { Members, type Member } from '../support/plain-members.js';
import { startSite, type TestSite } from '../support/site.js';
import { until } from '../support/until.js';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/mount');
const KiB = 1024;

/** What the fixtures share with the tests (they run in this process). */
interface Shared {
  hits: number;
  gates: Record<string, (() => void) | undefined>;
  late?: string;
  honoCancelled?: boolean;
}
const shared = (): Shared => (globalThis as unknown as { mountTest: Shared }).mountTest;

interface Got {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function request(base: string, target: string, options: http.RequestOptions & { body?: Buffer | string } = {}): Promise<Got> {
  return new Promise((resolve, reject) => {
    const { body, ...rest } = options;
    const req = http.request(`${base}${target}`, { agent: false, ...rest }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const json = (got: Got): Record<string, any> => JSON.parse(got.body.toString()) as Record<string, any>;
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** The first chunk of a streamed response, then the rest once `release` has run. */
async function streamed(base: string, target: string, release: () => void): Promise<{ first: string; whole: string; status: number }> {
  return new Promise((resolve, reject) => {
    http.get(`${base}${target}`, { agent: false }, (res) => {
      let whole = '';
      let first: string | undefined;
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        whole += c;
        if (first === undefined) {
          first = c;
          release();
        }
      });
      res.on('end', () => resolve({ first: first ?? '', whole, status: res.statusCode! }));
    }).on('error', reject);
  });
}

let site: TestSite;
let backend: Member;
const members = new Members();

before(async () => {
  // The member answers with the request id it was sent: was.lb from inside the app carries it.
  backend = await members.start((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: req.headers['x-request-id'] }));
  });
  site = await startSite(`[server]
trusted_proxies = 127.0.0.1
access_log = access.log
max_body_size = 64K

[routes:line]
/legacy = ${FIXTURES}/express-app.js:app
/bare = ${FIXTURES}/listener.js:default
/koa = ${FIXTURES}/koa-app:app
/koa2 = ${FIXTURES}/koa-app.js:koa
/hono = ${FIXTURES}/hono-app.js:app
/fast = ${FIXTURES}/fastify-app.js:app
/ = ./static

[@backend]
members = ${backend.node}

[smtpda]
enabled = no
smtpserver = 127.0.0.1:25
`, { 'static/index.html': '<p>static root</p>', 'static/legacyx.txt': 'not under /legacy' });
});

after(async () => {
  await site?.close();
  await members.closeAll();
});

describe('Express 5 mounted on /legacy', () => {
  test('routes under the prefix: req.url is relative, originalUrl and baseUrl say where it is mounted', async () => {
    const root = await request(site.base, '/legacy');
    assert.equal(root.status, 200);
    assert.deepEqual({ ...json(root), requestId: undefined, ip: undefined, wasRemote: undefined }, {
      url: '/', originalUrl: '/legacy', baseUrl: '/legacy', wasPath: '/legacy', wasPrefix: '/legacy', requestId: undefined, ip: undefined, wasRemote: undefined,
    });
    const user = json(await request(site.base, '/legacy/users/7?x=1&x=2'));
    assert.deepEqual(user, { id: '7', url: '/users/7?x=1&x=2', originalUrl: '/legacy/users/7?x=1&x=2', query: { x: ['1', '2'] } });
    // Its own 404 (naming the original URL, as Express does for a sub-app) is final under the
    // prefix; beside the prefix the other routes answer.
    const missing = await request(site.base, '/legacy/nope');
    assert.equal(missing.status, 404);
    assert.match(missing.body.toString(), /Cannot GET \/legacy\/nope/);
    assert.equal((await request(site.base, '/legacyx.txt')).body.toString(), 'not under /legacy');
  });

  test('the request id and the trusted-proxy client address reach the app', async () => {
    const got = await request(site.base, '/legacy/', { headers: { 'x-forwarded-for': '203.0.113.9', 'x-request-id': 'from-the-proxy-1' } });
    const body = json(got);
    assert.equal(got.headers['x-request-id'], 'from-the-proxy-1');
    assert.equal(body.requestId, 'from-the-proxy-1');
    assert.equal(body.ip, '203.0.113.9', "Express's req.ip is Skitai's client address");
    assert.equal(body.wasRemote, '203.0.113.9');
  });

  test('bodies pass untouched: binary echo and JSON', async () => {
    const bytes = randomBytes(48 * KiB);
    const echo = await request(site.base, '/legacy/echo', { method: 'POST', headers: { 'content-type': 'application/x-thing' }, body: bytes });
    assert.equal(echo.status, 200);
    assert.equal(echo.headers['content-type'], 'application/x-thing');
    assert.ok(echo.body.equals(bytes));
    const posted = await request(site.base, '/legacy/json', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":[1,2],"b":"ü"}' });
    assert.deepEqual(json(posted), { got: { a: [1, 2], b: 'ü' } });
  });

  test('a multipart upload (curl -F) larger than max_body_size streams to the app whole', async () => {
    const file = path.join(site.dir, 'upload.bin');
    const bytes = randomBytes(300 * KiB);
    fs.writeFileSync(file, bytes);
    const { stdout } = await promisify(execFile)('curl', ['-sS', '-F', `doc=@${file}`, '-F', 'note=hi', `${site.base}/legacy/upload`]);
    assert.deepEqual(JSON.parse(stdout), { files: [{ field: 'doc', filename: 'upload.bin', size: bytes.length, sha256: sha(bytes) }] });
  });

  test('a Content-Length over max_body_size is 413 before the app sees the request', async () => {
    const hits = shared().hits;
    const got = await request(site.base, '/legacy/echo', { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: randomBytes(65 * KiB) });
    assert.equal(got.status, 413);
    assert.match(got.body.toString(), /SKT_BODY_TOO_LARGE/);
    assert.equal(shared().hits, hits);
  });

  test('a streamed response reaches the client chunk by chunk', async () => {
    const got = await streamed(site.base, '/legacy/stream', () => shared().gates.stream!());
    assert.equal(got.first, 'first;', 'the first chunk arrived before the app wrote the rest');
    assert.equal(got.whole, 'first;second');
  });

  test('a throwing route gets Express\'s own 500 page, and the worker serves on', async () => {
    const got = await request(site.base, '/legacy/boom');
    assert.equal(got.status, 500);
    assert.doesNotMatch(got.body.toString(), /Skitai/, 'not the Skitai error page');
    assert.equal((await request(site.base, '/legacy/users/1')).status, 200);
  });

  test('was.lb from inside Express calls the cluster with this request\'s id', async () => {
    const got = await request(site.base, '/legacy/lb');
    const body = json(got);
    assert.equal(body.code, 200);
    assert.equal(body.requestId, got.headers['x-request-id']);
    assert.deepEqual(body.data, { id: got.headers['x-request-id'] });
  });

  test('was.email spools a message and was.status reports the clusters, from inside Express', async () => {
    const got = await request(site.base, '/legacy/services');
    assert.equal(got.status, 200, got.body.toString());
    const body = json(got);
    assert.equal(body.mailId, 'string');
    assert.equal(body.databases, 'object');
    assert.deepEqual(body.clusters, ['backend']);
  });

  test('was after the response is done, and outside any request, is SKT_WAS_NO_REQUEST', async () => {
    shared().late = undefined;
    assert.equal((await request(site.base, '/legacy/late')).status, 200);
    assert.equal(await until(() => shared().late, 5000, 'the late use of was'), 'SKT_WAS_NO_REQUEST');
    assert.throws(() => was.request, (err) => isSkitaiError(err, 'SKT_WAS_NO_REQUEST'));
    assert.throws(() => was.lb('@backend/id', 'GET'), (err) => isSkitaiError(err, 'SKT_WAS_NO_REQUEST'));
    assert.equal((was as unknown as { then?: unknown }).then, undefined, 'never mistaken for a promise');
  });

  test('the access log has the URL as the client sent it, with the request id', async () => {
    const got = await request(site.base, '/legacy/users/42?from=log');
    const id = got.headers['x-request-id'] as string;
    const logFile = path.join(site.dir, 'access.log');
    const line = await until(() => fs.readFileSync(logFile, 'utf8').split('\n').find((l) => l.includes(id)), 5000, 'the access line');
    assert.match(line, /GET \/legacy\/users\/42\?from=log /);
  });
});

describe('a bare (req, res) listener mounted as a default export', () => {
  test('sees the relative URL, originalUrl, baseUrl, client address and request id', async () => {
    const got = await request(site.base, '/bare/x/y?z=1');
    assert.deepEqual({ ...json(got), id: undefined }, { url: '/x/y?z=1', originalUrl: '/bare/x/y?z=1', baseUrl: '/bare', ip: '127.0.0.1', id: undefined });
    assert.equal(json(got).id, got.headers['x-request-id']);
  });

  test('streams a body back as it arrives', async () => {
    const bytes = randomBytes(40 * KiB);
    const got = await request(site.base, '/bare/echo', { method: 'POST', body: bytes });
    assert.ok(got.body.equals(bytes));
  });

  test('a synchronous throw is Skitai\'s 500 page and a log line; the worker serves on', async () => {
    const got = await request(site.base, '/bare/throw');
    assert.equal(got.status, 500);
    assert.match(got.body.toString(), /Skitai/);
    assert.ok(site.logLines.some((l) => l.includes('thrown by a bare listener')));
    assert.equal((await request(site.base, '/bare/')).status, 200);
  });
});

describe('Koa', () => {
  test('callback() and the instance both mount; ctx.url is relative, ctx.req.originalUrl is not', async () => {
    for (const prefix of ['/koa', '/koa2']) {
      const body = json(await request(site.base, `${prefix}/a/b?c=d`, { headers: { 'x-forwarded-for': '198.51.100.4' } }));
      assert.deepEqual(body, { url: '/a/b?c=d', path: '/a/b', original: `${prefix}/a/b?c=d`, ip: '198.51.100.4', remote: '198.51.100.4' });
    }
  });

  test('a body streams through ctx.req and back', async () => {
    const bytes = randomBytes(40 * KiB);
    const got = await request(site.base, '/koa/echo', { method: 'POST', headers: { 'content-type': 'application/x-koa' }, body: bytes });
    assert.equal(got.status, 200);
    assert.ok(got.body.equals(bytes));
  });

  test("a throwing middleware is Koa's own 500", async () => {
    const got = await request(site.base, '/koa/boom');
    assert.equal(got.status, 500);
    assert.equal(got.body.toString(), 'Internal Server Error');
  });

  test('was.lb works from a Koa middleware', async () => {
    const got = await request(site.base, '/koa/lb');
    assert.deepEqual(json(got), { code: 200, data: { id: got.headers['x-request-id'] }, requestId: got.headers['x-request-id'] });
  });
});

describe('Hono (a fetch handler)', () => {
  test('gets a Request for the relative URL, the prefix in X-Forwarded-Prefix, the request id', async () => {
    const got = await request(site.base, '/hono?q=1', { headers: { 'x-forwarded-prefix': '/forged' } });
    const body = json(got);
    assert.equal(body.url, `${site.base}/?q=1`);
    assert.equal(body.path, '/');
    assert.equal(body.prefix, '/hono');
    assert.equal(body.id, got.headers['x-request-id']);
    assert.equal(body.remote, '127.0.0.1');
    assert.equal(body.incomingIp, '127.0.0.1');
  });

  test('request and response bodies stream both ways', async () => {
    const bytes = randomBytes(600 * KiB);
    const got = await request(site.base, '/hono/echo', { method: 'PUT', headers: { 'content-type': 'application/x-hono', 'transfer-encoding': 'chunked' }, body: bytes.subarray(0, 60 * KiB) });
    assert.equal(got.status, 404, 'PUT has no route');
    const echo = await request(site.base, '/hono/echo', { method: 'POST', headers: { 'content-type': 'application/x-hono' }, body: bytes.subarray(0, 60 * KiB) });
    assert.equal(echo.status, 200);
    assert.equal(echo.headers['content-type'], 'application/x-hono');
    assert.ok(echo.body.equals(bytes.subarray(0, 60 * KiB)));
    const first = await streamed(site.base, '/hono/stream', () => shared().gates.hono!());
    assert.equal(first.first, 'first;');
    assert.equal(first.whole, 'first;second');
  });

  test('status, several Set-Cookie headers and errors come through as the app made them', async () => {
    const got = await request(site.base, '/hono/cookies');
    assert.equal(got.status, 201);
    assert.deepEqual(got.headers['set-cookie'], ['a=1; Path=/', 'b=2; Path=/']);
    const boom = await request(site.base, '/hono/boom');
    assert.equal(boom.status, 500);
    assert.equal(boom.body.toString(), 'hono caught: boom from hono');
  });

  test('was.lb works from a Hono route', async () => {
    const got = await request(site.base, '/hono/lb');
    assert.deepEqual(json(got), { code: 200, data: { id: got.headers['x-request-id'] }, requestId: got.headers['x-request-id'] });
  });

  test('a client that leaves cancels the response stream', async () => {
    shared().honoCancelled = false;
    await new Promise<void>((resolve, reject) => {
      const req = http.get(`${site.base}/hono/stream`, { agent: false }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => undefined);
      req.on('timeout', () => reject(new Error('no first chunk')));
    });
    await until(() => shared().honoCancelled, 5000, 'the stream cancelled');
  });
});

describe('Fastify', () => {
  test('answers through its routing entry, with was and the request id', async () => {
    const got = await request(site.base, '/fast/?a=b');
    assert.deepEqual(json(got), { url: '/?a=b', id: got.headers['x-request-id'], remote: '127.0.0.1' });
    const posted = await request(site.base, '/fast/json', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"n":1}' });
    assert.deepEqual(json(posted), { got: { n: 1 } });
  });
});

test('no request scope is left open once the mounted apps are idle', async () => {
  await request(site.base, '/legacy/');
  const scopes = (globalThis as unknown as Record<symbol, { active: number }>)[Symbol.for('skitai.was.scope')]!;
  await until(() => scopes.active === 0, 5000, 'no mount request in flight');
});

/**
 * CORS (docs/cors.md) against the Fetch standard's rules: the site policy (`[server] cors_*`) on a
 * reverse proxy to a real member, a mounted Express app and static files; an app's and a route's
 * own policy; and a real cross-origin fetch from headless Chromium.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseConfigText } from '../../src/config/load.js';
import { App } from '../../src/index.js';
import { Logger } from '../../src/log/logger.js';
import { Site } from '../../src/site.js';
import { isSkitaiError } from '../../src/errors.js';
import { Members, type Member } from '../support/plain-members.js';
import { startSite, type TestSite } from '../support/site.js';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/mount');
const PAGE = 'http://page.example:8080';

interface Got {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(base: string, target: string, options: http.RequestOptions = {}): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${target}`, { agent: false, ...options }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const preflight = (base: string, target: string, origin: string, method: string, headers?: string): Promise<Got> =>
  request(base, target, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': method, ...(headers ? { 'access-control-request-headers': headers } : {}) },
  });

const cors = (got: Got): Record<string, string | string[] | undefined> =>
  Object.fromEntries(Object.entries(got.headers).filter(([k]) => k.startsWith('access-control-')));

let site: TestSite;
let member: Member;
const members = new Members();

before(async () => {
  // The member does CORS of its own, badly: Skitai's policy must replace it, not add to it.
  member = await members.start((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', vary: 'Accept-Encoding', 'access-control-allow-origin': '*', 'x-member': '1' }).end(`member saw ${req.method} ${req.url}`);
  });
  site = await startSite(`[server]
cors_origins = ${PAGE}, https://*.example.net
cors_paths = /api, /legacy, /files, /app
cors_methods = GET, POST, PUT
cors_headers = Authorization, X-Thing
cors_expose_headers = X-Request-Id
cors_credentials = yes
cors_max_age = 10m

[routes:line]
/api = @backend
/legacy = ${FIXTURES}/express-app.js:app
/files = ./static
/other = ./static

[@backend]
members = ${member.node}
`, { 'static/a.txt': 'static a' });
});

after(async () => {
  await site?.close();
  await members.closeAll();
});

describe('the site policy ([server] cors_*)', () => {
  test('a preflight is answered by Skitai, the member is not asked', async () => {
    const hits = member.hits;
    const got = await preflight(site.base, '/api/items', PAGE, 'PUT', 'X-Thing, authorization');
    assert.equal(got.status, 204);
    assert.deepEqual(cors(got), {
      'access-control-allow-origin': PAGE,
      'access-control-allow-methods': 'GET, POST, PUT',
      'access-control-allow-headers': 'x-thing, authorization',
      'access-control-allow-credentials': 'true',
      'access-control-max-age': '600',
    });
    assert.match(String(got.headers.vary), /^Origin, Access-Control-Request-Method, Access-Control-Request-Headers$/);
    assert.equal(member.hits, hits);
  });

  test('a preflight outside the policy (origin, method, header) is 403 with no CORS headers', async () => {
    for (const [origin, method, headers] of [['https://evil.example', 'GET', undefined], [PAGE, 'DELETE', undefined], [PAGE, 'PUT', 'X-Other'], ['https://example.net', 'GET', undefined]] as const) {
      const got = await preflight(site.base, '/api/items', origin, method, headers);
      assert.equal(got.status, 403, `${origin} ${method} ${headers}`);
      assert.deepEqual(cors(got), {});
    }
  });

  test("a proxied answer carries Skitai's CORS headers instead of the member's, and Vary: Origin joins its Vary", async () => {
    const got = await request(site.base, '/api/items', { headers: { origin: 'https://shop.example.net' } });
    assert.equal(got.body, 'member saw GET /items');
    assert.equal(got.headers['x-member'], '1');
    assert.deepEqual(cors(got), {
      'access-control-allow-origin': 'https://shop.example.net',
      'access-control-allow-credentials': 'true',
      'access-control-expose-headers': 'X-Request-Id',
    });
    assert.equal(got.headers.vary, 'Accept-Encoding, Origin');
  });

  test('another origin, or none, gets no CORS headers but Vary: Origin (a cache must not mix them up)', async () => {
    for (const headers of [{ origin: 'https://evil.example' }, {}]) {
      const got = await request(site.base, '/api/items', { headers });
      assert.deepEqual(cors(got), {});
      assert.equal(got.headers.vary, 'Accept-Encoding, Origin');
    }
  });

  test('a mounted Express app and static files get the headers too; paths outside cors_paths do not', async () => {
    const express = await request(site.base, '/legacy/users/3', { headers: { origin: PAGE } });
    assert.equal(express.status, 200);
    assert.equal(express.headers['access-control-allow-origin'], PAGE);
    assert.equal(express.headers.vary, 'Origin');
    const file = await request(site.base, '/files/a.txt', { headers: { origin: PAGE } });
    assert.equal(file.body, 'static a');
    assert.equal(file.headers['access-control-allow-origin'], PAGE);
    const outside = await request(site.base, '/other/a.txt', { headers: { origin: PAGE } });
    assert.equal(outside.body, 'static a');
    assert.deepEqual(cors(outside), {});
    assert.doesNotMatch(String(outside.headers.vary), /Origin/);
  });

  test('any origin with credentials is refused at start: SKT_CORS_POLICY naming the key', async () => {
    await assert.rejects(startSite('[server]\ncors_origins = *\ncors_credentials = yes\n'), (err) => isSkitaiError(err, 'SKT_CORS_POLICY') && /\[server\] cors_origins/.test(err.message));
  });
});

describe("an app's own policy", () => {
  let appSite: TestSite;
  before(async () => {
    const app = new App()
      .cors({ origins: ['https://*.example.org'], methods: ['GET', 'PUT'], exposeHeaders: ['X-Count'] })
      .useSession();
    app.get('/hello', (was) => {
      was.session.set('seen', true);
      was.response.set('x-count', '1');
      return 'hi';
    });
    app.route('/closed', () => 'closed', { cors: false });
    app.route('/open', () => 'open', { cors: { origins: '*' } });
    const config = parseConfigText(`[server]\nip = 127.0.0.1\nport = 0\naccess_log = off\nsecurekey = 0123456789\ncors_origins = ${PAGE}\n`, '', process.cwd());
    const logger = new Logger({ write: () => undefined, reopen() {}, async close() {} }, { format: 'text' });
    const s = new Site(config, { apps: { '/app': app }, logger });
    const address = await s.listen();
    appSite = { site: s, port: address.port, base: `http://127.0.0.1:${address.port}`, dir: '', logLines: [], close: () => s.close(1000) };
  });
  after(async () => {
    await appSite?.close();
  });

  test("replaces the site's for its routes: preflight and answer; the session cookie still goes out", async () => {
    const pre = await preflight(appSite.base, '/app/hello', 'https://a.example.org', 'PUT');
    assert.equal(pre.status, 204);
    assert.deepEqual(cors(pre), { 'access-control-allow-origin': 'https://a.example.org', 'access-control-allow-methods': 'GET, PUT' });
    assert.equal((await preflight(appSite.base, '/app/hello', PAGE, 'GET')).status, 403, "the site's origin is not the app's");
    const got = await request(appSite.base, '/app/hello', { headers: { origin: 'https://a.example.org' } });
    assert.equal(got.body, 'hi');
    assert.deepEqual(cors(got), { 'access-control-allow-origin': 'https://a.example.org', 'access-control-expose-headers': 'X-Count' });
    assert.equal(got.headers['set-cookie']?.length, 1, 'the session cookie, through its own header hook');
  });

  test("a route's cors option replaces the app's: false sends none at all, its own policy its own headers", async () => {
    const closed = await request(appSite.base, '/app/closed', { headers: { origin: PAGE } });
    assert.equal(closed.body, 'closed');
    assert.deepEqual(cors(closed), {});
    const open = await request(appSite.base, '/app/open', { headers: { origin: 'https://anyone.example' } });
    assert.equal(open.headers['access-control-allow-origin'], '*');
    assert.equal(open.headers.vary, undefined, 'a constant "*" does not vary');
  });

  test('an unsafe policy in code throws SKT_CORS_POLICY where it is written', () => {
    assert.throws(() => new App().cors({ origins: '*', credentials: true }), (err) => isSkitaiError(err, 'SKT_CORS_POLICY') && /app\.cors\(\)/.test(err.message));
    assert.throws(() => new App().cors({ origins: ['https://a.example/path'] }), (err) => isSkitaiError(err, 'SKT_CORS_POLICY'));
  });
});

const chromium = ['chromium', 'chromium-browser', 'google-chrome'].find((c) => {
  try {
    execFileSync('sh', ['-c', `command -v ${c}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
});

describe('a real browser', { skip: chromium ? false : 'no chromium on PATH (apt-get install chromium)' }, () => {
  test('headless Chromium makes a credentialed, preflighted cross-origin fetch; from another origin it fails', async () => {
    // The page's origin is a plain node:http server on its own port; the site is another origin.
    let target = '';
    const page = http.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' }).end(`<!DOCTYPE html><html><body><p id="out">pending</p><script>
fetch(${JSON.stringify(target)}, { method: 'PUT', credentials: 'include', headers: { 'X-Thing': 'yes', 'Content-Type': 'application/json' }, body: '{"n":1}' })
  .then(async (r) => { document.getElementById('out').textContent = 'status ' + r.status + ' id ' + (r.headers.get('x-request-id') ? 'visible' : 'hidden') + ' body ' + await r.text(); })
  .catch((e) => { document.getElementById('out').textContent = 'failed ' + e.name; });
</script></body></html>`);
    });
    await new Promise<void>((resolve) => page.listen(0, '127.0.0.1', resolve));
    const pagePort = (page.address() as AddressInfo).port;
    const allowed = `http://127.0.0.1:${pagePort}`;
    const backend = await members.start((req, res, body) => res.writeHead(200, { 'content-type': 'text/plain' }).end(`${req.method} ${body.toString()}`));
    const s = await startSite(`[server]\ncors_origins = ${allowed}\ncors_methods = PUT\ncors_headers = X-Thing\ncors_expose_headers = X-Request-Id\ncors_credentials = yes\n\n[routes:line]\n/api = @b\n\n[@b]\nmembers = ${backend.node}\n`);
    // localhost and 127.0.0.1 are different origins to the browser.
    const browse = (pageUrl: string): Promise<string> =>
      new Promise((resolve, reject) => {
        execFile(chromium!, ['--headless', '--no-sandbox', '--disable-gpu', '--virtual-time-budget=10000', '--dump-dom', pageUrl], { timeout: 60_000 }, (err, stdout) =>
          err ? reject(err) : resolve(/<p id="out">([^<]*)<\/p>/.exec(stdout)?.[1] ?? stdout));
      });
    try {
      target = `http://localhost:${s.port}/api/put`;
      assert.equal(await browse(`http://127.0.0.1:${pagePort}/`), 'status 200 id visible body PUT {"n":1}');
      // The same page served from an origin the policy does not name.
      assert.equal(await browse(`http://localhost:${pagePort}/`).then((r) => r.replace(/127\.0\.0\.1/, 'x')), 'failed TypeError');
    } finally {
      page.close();
      page.closeAllConnections();
      await s.close();
    }
  });
});

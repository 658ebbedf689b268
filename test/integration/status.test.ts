import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { startSite, type TestSite } from '../support/site.js';
import { settle } from '../support/until.js';

const run = promisify(execFile);
const basic = (user: string, pw: string): Record<string, string> => ({ authorization: `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}` });

// HTML and regex metacharacters: a secret escaped into the HTML view, or used as a pattern somewhere, must still be caught.
const SECRETS = {
  admin: 'Adm1n<b>&"STATUS\'(.*)$',
  alice: 'Al1ce-STATUS-[a-z]+',
  securekey: 'K3y-STATUS-securekey<script>',
  db: 'Db-STATUS-pass<i>&^$',
  smtp: 'Smtp-STATUS-pass</td>"\'',
};
const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const CONF = `[server]
name = statussite
admin_password = ${SECRETS.admin}
securekey = ${SECRETS.securekey}
status_path = /server-status
[users]
alice = ${SECRETS.alice} ops
[routes:line]
/ = ./app.ts
[@backend]
members = 127.0.0.1:9, 127.0.0.2:9 2
[@mydb]
type = postgresql
members = 127.0.0.1:9/mydb/dbuser/${SECRETS.db}
[smtpda]
smtpserver = 127.0.0.1:9
user = mailer
password = ${SECRETS.smtp}
enabled = no
`;

const APP = `
import { App } from 'skitai';
export const app = new App();
app.route('/hello', () => 'hello world');
`;

describe('status page ([server] status_path)', () => {
  let s: TestSite;
  before(async () => {
    s = await startSite(CONF, { 'app.ts': APP });
  });
  after(() => s.close());

  const get = (headers: Record<string, string> = {}, query = '') => fetch(`${s.base}/server-status${query}`, { headers });

  test('admin only: 401 without credentials, 403 for a user outside group admin', async () => {
    const none = await get();
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), 'Basic realm="statussite Secured", charset="UTF-8"');
    assert.equal((await get(basic('alice', SECRETS.alice))).status, 403);
    const post = await fetch(`${s.base}/server-status`, { method: 'POST', headers: basic('admin', SECRETS.admin) });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
  });

  test('JSON in a single process: the site view (summary, clusters, databases, caches, mail) and the one worker in detail', async () => {
    for (let i = 0; i < 3; i++) await (await fetch(`${s.base}/hello`)).text();
    assert.equal((await get(basic('admin', 'not-' + SECRETS.admin))).status, 401);
    const r = await get(basic('admin', SECRETS.admin));
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type')!, /^application\/json/);
    assert.equal(r.headers.get('cache-control'), 'no-store');
    const site: any = await r.json();
    assert.equal(site.scope, 'site');
    assert.equal(site.name, 'statussite');
    assert.equal(site.servedBy, process.pid);
    assert.equal(site.primary, null, 'a single process has no primary');
    assert.deepEqual(site.workers.map((w: any) => [w.slot, w.pid, w.state]), [[1, process.pid, 'serving']]);
    assert.deepEqual(site.summary.workers, { up: 1, expected: 1, answered: 1, restarts: 0, reloads: 0 });
    assert.equal(site.summary.http.requests, site.workers[0].report.http.requests.total);
    assert.deepEqual(site.summary.clusters.map((c: any) => [c.name, c.kind, c.members]), [['backend', 'http', 2], ['mydb', 'postgresql', 1]]);
    assert.deepEqual(site.summary.mail, { queued: 0, sending: 0, undeliverable: 0, corrupt: 0, delivered: null, lastError: null, lastErrorAt: null });
    const body = { ...site.workers[0].report, clusters: site.clusters, databases: site.databases, resultCache: site.resultCache, mail: site.mail, auth: site.auth, mounts: site.mounts };
    assert.equal(body.server.pid, process.pid);
    assert.equal(body.server.name, 'statussite');
    assert.ok(body.http.uptimeSeconds >= 0);
    assert.ok(body.http.requests.total >= 6, `requests: ${body.http.requests.total}`);
    assert.equal(body.http.requests.inFlight, 1, 'the status request itself');
    assert.ok(body.http.requests.byStatus['2xx'] >= 3);
    assert.ok(body.http.requests.byStatus['4xx'] >= 2);
    assert.ok(body.http.bytes.in > 0 && body.http.bytes.out > 0);
    assert.ok(body.http.connections.total >= 1);
    const backend = body.clusters.find((c: any) => c.name === 'backend');
    assert.deepEqual(backend.members.map((m: any) => [m.node, m.weight, m.inFlight]), [['127.0.0.1:9', 1, 0], ['127.0.0.2:9', 2, 0]]);
    assert.equal(typeof backend.members[0].state, 'string');
    assert.equal(backend.breaker.state, 'closed');
    const db = body.databases.clusters.find((c: any) => c.name === 'mydb');
    assert.deepEqual(db.members.map((m: any) => m.node), ['127.0.0.1:9/mydb']);
    assert.deepEqual(Object.keys(body.resultCache), ['clients', 'databases']);
    assert.equal(body.resultCache.clients.max, 200);
    assert.deepEqual({ queued: body.mail.queued, sending: body.mail.sending, undeliverable: body.mail.undeliverable }, { queued: 0, sending: 0, undeliverable: 0 });
    assert.deepEqual(body.mounts, [{ prefix: '/', handlers: [body.mounts[0].handlers[0]] }]);
    assert.equal(body.auth.users, 2);
    assert.equal(body.auth.failures, 1, 'the wrong password above');
  });

  test('a client gone before any answer counts as aborted, not as a 2xx it never got; in flight goes back', async () => {
    const requests = async (): Promise<any> => ((await (await get(basic('admin', SECRETS.admin))).json()) as any).workers[0].report.http.requests;
    const before = await requests();
    const socket = net.connect(s.port, '127.0.0.1', () => socket.write('POST /hello HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\nabc'));
    const engine = s.site.engine;
    await settle(() => engine.traffic().requests.total, (n) => n === before.total + 1, 'the POST received');
    socket.destroy();
    await settle(() => engine.traffic().requests.aborted, (n) => n === before.aborted + 1, 'the POST counted as aborted');
    await settle(() => engine.inFlight, (n) => n === 0, 'in flight back to 0');
    const now = await requests();
    assert.equal(now.aborted, before.aborted + 1);
    assert.equal(now.byStatus['2xx'], before.byStatus['2xx'] + 1, 'only the status request in between');
    assert.equal(now.inFlight, 1);
  });

  test('HTML for browsers (Accept: text/html), JSON again with ?format=json', async () => {
    const r = await get({ ...basic('admin', SECRETS.admin), accept: 'text/html,application/xhtml+xml,*/*;q=0.8' });
    assert.match(r.headers.get('content-type')!, /^text\/html/);
    assert.match(r.headers.get('content-security-policy')!, /script-src 'sha256-[^']+'; style-src 'sha256-[^']+'; connect-src 'self'/);
    const html = await r.text();
    assert.match(html, /<h1>statussite status<\/h1>/);
    assert.match(html, /<h2>Clusters<\/h2>/);
    assert.match(html, /<h2>Databases<\/h2>/);
    assert.match(html, /127\.0\.0\.2:9/);
    assert.match(html, /<main [^>]*data-refresh="5"/, 'refreshes itself every 5 s by default');
    const j = await get({ ...basic('admin', SECRETS.admin), accept: 'text/html' }, '?format=json');
    assert.match(j.headers.get('content-type')!, /^application\/json/);
  });

  test('no password, key or database/SMTP credential appears in either view, nor in the log', async () => {
    const json = await (await get(basic('admin', SECRETS.admin))).text();
    const html = await (await get({ ...basic('admin', SECRETS.admin), accept: 'text/html' })).text();
    for (const [what, secret] of Object.entries(SECRETS)) {
      assert.ok(!json.includes(secret), `${what} secret in JSON`);
      assert.ok(!html.includes(secret) && !html.includes(escapeHtml(secret)), `${what} secret in HTML`);
      assert.ok(!s.logLines.join('\n').includes(secret), `${what} secret in the log`);
    }
  });

  test('curl -u admin', async () => {
    const { stdout } = await run('curl', ['-s', '-u', `admin:${SECRETS.admin}`, `${s.base}/server-status`]);
    assert.equal(JSON.parse(stdout).scope, 'site');
  });
});

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { startSite, type TestSite } from '../support/site.js';

const run = promisify(execFile);
const basic = (user: string, pw: string): Record<string, string> => ({ authorization: `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}` });

const ADMIN_PW = 'adm1n-Secret!';
const ALICE_PW = 'alice-pw-1';
const BOB_PW = 'bob-pw-22';

const WEBAPP = `
import { App } from 'skitai';
export const app = new App();
export const seen = { before: 0, handler: 0 };
app.before(() => { seen.before++; });
app.route('/public', () => 'public page', { params: [] });
app.route('/ops', (was) => ({ user: was.request.user }), { permit: 'ops' });
app.route('/both', (was) => was.request.user.name, { permit: ['ops', 'billing'] });
app.route('/upload', (was, args) => { seen.handler++; return { got: args }; }, { methods: ['POST'], permit: 'ops' });
app.route('/seen', () => seen);
app.route('/add', (was, { a, b }) => a + b, { params: ['a', 'b'], permit: 'ops', doc: 'add two numbers' });
app.route('/whoami', (was) => was.request.user?.name ?? 'nobody', { params: [], permit: ['ops', 'billing'] });
`;

const ADMINAPP = `
import { App } from 'skitai';
export const app = new App();
app.permitTo('admin');
app.route('/', () => 'admin home');
app.route('/pub', () => 'admin but public', { permit: false });
app.route('/ping2', () => 'pong2', { params: [] });
`;

const CONF = `[server]
name = api
admin_password = ${ADMIN_PW}
auth_failure_limit = 0
[users]
alice = ${ALICE_PW} ops
bob = ${BOB_PW} billing
[routes:line]
/ = ./webapp.ts
/admin = ./adminapp.ts
`;

const PY = String.raw`
import sys, json, xmlrpc.client as x
def call(url, method, *args):
    try:
        return {'ok': getattr(x.ServerProxy(url), method)(*args)}
    except x.Fault as e:
        return {'fault': [e.faultCode, e.faultString]}
    except x.ProtocolError as e:
        return {'protocol': e.errcode}
base = sys.argv[1]
u = lambda user, pw, path='/': 'http://%s:%s@%s%s' % (user, pw, base, path)
out = {
  'right': call(u('alice', sys.argv[2]), 'add', 2, 3),
  'admin': call(u('admin', sys.argv[3]), 'add', 4, 5),
  'wrong': call(u('alice', 'not-the-password'), 'add', 2, 3),
  'none': call('http://%s/' % base, 'add', 2, 3),
  'group': call(u('bob', sys.argv[4]), 'add', 2, 3),
  'bob_ok': call(u('bob', sys.argv[4]), 'whoami'),
  'public': call('http://%s/' % base, 'public'),
  'admin_app_none': call('http://%s/admin/RPC2' % base, 'ping2'),
  'admin_app_list': call('http://%s/admin/RPC2' % base, 'system.listMethods'),
  'admin_app_ok': call(u('admin', sys.argv[3], '/admin/RPC2'), 'ping2'),
  'help_none': call('http://%s/' % base, 'system.methodHelp', 'add'),
}
mc = x.MultiCall(x.ServerProxy(u('bob', sys.argv[4])))
mc.whoami(); mc.add(1, 1); mc.public()
r = mc()
vals = []
for i in range(3):
    try:
        vals.append({'ok': r[i]})
    except x.Fault as e:
        vals.append({'fault': [e.faultCode, e.faultString]})
out['multicall'] = vals
print(json.dumps(out))
`;

describe('access control: app.permitTo and route permit', () => {
  let s: TestSite;
  before(async () => {
    s = await startSite(CONF, { 'webapp.ts': WEBAPP, 'adminapp.ts': ADMINAPP });
  });
  after(() => s.close());

  test('a public route needs no credentials', async () => {
    const r = await fetch(`${s.base}/public`);
    assert.equal(r.status, 200);
    assert.equal(await r.text(), 'public page');
  });

  test('no credentials: 401 with the Basic challenge naming the server', async () => {
    const r = await fetch(`${s.base}/ops`);
    assert.equal(r.status, 401);
    assert.equal(r.headers.get('www-authenticate'), 'Basic realm="api Secured", charset="UTF-8"');
    assert.match(r.headers.get('content-type')!, /text\/html/);
    assert.match(await r.text(), /authentication required/);
    assert.notEqual(r.headers.get('connection'), 'close', 'a body-less request keeps its connection for the retry with credentials');
  });

  test('a wrong password: 401, and a log line with user and address but not the password', async () => {
    const r = await fetch(`${s.base}/ops`, { headers: basic('alice', 'guess-guess') });
    assert.equal(r.status, 401);
    assert.ok(r.headers.get('www-authenticate'));
    await r.text();
    const line = s.logLines.find((l) => l.includes('failed login'));
    assert.ok(line, 'the failure is logged');
    assert.match(line, /user "alice" from 127\.0\.0\.1 \(GET \/ops\)/);
    assert.ok(!s.logLines.join('\n').includes('guess-guess'), 'the password is never logged');
  });

  test('the right password of a user outside the groups: 403', async () => {
    const r = await fetch(`${s.base}/ops`, { headers: basic('bob', BOB_PW) });
    assert.equal(r.status, 403);
    assert.equal(r.headers.get('www-authenticate'), null);
    assert.match(await r.text(), /user &#34;bob&#34; is not in group ops/);
  });

  test('a permitted user gets the page and is was.request.user; admin passes every permit', async () => {
    const r = await fetch(`${s.base}/ops`, { headers: basic('alice', ALICE_PW) });
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { user: { name: 'alice', groups: ['ops'] } });
    const b = await fetch(`${s.base}/both`, { headers: basic('bob', BOB_PW) });
    assert.equal(await b.text(), 'bob');
    const a = await fetch(`${s.base}/ops`, { headers: basic('ADMIN', ADMIN_PW) });
    assert.equal(a.status, 200, 'user names are case-insensitive');
  });

  test('curl -u: right and wrong credentials', async () => {
    const ok = await run('curl', ['-s', '-i', '-u', `alice:${ALICE_PW}`, `${s.base}/both`]);
    assert.match(ok.stdout, /^HTTP\/1\.1 200/);
    assert.match(ok.stdout, /\r\n\r\nalice$/);
    const bad = await run('curl', ['-s', '-i', '-u', 'alice:wrong-one', `${s.base}/both`]);
    assert.match(bad.stdout, /^HTTP\/1\.1 401/);
    assert.match(bad.stdout, /www-authenticate: Basic realm="api Secured"/i);
  });

  test('a refused request runs no hook and no handler, and its body is not read', async () => {
    const seen0: any = await (await fetch(`${s.base}/seen`)).json();
    const r = await fetch(`${s.base}/upload`, { method: 'POST', body: new URLSearchParams({ x: '1' }) });
    assert.equal(r.status, 401);
    assert.equal(r.headers.get('connection'), 'close');
    const seen1: any = await (await fetch(`${s.base}/seen`)).json();
    assert.equal(seen1.before, seen0.before + 1, 'only the /seen request itself ran the before hook');
    assert.equal(seen1.handler, seen0.handler);
    const ok = await fetch(`${s.base}/upload`, { method: 'POST', body: new URLSearchParams({ x: '1' }), headers: basic('alice', ALICE_PW) });
    assert.deepEqual(await ok.json(), { got: { x: '1' } });
  });

  test('app.permitTo protects every route of the app; permit: false opens one', async () => {
    assert.equal((await fetch(`${s.base}/admin/`)).status, 401);
    assert.equal((await fetch(`${s.base}/admin/`, { headers: basic('alice', ALICE_PW) })).status, 403);
    const ok = await fetch(`${s.base}/admin/`, { headers: basic('admin', ADMIN_PW) });
    assert.equal(await ok.text(), 'admin home');
    const pub = await fetch(`${s.base}/admin/pub`);
    assert.equal(await pub.text(), 'admin but public');
  });

  test('XML-RPC through Python xmlrpc.client with credentials in the URL', async () => {
    const host = `127.0.0.1:${s.port}`;
    const { stdout } = await run('python3', ['-c', PY, host, ALICE_PW, ADMIN_PW, BOB_PW], { timeout: 20_000 });
    const out = JSON.parse(stdout);
    assert.deepEqual(out.right, { ok: 5 });
    assert.deepEqual(out.admin, { ok: 9 });
    assert.equal(out.wrong.fault[0], -32001);
    assert.match(out.wrong.fault[1], /add: wrong user name or password/);
    assert.equal(out.none.fault[0], -32001);
    assert.match(out.none.fault[1], /authentication required/);
    assert.equal(out.group.fault[0], -32001);
    assert.match(out.group.fault[1], /user "bob" is not in group ops/);
    assert.deepEqual(out.bob_ok, { ok: 'bob' });
    assert.deepEqual(out.public, { ok: 'public page' });
    assert.equal(out.admin_app_none.fault[0], -32001);
    assert.equal(out.admin_app_list.fault[0], -32001, 'listing the methods of a protected app needs its permission');
    assert.deepEqual(out.admin_app_ok, { ok: 'pong2' });
    assert.equal(out.help_none.fault[0], -32001, "a protected method's help needs its permission");
    assert.deepEqual(out.multicall, [{ ok: 'bob' }, { fault: [-32001, 'add: user "bob" is not in group ops'] }, { ok: 'public page' }]);
  });

  test('JSON-RPC: the fault says 401 or 403 in data; the challenge rides on the HTTP response', async () => {
    const call = (headers: Record<string, string> = {}) =>
      fetch(`${s.base}/`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'add', params: [1, 2] }) });
    const none = await call();
    assert.equal(none.status, 200);
    assert.equal(none.headers.get('www-authenticate'), 'Basic realm="api Secured", charset="UTF-8"');
    assert.deepEqual(await none.json(), {
      jsonrpc: '2.0', id: 1, error: { code: -32001, message: 'add: authentication required (HTTP Basic)', data: { status: 401, code: 'SKT_AUTH_REQUIRED' } },
    });
    const bob: any = await (await call(basic('bob', BOB_PW))).json();
    assert.deepEqual(bob.error.data, { status: 403, code: 'SKT_AUTH_FORBIDDEN' });
    assert.deepEqual(await (await call(basic('alice', ALICE_PW))).json(), { jsonrpc: '2.0', id: 1, result: 3 });
  });

  test('a JSON-RPC batch: each call checked against its route, a wrong password counted once', async () => {
    const before = s.logLines.filter((l) => l.includes('failed login')).length;
    const batch = [
      { jsonrpc: '2.0', id: 1, method: 'add', params: [1, 2] },
      { jsonrpc: '2.0', id: 2, method: 'whoami' },
      { jsonrpc: '2.0', id: 3, method: 'public' },
    ];
    const r = await fetch(`${s.base}/`, { method: 'POST', headers: { 'content-type': 'application/json', ...basic('carol', 'wrong-pass') }, body: JSON.stringify(batch) });
    const out: any = await r.json();
    assert.deepEqual(out.map((o: any) => o.error?.code ?? o.result), [-32001, -32001, 'public page']);
    assert.equal(s.logLines.filter((l) => l.includes('failed login')).length, before + 1);
    const bob: any = await (await fetch(`${s.base}/`, { method: 'POST', headers: { 'content-type': 'application/json', ...basic('bob', BOB_PW) }, body: JSON.stringify(batch) })).json();
    assert.deepEqual(bob.map((o: any) => o.error?.data?.status ?? o.result), [403, 'bob', 'public page']);
  });
});

describe('login back-off', () => {
  test('after auth_failure_limit failures an address gets 429 even with the right password; others do not', async () => {
    const s = await startSite(`[server]\nadmin_password = ${ADMIN_PW}\nauth_failure_limit = 2\ntrusted_proxies = 127.0.0.1\n[routes:line]\n/ = ./app.ts\n`, {
      'app.ts': `import { App } from 'skitai';\nexport const app = new App().permitTo('admin');\napp.route('/', () => 'in');\n`,
    });
    try {
      const from = (ip: string, h: Record<string, string>) => fetch(`${s.base}/`, { headers: { 'x-forwarded-for': ip, ...h } });
      assert.equal((await from('192.0.2.7', basic('admin', 'wrong-1'))).status, 401);
      assert.equal((await from('192.0.2.7', basic('admin', 'wrong-2'))).status, 401);
      const locked = await from('192.0.2.7', basic('admin', ADMIN_PW));
      assert.equal(locked.status, 429);
      assert.equal(locked.headers.get('retry-after'), '1');
      assert.equal((await from('192.0.2.8', basic('admin', ADMIN_PW))).status, 200, 'another client is not locked out');
      assert.ok(s.logLines.some((l) => /192\.0\.2\.7 locked out for 1 s/.test(l)));
      // Waiting out the 1 s lockout is the behaviour under test; a slower machine only waits longer.
      await new Promise((r) => setTimeout(r, 1100));
      assert.equal((await from('192.0.2.7', basic('admin', ADMIN_PW))).status, 200, 'the lockout ends');
    } finally {
      await s.close();
    }
  });
});

describe('start-up errors', () => {
  test('a protected app on a site without users does not start', async () => {
    await assert.rejects(
      startSite('[routes:line]\n/ = ./app.ts\n', { 'app.ts': `import { App } from 'skitai';\nexport const app = new App();\napp.route('/', () => 'x', { permit: 'ops' });\n` }),
      (err: any) => err.code === 'SKT_AUTH_NO_USERS' && /admin_password/.test(err.message),
    );
  });

  test('permitTo() without a group, and bad group names, are refused', async () => {
    await assert.rejects(
      startSite(`[server]\nadmin_password = ${ADMIN_PW}\n[routes:line]\n/ = ./app.ts\n`, { 'app.ts': `import { App } from 'skitai';\nexport const app = new App().permitTo();\n` }),
      (err: any) => /SKT_AUTH_USAGE|needs at least one group/.test(`${err.code} ${err.message}`),
    );
  });

  test('status_path without an admin is a config error at its line', async () => {
    await assert.rejects(
      startSite('[server]\nname = api\nstatus_path = /server-status\n'),
      (err: any) => err.code === 'SKT_AUTH_NO_USERS' && /line \d+ \[server\] status_path: /.test(err.message),
    );
  });
});

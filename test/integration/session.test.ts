import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { CookieJar } from '../support/jar.js';
import { rawRequest } from '../support/raw.js';
import { startSite, type TestSite } from '../support/site.js';
import { until } from '../support/until.js';

const run = promisify(execFile);
const KEY = 'integration-s3cret-key';

// No hooks: handlers take the engine's synchronous fast path.
const WEBAPP = `
import { App, abort } from 'skitai';
export const app = new App().useSession();
app.route('/set', (was, { k, v }) => { was.session.set(k, v); return 'ok'; });
app.route('/get', (was, { k }) => ({ v: was.session.get(k) ?? null }));
app.route('/count', (was) => { const n = ((was.session.get('n') as number) ?? 0) + 1; was.session.set('n', n); return { n }; });
app.route('/quiet', () => 'never reads the session');
app.route('/logout', (was) => { was.session.clear(); return 'bye'; });
app.route('/flash', (was) => {
  was.mbox.push('Saved <b>it</b>', 'success');
  return new Response(null, { status: 302, headers: { location: '/show' } });
});
app.route('/show', (was, { name = '<script>alert(1)</script>' }) => was.render('show.html', { name }));
app.route('/abort', (was) => { was.session.set('tried', true); was.cookie.set('seen', 'yes'); abort(403, 'not for you'); });
app.route('/moved', (was) => { was.cookie.set('r', '1'); was.response.status = 302; was.response.set('location', '/get'); return ''; });
app.route('/boom', (was) => { was.session.set('before', 1); throw new Error('boom'); });
app.route('/missing', (was) => was.render('nope.html'));
app.route('/broken', (was) => was.render('broken.html'));
app.route('/big', (was) => { was.session.set('big', 'x'.repeat(5000)); return 'kept?'; });
app.route('/cookie', (was, { v }) => { const got = was.cookie.get('plain') ?? null; if (v) was.cookie.set('plain', v); return { got }; });
app.route('/stream', (was) => { was.session.set('s', 1); return was.tostream((async function* () { yield 'a'; yield 'b'; })()); });
// One header object for every response, as handlers often keep them.
const RAW: Record<string, string[] | Record<string, string>> = {
  list: ['Content-Type', 'text/plain', 'Set-Cookie', 'mine=1'],
  lower: { 'content-type': 'text/plain', 'set-cookie': 'mine=1' },
  upper: { 'Content-Type': 'text/plain', 'Set-Cookie': 'mine=1' },
};
app.route('/raw', (was, { form }) => {
  was.session.set('raw', 1);
  was.response.raw.writeHead(200, RAW[form as string]!).end('written directly');
});
app.route('/late', (was, { what }) => was.tostream((async function* () {
  yield 'a';
  if (what === 'session') was.session.set('late', 1);
  else if (what === 'mbox') was.mbox.push('late');
  else was.cookie.set('late', '1');
  yield 'b';
})()));
app.route('/response', (was) => { was.session.set('r', 1); return new Response('x', { headers: [['set-cookie', 'a=1'], ['set-cookie', 'b=2']] }); });
`;

// Hooks and a body: the async path, with a named cookie.
const HOOKED = `
import { App } from 'skitai';
export const app = new App().useSession({ name: 'HOOKED' });
app.before((was) => { was.g.visits = ((was.session.get('visits') as number) ?? 0) + 1; was.session.set('visits', was.g.visits); });
app.post('/note', (was, { note }) => { was.session.set('note', note); return { visits: was.g.visits, note: was.session.get('note') }; });
`;

const PLAIN = `
import { App } from 'skitai';
export const app = new App();
app.route('/session', (was) => was.session.get('x'));
app.route('/cookie', (was) => { was.cookie.set('c', 'v'); return 'set'; });
`;

const TEMPLATES = {
  'templates/show.html': '{% for m in mbox.get() %}<p class="{{ m.category }}">{{ m.message }}</p>{% endfor %}<h1>{{ name }}</h1><i>{{ request.method }}</i>',
  'templates/broken.html': '{% for x in %}',
};

let site: TestSite;
before(async () => {
  site = await startSite(`[server]\nsecurekey = ${KEY}\n[routes:line]\n/ = ./webapp\n/hooked = ./hooked\n/plain = ./plain\n`, {
    'webapp.ts': WEBAPP, 'hooked.ts': HOOKED, 'plain.ts': PLAIN, ...TEMPLATES,
  });
});
after(() => site.close());

const sessionLines = (res: Response): string[] => res.headers.getSetCookie().filter((l) => l.startsWith('SESSION='));

describe('was.session over HTTP', () => {
  test('persists across requests (fetch with a cookie jar); an unchanged session is not re-sent', async () => {
    const jar = new CookieJar(site.base);
    for (const n of [1, 2, 3]) assert.deepEqual(await (await jar.fetch('/count')).json(), { n });
    const res = await jar.fetch('/get?k=n');
    assert.deepEqual(await res.json(), { v: 3 });
    assert.deepEqual(sessionLines(res), [], 'read-only and freshly issued: no Set-Cookie');
    const first = await new CookieJar(site.base).fetch('/count');
    assert.match(sessionLines(first)[0]!, /^SESSION=[\w-]+\.[\w-]+; Max-Age=1200; Path=\/; HttpOnly; SameSite=Lax$/);
  });

  test('persists with curl as the client (-c/-b cookie files)', async () => {
    const file = path.join(site.dir, 'curl-jar.txt');
    await run('curl', ['-sS', '-c', file, '-b', file, `${site.base}/set?k=user&v=ann%20lee`]);
    const { stdout } = await run('curl', ['-sS', '-c', file, '-b', file, `${site.base}/get?k=user`]);
    assert.deepEqual(JSON.parse(stdout), { v: 'ann lee' });
    assert.match(fs.readFileSync(file, 'utf8'), /#HttpOnly_127\.0\.0\.1\tFALSE\t\/\tFALSE\t\d+\tSESSION\t/);
    await run('curl', ['-sS', '-c', file, '-b', file, `${site.base}/logout`]);
    const gone = await run('curl', ['-sS', '-c', file, '-b', file, `${site.base}/get?k=user`]);
    assert.deepEqual(JSON.parse(gone.stdout), { v: null });
    assert.doesNotMatch(fs.readFileSync(file, 'utf8'), /SESSION/);
  });

  test('a tampered cookie is ignored: a fresh session, no error page, and the cookie is deleted', async () => {
    const jar = new CookieJar(site.base);
    await jar.fetch('/set?k=role&v=user');
    const [body, sig] = jar.values.get('SESSION')!.split('.') as [string, string];
    const doc = JSON.parse(Buffer.from(body, 'base64url').toString()) as { d: Record<string, unknown> };
    doc.d.role = 'admin';
    for (const forged of [`${Buffer.from(JSON.stringify(doc)).toString('base64url')}.${sig}`, `${body}.${sig.slice(1)}`, 'garbage', '']) {
      const res = await fetch(`${site.base}/get?k=role`, { headers: { cookie: `SESSION=${forged}` } });
      assert.equal(res.status, 200, forged);
      assert.deepEqual(await res.json(), { v: null });
      if (forged) assert.match(sessionLines(res)[0] ?? '', /^SESSION=; Max-Age=0/, forged);
    }
  });

  test('Set-Cookie goes out once per cookie on aborts, redirects, errors, streams and returned Responses', async () => {
    const jar = new CookieJar(site.base);
    const aborted = await jar.fetch('/abort');
    assert.equal(aborted.status, 403);
    assert.equal(sessionLines(aborted).length, 1);
    assert.deepEqual(aborted.headers.getSetCookie().filter((l) => l.startsWith('seen=')), ['seen=yes; Path=/; HttpOnly; SameSite=Lax']);
    assert.deepEqual(await (await jar.fetch('/get?k=tried')).json(), { v: true });

    const moved = await jar.fetch('/moved');
    assert.equal(moved.status, 302);
    assert.deepEqual(moved.headers.getSetCookie(), ['r=1; Path=/; HttpOnly; SameSite=Lax']);

    const boom = await jar.fetch('/boom');
    assert.equal(boom.status, 500);
    assert.equal(sessionLines(boom).length, 1, 'changes before the throw are kept');
    assert.deepEqual(await (await jar.fetch('/get?k=before')).json(), { v: 1 });

    const streamed = await jar.fetch('/stream');
    assert.equal(await streamed.text(), 'ab');
    assert.equal(sessionLines(streamed).length, 1);

    const returned = await jar.fetch('/response');
    const lines = returned.headers.getSetCookie();
    assert.deepEqual(lines.slice(0, 2), ['a=1', 'b=2']);
    assert.equal(lines.filter((l) => l.startsWith('SESSION=')).length, 1);
    assert.equal(lines.length, 3);
  });

  test('a change after a streamed body has started is an error (the response is cut), never a silent loss', async () => {
    for (const what of ['cookie', 'session', 'mbox']) {
      const res = await fetch(`${site.base}/late?what=${what}`);
      assert.equal(res.status, 200);
      assert.deepEqual(res.headers.getSetCookie(), [], what);
      await assert.rejects(res.text(), `${what}: the body is cut, not "ab" as if the change had been kept`);
    }
    const logged = (): number => site.logLines.filter((l) => l.includes('SKT_COOKIE_LATE') || l.includes('after the response headers were sent')).length;
    await until(() => logged() >= 3, 5000, 'a log line naming the cause for each cut response');
  });

  test('a handler writing the head itself with its own Set-Cookie (any case, object or list) keeps the session cookie', async () => {
    // Twice each: the handler's constant headers must not keep the first client's session for the next.
    for (const form of ['lower', 'upper', 'list', 'lower', 'upper', 'list']) {
      const res = await fetch(`${site.base}/raw?form=${form}`);
      assert.equal(await res.text(), 'written directly');
      const lines = res.headers.getSetCookie();
      assert.equal(lines[0], 'mine=1', form);
      assert.equal(lines.filter((l) => l.startsWith('SESSION=')).length, 1, `${form}: ${lines.join(' | ')}`);
    }
  });

  test('a session too large for a cookie is a 500 with SKT_SESSION_TOO_LARGE in the log, and the old session stays', async () => {
    const jar = new CookieJar(site.base);
    await jar.fetch('/set?k=keep&v=1');
    const res = await jar.fetch('/big');
    assert.equal(res.status, 500);
    assert.doesNotMatch(await res.text(), /SKT_|x{100}/, 'no details outside devel mode');
    assert.ok(site.logLines.some((l) => l.includes('would need a') && l.includes('4096')), 'logged');
    assert.deepEqual(await (await jar.fetch('/get?k=keep')).json(), { v: '1' });
  });

  test('hooks, a POST body and a named cookie (the async path)', async () => {
    const jar = new CookieJar(site.base);
    const post = (note: string): Promise<Response> =>
      jar.fetch('/hooked/note', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `note=${encodeURIComponent(note)}` });
    assert.deepEqual(await (await post('one')).json(), { visits: 1, note: 'one' });
    assert.deepEqual(await (await post('two')).json(), { visits: 2, note: 'two' });
    assert.deepEqual([...jar.values.keys()], ['HOOKED']);
    // The other app's cookie name and MAC purpose differ: its cookie is no session here.
    const other = await fetch(`${site.base}/get?k=visits`, { headers: { cookie: `SESSION=${jar.values.get('HOOKED')}` } });
    assert.deepEqual(await other.json(), { v: null });
  });

  test('an app without useSession() gets SKT_SESSION_OFF, but cookies work', async () => {
    const res = await fetch(`${site.base}/plain/session`);
    assert.equal(res.status, 500);
    assert.ok(site.logLines.some((l) => l.includes('call app.useSession()')));
    const c = await fetch(`${site.base}/plain/cookie`);
    assert.deepEqual(c.headers.getSetCookie(), ['c=v; Path=/; HttpOnly; SameSite=Lax']);
  });

  test('the key never shows in a page or a log line', async () => {
    await fetch(`${site.base}/boom`);
    await fetch(`${site.base}/big`);
    assert.equal(site.logLines.filter((l) => l.includes(KEY)).length, 0);
  });
});

describe('was.cookie over HTTP', () => {
  test('any string value survives the round trip', async () => {
    const jar = new CookieJar(site.base);
    const value = 'a b; c=d, "é" %';
    await jar.fetch(`/cookie?v=${encodeURIComponent(value)}`);
    assert.deepEqual(await (await jar.fetch('/cookie')).json(), { got: value });
  });

  test('a cookie a script set with non-ASCII text (raw UTF-8 on the wire) reads back as that text', async () => {
    const reply = await rawRequest(site.port, Buffer.from('GET /cookie HTTP/1.1\r\nHost: x\r\nCookie: plain=José 😀\r\nConnection: close\r\n\r\n', 'utf8'));
    assert.equal(reply.status, 200);
    assert.deepEqual(JSON.parse(Buffer.from(reply.body, 'latin1').toString('utf8')), { got: 'José 😀' }, 'the reply is read as latin1');
  });
});

describe('was.render and was.mbox over HTTP', () => {
  test('autoescape: a script in a variable is shown as text', async () => {
    const html = await (await fetch(`${site.base}/show`)).text();
    assert.equal(html, '<h1>&lt;script&gt;alert(1)&lt;/script&gt;</h1><i>GET</i>');
  });

  test('a flash message pushed before a redirect is shown once, escaped', async () => {
    const jar = new CookieJar(site.base);
    const redirect = await jar.fetch('/flash');
    assert.equal(redirect.status, 302);
    assert.equal(sessionLines(redirect).length, 1);
    const shown = await (await jar.fetch(redirect.headers.get('location')! + '?name=Ann')).text();
    assert.equal(shown, '<p class="success">Saved &lt;b&gt;it&lt;/b&gt;</p><h1>Ann</h1><i>GET</i>');
    assert.equal(await (await jar.fetch('/show?name=Ann')).text(), '<h1>Ann</h1><i>GET</i>');
  });

  test('a missing or broken template is a 500 without details; the log names it', async () => {
    for (const [p, says] of [['/missing', '"nope.html" was not found'], ['/broken', '"broken.html" failed']] as const) {
      const res = await fetch(site.base + p);
      assert.equal(res.status, 500);
      assert.doesNotMatch(await res.text(), /nope|broken|templates/);
      assert.ok(site.logLines.some((l) => l.includes(says)), says);
    }
  });
});

describe('session config', () => {
  test('sessions without [server] securekey stop the start with SKT_SESSION_NO_KEY', async () => {
    await assert.rejects(startSite('[routes:line]\n/ = ./webapp\n', { 'webapp.ts': WEBAPP }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'SKT_SESSION_NO_KEY');
      assert.match(err.message, /securekey/);
      return true;
    });
  });

  test('sessiontimeout = 0 with sessions stops the start with SKT_SESSION_TIMEOUT', async () => {
    await assert.rejects(startSite(`[server]\nsecurekey = ${KEY}\nsessiontimeout = 0\n[routes:line]\n/ = ./webapp\n`, { 'webapp.ts': WEBAPP }), { code: 'SKT_SESSION_TIMEOUT' });
  });

  test('key rotation: securekey_previous still opens old cookies, which are re-signed with the new key', async () => {
    const old = new CookieJar(site.base);
    await old.fetch('/set?k=who&v=ann');
    const rotated = await startSite(`[server]\nsecurekey = n3w-key-2\nsecurekey_previous = ${KEY}\n[routes:line]\n/ = ./webapp\n`, { 'webapp.ts': WEBAPP });
    try {
      const jar = new CookieJar(rotated.base);
      jar.values.set('SESSION', old.values.get('SESSION')!);
      const res = await jar.fetch('/get?k=who');
      assert.deepEqual(await res.json(), { v: 'ann' });
      assert.equal(sessionLines(res).length, 1, 're-signed at once');
      assert.deepEqual(await (await jar.fetch('/get?k=who')).json(), { v: 'ann' });
      // The site still on the old key alone cannot open the re-signed cookie: it carries the new key's MAC.
      const back = await fetch(`${site.base}/get?k=who`, { headers: { cookie: jar.header() } });
      assert.deepEqual(await back.json(), { v: null });
    } finally {
      await rotated.close();
    }
  });

  test('devel mode shows the template error on the page', async () => {
    const s = await startSite(`[server]\ndevel = yes\nsecurekey = ${KEY}\n[routes:line]\n/ = ./webapp\n`, { 'webapp.ts': WEBAPP, ...TEMPLATES });
    try {
      const res = await fetch(`${s.base}/missing`);
      assert.equal(res.status, 500);
      assert.match(await res.text(), /SKT_TEMPLATE_NOT_FOUND|&#34;nope\.html&#34; was not found/);
    } finally {
      await s.close();
    }
  });
});

describe('session lifetime ([server] sessiontimeout)', () => {
  let short: TestSite;
  before(async () => {
    short = await startSite(`[server]\nsecurekey = ${KEY}\nsessiontimeout = 1500ms\n[routes:line]\n/ = ./webapp\n`, { 'webapp.ts': WEBAPP });
  });
  after(() => short.close());
  // Real time through a real site (the unit tests move Sessions' injected clock instead): the sleeps
  // wait out the 1.5 s lifetime (longer is fine), or space requests 0.4 s apart, 1.1 s inside it.
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

  test('a session idle longer than sessiontimeout is gone (expiry checked on the server, not only by Max-Age)', async () => {
    const jar = new CookieJar(short.base);
    const set = await jar.fetch('/set?k=a&v=1');
    assert.match(sessionLines(set)[0]!, /Max-Age=2;/);
    await sleep(1700);
    // A client that ignores Max-Age still sends the cookie: the server refuses it.
    assert.deepEqual(await (await jar.fetch('/get?k=a')).json(), { v: null });
  });

  test('sliding: requests that never read the session keep it alive past sessiontimeout', async () => {
    const jar = new CookieJar(short.base);
    await jar.fetch('/set?k=a&v=1');
    let renewed = 0;
    for (let i = 0; i < 6; i++) {
      await sleep(400);
      renewed += sessionLines(await jar.fetch('/quiet')).length;
    }
    assert.ok(renewed >= 5, `renewed ${renewed} times`);
    assert.deepEqual(await (await jar.fetch('/get?k=a')).json(), { v: '1' }, 'alive after 2.4 s with a 1.5 s lifetime');
    await sleep(1700);
    assert.deepEqual(await (await jar.fetch('/get?k=a')).json(), { v: null });
  });
});

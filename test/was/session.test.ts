import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, test } from 'node:test';
import { inspect } from 'node:util';
import { Cookies } from '../../src/was/cookie.js';
import { MessageBox } from '../../src/was/mbox.js';
import { Seal } from '../../src/was/seal.js';
import { Sessions } from '../../src/was/session.js';

const KEY = 'k3y-for-tests';

describe('Seal', () => {
  test('round-trips JSON and rejects any change, another key or another purpose', () => {
    const seal = new Seal([KEY]);
    const token = seal.seal('SESSION', { a: 1 });
    assert.match(token, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(seal.unseal('SESSION', token), { a: 1 });
    assert.equal(seal.unseal('OTHER', token), undefined);
    assert.equal(new Seal(['another-key']).unseal('SESSION', token), undefined);
    const [body, sig] = token.split('.') as [string, string];
    const forged = Buffer.from(JSON.stringify({ a: 2 })).toString('base64url');
    assert.equal(seal.unseal('SESSION', `${forged}.${sig}`), undefined);
    assert.equal(seal.unseal('SESSION', `${body}.${sig.slice(0, -2)}`), undefined);
    assert.equal(seal.unseal('SESSION', `${body}.${sig}x`), undefined);
    // Spellings Node's lenient base64url decoder reads as the same 32 bytes: one token, one spelling.
    // 43 characters carry 258 bits for 256: flipping the lowest bit of the last one changes no byte.
    const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = sig.slice(0, -1) + B64[B64.indexOf(sig.at(-1)!) ^ 1];
    for (const variant of [`${sig}!!`, `${sig}=`, `${sig.slice(0, 10)} ${sig.slice(10)}`, last]) {
      assert.ok(Buffer.from(variant, 'base64url').equals(Buffer.from(sig, 'base64url')), `the decoder reads ${variant} as the MAC`);
      assert.equal(seal.unseal('SESSION', `${body}.${variant}`), undefined, variant);
    }
    for (const junk of ['', '.', 'abc', '.sig', 'a.b.c', 'x'.repeat(10_000)]) assert.equal(seal.unseal('SESSION', junk), undefined, junk);
  });

  test('a correctly signed body that is not JSON is no document, never an error', () => {
    const body = Buffer.from('{not json').toString('base64url');
    const sig = createHmac('sha256', KEY).update('p').update('\0').update(body).digest('base64url');
    const seal = new Seal([KEY]);
    assert.equal(seal.unseal('p', `${body}.${sig}`), undefined);
    const ok = Buffer.from('"x"').toString('base64url');
    assert.equal(seal.unseal('p', `${ok}.${createHmac('sha256', KEY).update('p').update('\0').update(ok).digest('base64url')}`), 'x');
  });

  test('an old key still verifies; the first key signs', () => {
    const old = new Seal(['old-key-1']).seal('S', { v: 1 });
    const rotated = new Seal(['new-key-2', 'old-key-1']);
    assert.deepEqual(rotated.unseal('S', old), { v: 1 });
    assert.deepEqual(rotated.open('S', old), { doc: { v: 1 }, stale: true });
    assert.deepEqual(rotated.open('S', rotated.seal('S', 2)), { doc: 2, stale: false });
    assert.equal(new Seal(['old-key-1']).unseal('S', rotated.seal('S', { v: 2 })), undefined);
  });

  test('the key never shows in JSON, inspect output or the token', () => {
    const seal = new Seal([KEY]);
    assert.doesNotMatch(JSON.stringify({ seal }), /k3y/);
    assert.doesNotMatch(inspect(new Sessions(seal, 1000), { showHidden: true, depth: 5 }), /k3y|6b 33 79/);
    assert.doesNotMatch(seal.seal('S', {}), /k3y/);
  });
});

/** A session round trip as the browser sees it: Set-Cookie lines -> next request's Cookie header. */
function harness(timeoutMs = 10_000) {
  let now = 1_000_000;
  const sessions = new Sessions(new Seal([KEY]), timeoutMs, {}, () => now);
  let cookie: string | undefined;
  return {
    sessions,
    advance: (ms: number) => (now += ms),
    set cookie(v: string | undefined) {
      cookie = v;
    },
    get cookie() {
      return cookie;
    },
    /** Run one request: `fn` uses the session; returns the Set-Cookie lines sent. */
    request(fn: (s: ReturnType<Sessions['load']>) => void = () => {}): string[] {
      const jar = new Cookies(() => cookie, () => {});
      const session = sessions.load(jar);
      fn(session);
      sessions.commit(session, jar);
      const lines = jar.lines();
      for (const line of lines) {
        const [pair, ...attrs] = line.split('; ');
        const value = pair!.slice(pair!.indexOf('=') + 1);
        cookie = attrs.includes('Max-Age=0') ? undefined : `${pair!.slice(0, pair!.indexOf('='))}=${value}`;
      }
      return lines;
    },
  };
}

describe('Sessions', () => {
  test('a __Host- session cookie is Secure even with ssl off; a shape browsers would drop fails at start', () => {
    const sessions = new Sessions(new Seal([KEY]), 10_000, { name: '__Host-sid', secure: false });
    const jar = new Cookies(() => undefined, () => {});
    const session = sessions.load(jar);
    session.set('u', 1);
    sessions.commit(session, jar);
    assert.match(jar.lines()[0]!, /^__Host-sid=[^;]+; Max-Age=10; Path=\/; Secure; HttpOnly; SameSite=Lax$/);
    assert.throws(() => new Sessions(new Seal([KEY]), 10_000, { name: '__Host-sid', domain: 'example.com' }), { code: 'SKT_COOKIE_INVALID' });
    assert.throws(() => new Sessions(new Seal([KEY]), 10_000, { path: '/a;b' }), { code: 'SKT_COOKIE_INVALID' });
    assert.throws(() => new Sessions(new Seal([KEY]), 10_000, { name: 'bad name' }), { code: 'SKT_COOKIE_INVALID' });
  });

  test('a new, untouched session sends nothing; a set value comes back on the next request', () => {
    const h = harness();
    assert.deepEqual(h.request(), []);
    const lines = h.request((s) => s.set('user', { id: 7, name: 'Ann' }));
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /^SESSION=[^;]+; Max-Age=10; Path=\/; HttpOnly; SameSite=Lax$/);
    h.request((s) => {
      assert.deepEqual(s.get('user'), { id: 7, name: 'Ann' });
      assert.equal(s.has('user'), true);
      assert.deepEqual(s.keys(), ['user']);
      assert.deepEqual([...s], [['user', { id: 7, name: 'Ann' }]]);
    });
  });

  test('values are stored as JSON copies; non-JSON values are SKT_SESSION_VALUE', () => {
    const h = harness();
    h.request((s) => {
      const obj = { n: 1 };
      s.set('o', obj).set('d', new Date(0));
      obj.n = 2;
      assert.deepEqual(s.get('o'), { n: 1 });
      assert.equal(s.get('d'), '1970-01-01T00:00:00.000Z');
      assert.throws(() => s.set('f', () => 1), { code: 'SKT_SESSION_VALUE' });
      assert.throws(() => s.set('u', undefined), { code: 'SKT_SESSION_VALUE' });
      assert.throws(() => s.set('b', 1n), { code: 'SKT_SESSION_VALUE' });
      const cyc: Record<string, unknown> = {};
      cyc.self = cyc;
      assert.throws(() => s.set('c', cyc), { code: 'SKT_SESSION_VALUE' });
      assert.deepEqual(s.keys(), ['o', 'd']);
    });
  });

  test('a session over 4 KB is SKT_SESSION_TOO_LARGE and the change is not kept', () => {
    const h = harness();
    h.request((s) => {
      s.set('small', 'x');
      assert.throws(() => s.set('big', 'y'.repeat(4000)), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'SKT_SESSION_TOO_LARGE');
        assert.doesNotMatch(err.message, /k3y/);
        return true;
      });
      assert.equal(s.has('big'), false);
      s.set('small', 'y'.repeat(2000));
      assert.throws(() => s.set('small', 'y'.repeat(4000)), { code: 'SKT_SESSION_TOO_LARGE' });
      assert.equal((s.get('small') as string).length, 2000);
    });
  });

  test('tampered, foreign and expired cookies give a fresh session, and the bad cookie is deleted', () => {
    const h = harness(10_000);
    h.request((s) => s.set('role', 'user'));
    const good = h.cookie!;
    const [name, token] = good.split('=') as [string, string];
    const [body, sig] = token.split('.') as [string, string];
    const doc = JSON.parse(Buffer.from(body, 'base64url').toString()) as { d: Record<string, unknown> };
    doc.d.role = 'admin';
    h.cookie = `${name}=${Buffer.from(JSON.stringify(doc)).toString('base64url')}.${sig}`;
    let seen: unknown = 'unset';
    const lines = h.request((s) => (seen = s.get('role')));
    assert.equal(seen, undefined);
    assert.match(lines[0]!, /^SESSION=; Max-Age=0/);

    h.cookie = good;
    h.advance(10_001);
    h.request((s) => (seen = s.get('role')));
    assert.equal(seen, undefined, 'expired');
  });

  test('sliding: an unchanged session is re-sent once a tenth of its lifetime has passed, and lives on', () => {
    const h = harness(10_000);
    h.request((s) => s.set('n', 1));
    h.advance(500);
    assert.deepEqual(h.request(), [], 'too soon to renew');
    h.advance(600);
    assert.equal(h.request().length, 1, 'renewed after 1.1 s of 10 s');
    // Keep coming back every 6 s: far past the first 10 s, still the same session.
    for (let i = 0; i < 5; i++) {
      h.advance(6_000);
      let n: unknown;
      h.request((s) => (n = s.get('n')));
      assert.equal(n, 1, `visit ${i}`);
    }
    h.advance(10_001);
    let n: unknown = 'unset';
    h.request((s) => (n = s.get('n')));
    assert.equal(n, undefined, 'idle longer than the lifetime');
  });

  test('clear() deletes the cookie; delete() of the last key too', () => {
    const h = harness();
    h.request((s) => s.set('a', 1));
    assert.match(h.request((s) => s.clear())[0]!, /^SESSION=; Max-Age=0/);
    assert.equal(h.cookie, undefined);
    h.request((s) => s.set('a', 1));
    assert.match(h.request((s) => assert.equal(s.delete('a'), true))[0]!, /Max-Age=0/);
  });

  test('the cookie name must be a token; options shape the cookie', () => {
    assert.throws(() => new Sessions(new Seal([KEY]), 1000, { name: 'my session' }), { code: 'SKT_COOKIE_INVALID' });
    const s = new Sessions(new Seal([KEY]), 1000, { name: 'APP', path: '/app', secure: true, sameSite: 'Strict' });
    const jar = new Cookies(() => undefined, () => {});
    const session = s.load(jar);
    session.set('a', 1);
    s.commit(session, jar);
    assert.match(jar.lines()[0]!, /^APP=\S+; Max-Age=1; Path=\/app; Secure; HttpOnly; SameSite=Strict$/);
  });
});

describe('MessageBox (was.mbox)', () => {
  test('pushed messages survive to the next request, are read once, and can be taken by category', () => {
    const h = harness();
    h.request((s) => new MessageBox(s).push('saved').push('careful', 'warning'));
    h.request((s) => {
      const box = new MessageBox(s);
      assert.equal(box.size, 2);
      assert.deepEqual(box.get('warning'), [{ message: 'careful', category: 'warning' }]);
    });
    h.request((s) => assert.deepEqual(new MessageBox(s).get(), [{ message: 'saved', category: 'info' }]));
    h.request((s) => assert.deepEqual(new MessageBox(s).get(), []));
    assert.equal(h.cookie, undefined, 'an empty session drops its cookie');
  });
});

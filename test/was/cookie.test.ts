import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Cookies, parseCookies, serializeCookie } from '../../src/was/cookie.js';

describe('parseCookies', () => {
  test('reads name=value pairs, trims, unquotes and percent-decodes', () => {
    const c = parseCookies(' a=1; b = two ;c="quoted"; d=caf%C3%A9%3B%20x');
    assert.deepEqual([...c], [['a', '1'], ['b', 'two'], ['c', 'quoted'], ['d', 'café; x']]);
  });

  test('raw UTF-8 bytes (as browsers send a script-set cookie) read as UTF-8; other bytes stay as sent', () => {
    // Node hands header bytes over as latin1 characters; the last value is one latin1 byte, not UTF-8.
    const header = Buffer.concat([Buffer.from('name=José; emoji=😀; ', 'utf8'), Buffer.from([...'latin=caf'].map((c) => c.charCodeAt(0)).concat(0xe9))]).toString('latin1');
    assert.deepEqual([...parseCookies(header)], [['name', 'José'], ['emoji', '😀'], ['latin', 'caf\xe9']]);
  });

  test('skips malformed pairs instead of failing', () => {
    const c = parseCookies('novalue; =anon; bad name=1; ok=yes; x(y)=2; pct=%E0%A4%A; empty=');
    assert.deepEqual([...c], [['ok', 'yes'], ['pct', '%E0%A4%A'], ['empty', '']]);
  });

  test('the first of a repeated name wins (the most specific path comes first)', () => {
    assert.equal(parseCookies('id=inner; id=outer').get('id'), 'inner');
  });

  test('no header, no cookies', () => {
    assert.equal(parseCookies(undefined).size, 0);
    assert.equal(parseCookies('').size, 0);
  });
});

describe('serializeCookie', () => {
  test('defaults: Path=/, HttpOnly, SameSite=Lax, value percent-encoded', () => {
    assert.equal(serializeCookie('n', 'a b;c=é'), 'n=a%20b%3Bc%3D%C3%A9; Path=/; HttpOnly; SameSite=Lax');
  });

  test('every option', () => {
    const line = serializeCookie('n', 'v', {
      maxAge: 60.7, expires: new Date(Date.UTC(2030, 0, 2, 3, 4, 5)), path: '/app', domain: 'example.com', secure: true, httpOnly: false, sameSite: 'Strict',
    });
    assert.equal(line, 'n=v; Max-Age=60; Expires=Wed, 02 Jan 2030 03:04:05 GMT; Path=/app; Domain=example.com; Secure; SameSite=Strict');
  });

  test('SameSite=None is always Secure (browsers drop it otherwise)', () => {
    assert.match(serializeCookie('n', 'v', { sameSite: 'None' }), /; Secure; HttpOnly; SameSite=None$/);
  });

  test('__Secure- and __Host- cookies are always Secure; a __Host- cookie with a Domain or a Path is refused', () => {
    assert.equal(serializeCookie('__Secure-id', 'v'), '__Secure-id=v; Path=/; Secure; HttpOnly; SameSite=Lax');
    assert.equal(serializeCookie('__Host-id', 'v', { secure: false }), '__Host-id=v; Path=/; Secure; HttpOnly; SameSite=Lax');
    assert.match(serializeCookie('__HOST-id', 'v'), /; Secure;/, 'browsers match the prefix in any case');
    assert.doesNotMatch(serializeCookie('__Hostile', 'v'), /Secure/);
    for (const opts of [{ domain: 'example.com' }, { path: '/app' }]) {
      assert.throws(() => serializeCookie('__Host-id', 'v', opts), { code: 'SKT_COOKIE_INVALID', message: /__Host-.*Path=\/ and no Domain/ });
    }
  });

  test('a name or attribute that would break the header is SKT_COOKIE_INVALID', () => {
    for (const [name, opts] of [
      ['bad name', {}], ['a;b', {}], ['', {}], ['n', { path: '/x;Domain=evil' }], ['n', { domain: 'a\r\nb' }],
      ['n', { maxAge: Number.NaN }], ['n', { expires: new Date('nope') }], ['n', { sameSite: 'Sometimes' as 'Lax' }],
    ] as const) {
      assert.throws(() => serializeCookie(name, 'v', opts), { code: 'SKT_COOKIE_INVALID' }, `${name} ${JSON.stringify(opts)}`);
    }
  });
});

describe('Cookies (was.cookie)', () => {
  test('reads lazily, sees its own writes, and keeps the last write per name/path/domain', () => {
    let parsed = 0;
    let writes = 0;
    const jar = new Cookies(() => (parsed++, 'a=1; b=2'), () => writes++);
    assert.equal(parsed, 0);
    assert.equal(jar.get('a'), '1');
    assert.equal(jar.get('a'), '1');
    assert.equal(parsed, 1);
    jar.set('a', 'x').set('a', 'y').set('a', 'z', { path: '/other' }).delete('b');
    assert.equal(writes, 4, 'the owner hears of every write (it may refuse one made too late)');
    assert.equal(jar.get('b'), undefined);
    assert.equal(jar.has('b'), false);
    assert.deepEqual(jar.lines(), [
      'a=y; Path=/; HttpOnly; SameSite=Lax',
      'a=z; Path=/other; HttpOnly; SameSite=Lax',
      'b=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/; HttpOnly; SameSite=Lax',
    ]);
    assert.deepEqual([...jar.entries()], [['a', '1'], ['b', '2']]);
  });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodePath, isInside, resolveUnder } from '../../src/handlers/static/safepath.js';

test('decodePath decodes once and reports a trailing slash', () => {
  assert.deepEqual(decodePath('/a%20b/c.txt'), { ok: true, path: '/a b/c.txt', slash: false });
  assert.deepEqual(decodePath('/dir/'), { ok: true, path: '/dir/', slash: true });
  assert.deepEqual(decodePath(''), { ok: true, path: '', slash: false });
  assert.deepEqual(decodePath('/%252e%252e'), { ok: true, path: '/%2e%2e', slash: false });
  assert.deepEqual(decodePath('/a%2fb'), { ok: true, path: '/a/b', slash: false });
  assert.deepEqual(decodePath('/caf%C3%A9'), { ok: true, path: '/café', slash: false });
  assert.deepEqual(decodePath('/./x/...'), { ok: true, path: '/./x/...', slash: false }, '`.` and `...` are harmless names');
});

test('decodePath refuses traversal, NUL, backslashes and malformed escapes', () => {
  for (const raw of [
    '/..', '/../x', '/a/../b', '/%2e%2e/x', '/%2E%2e', '/.%2e', '/..%2fx', '/x%2f..%2fy',
    '/a\0b', '/a%00b', '/a\\b', '/a%5cb', '/a%5C..',
    '/%', '/%e', '/%zz', '/%e0%a4%a', '/%ff', '/%c0%ae',
  ]) {
    const got = decodePath(raw);
    assert.equal(got.ok, false, JSON.stringify(raw));
  }
});

test('resolveUnder keeps every decoded path inside the root', () => {
  assert.equal(resolveUnder('/srv/www', '/a/b.txt'), '/srv/www/a/b.txt');
  assert.equal(resolveUnder('/srv/www', ''), '/srv/www');
  assert.equal(resolveUnder('/srv/www', '/'), '/srv/www');
  assert.equal(resolveUnder('/srv/www', '/etc/passwd'), '/srv/www/etc/passwd');
  assert.equal(resolveUnder('/srv/www', '//etc/passwd'), '/srv/www/etc/passwd');
  assert.equal(resolveUnder('/srv/www', '/sub/'), '/srv/www/sub');
  // decodePath refuses `..` first; resolveUnder is the second wall.
  assert.equal(resolveUnder('/srv/www', '/../etc/passwd'), undefined);
  assert.equal(resolveUnder('/srv/www', '/../www2/x'), undefined);
});

test('isInside compares whole path segments', () => {
  assert.equal(isInside('/srv/www', '/srv/www'), true);
  assert.equal(isInside('/srv/www', '/srv/www/a'), true);
  assert.equal(isInside('/srv/www', '/srv/www2/a'), false);
  assert.equal(isInside('/srv/www', '/srv'), false);
  assert.equal(isInside('/', '/anything'), true);
});

/**
 * Every way out of the web root we know of, sent byte for byte over a raw socket (fetch and
 * node:http would normalise `..` and refuse some bytes). None may ever show the secret.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { SECRET, makeTree, rawGet, type Served, useServedTree } from './static-fixture.js';

let tree: ReturnType<typeof makeTree>;
let srv: Served;

useServedTree((t, s) => {
  tree = t;
  srv = s;
});

/**
 * Send `target` and check the outcome: 400 answered by the handler (its error page, not the HTTP
 * parser's bare reply, unless `byParser`), or 404 because the handler declined.
 */
async function attempt(target: string, expected: 400 | 404, byParser = false): Promise<void> {
  const res = await rawGet(srv.port, target);
  assert.ok(!res.body.includes(SECRET), `${target} leaked the secret`);
  assert.equal(res.status, expected, target);
  if (expected === 404) assert.equal(res.body, 'declined', target);
  else if (!byParser) assert.match(res.body, /<h1>400 Bad Request<\/h1>/, target);
}

test('the secret is reachable only by a path outside the root (sanity check of the fixture)', async () => {
  assert.ok(path.relative(tree.root, path.join(tree.outside, 'secret.txt')).startsWith('..'));
});

test('raw and encoded `..` segments are refused with 400', async () => {
  for (const target of [
    '/../outside/secret.txt',
    '/sub/../../outside/secret.txt',
    '/%2e%2e/outside/secret.txt',
    '/%2E%2E/outside/secret.txt',
    '/.%2e/outside/secret.txt',
    '/%2e./outside/secret.txt',
    '/..%2foutside/secret.txt',
    '/..%2Foutside%2Fsecret.txt',
    '/%2e%2e%2foutside%2fsecret.txt',
    '/static/../outside/secret.txt',
    '/static/%2e%2e/outside/secret.txt',
    '//../outside/secret.txt',
    '/sub/..',
  ]) {
    await attempt(target, 400);
  }
});

test('backslashes, raw or encoded, are refused with 400', async () => {
  for (const target of ['/..\\outside\\secret.txt', '/%5c..%5coutside%5csecret.txt', '/..%5Coutside/secret.txt', '/sub\\index.html']) {
    await attempt(target, 400);
  }
});

test('NUL bytes and malformed or overlong encodings are refused with 400', async () => {
  for (const target of ['/secret.txt%00.html', '/..%00/outside/secret.txt', '/hello.html%00', '/%zz', '/%e0%a4%a', '/%c0%ae%c0%ae/outside/secret.txt', '/%ff']) {
    await attempt(target, 400);
  }
  // A raw NUL never reaches the handler: the HTTP parser refuses the request line.
  await attempt('/hello.html\0', 400, true);
});

test('double encoding is decoded once: %252e%252e names a literal file, not `..`', async () => {
  await attempt('/%252e%252e/outside/secret.txt', 404);
  await attempt('/%252e%252e%252foutside%252fsecret.txt', 404);
  const literal = await rawGet(srv.port, '/%252e%252e');
  assert.equal(literal.status, 200);
  assert.equal(literal.body, 'a file literally named %2e%2e\n');
});

test('absolute paths stay under the root', async () => {
  const secret = path.join(tree.outside, 'secret.txt');
  await attempt(secret, 404);
  await attempt('/' + secret, 404);
  await attempt(encodeURIComponent(secret).replace(/^%2F/i, '/'), 404);
});

test('symlinks that lead out of the root are treated as missing', async () => {
  await attempt('/link-out.txt', 404);
  await attempt('/linkdir-out/secret.txt', 404);
  await attempt('/linkdir-out/', 404);
  await attempt('/linkdir-out', 404);
  const inside = await rawGet(srv.port, '/link-in.html');
  assert.equal(inside.status, 200, 'a symlink within the root is served');
});

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ERRORS, SkitaiError, isSkitaiError } from '../src/errors.js';

test('docs/errors.md lists every code with its status', () => {
  const doc = fs.readFileSync(path.resolve(import.meta.dirname, '../docs/errors.md'), 'utf8');
  for (const [code, { status }] of Object.entries(ERRORS)) {
    assert.match(doc, new RegExp(`\\| \`${code}\` \\| ${status} \\|`), `${code} missing from docs/errors.md`);
  }
  const documented = [...doc.matchAll(/\| `(SKT_[A-Z_]+)` \|/g)].map((m) => m[1]);
  assert.deepEqual(documented.filter((c) => !(c! in ERRORS)), [], 'docs/errors.md lists codes that no longer exist');
});

test('codes follow SKT_<AREA>_<WHAT>', () => {
  for (const code of Object.keys(ERRORS)) assert.match(code, /^SKT_[A-Z]+_[A-Z_]+$/);
});

test('a SkitaiError names its place and keeps code and status', () => {
  const err = new SkitaiError('SKT_CONFIG_VALUE', 'expected a number', { place: { file: 'site.conf', line: 3, section: 'server', key: 'port' } });
  assert.equal(err.code, 'SKT_CONFIG_VALUE');
  assert.equal(err.message, 'site.conf:line 3 [server] port: expected a number');
  assert.ok(isSkitaiError(err, 'SKT_CONFIG_VALUE'));
  assert.ok(!isSkitaiError(err, 'SKT_CONFIG_SYNTAX'));
  assert.equal(new SkitaiError('SKT_HTTP_ABORT', 'gone', { status: 410 }).status, 410);
});

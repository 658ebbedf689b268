import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { USAGE } from '../../src/cli/usage.js';

test('the README quotes `skitaid --help` verbatim', () => {
  const readme = fs.readFileSync(path.resolve(import.meta.dirname, '../../README.md'), 'utf8');
  assert.ok(readme.includes('```\n' + USAGE + '```\n'), 'README.md must carry the current --help text');
});

test('the README names both set-up commands', () => {
  const readme = fs.readFileSync(path.resolve(import.meta.dirname, '../../README.md'), 'utf8');
  assert.match(readme, /npm ci && npm start/);
  assert.match(readme, /npm test/);
});

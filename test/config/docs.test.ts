import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BEGIN, END, renderServerKeys } from '../../src/config/docs.js';
import { SERVER_KEYS } from '../../src/config/schema.js';

const doc = fs.readFileSync(fileURLToPath(new URL('../../docs/config.md', import.meta.url)), 'utf8');

test('docs/config.md mentions every [server] key and alias', () => {
  for (const spec of SERVER_KEYS) {
    for (const name of [spec.key, ...(spec.aliases ?? [])]) assert.ok(doc.includes(`\`${name}\``), `${name} missing from docs/config.md`);
  }
});

test('the generated key table in docs/config.md matches the schema (regenerate: node --import tsx src/config/docs.ts)', () => {
  const block = doc.slice(doc.indexOf(BEGIN), doc.indexOf(END) + END.length);
  assert.equal(block, renderServerKeys());
});

test('the schema has one row per key and per property, each documented', () => {
  const names = SERVER_KEYS.flatMap((s) => [s.key, ...(s.aliases ?? [])]);
  assert.equal(new Set(names).size, names.length);
  assert.equal(new Set(SERVER_KEYS.map((s) => s.prop)).size, SERVER_KEYS.length);
  for (const s of SERVER_KEYS) assert.ok(s.doc.length > 10, s.key);
});

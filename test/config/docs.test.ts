import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { markers, renderKeys, TABLES } from '../../src/config/docs.js';
import { SERVER_KEYS } from '../../src/config/schema.js';

const doc = fs.readFileSync(fileURLToPath(new URL('../../docs/config.md', import.meta.url)), 'utf8');

test('docs/config.md mentions every key and alias of every section', () => {
  for (const [name, table] of Object.entries(TABLES)) {
    for (const spec of table) {
      for (const key of [spec.key, ...(spec.aliases ?? [])]) assert.ok(doc.includes(`\`${key}\``), `${key} (${name}) missing from docs/config.md`);
    }
  }
});

for (const name of Object.keys(TABLES)) {
  test(`the generated ${name} table in docs/config.md matches its key table (regenerate: node --import tsx src/config/docs.ts docs/config.md)`, () => {
    const { begin, end } = markers(name);
    const block = doc.slice(doc.indexOf(begin), doc.indexOf(end) + end.length);
    assert.equal(block, renderKeys(name));
  });
}

test('every table has one row per key, each documented; [server] one per property', () => {
  for (const [name, table] of Object.entries(TABLES)) {
    const names = table.flatMap((s) => [s.key, ...(s.aliases ?? [])]);
    assert.equal(new Set(names).size, names.length, name);
    for (const s of table) assert.ok(s.doc.length > 10, `${name} ${s.key}`);
  }
  assert.equal(new Set(SERVER_KEYS.map((s) => s.prop)).size, SERVER_KEYS.length);
});

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startSite, writeFiles, type TestSite } from '../support/site.js';
import { settle, until } from '../support/until.js';

const version = (v: string): string => `
import { App } from 'skitai';
export const app = new App();
app.route('/version', () => '${v}');
app.route('/boom', () => { throw new Error('devel-visible ${v}'); });
`;

let s: TestSite;
before(async () => {
  s = await startSite('[server]\ndevel = yes\n[routes:line]\n/ = ./webapp\n', { 'webapp.ts': version('v1') });
});
after(() => s.close());

async function text(p: string): Promise<string> {
  return (await fetch(s.base + p)).text();
}

/** Poll until the reload shows (the check runs at most every 500 ms). */
async function eventually(p: string, expected: string): Promise<string> {
  return settle(() => text(p), (got) => got === expected, `${p} to answer ${JSON.stringify(expected)}`);
}

test('devel mode reloads the app module when it changes, without a restart', async () => {
  assert.equal(await text('/version'), 'v1');
  writeFiles(s.dir, { 'webapp.ts': version('v2 with a longer body') });
  assert.equal(await eventually('/version', 'v2 with a longer body'), 'v2 with a longer body');
});

test('a broken edit keeps the previous version serving and logs the error', async () => {
  const before = await text('/version');
  fs.writeFileSync(path.join(s.dir, 'webapp.ts'), 'export const app = ;;; syntax error');
  // Requests make the server look at the file (at most every 500 ms): keep asking until it has tried.
  const served = new Set<string>();
  await until(async () => (served.add(await text('/version')), s.logLines.some((l) => l.includes('reload of') && l.includes('failed'))), 5000, 'the failed reload logged');
  served.add(await text('/version'));
  assert.deepEqual([...served], [before], 'the previous version kept serving');
  writeFiles(s.dir, { 'webapp.ts': version('v3') });
  assert.equal(await eventually('/version', 'v3'), 'v3');
});

test('error pages show the stack in devel mode', async () => {
  const r = await fetch(s.base + '/boom');
  assert.equal(r.status, 500);
  const body = await r.text();
  assert.match(body, /devel-visible/);
  assert.match(body, /webapp\.ts/);
});

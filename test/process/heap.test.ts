import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

const CHILD = path.resolve(import.meta.dirname, '../support/pretenure-child.ts');

async function run(mode: 'plain' | 'tuned'): Promise<{ kept: number; young: number }> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--allow-natives-syntax', '--import', 'tsx', CHILD, mode]);
  return JSON.parse(stdout) as { kept: number; young: number };
}

// Under was.dlb load V8 pretenured per-query object literals, and every request's objects then
// reached old space (docs/performance.md, pattern 3). skitaid calls tuneHeap() first thing.
test('tuneHeap: objects from a literal V8 would pretenure are still made in the young generation', async () => {
  const [plain, tuned] = await Promise.all([run('plain'), run('tuned')]);
  // The control: without tuneHeap this V8 does pretenure the literal (if it stops, the child needs a new case).
  assert.equal(plain.young, 0, 'V8 should have pretenured the literal in the control run');
  assert.equal(tuned.young, 100);
});

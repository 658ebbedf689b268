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
test('tuneHeap: objects from a literal V8 would pretenure are still made in the young generation', async (t) => {
  const [plain, tuned] = await Promise.all([run('plain'), run('tuned')]);
  assert.equal(tuned.young, 100, 'with tuneHeap every object is made in the young generation');
  // The control: Node 20's V8 pretenures the child's literal; Node 22's (V8 12.4) does not for this
  // case, so there the test can only show that tuneHeap does no harm.
  if (plain.young !== 0) {
    t.skip(`this V8 (${process.versions.v8}) did not pretenure the probe literal without tuneHeap (${plain.young}/100 young)`);
    return;
  }
  assert.equal(plain.young, 0);
});

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

const CHILD = path.resolve(import.meta.dirname, '../support/console-sink-child.ts');
const line = (i: number): string => (i === 100 ? `{"n":${i},"long":"${'L'.repeat(6000)}"}` : `{"n":${i},"pad":"${'x'.repeat((i * 37) % 300)}","é":"✓"}`);

test("the console's access lines: a turn's lines in few writes of at most 4 KiB, each ending at a line's end; the waiting ones at exit", async () => {
  const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', CHILD], { maxBuffer: 1 << 24 });
  const lines = Array.from({ length: 230 }, (_, i) => line(i) + '\n');
  // Every line, whole and in order, the 30 written just before process.exit() included.
  assert.equal(stdout, lines.join(''));
  const sizes = JSON.parse(stderr) as number[];
  assert.equal(sizes.reduce((a, b) => a + b, 0), Buffer.byteLength(stdout));
  // ~40 KiB in writes of at most 4 KiB (PIPE_BUF: whole on a pipe shared by workers), the one
  // longer line alone; one write() per line would be 230.
  assert.ok(sizes.length < 20, `${sizes.length} writes`);
  const long = Buffer.byteLength(line(100)) + 1;
  for (const size of sizes) assert.ok(size <= 4096 || size === long, `a write of ${size} bytes`);
  let at = 0;
  for (const size of sizes) {
    at += size;
    assert.equal(Buffer.from(stdout)[at - 1], 10, 'a write ends at the end of a line');
  }
});

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

// The type tests are .ts files that tsc must accept: every `// @ts-expect-error` line in them has to
// be an error (or tsc reports the directive as unused), every other line has to compile. A type that
// regresses — a misspelt route parameter or RPC method compiling again — fails here.
const ROOT = path.resolve(import.meta.dirname, '../..');
const TSC = path.join(ROOT, 'node_modules/typescript/bin/tsc');

async function tsc(project: string): Promise<string> {
  try {
    await promisify(execFile)(process.execPath, [TSC, '--noEmit', '--pretty', 'false', '-p', project], { cwd: ROOT });
    return '';
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    return `${e.stdout ?? ''}${e.stderr ?? ''}` || e.message;
  }
}

// Both start at once: each is a whole tsc run over src/ (a few seconds), and they share nothing.
const strict = tsc('test/types/tsconfig.json');
const plain = tsc('test/types/tsconfig.default.json');

test('route params and typed RPC calls: right code compiles, wrong code does not (noUncheckedIndexedAccess on)', async () => {
  assert.equal(await strict, '');
});

test('the untyped RPC proxy: one or two dotted levels, nothing deeper (project settings)', async () => {
  assert.equal(await plain, '');
});

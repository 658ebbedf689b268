// Runs every test/**/*.test.ts with node's test runner under tsx (Node 20 has no --test globs).
// `skitai-source` makes `import ... from 'skitai'` load src/ (see package.json exports).
// Extra arguments are passed on: `npm test -- --test-name-pattern=static`.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

function find(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? find(join(dir, e.name)) : e.name.endsWith('.test.ts') ? [join(dir, e.name)] : [],
  );
}

const args = process.argv.slice(2);
const files = args.some((a) => a.endsWith('.ts')) ? [] : find('test').sort();
// A test that hangs (a request nobody answers, a wait with no end) fails after this, with its name,
// instead of holding the whole run until CI's own limit kills it with no result. Node applies the
// limit to each test file as a whole too (tried on Node 20 and 22), not only to each test: at 240 s
// test/integration/process.test.ts (35 s idle) was cut on a loaded two-core machine while passing.
const timeout = args.some((a) => a.startsWith('--test-timeout')) ? [] : ['--test-timeout=480000'];
const result = spawnSync(process.execPath, ['--import', 'tsx', '--conditions=skitai-source', '--test', '--test-concurrency=2', ...timeout, ...args, ...files], {
  stdio: 'inherit',
});
process.exit(result.status ?? 1);

#!/usr/bin/env node
// Which code runs: an installed package has only the compiled dist/ (no TypeScript tooling is
// loaded; the app loader brings in tsx only for a .ts app). A checkout has src/ next to bin/,
// and runs it through tsx, so development and the tests need no build step. SKITAI_DIST=1 runs
// a checkout's dist/ (after `npm run build`), as the start-up benchmark does. Workers and the
// daemon are started through this file and inherit the environment, so they make the same choice.
import { existsSync } from 'node:fs';

const source = new URL('../src/cli/main.ts', import.meta.url);
let main;
if (process.env.SKITAI_DIST !== '1' && existsSync(source)) {
  await import('tsx');
  // `import 'skitai'` in the checkout's own apps (examples/) must load src/, not a stale dist/.
  const { register } = await import('node:module');
  register('./source-condition.mjs', import.meta.url);
  ({ main } = await import(source.href));
} else {
  ({ main } = await import('../dist/cli/main.js'));
}
process.exitCode = await main(process.argv.slice(2));

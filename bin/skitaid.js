#!/usr/bin/env node
// tsx first, so app modules written in TypeScript (ESM or CommonJS) load without a build step.
import 'tsx';

const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));

// Summarises a sampled allocation profile of bench/sql/calls-child.mjs (SKITAI_BENCH_ALLOC=file):
// bytes allocated per call by function (self), largest first. Usage: node bench/sql/allocs.mjs FILE [TOP]
import fs from 'node:fs';

const [file, top = '30'] = process.argv.slice(2);
const profile = JSON.parse(fs.readFileSync(file, 'utf8'));
const self = new Map();
const walk = (node) => {
  const f = node.callFrame;
  const key = `${f.functionName || '(anonymous)'}  ${f.url.replace(/^.*?\/(node_modules|src|bench)\//, '$1/')}:${f.lineNumber + 1}`;
  if (node.selfSize) self.set(key, (self.get(key) ?? 0) + node.selfSize);
  for (const c of node.children) walk(c);
};
walk(profile.head);
const total = [...self.values()].reduce((a, b) => a + b, 0);
console.log(`${profile.calls} calls, ${(total / profile.calls).toFixed(0)} bytes allocated per call (sampled)`);
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(top))) console.log(`${(v / profile.calls).toFixed(0).padStart(8)} B/call  ${k}`);

// The DB call path alone, without HTTP: Skitai's `dlb(...).execute(...).getwait()` against
// `pg.Pool.query` on the same throwaway PostgreSQL, CONCURRENCY calls in flight, each mode in its own
// process pinned to one core, interleaved rounds; prints calls/s and the process's CPU µs per call.
// Usage: node bench/sql/calls.mjs [--rounds 3] [--duration 5] [--concurrency 50] [--max-conns 10] [--before DIR] [--together] [--dist]
//   --dist: also the built dist/ of this checkout (`npm run build` first), as users run it
//   --together: every mode at the same time in each round, all on the same core, so they share whatever
//   else the machine runs (a simultaneous comparison; read CPU µs per call, not calls/s)
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { median, pinning } from '../lib.mjs';
import { startPostgres } from './postgres.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const { values: opt } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '50' },
    'max-conns': { type: 'string', default: '10' },
    before: { type: 'string' },
    together: { type: 'boolean', default: false },
    dist: { type: 'boolean', default: false },
  },
});
const pin = pinning(true);
const modes = { 'pg.Pool': ['pg', ROOT], 'skitai dlb': ['dlb', ROOT] };
if (opt.dist) modes['skitai dist'] = ['dlb-dist', ROOT];
if (opt.before) modes['skitai before'] = ['dlb', path.resolve(opt.before)];

function measure([mode, root], pgPort) {
  const cmd = pin.server([process.execPath, '--import', 'tsx', path.join(HERE, 'calls-child.mjs'), mode, root, String(pgPort), opt.duration, opt.concurrency, opt['max-conns']]);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd[0], cmd.slice(1), { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop())) : reject(new Error(`${mode} exited ${code}: ${out}`))));
  });
}

const pgServer = await startPostgres();
const seen = Object.fromEntries(Object.keys(modes).map((k) => [k, []]));
try {
  const names = Object.keys(modes);
  for (let round = 0; round < Number(opt.rounds); round++) {
    if (opt.together) {
      const rs = await Promise.all(names.map((name) => measure(modes[name], pgServer.port)));
      names.forEach((name, i) => {
        seen[name].push(rs[i]);
        console.log(`round ${round + 1} ${name.padEnd(14)} ${rs[i].perSecond.toFixed(0).padStart(6)} calls/s ${rs[i].cpuUs.toFixed(1).padStart(6)} µs CPU/call`);
      });
      continue;
    }
    for (const name of round % 2 ? [...names].reverse() : names) {
      const r = await measure(modes[name], pgServer.port);
      seen[name].push(r);
      console.log(`round ${round + 1} ${name.padEnd(14)} ${r.perSecond.toFixed(0).padStart(6)} calls/s ${r.cpuUs.toFixed(1).padStart(6)} µs CPU/call`);
    }
  }
  const m = (name, k) => median(seen[name].map((x) => x[k]));
  console.log(`\nmedians (${pin.note}${opt.together ? '; modes at the same time' : ''}; PostgreSQL unpinned):`);
  for (const name of names) {
    console.log(`  ${name.padEnd(14)} ${m(name, 'perSecond').toFixed(0).padStart(6)} calls/s ${(m(name, 'perSecond') / m('pg.Pool', 'perSecond')).toFixed(2)} × pg.Pool   ${m(name, 'cpuUs').toFixed(1).padStart(6)} µs CPU/call, pg.Pool's CPU ÷ this ${(m('pg.Pool', 'cpuUs') / m(name, 'cpuUs')).toFixed(2)}`);
  }
  // Interference only ever adds CPU: on a shared machine the cheapest round is the steadiest estimate.
  const low = (name) => Math.min(...seen[name].map((x) => x.cpuUs));
  console.log('lowest CPU per call of any round:');
  for (const name of names) console.log(`  ${name.padEnd(14)} ${low(name).toFixed(1).padStart(6)} µs CPU/call, pg.Pool's ÷ this ${(low('pg.Pool') / low(name)).toFixed(2)}`);
} finally {
  pgServer.stop();
}

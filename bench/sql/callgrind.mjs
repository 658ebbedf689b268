// Instructions per call of raw pg.Pool against was.dlb, in one process each, counted by callgrind
// (a count a busy machine does not change), and the difference per function: where the call
// layer's CPU per call goes. The child warms up with WARMUP calls (V8 re-optimizes what it
// deoptimized once only after a while), then COUNT are counted.
// --http: raw undici Pool.request against was.lb instead, to two local members (bench/clients/members.mjs).
// Usage: node bench/sql/callgrind.mjs [--http] [--callers NAME] [--count 5000] [--warmup 40000] [--concurrency 50] [--top 40] [--dir CHECKOUT]
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readMainThread, steady } from '../callgrind-lib.mjs';
import { startPostgres } from './postgres.mjs';
import { freePort, startServer, stopServer, waitReady } from '../lib.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const { values: opt } = parseArgs({
  options: {
    count: { type: 'string', default: '5000' },
    warmup: { type: 'string', default: '40000' },
    concurrency: { type: 'string', default: '50' },
    top: { type: 'string', default: '40' },
    http: { type: 'boolean', default: false },
    callers: { type: 'string' },
    dir: { type: 'string', default: path.resolve(HERE, '..', '..') },
  },
});
const n = Number(opt.count);
const per = (v) => (v / n).toFixed(0);
const log = (line) => process.stderr.write(`${line}\n`);

// The SQL pair talks to a throwaway PostgreSQL, the HTTP pair to two node:http members (on the other core).
const [base, other] = opt.http ? ['raw', 'lb'] : ['pg', 'dlb'];
const names = opt.http ? ['raw undici', 'was.lb'] : ['pg.Pool', 'was.dlb'];
let target;
let stop;
if (opt.http) {
  const ports = [await freePort(), await freePort()];
  const members = startServer([process.execPath, path.join(HERE, '..', 'clients', 'members.mjs'), ...ports.map(String)], { cwd: path.resolve(opt.dir) });
  for (const p of ports) await waitReady(members, `http://127.0.0.1:${p}/x`, '{"ok":1}');
  target = ports.join(',');
  stop = () => stopServer(members);
} else {
  const server = await startPostgres();
  target = String(server.port);
  stop = () => server.stop();
}
try {
  const a = await profile(base);
  const b = await profile(other);
  for (const [name, p] of [[names[0], a], [names[1], b]]) console.log(`${name}: ${per(p.total[0])} instructions per call (main thread), ${per(steady(p))} without GC and compiler`);
  const rows = [];
  for (const key of new Set([...a.fns.keys(), ...b.fns.keys()])) rows.push([key, (b.fns.get(key)?.[0] ?? 0) - (a.fns.get(key)?.[0] ?? 0)]);
  console.log(`\n${names[1]} − ${names[0]} per call: ${per(b.total[0] - a.total[0])}, without GC and compiler ${per(steady(b) - steady(a))}`);
  for (const [key, d] of rows.sort((x, y) => Math.abs(y[1]) - Math.abs(x[1])).slice(0, Number(opt.top))) console.log(`${per(d).padStart(8)}  ${key}`);
  // JIT names say the tier: `JS:*` optimized (TurboFan), anything else interpreted or baseline code
  // that should have been optimized by now (never hot enough, or deoptimized and given up on).
  for (const [name, p] of [[names[0], a], [names[1], b]]) {
    const slow = [...p.fns].filter(([key]) => key.startsWith('JS:') && !key.startsWith('JS:*')).sort((x, y) => y[1][0] - x[1][0]).slice(0, 15);
    console.log(`\n${name}: code not optimized, instructions per call (self)`);
    for (const [key, cost] of slow) console.log(`${per(cost[0]).padStart(8)}  ${key}`);
  }
  // Who calls the functions whose name contains NAME, on each side (calls and inclusive instructions per call).
  if (opt.callers) {
    for (const [name, p] of [[names[0], a], [names[1], b]]) {
      console.log(`\n${name}: callers of ${opt.callers}`);
      for (const [k, e] of [...p.edges].filter(([key]) => key.split('\u0000')[1].includes(opt.callers)).sort((x, y) => y[1].ir - x[1].ir).slice(0, 40)) {
        const [from, to] = k.split('\u0000');
        console.log(`${(e.calls / n).toFixed(2).padStart(8)} ${per(e.ir).padStart(7)}  ${from}  ->  ${to}`);
      }
    }
  }
} finally {
  await stop();
}

async function profile(mode) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-sqlgrind-'));
  const child = spawn('valgrind', ['--tool=callgrind', '--instr-atstart=no', '--separate-threads=yes', `--callgrind-out-file=${path.join(tmp, 'callgrind.out')}`,
    process.execPath, '--no-concurrent-recompilation', '--perf-basic-prof', '--no-logfile-per-isolate', '--logfile=/dev/null', '--import', 'tsx', path.join(HERE, 'cg-child.mjs'),
    mode, path.resolve(opt.dir), target, String(n), opt.concurrency, opt.http ? opt.concurrency : '10', opt.warmup], { cwd: path.resolve(opt.dir), stdio: ['pipe', 'pipe', 'inherit'] });
  const said = (word) => new Promise((resolve, reject) => {
    let seen = '';
    const onData = (d) => {
      seen += d;
      if (seen.includes(`${word}\n`)) {
        child.stdout.off('data', onData);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${mode}: the child exited (${code}) before "${word}"`)));
  });
  const control = (...args) => execFileSync('callgrind_control', [...args, String(child.pid)], { encoding: 'utf8' });
  log(`${mode}: ${opt.warmup} calls to warm up, then ${n} counted`);
  await said('ready');
  control('-i', 'on');
  child.stdin.write('go\n');
  await said('done');
  control('-d');
  control('-i', 'off');
  child.stdin.write('exit\n');
  await new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', resolve)));
  const result = readMainThread(tmp, child.pid);
  fs.rmSync(tmp, { recursive: true, force: true });
  return result;
}

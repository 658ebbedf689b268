// Instructions per request of a Skitai server, counted by valgrind's callgrind: a count that a busy
// machine does not change (CPU time does), to see where a difference between two builds or two
// configurations goes, function by function, without pairing them in time.
// The server runs under callgrind with the JIT on the main thread (--no-concurrent-recompilation),
// gets --warmup requests uninstrumented, then --requests counted ones (h2load, HTTP/1.1 keep-alive,
// --connections at once); JIT code is named from the perf map node writes (--perf-basic-prof; the
// V8 log that flag turns on goes to /dev/null, not to isolate-*.log files in the checkout).
// Usage: node bench/callgrind.mjs [--log json|skitai] [--dir CHECKOUT] [--set 'key = value']...
//          [--b-log json|skitai|none] [--b-dir CHECKOUT] [--b-set ...]   a second server B, and B − A per function
//          [--path /hello] [--warmup 20000] [--requests 10000] [--connections 25] [--top 40]
//          [--cache]            also simulate the caches (I1/D1/LL misses; slower)
//          [--callers REGEX]    who calls the functions whose names match REGEX
// Prints the main thread's instructions per request (GC included: compare a few runs, its share moves),
// and the functions with the most (or, with B, the largest differences).
// Under callgrind the 50 ms access-log flush carries far fewer lines than at full speed: a per-batch
// cost shows ~50 times too large per request.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readMainThread, steady } from './callgrind-lib.mjs';
import { HOST, freePort, startServer, stopServer, waitReady } from './lib.mjs';

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const { values: opt } = parseArgs({
  options: {
    log: { type: 'string' },
    dir: { type: 'string', default: path.dirname(BENCH) },
    set: { type: 'string', multiple: true, default: [] },
    'b-log': { type: 'string' },
    'b-dir': { type: 'string' },
    'b-set': { type: 'string', multiple: true },
    path: { type: 'string', default: '/hello' },
    warmup: { type: 'string', default: '20000' },
    requests: { type: 'string', default: '10000' },
    connections: { type: 'string', default: '25' },
    top: { type: 'string', default: '40' },
    cache: { type: 'boolean', default: false },
    callers: { type: 'string' },
  },
});
const log = (line) => process.stderr.write(`${line}\n`);
const n = Number(opt.requests);
const per = (v) => (v / n).toFixed(0);

const a = { dir: path.resolve(opt.dir), log: opt.log, set: opt.set };
const b =
  opt['b-log'] !== undefined || opt['b-dir'] !== undefined || opt['b-set'] !== undefined
    ? { dir: path.resolve(opt['b-dir'] ?? opt.dir), log: opt['b-log'] ?? opt.log, set: opt['b-set'] ?? opt.set }
    : undefined;
if (a.log === 'none') a.log = undefined;
if (b?.log === 'none') b.log = undefined;
const name = (s) => `${s.log ? `access log ${s.log}` : 'no access log'}${s.dir !== a.dir || (b && b.dir !== a.dir) ? ` in ${s.dir}` : ''}${s.set.length ? ` (${s.set.join('; ')})` : ''}`;

const pa = await profile(a);
report(a, pa);
if (b) {
  const pb = await profile(b);
  report(b, pb);
  const rows = new Map();
  const zero = pa.events.map(() => 0);
  for (const key of new Set([...pa.fns.keys(), ...pb.fns.keys()])) {
    const x = pa.fns.get(key) ?? zero;
    const y = pb.fns.get(key) ?? zero;
    rows.set(key, y.map((v, i) => v - x[i]));
  }
  console.log(`\nB − A per request: ${pa.events.map((e, i) => `${e} ${per(pb.total[i] - pa.total[i])}`).join(', ')}; without GC and compiler: Ir ${per(steady(pb) - steady(pa))}`);
  console.log(pa.events.map((e) => e.padStart(8)).join('') + '  function (self, B − A)');
  for (const [key, d] of [...rows].sort((x, y) => Math.abs(y[1][0]) - Math.abs(x[1][0])).slice(0, Number(opt.top))) {
    console.log(`${d.map((c) => per(c).padStart(8)).join('')}  ${key}`);
  }
}

function report(s, p) {
  console.log(`\n${name(s)}: ${per(p.total[0])} instructions per request (main thread, ${n} requests), ${per(steady(p))} without GC and compiler`);
  if (p.events.length > 1) console.log(`per request: ${p.events.map((e, i) => `${e} ${(p.total[i] / n).toFixed(1)}`).join(', ')}`);
  if (!b) {
    console.log(p.events.map((e) => e.padStart(8)).join('') + '  function (self)');
    for (const [key, cost] of [...p.fns].sort((x, y) => y[1][0] - x[1][0]).slice(0, Number(opt.top))) console.log(`${cost.map((c) => per(c).padStart(8)).join('')}  ${key}`);
  }
  if (opt.callers) {
    const rows = [...p.edges].filter(([k]) => new RegExp(opt.callers).test(k.split("\u0000")[1])).sort((x, y) => y[1].ir - x[1].ir);
    console.log(`callers of ${opt.callers} (calls and inclusive instructions per request):`);
    for (const [k, e] of rows.slice(0, 200)) {
      const [from, to] = k.split('\u0000');
      console.log(`${(e.calls / n).toFixed(2).padStart(8)} ${per(e.ir).padStart(7)}  ${from}  ->  ${to}`);
    }
  }
}

/** One server under callgrind: the main thread's cost per function over the counted requests. */
async function profile(s) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-callgrind-'));
  let conf = fs.readFileSync(path.join(s.dir, 'bench', 'site.conf'), 'utf8').replace(/^(\/\S*\s*=\s*)\.\//gm, `$1${path.join(s.dir, 'bench')}/`);
  if (s.set.length) conf = conf.replace(/^\[server\]$/m, `[server]\n${s.set.join('\n')}`);
  if (s.log) conf = conf.replace(/^access_log\s*=.*$/m, `access_log = ${path.join(tmp, 'access.log')}\naccess_log_format = ${s.log}`);
  fs.writeFileSync(path.join(tmp, 'site.conf'), conf);
  const port = String(await freePort());
  const server = startServer(
    ['valgrind', '--tool=callgrind', ...(opt.cache ? ['--cache-sim=yes'] : []), '--instr-atstart=no', '--separate-threads=yes', `--callgrind-out-file=${path.join(tmp, 'callgrind.out')}`,
      process.execPath, '--no-concurrent-recompilation', '--perf-basic-prof', '--no-logfile-per-isolate', '--logfile=/dev/null', path.join(s.dir, 'bin', 'skitaid.js'), '-c', path.join(tmp, 'site.conf'), '-p', port],
    { cwd: s.dir },
  );
  const url = `http://${HOST}:${port}${opt.path}`;
  const h2load = (count) => {
    const r = spawnSync('h2load', ['--h1', '-n', String(count), '-c', opt.connections, '-m', '1', url], { encoding: 'utf8' });
    const ok = Number(r.stdout.match(/(\d+) succeeded/)?.[1]);
    if (ok !== count) throw new Error(`h2load: ${ok} of ${count} succeeded\n${r.stdout}${r.stderr}`);
  };
  const control = (...args) => execFileSync('callgrind_control', [...args, String(server.child.pid)], { encoding: 'utf8' });
  try {
    await waitReady(server, url, () => true, 300_000);
    log(`${name(s)}: ${opt.warmup} requests to warm up, then ${n} counted`);
    h2load(Number(opt.warmup));
    control('-i', 'on');
    h2load(n);
    control('-d');
    control('-i', 'off');
  } finally {
    await stopServer(server, 60_000);
  }
  const result = readMainThread(tmp, server.child.pid, server.output());
  fs.rmSync(tmp, { recursive: true, force: true });
  return result;
}


// pg.Pool against was.dlb in ONE process, with V8's default heap flags (as an app embedding Skitai
// runs them; skitaid turns allocation-site pretenuring off), alternating short rounds in the order
// given, each warmed up by count first. Per mode: CPU µs per call (median and lowest round), GC pause
// µs per call, calls per scavenge, and old-space growth per 1,000 calls — what a call leaves for the
// GC to promote (docs/performance.md, "SQL", fifth pass); then dlb's CPU against pg's in the same round.
// `--http` adds `lb` and `map` (two node:http members), so `--modes lb,map,pg,dlb` warms the HTTP
// path first, as `npm run bench -- clients` does.
// Usage: node --import tsx bench/sql/inproc.mjs [ROOT] [--modes pg,dlb] [--rounds 16] [--ms 1000] [--http]
//   ROOT: a checkout (default this one), e.g. a `git worktree` of main for a before/after pair
import path from 'node:path';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import pg from 'pg';
import { freePort, median, startServer, stopServer, waitReady } from '../lib.mjs';
import { startPostgres } from './postgres.mjs';
import { drive } from './drive.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const { values: opt, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rounds: { type: 'string', default: '16' },
    ms: { type: 'string', default: '1000' },
    modes: { type: 'string', default: 'pg,dlb' },
    http: { type: 'boolean', default: false },
  },
});
const root = path.resolve(positionals[0] ?? path.join(HERE, '..', '..'));
const load = (file) => import(pathToFileURL(path.join(root, 'src', file)).href);
const { parseConfigText } = await load('config/load.ts');
const { Databases, Clients } = await load('index.ts');

const gc = { minor: 0, major: 0, ms: 0 };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    if (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) gc.minor++;
    else if (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) gc.major++;
    gc.ms += e.duration;
  }
}).observe({ entryTypes: ['gc'] });
const oldSpace = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'old_space').space_used_size;

const server = await startPostgres();
const SQL = 'SELECT $1::int AS n';
const pool = new pg.Pool({ host: '127.0.0.1', port: server.port, user: 'skitai', database: 'postgres', max: 10 });
const conf = (text) => parseConfigText(text, '/tmp/inproc.conf', '/tmp').clusters;
const dbs = new Databases({ clusters: conf(`[@db]\ntype = postgresql\nmembers = 127.0.0.1:${server.port}/postgres/skitai\nmax_conns = 10\n`) });
const modes = {
  pg: () => pool.query(SQL, [1]).then((r) => r.rows[0].n),
  dlb: () => dbs.dlb('@db').execute(SQL, [1]).getwait(5).then((r) => r.data?.[0]?.n),
};
let members;
let clients;
if (opt.http) {
  const ports = [await freePort(), await freePort()];
  members = startServer([process.execPath, path.join(HERE, '..', 'clients', 'members.mjs'), ...ports.map(String)], { cwd: root });
  for (const p of ports) await waitReady(members, `http://127.0.0.1:${p}/x`, '{"ok":1}');
  clients = new Clients({ clusters: conf(`[@c]\nmembers = ${ports.map((p) => `127.0.0.1:${p}`).join(', ')}\nmax_conns = 50\n`) });
  modes.lb = () => clients.lb('@c/x', 'GET').getwait(5).then((r) => (r.data?.ok === 1 ? 1 : 0));
  modes.map = () => clients.map('@c/x', 'GET').getswait(5).then((rs) => (rs.length === 2 && rs.every((r) => r.data?.ok === 1) ? 1 : 0));
}
const active = opt.modes.split(',').map((m) => m.trim());
const unknown = active.filter((m) => !modes[m]);
if (unknown.length) throw new Error(`unknown --modes ${unknown.join(',')} (lb and map need --http)`);

const run = (call, ms) => drive(call, ms);

try {
  // Warm-up by count as well as time (V8 tiers up by calls; a starved core makes few), in --modes order.
  for (const name of active) for (let n = 0, t = performance.now(); n < 30_000 && performance.now() - t < 20_000;) n += await run(modes[name], 1000);
  const seen = Object.fromEntries(active.map((m) => [m, { cpu: [], gcUs: [], calls: 0, minor: 0, oldKB: [] }]));
  for (let i = 0; i < Number(opt.rounds); i++) {
    for (const name of i % 2 ? [...active].reverse() : active) {
      const s = seen[name];
      const gc0 = { ...gc };
      const old0 = oldSpace();
      const c0 = process.cpuUsage();
      const n = await run(modes[name], Number(opt.ms));
      const c = process.cpuUsage(c0);
      await new Promise((resolve) => setImmediate(resolve)); // the window's last GC entries
      s.cpu[i] = (c.user + c.system) / n;
      s.gcUs[i] = ((gc.ms - gc0.ms) * 1000) / n;
      // A mark-compact in the round empties old space: only rounds without one say what was promoted.
      if (gc.major === gc0.major) s.oldKB.push((oldSpace() - old0) / 1024 / (n / 1000));
      s.calls += n;
      s.minor += gc.minor - gc0.minor;
    }
  }
  console.log(`${root}: ${active.join(', ')} × ${opt.rounds} rounds of ${opt.ms} ms, 50 calls in flight, V8 default heap flags`);
  for (const name of active) {
    const s = seen[name];
    console.log(`${name.padEnd(4)} CPU ${median(s.cpu).toFixed(1)} µs/call (lowest ${Math.min(...s.cpu).toFixed(1)})  GC ${median(s.gcUs).toFixed(1)} µs/call  ` +
      `${(s.calls / Math.max(1, s.minor)).toFixed(0)} calls/scavenge  old space +${s.oldKB.length ? median(s.oldKB).toFixed(0) : '?'} KB per 1,000 calls`);
  }
  if (seen.dlb && seen.pg) {
    const ratio = median(seen.dlb.cpu.map((d, i) => seen.pg.cpu[i] / d));
    console.log(`pg's CPU per call ÷ dlb's, same round: median ${ratio.toFixed(2)}; dlb − pg median ${median(seen.dlb.cpu.map((d, i) => d - seen.pg.cpu[i])).toFixed(1)} µs`);
  }
} finally {
  await Promise.all([pool.end(), dbs.close(), clients?.close()]);
  if (members) await stopServer(members);
  server.stop();
}

// was.lb and was.map throughput against a raw undici Pool, in one process, to the same two local
// members (bench/clients/members.mjs, node:http answering {"ok":1}), and was.dlb against a raw
// pg.Pool to one throwaway PostgreSQL (bench/sql/postgres.mjs), `SELECT $1::int`. No wrk: N calls are
// kept in flight for D seconds and completions are counted. Run under tsx (it imports src/client, src/db):
//   node --import tsx bench/clients.mjs [--duration 5] [--rounds 3] [--warmup 2] [--concurrency 50]
//        [--quick] [--modes raw,dispatch,lb,lb-undici,map,pg,dlb] [--max-conns 10] [--no-pin] [--quiet 15] [--quiet-wait 30] [--retries 2]
//        [--profile lb [--callers NAME]]  that mode under node --cpu-prof instead: top self-time frames (src/ mapped to .ts)
// (see bench/README.md, "was clients")
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PerformanceObserver, constants as perfConstants } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Pool } from 'undici';
import { Clients } from '../src/services/clients.ts';
import { Databases } from '../src/services/databases.ts';
import { Status } from '../src/call/status.ts';
import { parseConfigText } from '../src/config/load.ts';
import { startPostgres } from './sql/postgres.mjs';
import { HOST, fmtMs, fmtPct, freePort, machineNotes, measureQuiet, median, pinning, startServer, stopServer, waitReady, benchArgs } from './lib.mjs';

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.dirname(BENCH);

const { opt, duration, rounds, warmup, quiet } = benchArgs({
  concurrency: { type: 'string', default: '50' },
  modes: { type: 'string', default: 'raw,dispatch,lb,lb-undici,map,pg,dlb' },
  'max-conns': { type: 'string', default: '10' }, // connections of pg.Pool and of the dlb cluster's member
  profile: { type: 'string' }, // a mode: profile it instead of benchmarking
  callers: { type: 'string' }, // with --profile: also the heaviest stacks through this function
  'profile-out': { type: 'string' }, // internal: the child run of --profile writes its window here
}, ['concurrency']);
if (opt.profile) {
  const { profileMode } = await import('./clients/profile.mjs');
  await profileMode(opt);
  process.exit(0);
}
const concurrency = Number(opt.concurrency);

const log = (line) => process.stderr.write(`${line}\n`);
// This process (the clients) on one core, the members on the other, like server and wrk in run.mjs.
const pin = pinning(!opt['no-pin']);
if (pin.cpus) spawnSync('taskset', ['-a', '-pc', String(pin.cpus[0]), String(process.pid)], { stdio: 'ignore' });
const pinNote = pin.cpus ? `clients (this process) on cpu ${pin.cpus[0]}, members on cpu ${pin.cpus[1]} (taskset)` : pin.note;

const ports = [await freePort(), await freePort()];
const members = startServer(pin.load([process.execPath, path.join(BENCH, 'clients', 'members.mjs'), ...ports.map(String)]), { cwd: ROOT });
for (const p of ports) await waitReady(members, `http://${HOST}:${p}/x`, '{"ok":1}');

// The real config path: a [@c] section through parseConfigText, Clients built from it as src/site.ts's Services does.
// [@u]: the same members with call_client = undici, the client was calls used before Skitai's own.
const memberList = ports.map((p) => `${HOST}:${p}`).join(', ');
const config = parseConfigText(`[@c]\nmembers = ${memberList}\nmax_conns = ${concurrency}\n\n[@u]\nmembers = ${memberList}\nmax_conns = ${concurrency}\ncall_client = undici\n`, '<bench/clients.mjs>', BENCH);
const clients = new Clients({ clusters: config.clusters, resultCacheMax: config.server.numResultCacheMax });
const pools = ports.map((p) => new Pool(`http://${HOST}:${p}`, { connections: concurrency }));

// pg and dlb: the same statement through a raw pg.Pool and through was.dlb (Databases built from a
// [@db] type = postgresql section, as src/site.ts builds it), same number of connections.
const SQL = 'SELECT $1::int AS n';
const wantsPg = opt.modes.split(',').some((m) => ['pg', 'dlb'].includes(m.trim()));
const pgServer = wantsPg ? await startPostgres() : undefined;
const maxConns = Number(opt['max-conns']);
const pgPool = pgServer && new pg.Pool({ host: HOST, port: pgServer.port, user: 'skitai', database: 'postgres', max: maxConns });
const dbs = pgServer && new Databases({
  clusters: parseConfigText(`[@db]\ntype = postgresql\nmembers = ${HOST}:${pgServer.port}/postgres/skitai\nmax_conns = ${maxConns}\n`, '<bench/clients.mjs>', BENCH).clusters,
});

const okJson = (data) => data !== null && typeof data === 'object' && data.ok === 1;
const okResult = (r) => r.status === Status.NORMAL && r.code === 200 && okJson(r.data);
let turn = 0;
/** Each mode: one call, true when its answer is right; `fanout` member requests per call. */
const MODES = {
  raw: {
    name: 'raw undici Pool', fanout: 1,
    call: async () => {
      const res = await pools[turn++ & 1].request({ path: '/x', method: 'GET' });
      return res.statusCode === 200 && okJson(await res.body.json());
    },
  },
  // The floor: undici's lower-level API with a handler collecting the body, as src/transport/http/exchange.ts does.
  dispatch: {
    name: 'raw undici Pool.dispatch', fanout: 1,
    call: () => new Promise((resolve) => {
      const chunks = [];
      let code = 0;
      pools[turn++ & 1].dispatch({ path: '/x', method: 'GET' }, {
        onConnect() {},
        onHeaders(status) { code = status; return true; },
        onData(chunk) { chunks.push(chunk); return true; },
        onComplete() { resolve(code === 200 && okJson(JSON.parse(Buffer.concat(chunks).toString()))); },
        onError() { resolve(false); },
      });
    }),
  },
  lb: { name: 'was.lb GET', fanout: 1, call: async () => okResult(await clients.lb('@c/x', 'GET').getwait(5)) },
  'lb-undici': { name: 'was.lb GET, call_client = undici', fanout: 1, call: async () => okResult(await clients.lb('@u/x', 'GET').getwait(5)) },
  map: {
    name: 'was.map GET (2 members)', fanout: 2,
    call: async () => {
      const rs = await clients.map('@c/x', 'GET').getswait(5);
      return rs.length === 2 && rs.every(okResult);
    },
  },
  pg: { name: 'raw pg.Pool query', fanout: 1, sql: true, call: async () => (await pgPool.query(SQL, [1])).rows[0].n === 1 },
  dlb: {
    name: 'was.dlb SELECT', fanout: 1, sql: true,
    call: async () => {
      const r = await dbs.dlb('@db').execute(SQL, [1]).getwait(5);
      return r.status === Status.NORMAL && r.data[0].n === 1;
    },
  },
};
const modes = opt.modes.split(',').map((s) => s.trim());
const bad = modes.filter((m) => !MODES[m]);
if (bad.length || modes.length === 0) throw new Error(`unknown --modes ${bad.join(',')}; use ${Object.keys(MODES).join(',')}`);

// Garbage collections of this process: a mode whose per-call objects V8 starts promoting (or
// pretenuring) pays in GC time, not in its own frames (docs/performance.md, "SQL", fifth pass).
const gc = { ms: 0, majors: 0 };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gc.ms += e.duration;
    if (e.detail?.kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) gc.majors++;
  }
}).observe({ entryTypes: ['gc'] });

/** Keeps `concurrency` calls in flight until `seconds` have passed; every call is timed and checked. */
async function drive(mode, seconds) {
  const lat = [];
  let calls = 0;
  let wrong = 0;
  const gc0 = { ...gc };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  const worker = async () => {
    while (performance.now() < deadline) {
      const t = performance.now();
      const ok = await MODES[mode].call().catch(() => false);
      lat.push(performance.now() - t);
      calls++;
      if (!ok) wrong++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  // GC entries are delivered asynchronously: let the last ones of this window arrive.
  await new Promise((resolve) => setImmediate(resolve));
  lat.sort((a, b) => a - b);
  const pct = (p) => lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))];
  return { cps: calls / elapsed, rps: (calls * MODES[mode].fanout) / elapsed, calls, wrong, p50: pct(50), p99: pct(99), cpuUs: ((cpu.user + cpu.system) / calls), seconds: elapsed, gcUs: ((gc.ms - gc0.ms) * 1000) / calls, majors: gc.majors - gc0.majors };
}

/**
 * A mode's first warm-up: `--warmup` seconds and at least 30,000 calls (at most 20 s). V8 tiers code
 * up by how often it ran, so on a loaded machine a few seconds left the JIT compiling during the
 * measured rounds, more for the mode with more code (docs/performance.md, "SQL", third pass).
 */
async function warmUp(mode) {
  const t0 = performance.now();
  let calls = 0;
  do calls += (await drive(mode, warmup)).calls;
  while (calls < 30_000 && performance.now() - t0 < 20_000);
}

const results = Object.fromEntries(modes.map((m) => [m, []]));
const warnings = [];
log(`bench clients: ${modes.join(', ')} × ${rounds} rounds, ${concurrency} in flight; ${pinNote}`);
if (opt['profile-out']) {
  // Child of --profile: warm up, then one measured run whose time window the profile is cut to.
  await warmUp(modes[0]);
  const from = Number(process.hrtime.bigint() / 1000n);
  const r = await drive(modes[0], duration);
  fs.writeFileSync(opt['profile-out'], JSON.stringify({ from, to: Number(process.hrtime.bigint() / 1000n), requests: r.calls, cps: r.cps }));
} else {
  for (let round = 1; round <= rounds; round++) {
    for (let i = 0; i < modes.length; i++) {
      const m = modes[(i + round - 1) % modes.length];
      if (warmup > 0) await (round === 1 ? warmUp(m) : drive(m, warmup));
      const label = `round ${round} ${MODES[m].name}`;
      // The members' CPU means nothing for the SQL modes (PostgreSQL answers them): NaN there.
      const r = await measureQuiet(() => drive(m, duration), { serverPid: MODES[m].sql ? undefined : members.child.pid, label, log, ...quiet });
      r.membersPct = r.serverMs / 10 / r.seconds; // members' CPU, % of one core
      if (r.wrong) warnings.push(`${label}: ${r.wrong} of ${r.calls} calls failed or answered wrong`);
      results[m].push(r);
      log(`  ${label.padEnd(34)} ${r.cps.toFixed(0).padStart(6)} calls/s ${r.rps.toFixed(0).padStart(6)} member req/s  p50 ${fmtMs(r.p50)}  p99 ${fmtMs(r.p99)}  ${r.cpuUs.toFixed(1)} µs CPU/call  GC ${r.gcUs.toFixed(1)} µs/call${r.majors ? ` (${r.majors} major)` : ''}  members ${fmtPct(r.membersPct)}  other ${fmtPct(r.other)}`);
    }
  }
  process.stdout.write(`\n${report()}`);
}
await Promise.all([clients.close(), ...pools.map((p) => p.close()), pgPool?.end(), dbs?.close()]);
await stopServer(members);
pgServer?.stop();

function report() {
  const rows = [
    '| mode | calls/s best | calls/s median | member req/s best | × raw (member req/s) best | × raw median | CPU µs/call | GC µs/call | p50 | p99 | members CPU | other CPU |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const best = (m) => results[m].reduce((a, b) => (b.rps > a.rps ? b : a));
  // The SQL modes compare with raw pg.Pool, the HTTP ones with raw undici.
  const baseOf = (m) => (MODES[m].sql ? 'pg' : 'raw');
  const baseBest = (m) => results[baseOf(m)] && best(baseOf(m)).rps;
  const baseMed = (m) => results[baseOf(m)] && median(results[baseOf(m)].map((r) => r.rps));
  const ratio = (a, b) => (b ? (a / b).toFixed(2) : '–');
  for (const m of modes) {
    const b = best(m);
    const med = median(results[m].map((r) => r.rps));
    if (b.other >= quiet.quietPct) warnings.push(`other processes used ≥ ${quiet.quietPct}% of a core during the best round of ${MODES[m].name}`);
    if (!MODES[m].sql && b.membersPct >= 90) warnings.push(`${MODES[m].name}: the members used ${fmtPct(b.membersPct)} of their core; they, not the client, may be the limit`);
    rows.push(`| ${MODES[m].name} | ${b.cps.toFixed(0)} | ${median(results[m].map((r) => r.cps)).toFixed(0)} | ${b.rps.toFixed(0)} | ${ratio(b.rps, baseBest(m))} | ${ratio(med, baseMed(m))} | ` +
      `${Math.min(...results[m].map((r) => r.cpuUs)).toFixed(1)} | ${median(results[m].map((r) => r.gcUs)).toFixed(1)} | ${fmtMs(b.p50)} | ${fmtMs(b.p99)} | ${fmtPct(b.membersPct)} | ${fmtPct(b.other)} |`);
  }
  const notes = [
    ...machineNotes(ROOT),
    `- ${pinNote}; ${concurrency} calls in flight; ${rounds} round(s) × ${duration}s after ${warmup}s warm-up, modes alternating`,
    '- one call = raw: `pool.request(GET)` + `body.json()` (pools alternate), what a user of undici writes — the baseline; dispatch: `pool.dispatch()` with a handler collecting the body, the floor Skitai builds on; lb: `clients.lb(\'@c/x\', \'GET\').getwait(5)` (Skitai\'s own member client); lb-undici: the same on a cluster with `call_client = undici`; map: `clients.map(\'@c/x\', \'GET\').getswait(5)` (2 member requests)' +
      `; pg: \`pool.query('SELECT $1::int AS n', [1])\` on a pg.Pool of ${maxConns} connections, the baseline of dlb: \`dbs.dlb('@db').execute(same).getwait(5)\` with max_conns = ${maxConns}, one throwaway PostgreSQL (unpinned)`,
    '- headline = BEST round (median too); × raw compares member requests/s with raw undici (pg, dlb: calls/s with raw pg.Pool); CPU µs/call = this process\'s CPU per call, lowest round; GC µs/call = its garbage-collection pauses per call, median round; latencies from the best round',
  ];
  let text = `# Skitai was-clients benchmark\n\n${notes.join('\n')}\n\n${rows.join('\n')}\n`;
  const goal = (m, base, text, want) => {
    if (results[m] && results[base]) return `\n**${text} = ${ratio(best(m).rps, best(base).rps)}** (median ${ratio(median(results[m].map((r) => r.rps)), median(results[base].map((r) => r.rps)))}); goal ≥ ${want}.\n`;
    return '';
  };
  text += goal('lb', 'raw', 'was.lb ÷ raw undici', '1.0') + goal('map', 'raw', 'was.map ÷ raw undici (member requests)', '1.05') + goal('dlb', 'pg', 'was.dlb ÷ raw pg.Pool', '0.95');
  if (warnings.length) text += `\n**Warnings** (results for these rows are suspect):\n${warnings.map((w) => `- ${w}`).join('\n')}\n`;
  fs.mkdirSync(path.join(BENCH, 'results'), { recursive: true });
  fs.writeFileSync(path.join(BENCH, 'results', 'clients.md'), text);
  log('\nwritten to bench/results/clients.md');
  return text;
}

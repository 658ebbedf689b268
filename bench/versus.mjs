// Skitai where it replaces nginx: static files, the reverse proxy and SQL through a route, measured
// side by side with nginx, HAProxy and minimal Node peers in the same interleaved rounds; paired
// ratios and CPU µs per request. Run under tsx (the SQL scenario starts PostgreSQL through
// test/support/postgres.ts):
//   node --import tsx bench/versus.mjs [--scenarios static,proxy,sql] [--targets skitai,nginx,...]
//        [--duration 5] [--rounds 3] [--warmup 2] [--connections 64] [--quick] [--no-pin] [--quiet 15] ...
// (see bench/README.md, "Against nginx")
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { HOST, benchArgs, fmtMs, fmtPct, freePort, machineNotes, measureQuiet, median, pinning, startServer, stopServer, wrk } from './lib.mjs';
import { haproxy, nginx, peer, skitai } from './versus/servers.mjs';

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.dirname(BENCH);
const KiB = 1024;
const MiB = 1024 * KiB;

const { opt, duration, rounds, warmup, quiet } = benchArgs({
  connections: { type: 'string', default: '64' },
  scenarios: { type: 'string', default: 'static,proxy,sql' },
  targets: { type: 'string', default: '' },
  cases: { type: 'string', default: '' },
}, ['connections']);
const connections = Number(opt.connections);
const pin = pinning(!opt['no-pin']);
const log = (line) => process.stderr.write(`${line}\n`);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-versus-'));
// nginx workers run as root here, but keep the tree readable for any user nginx may switch to.
fs.chmodSync(tmp, 0o755);
// Interrupted (Ctrl-C): stop what we started and remove the temp tree, or nginx would stay behind.
const running = new Set();
let current; // the scenario being run: its close() stops PostgreSQL

const track = (server) => (running.add(server), server.exited.then(() => running.delete(server)), server);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    for (const server of running) server.child.kill('SIGTERM');
    Promise.resolve(current?.close()).catch(() => {}).finally(() => {
      fs.rmSync(tmp, { recursive: true, force: true });
      process.exit(130);
    });
  });
}

/** One GET with node:http (no fetch: it would add Accept-Encoding), answered with status, headers, body. */
function get(url, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, agent: false, timeout: 5000 }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** Poll until `url` answers at all (any status), or fail with the server's output. */
async function ready(server, url) {
  const deadline = Date.now() + 30_000;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (server.child.exitCode !== null || server.child.signalCode !== null) throw new Error(`server exited before answering:\n${server.output()}`);
    try {
      return await get(url);
    } catch (err) {
      last = err.code ?? err.message;
    }
    await sleep(100);
  }
  throw new Error(`${url} not ready after 30 s (last: ${last}):\n${server.output()}`);
}

/** The case's request must be answered right before it is worth loading; returns wrk's extra headers. */
async function check(c, url) {
  if (c.revalidate) {
    const first = await get(url);
    const etag = first.headers.etag;
    if (first.status !== 200 || !etag) throw new Error(`${url}: no ETag to revalidate (${first.status})`);
    const again = await get(url, { 'if-none-match': etag });
    if (again.status !== 304) throw new Error(`${url}: If-None-Match ${etag} answered ${again.status}, not 304`);
    return { 'If-None-Match': etag };
  }
  const r = await get(url);
  const ok = r.status === 200 && (c.body !== undefined ? r.body.toString() === c.body : r.body.length === c.size);
  if (!ok) throw new Error(`${url}: ${r.status}, ${r.body.length} bytes ${JSON.stringify(r.body.subarray(0, 80).toString())}`);
  return {};
}

function pinPid(pid, cpu) {
  if (cpu !== undefined) spawnSync('taskset', ['-a', '-pc', String(cpu), String(pid)], { stdio: 'ignore' });
}

/** A process the scenario needs but does not measure (proxy backend, PostgreSQL), started once. */
async function helper(cmd, url) {
  const server = track(startServer(cmd, { cwd: ROOT }));
  await ready(server, url);
  return server;
}

// ---- Scenarios: targets (the first is the reference of every ratio), cases, helpers. ----

async function staticScenario() {
  const www = path.join(tmp, 'www');
  fs.mkdirSync(www, { mode: 0o755 });
  const line = 'body { margin: 0 auto; max-width: 42em; font: 16px/1.5 system-ui, sans-serif; color: #222; }\n';
  fs.writeFileSync(path.join(www, '1k.css'), line.repeat(Math.ceil(KiB / line.length)).slice(0, KiB));
  fs.writeFileSync(path.join(www, '1m.jpg'), crypto.randomBytes(MiB));
  const big = 40 * MiB;
  const fd = fs.openSync(path.join(www, 'big.mp4'), 'w');
  for (let i = 0; i < big / MiB; i++) fs.writeSync(fd, crypto.randomBytes(MiB));
  fs.closeSync(fd);
  return {
    key: 'static', title: 'Static files',
    cases: [
      { key: '1k', name: 'static 1 KiB (Skitai: memory cache)', path: '/1k.css', size: KiB },
      // Above static_cache_file_max: streamed by skitai-stream; skitai keeps it whole from the 2nd download (static_cache_hot_size).
      { key: '1m', name: 'static 1 MiB (above static_cache_file_max: hot copy, or streamed)', path: '/1m.jpg', size: MiB },
      // 8 connections, not 64: 64 × 40 MiB in flight would measure the loopback, not the servers.
      { key: 'big', name: 'static 40 MiB (larger than the 32 MiB memory cache), 8 connections', path: '/big.mp4', size: big, connections: 8 },
      { key: '304', name: '304 revalidation of the 1 KiB file (If-None-Match)', path: '/1k.css', revalidate: true },
    ],
    targets: [
      { key: 'nginx', name: 'nginx', cmd: nginx(tmp, 'static', { server: `root ${www};` }) },
      { key: 'skitai', name: 'skitai', cmd: skitai(tmp, 'static', `[routes:line]\n/ = ${www}\n`) },
      // Every large file from disk, as before static_cache_hot_size (the line lands in [server]).
      { key: 'skitai-stream', name: 'skitai, static_cache_hot_size = 0', cmd: skitai(tmp, 'static-stream', `static_cache_hot_size = 0\n\n[routes:line]\n/ = ${www}\n`) },
      { key: 'node-memory', name: 'node:http from memory', cmd: peer('node-static.mjs', 'memory', 'PORT', www) },
      { key: 'node-stream', name: 'node:http + stat + createReadStream', cmd: peer('node-static.mjs', 'stream', 'PORT', www) },
    ],
    helpers: [],
    async close() {},
  };
}

/**
 * `apart`: the proxy alone on its core, the backend with wrk on the other. `shared`: proxy and
 * backend on one core (the proxy's CPU per request is then its own, the req/s is of the pair).
 * The backend is nginx answering `Hello World` from its config: the cheapest backend there is.
 */
async function proxyScenario(layout) {
  const bport = await freePort();
  const backendCmd = nginx(tmp, `backend-${layout}`, { server: 'location = /hello { default_type text/html; return 200 "Hello World"; }' })(String(bport));
  const backend = await helper(layout === 'apart' ? pin.load(backendCmd) : pin.server(backendCmd), `http://${HOST}:${bport}/hello`);
  const up = `127.0.0.1:${bport}`;
  const forwarded = 'proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for; proxy_set_header X-Forwarded-Proto $scheme; proxy_set_header X-Forwarded-Host $host;';
  return {
    key: `proxy-${layout}`,
    title: layout === 'apart' ? 'Reverse proxy, proxy alone on its core (backend with wrk)' : 'Reverse proxy, proxy + backend on one core',
    cases: [{ key: 'hello', name: `GET /p/hello → backend /hello (${layout === 'apart' ? 'proxy alone on its core' : 'proxy + backend on one core'})`, path: '/p/hello', body: 'Hello World' }],
    targets: [
      {
        key: 'nginx', name: 'nginx proxy_pass (upstream keepalive)',
        cmd: nginx(tmp, `proxy-${layout}`, {
          http: `upstream backend { server ${up}; keepalive 64; }`,
          server: `location /p/ { proxy_pass http://backend/; proxy_http_version 1.1; proxy_set_header Connection ""; ${forwarded} }`,
        }),
      },
      { key: 'skitai', name: 'skitai /p = @backend', cmd: skitai(tmp, `proxy-${layout}`, `[routes:line]\n/p = @backend\n\n[@backend]\nmembers = ${up}\nmax_conns = 64\n`) },
      {
        key: 'haproxy', name: 'HAProxy (http-reuse always)',
        cmd: haproxy(tmp, `haproxy-${layout}`, `frontend f
  bind 127.0.0.1:PORT
  option forwardfor
  http-request set-header X-Forwarded-Proto http
  http-request set-header X-Forwarded-Host %[req.hdr(host)]
  default_backend b
backend b
  http-request replace-path /p(/.*) \\1
  server s1 ${up}`),
      },
      { key: 'undici', name: 'node:http + undici Pool (30 lines)', cmd: peer('undici-proxy.mjs', 'PORT', up) },
      // Opt-in (--targets): the floors a Node proxy can reach, for profiling work rather than the report.
      { key: 'dispatch', name: 'node:http + undici Pool.dispatch()', cmd: peer('dispatch-proxy.mjs', 'PORT', up), optIn: true },
      { key: 'raw-client', name: 'node:http + hand-written member client (not a proxy)', cmd: peer('raw-proxy.mjs', 'PORT', up), optIn: true },
    ],
    helpers: [backend.child.pid],
    close: () => stopServer(backend),
  };
}

async function sqlScenario() {
  const { startPostgres } = await import('../test/support/postgres.ts');
  const db = await startPostgres();
  // PostgreSQL works beside wrk, so that the server measured has its core to itself.
  const postmaster = Number(fs.readFileSync(path.join(db.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
  pinPid(postmaster, pin.cpus?.[1]);
  const POOL = 20;
  return {
    key: 'sql', title: 'SQL through a route (PostgreSQL beside wrk)',
    cases: [{ key: 'select', name: 'GET /sql: one `SELECT $1::int` per request, rows as JSON', path: '/sql', body: '[{"n":42}]' }],
    targets: [
      { key: 'pg', name: 'node:http + pg.Pool', cmd: peer('pg-server.mjs', 'PORT', db.port, POOL) },
      {
        key: 'skitai', name: 'skitai was.dlb',
        cmd: skitai(tmp, 'sql', `[routes:line]\n/ = ${path.join(BENCH, 'versus', 'sql-app')}\n\n[@db]\ntype = postgresql\nmembers = 127.0.0.1:${db.port}/skitai/trustuser\nmax_conns = ${POOL}\n`),
      },
    ],
    helpers: [postmaster],
    close: () => db.stop(),
  };
}

const SCENARIOS = {
  static: () => [staticScenario],
  proxy: () => [() => proxyScenario('apart'), () => proxyScenario('shared')],
  sql: () => [sqlScenario],
};

// ---- Rounds ----

const warnings = [];

async function runTarget(sc, t, round, results) {
  const port = String(await freePort());
  const server = track(startServer(pin.server(t.cmd(port)), { cwd: ROOT }));
  try {
    await ready(server, `http://${HOST}:${port}${sc.cases[0].path}`);
    for (const c of sc.cases) {
      const url = `http://${HOST}:${port}${c.path}`;
      const headers = await check(c, url);
      const run = { connections: c.connections ?? connections, prefix: pin.load, headers, timeout: 30 };
      const load = () => wrk(url, { seconds: duration, ...run });
      if (warmup > 0) await wrk(url, { seconds: warmup, ...run });
      const label = `round ${round} ${t.name} ${c.key}`;
      const r = await measureQuiet(load, { serverPid: server.child.pid, helpers: sc.helpers, label, log, ...quiet });
      r.cpuUs = (r.serverMs * 1000) / r.requests;
      r.busy = r.serverMs / 10 / duration; // % of one core
      if (r.non2xx || r.socketErrors) warnings.push(`${sc.key} ${t.key} ${c.key} round ${round}: ${r.non2xx} non-2xx, ${r.socketErrors} socket errors`);
      results[c.key][t.key].push(r);
      log(`  ${label.padEnd(52)} ${r.rps.toFixed(0).padStart(7)} req/s  p50 ${fmtMs(r.p50)}  p99 ${fmtMs(r.p99)}  ${r.cpuUs.toFixed(1)} µs CPU/req  server ${fmtPct(r.busy)}  other ${fmtPct(r.other)}`);
    }
  } finally {
    await stopServer(server);
  }
}

/** Ratios to the scenario's first target: paired (round by round, then the median) and best ÷ best. */
function table(sc, results) {
  const ref = sc.targets[0];
  const rows = [
    `| case | server | req/s best | req/s median | × ${ref.key} paired median | × ${ref.key} best | CPU µs/req | ${ref.key} CPU ÷ this | server busy | p50 | p99 | other CPU |`,
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const summary = [];
  const ratio = (a, b) => (b ? (a / b).toFixed(2) : '–');
  for (const c of sc.cases) {
    const base = results[c.key][ref.key];
    const baseCpu = Math.min(...base.map((r) => r.cpuUs));
    for (const t of sc.targets) {
      const rs = results[c.key][t.key];
      const best = rs.reduce((a, b) => (b.rps > a.rps ? b : a));
      const paired = median(rs.map((r, i) => r.rps / base[i].rps));
      const cpu = Math.min(...rs.map((r) => r.cpuUs));
      if (best.other >= quiet.quietPct) warnings.push(`other processes used ≥ ${quiet.quietPct}% of a core during the best round of ${sc.key} ${t.key} ${c.key}`);
      rows.push(`| ${c.name} | ${t.name} | ${best.rps.toFixed(0)} | ${median(rs.map((r) => r.rps)).toFixed(0)} | ${paired.toFixed(2)} | ` +
        `${ratio(best.rps, Math.max(...base.map((r) => r.rps)))} | ${cpu.toFixed(1)} | ${ratio(baseCpu, cpu)} | ${fmtPct(best.busy)} | ${fmtMs(best.p50)} | ${fmtMs(best.p99)} | ${fmtPct(best.other)} |`);
      if (t.key === 'skitai') summary.push(`${c.name}: Skitai **${paired.toFixed(2)} × ${ref.name}** (paired median), ${cpu.toFixed(1)} µs CPU/request (${ref.key} ${baseCpu.toFixed(1)})`);
    }
  }
  return `## ${sc.title}\n\n${rows.join('\n')}\n\n${summary.map((l) => `- ${l}`).join('\n')}\n`;
}

const chosen = opt.scenarios.split(',').map((s) => s.trim());
const unknown = chosen.filter((s) => !SCENARIOS[s]);
if (unknown.length || chosen.length === 0) throw new Error(`unknown --scenarios ${unknown.join(',')}; use ${Object.keys(SCENARIOS).join(',')}`);
const only = opt.targets ? opt.targets.split(',').map((s) => s.trim()) : undefined;

const sections = [];
try {
  for (const make of chosen.flatMap((s) => SCENARIOS[s]())) {
    const sc = (current = await make());
    try {
      // The reference stays: every ratio is to it.
      sc.targets = sc.targets.filter((t, i) => i === 0 || (only ? only.includes(t.key) : !t.optIn));
      if (opt.cases) sc.cases = sc.cases.filter((c) => opt.cases.split(',').includes(c.key));
      log(`bench ${sc.key}: ${sc.targets.map((t) => t.key).join(', ')} × ${sc.cases.length} cases × ${rounds} rounds; ${pin.note}`);
      const results = Object.fromEntries(sc.cases.map((c) => [c.key, Object.fromEntries(sc.targets.map((t) => [t.key, []]))]));
      for (let round = 1; round <= rounds; round++) {
        for (let i = 0; i < sc.targets.length; i++) await runTarget(sc, sc.targets[(i + round - 1) % sc.targets.length], round, results);
      }
      sections.push(table(sc, results));
    } finally {
      await sc.close();
    }
  }
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
const notes = [
  ...machineNotes(ROOT),
  `- nginx ${spawnSync('nginx', ['-v'], { encoding: 'utf8' }).stderr.trim().split('/')[1] ?? '?'}, ${spawnSync('haproxy', ['-v'], { encoding: 'utf8' }).stdout.split('\n')[0].split(' ').slice(0, 3).join(' ')}`,
  `- ${pin.note}; wrk -t1 -c${connections} --latency; ${rounds} round(s) × ${duration}s after ${warmup}s warm-up per case, servers alternating`,
  '- paired median = the median over rounds of (this ÷ reference in the same round); best = best round; CPU µs/req = the server\'s CPU (user+sys, with its child processes) per request, lowest round',
  '- server busy = the server\'s CPU in % of one core in the best round: well under 100 % means something else (wrk, the backend) was the limit; other CPU = others\' load (not wrk, backend or PostgreSQL)',
];
let report = `# Skitai against nginx, HAProxy and Node peers\n\n${notes.join('\n')}\n\n${sections.join('\n')}`;
if (warnings.length) report += `\n**Warnings** (results for these rows are suspect):\n${warnings.map((w) => `- ${w}`).join('\n')}\n`;
process.stdout.write(`\n${report}`);
fs.mkdirSync(path.join(BENCH, 'results'), { recursive: true });
fs.writeFileSync(path.join(BENCH, 'results', 'versus.md'), report);
log('\nwritten to bench/results/versus.md');

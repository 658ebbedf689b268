// Runs Skitai and its peers side by side in one run and prints req/s ratios to raw node:http.
// Usage: node bench/run.mjs [--duration 5] [--rounds 3] [--warmup 2] [--connections 50]
//        [--quick] [--targets raw,fastify,skitai,skitai-log,skitai-log-text,skitai-metrics,skitai-p1,skitai-p2] [--no-pin] [--quiet 15] [--quiet-wait 30] [--retries 2]
//        [--paths /ping,/hello] [--before DIR]   DIR: another checkout (e.g. a `git worktree` of the old commit), run as target skitai-before
// (see bench/README.md)
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HOST, freePort, otherLoad, pinning, startServer, stopServer, waitQuiet, waitReady, wrk, benchArgs, pickByKey } from './lib.mjs';

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.dirname(BENCH);
const NODE = process.execPath;
const ALL_PATHS = [
  { path: '/ping', body: 'pong' },
  { path: '/hello', body: 'Hello World' },
];

const { opt, duration, rounds, warmup, quiet } = benchArgs({
  connections: { type: 'string', default: '50' },
  targets: { type: 'string', default: 'raw,fastify,skitai,skitai-log,skitai-log-text,skitai-p1,skitai-p2' },
  paths: { type: 'string', default: '/ping,/hello' },
  before: { type: 'string' },
}, ['connections']);
const PATHS = pickByKey(ALL_PATHS.map((p) => ({ ...p, key: p.path })), opt.paths, '--paths');
const connections = Number(opt.connections);
const { quietPct, quietWaitMs, retries } = quiet;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-bench-'));
const accessLogFile = path.join(tmp, 'access.log');

/** Same site as bench/site.conf, but with the access log written to a file under the temp dir, as JSON or Skitai's text line. */
function loggingConf(format) {
  const text = fs.readFileSync(path.join(BENCH, 'site.conf'), 'utf8')
    .replace(/^access_log\s*=.*$/m, `access_log = ${accessLogFile}\naccess_log_format = ${format}`)
    .replace(/^(\/\S*\s*=\s*)\.\//gm, `$1${BENCH}/`);
  const file = path.join(tmp, `site-log-${format}.conf`);
  fs.writeFileSync(file, text);
  return file;
}

/** Same site as bench/site.conf, with `metrics_path` on: the per-request counting and the two clock reads. */
function metricsConf() {
  const text = fs.readFileSync(path.join(BENCH, 'site.conf'), 'utf8')
    .replace(/^access_log\s*=.*$/m, (line) => `${line}\nmetrics_path = /metrics\nmetrics_allow = 127.0.0.1`)
    .replace(/^(\/\S*\s*=\s*)\.\//gm, `$1${BENCH}/`);
  const file = path.join(tmp, 'site-metrics.conf');
  fs.writeFileSync(file, text);
  return file;
}

const skitaid = path.join(ROOT, 'bin', 'skitaid.js');
const ALL = [
  { key: 'raw', name: 'node:http (raw)', cmd: (p) => [NODE, path.join(BENCH, 'peers', 'raw.mjs'), p] },
  { key: 'fastify', name: 'fastify', cmd: (p) => [NODE, path.join(BENCH, 'peers', 'fastify.mjs'), p] },
  { key: 'skitai', name: 'skitai', cmd: (p) => [NODE, skitaid, '-c', path.join(BENCH, 'site.conf'), '-p', p] },
  { key: 'skitai-log', name: 'skitai + JSON access log file', cmd: (p) => [NODE, skitaid, '-c', loggingConf('json'), '-p', p] },
  { key: 'skitai-log-text', name: 'skitai + text access log file', cmd: (p) => [NODE, skitaid, '-c', loggingConf('skitai'), '-p', p] },
  { key: 'skitai-metrics', name: 'skitai + metrics_path', cmd: (p) => [NODE, skitaid, '-c', metricsConf(), '-p', p] },
  // processes = 1 against 2: not pinned, so the second worker can have a core (wrk stays on its own).
  { key: 'skitai-p1', name: 'skitai processes=1 (unpinned)', unpinned: true, cmd: (p) => [NODE, skitaid, '-c', path.join(BENCH, 'site.conf'), '-p', p] },
  { key: 'skitai-p2', name: 'skitai processes=2 (unpinned)', unpinned: true, cmd: (p) => [NODE, skitaid, '-c', path.join(BENCH, 'site.conf'), '-p', p, '-w', '2'] },
];
if (opt.before) {
  // The old code in the same interleaved rounds: CPU per request before/after on a shared machine.
  const dir = path.resolve(opt.before);
  const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: dir, encoding: 'utf8' }).trim();
  ALL.splice(3, 0, { key: 'skitai-before', name: `skitai before (${commit})`, cmd: (p) => [NODE, path.join(dir, 'bin', 'skitaid.js'), '-c', path.join(dir, 'bench', 'site.conf'), '-p', p] });
}
const targets = pickByKey(ALL, opt.before && !opt.targets.split(',').includes('skitai-before') ? `${opt.targets},skitai-before` : opt.targets, '--targets');

const pin = pinning(!opt['no-pin']);
const log = (line) => process.stderr.write(`${line}\n`);

/** results[target][path] = list of wrk results, one per round */
const results = Object.fromEntries(targets.map((t) => [t.key, Object.fromEntries(PATHS.map((p) => [p.path, []]))]));
const warnings = [];

async function runTarget(t, round) {
  const port = String(await freePort());
  const server = startServer(t.unpinned ? t.cmd(port) : pin.server(t.cmd(port)), { cwd: ROOT });
  try {
    for (const p of PATHS) await waitReady(server, `http://${HOST}:${port}${p.path}`, p.body);
    for (const p of PATHS) {
      const url = `http://${HOST}:${port}${p.path}`;
      if (warmup > 0) await wrk(url, { seconds: warmup, connections, prefix: pin.load });
      let r;
      for (let attempt = 0; attempt <= retries; attempt++) {
        const before = await waitQuiet(quietPct, quietWaitMs);
        if (before >= quietPct) log(`  (other processes still use ${fmtPct(before)} of a core after ${quietWaitMs / 1000}s; measuring anyway)`);
        const meter = otherLoad(server.child.pid);
        r = await wrk(url, { seconds: duration, connections, prefix: pin.load });
        const load = meter.stop();
        r.other = load.other;
        r.cpuUs = (load.serverMs * 1000) / r.requests; // server CPU per request, in µs
        if (!(r.other >= quietPct)) break;
        if (attempt < retries) log(`  round ${round} ${t.name} ${p.path}: disturbed (other CPU ${fmtPct(r.other)}, ${r.rps.toFixed(0)} req/s), measuring again`);
      }
      if (r.non2xx || r.socketErrors) warnings.push(`${t.key} ${p.path} round ${round}: ${r.non2xx} non-2xx, ${r.socketErrors} socket errors`);
      results[t.key][p.path].push(r);
      log(`  round ${round} ${t.name.padEnd(26)} ${p.path.padEnd(7)} ${r.rps.toFixed(0).padStart(7)} req/s  p50 ${fmtMs(r.p50)}  p99 ${fmtMs(r.p99)}  ${r.cpuUs.toFixed(1)} µs CPU/req  other CPU ${fmtPct(r.other)}`);
    }
  } finally {
    await stopServer(server);
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmtPct = (x) => (Number.isNaN(x) ? '?' : `${x.toFixed(0)}%`);
const fmtMs = (ms) => (Number.isNaN(ms) ? '–' : ms < 1 ? `${(ms * 1000).toFixed(0)}µs` : `${ms.toFixed(2)}ms`);

/** Best round = most req/s: interference on a shared box only ever lowers throughput. */
function table() {
  const rows = [
    '| target | path | req/s best | req/s median | × raw best | × raw median | CPU µs/req | × raw CPU | p50 | p99 | other CPU |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const flagged = [];
  for (const p of PATHS) {
    const raw = results.raw?.[p.path].map((r) => r.rps);
    const rawCpu = results.raw && Math.min(...results.raw[p.path].map((r) => r.cpuUs));
    for (const t of targets) {
      const rs = results[t.key][p.path];
      const best = rs.reduce((a, b) => (b.rps > a.rps ? b : a));
      const med = median(rs.map((r) => r.rps));
      const cpu = Math.min(...rs.map((r) => r.cpuUs));
      const ratio = (x, base) => (base ? (x / base).toFixed(2) : '–');
      if (best.other >= quietPct) flagged.push(`${t.name} ${p.path}`);
      rows.push(
        `| ${t.name} | ${p.path} | ${best.rps.toFixed(0)} | ${med.toFixed(0)} | ${ratio(best.rps, raw && Math.max(...raw))} | ` +
          `${ratio(med, raw && median(raw))} | ${cpu.toFixed(1)} | ${ratio(rawCpu, cpu)} | ${fmtMs(best.p50)} | ${fmtMs(best.p99)} | ${fmtPct(best.other)} |`,
      );
    }
  }
  if (flagged.length) warnings.push(`other processes used ≥ ${quietPct}% of a core during the best round of: ${flagged.join(', ')}`);
  return rows.join('\n');
}

/**
 * What the access log costs the whole server: per round, the logging target's CPU µs per request
 * minus the plain site's in the same round (they run back to back), then the median over rounds.
 * Paired differences cancel most of a shared machine's drift between rounds.
 */
function pairedDiff(a, b, p) {
  const xs = results[a]?.[p];
  const ys = results[b]?.[p];
  if (!xs || !ys) return undefined;
  return median(xs.map((x, i) => x.cpuUs - ys[i].cpuUs));
}
const fmtDiff = (x) => (x === undefined ? '–' : `${x >= 0 ? '+' : ''}${x.toFixed(2)} µs`);

function accessLogCost() {
  const lines = ['**Access log cost** (server CPU µs per request, median over rounds of the paired difference):'];
  const diff = pairedDiff;
  const fmt = fmtDiff;
  for (const p of PATHS) {
    lines.push(`- ${p.path}: JSON ${fmt(diff('skitai-log', 'skitai', p.path))} over no log, text ${fmt(diff('skitai-log-text', 'skitai', p.path))} over no log, JSON ${fmt(diff('skitai-log', 'skitai-log-text', p.path))} over text`);
  }
  return lines.join('\n');
}

function describeMachine() {
  const sh = (cmd, args) => {
    try {
      return execFileSync(cmd, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return '?';
    }
  };
  const wrkVersion = sh('sh', ['-c', 'wrk -v 2>&1 | head -1']).split(' ').slice(0, 2).join(' ');
  const commit = sh('git', ['rev-parse', '--short', 'HEAD']) + (sh('git', ['status', '--porcelain', '--', 'src', 'bin']) ? ' (src dirty)' : '');
  return [
    `- date: ${new Date().toISOString()}; commit ${commit}`,
    `- node ${process.version}, ${wrkVersion}; ${os.cpus()[0]?.model ?? '?'} × ${os.availableParallelism()} cpus`,
    `- ${pin.note}; wrk -t1 -c${connections} --latency; ${rounds} round(s) × ${duration}s after ${warmup}s warm-up, per path, targets alternating`,
    `- headline = BEST round per target and path (median shown too); p50/p99 are wrk's, from the best round`,
    `- CPU µs/req = server CPU time (user+sys) per request, lowest of the rounds; × raw CPU = raw's CPU/req ÷ this (1.00 = as lean as raw)`,
    `- other CPU = CPU used by processes other than the server and wrk during that round, in % of one core`,
  ].join('\n');
}

try {
  log(`bench: ${targets.length} targets × ${PATHS.length} paths × ${rounds} rounds; ${pin.note}`);
  for (let round = 1; round <= rounds; round++) {
    // Rotate the start so no target always runs first (thermal / page-cache order effects).
    for (let i = 0; i < targets.length; i++) await runTarget(targets[(i + round - 1) % targets.length], round);
  }
  let report = `# Skitai benchmark\n\n${describeMachine()}\n\n${table()}\n`;
  if (results['skitai-p1'] && results['skitai-p2']) {
    const best = (key, p) => Math.max(...results[key][p].map((r) => r.rps));
    const ratios = PATHS.map((p) => `${p.path} ×${(best('skitai-p2', p.path) / best('skitai-p1', p.path)).toFixed(2)}`);
    report += `\n**processes = 2 ÷ processes = 1** (best rounds, both unpinned, wrk on its own core): ${ratios.join(', ')} ` +
      `on ${os.availableParallelism()} cpus.\n`;
  }
  if (results.skitai && (results['skitai-log'] || results['skitai-log-text'])) report += `\n${accessLogCost()}\n`;
  if (results.skitai && (results['skitai-before'] || results.fastify)) {
    // Paired by round, like the access log's cost: the steadier comparison on a shared machine.
    const rows = PATHS.map((p) => `- ${p.path}: ${results['skitai-before'] ? `${fmtDiff(pairedDiff('skitai', 'skitai-before', p.path))} against before, ` : ''}` +
      `${fmtDiff(pairedDiff('skitai', 'fastify', p.path))} against Fastify, ${fmtDiff(pairedDiff('skitai', 'raw', p.path))} against raw node:http`);
    report += `\n**Skitai's CPU per request** (µs, median over rounds of the paired difference; negative = cheaper):\n${rows.join('\n')}\n`;
  }
  if (results['skitai-log']) {
    const size = fs.statSync(accessLogFile, { throwIfNoEntry: false })?.size ?? 0;
    report += `\nThe access-log run wrote ${(size / 1024 / 1024).toFixed(1)} MiB of log lines to a temp file (deleted after the run).\n`;
  }
  if (warnings.length) report += `\n**Warnings** (results for these rows are suspect):\n${warnings.map((w) => `- ${w}`).join('\n')}\n`;
  process.stdout.write(`\n${report}`);
  fs.mkdirSync(path.join(BENCH, 'results'), { recursive: true });
  fs.writeFileSync(path.join(BENCH, 'results', 'latest.md'), report);
  log(`\nwritten to bench/results/latest.md`);
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}

// Start-up time (wall and CPU) to the first answered /ping and idle RSS of the serving process, Skitai against
// bare node:http and Fastify, all in one run. Skitai runs the compiled dist/ (built first), as an
// installed package does, with a plain JavaScript app; two reference rows show a TypeScript app
// (tsx loaded on demand) and the checkout's src/ under tsx (what every worker carried before).
// Usage: node bench/startup.mjs [--rounds 10] [--idle 1] [--targets raw,fastify,skitai,...]
// (see bench/README.md, "Start-up")
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { HOST, freePort, machineNotes, median, pickByKey, startServer, stopServer } from './lib.mjs';

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.dirname(BENCH);
const NODE = process.execPath;
const BIN = path.join(ROOT, 'bin', 'skitaid.js');

const { values: opt } = parseArgs({
  options: {
    rounds: { type: 'string', default: '10' },
    idle: { type: 'string', default: '1' },
    targets: { type: 'string', default: 'raw,fastify,skitai,skitai-ts,skitai-src' },
    'no-build': { type: 'boolean', default: false },
  },
});
const rounds = Number(opt.rounds);
const idleMs = Number(opt.idle) * 1000;

const dist = { ...process.env, SKITAI_DIST: '1' };
const ALL = [
  { key: 'raw', name: 'node:http (raw)', cmd: (p) => [NODE, path.join(BENCH, 'peers', 'raw.mjs'), p] },
  { key: 'fastify', name: 'fastify', cmd: (p) => [NODE, path.join(BENCH, 'peers', 'fastify.mjs'), p] },
  { key: 'skitai', name: 'skitai (dist, JS app)', env: dist, cmd: (p) => [NODE, BIN, '-c', path.join(BENCH, 'startup', 'site.conf'), '-p', p] },
  { key: 'skitai-ts', name: 'skitai (dist, TS app via tsx)', env: dist, cmd: (p) => [NODE, BIN, '-c', path.join(BENCH, 'startup', 'site-ts.conf'), '-p', p], ref: true },
  { key: 'skitai-src', name: 'skitai (src/ under tsx, JS app)', cmd: (p) => [NODE, BIN, '-c', path.join(BENCH, 'startup', 'site.conf'), '-p', p], ref: true },
];
const targets = pickByKey(ALL, opt.targets, '--targets');
const log = (line) => process.stderr.write(`${line}\n`);

/** One GET; resolves with the status, or rejects when nothing listens yet. */
function get(port, pathname) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: HOST, port, path: pathname, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
  });
}

/** Milliseconds from spawn to the first 200 on /ping; polls every millisecond or so. */
async function firstPing(server, port, t0) {
  for (;;) {
    if (server.child.exitCode !== null || server.child.signalCode !== null) throw new Error(`exited before answering:\n${server.output()}`);
    try {
      if ((await get(port, '/ping')) === 200) return performance.now() - t0;
    } catch {
      // not listening yet
    }
    if (performance.now() - t0 > 30_000) throw new Error(`no /ping answer in 30 s:\n${server.output()}`);
    await sleep(1);
  }
}

/** CPU time (user + system, all threads) the process has used, in ms; /proc counts in 1/100 s. */
function cpuMs(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

function rssMiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

if (!opt['no-build'] && targets.some((t) => t.env === dist)) {
  log('bench startup: npm run build (Skitai runs from dist/)');
  const b = spawnSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
  if (b.status !== 0) process.exit(b.status ?? 1);
}

/** results[key] = [{ ms, rss }] per round */
const results = {};
log(`bench startup: ${targets.length} servers × ${rounds} rounds, RSS after ${idleMs / 1000}s idle`);
for (let round = 1; round <= rounds; round++) {
  for (let i = 0; i < targets.length; i++) {
    const t = targets[(i + round - 1) % targets.length];
    const port = await freePort();
    const t0 = performance.now();
    const server = startServer(t.cmd(String(port)), { env: t.env ?? process.env });
    try {
      const ms = await firstPing(server, port, t0);
      const cpu = cpuMs(server.child.pid);
      if ((await get(port, '/hello')) !== 200) throw new Error(`${t.key}: /hello did not answer 200`);
      await sleep(idleMs); // idle: let start-up garbage be collected and timers settle
      const rss = rssMiB(server.child.pid);
      (results[t.key] ??= []).push({ ms, cpu, rss });
      log(`  round ${round} ${t.key}: ${ms.toFixed(0)} ms (CPU ${cpu} ms), ${rss.toFixed(1)} MiB`);
    } finally {
      await stopServer(server);
    }
  }
}

const fmt = (x, d = 0) => (Number.isNaN(x) ? '?' : x.toFixed(d));
const fastify = results.fastify;
const fMs = fastify ? median(fastify.map((r) => r.ms)) : NaN;
const fRss = fastify ? median(fastify.map((r) => r.rss)) : NaN;
const fCpu = fastify ? median(fastify.map((r) => r.cpu)) : NaN;
const rows = [
  '| target | start-up to /ping, median | best | × fastify | CPU ms to /ping, median | × fastify | idle RSS MiB, median | × fastify |',
  '|---|---:|---:|---:|---:|---:|---:|---:|',
];
for (const t of targets) {
  const rs = results[t.key];
  const ms = median(rs.map((r) => r.ms));
  const rss = median(rs.map((r) => r.rss));
  const cpu = median(rs.map((r) => r.cpu));
  rows.push(
    `| ${t.name}${t.ref ? ' *(reference)*' : ''} | ${fmt(ms)} ms | ${fmt(Math.min(...rs.map((r) => r.ms)))} ms | ${fmt(ms / fMs, 2)} | ${fmt(cpu)} | ${fmt(cpu / fCpu, 2)} | ${fmt(rss, 1)} | ${fmt(rss / fRss, 2)} |`,
  );
}
const goals = [];
if (results.skitai && fastify) {
  const s = median(results.skitai.map((r) => r.ms)) / fMs;
  const r = median(results.skitai.map((r) => r.rss)) / fRss;
  const c = median(results.skitai.map((r) => r.cpu)) / fCpu;
  goals.push(`start-up ${fmt(s, 2)} × fastify (goal ≤ 1.5): ${s <= 1.5 ? 'met' : 'NOT met'}; CPU to the first /ping ${fmt(c, 2)} × fastify`);
  goals.push(`idle RSS ${fmt(r, 2)} × fastify (goal ≤ 1.2): ${r <= 1.2 ? 'met' : 'NOT met'}`);
}
const notes = [
  ...machineNotes(ROOT),
  `- each server spawned ${rounds} times (order rotating per round); start-up = spawn to the first 200 on /ping (polled every ~1 ms); CPU = the server's user + system time at that moment (steadier than wall time on a busy machine); RSS = VmRSS of the serving process after ${idleMs / 1000}s idle`,
  `- Skitai: processes = 1 (the one process is the worker), access_log = off, apps from bench/startup/`,
];
const report = `# Skitai start-up benchmark\n\n${notes.join('\n')}\n\n${rows.join('\n')}\n${goals.map((g) => `\n- ${g}`).join('')}\n`;
process.stdout.write(`\n${report}`);
fs.mkdirSync(path.join(BENCH, 'results'), { recursive: true });
fs.writeFileSync(path.join(BENCH, 'results', 'startup.md'), report);
log('\nwritten to bench/results/startup.md');

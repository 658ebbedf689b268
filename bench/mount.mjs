// An Express 5 app mounted in Skitai (`/legacy = ./express-app.mjs:app`) against the same app on
// bare node:http, both answering /hello and /json (bench/mount/).
// Usage: node bench/mount.mjs [--duration 5] [--rounds 3] [--warmup 2] [--connections 50]
//        [--quick] [--targets bare,skitai] [--no-pin] [--quiet 15] [--quiet-wait 30] [--retries 2]
// (see bench/README.md, "Mounted Express app")
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HOST, benchArgs, fmtMs, fmtPct, freePort, machineNotes, measureQuiet, median, pickByKey, pinning, startServer, stopServer, waitReady, wrk } from './lib.mjs';

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.dirname(BENCH);
const NODE = process.execPath;

const { opt, duration, rounds, warmup, quiet } = benchArgs({
  connections: { type: 'string', default: '50' },
  targets: { type: 'string', default: 'bare,skitai' },
}, ['connections']);
const connections = Number(opt.connections);

const PATHS = [
  { path: '/hello', check: (b) => b === 'Hello World' },
  { path: '/json', check: (b) => b.startsWith('{"hello":"world"') },
];
const ALL = [
  { key: 'bare', name: 'express on node:http', prefix: '', cmd: (p) => [NODE, path.join(BENCH, 'mount', 'bare.mjs'), p] },
  {
    key: 'skitai', name: 'express mounted in skitai', prefix: '/legacy', env: { SKITAI_BENCH_MOUNTED: '1' },
    cmd: (p) => [NODE, path.join(ROOT, 'bin', 'skitaid.js'), '-c', path.join(BENCH, 'mount', 'site.conf'), '-p', p],
  },
];
const targets = pickByKey(ALL, opt.targets, '--targets');
const pin = pinning(!opt['no-pin']);
const log = (line) => process.stderr.write(`${line}\n`);
/** results[target][path] = one wrk result per round */
const results = Object.fromEntries(targets.map((t) => [t.key, Object.fromEntries(PATHS.map((p) => [p.path, []]))]));
const warnings = [];

async function runTarget(t, round) {
  const port = String(await freePort());
  const server = startServer(pin.server(t.cmd(port)), { cwd: ROOT, env: { ...process.env, ...t.env } });
  try {
    for (const p of PATHS) await waitReady(server, `http://${HOST}:${port}${t.prefix}${p.path}`, p.check);
    for (const p of PATHS) {
      const url = `http://${HOST}:${port}${t.prefix}${p.path}`;
      if (warmup > 0) await wrk(url, { seconds: warmup, connections, prefix: pin.load });
      const label = `round ${round} ${t.name} ${p.path}`;
      const r = await measureQuiet(() => wrk(url, { seconds: duration, connections, prefix: pin.load }), { serverPid: server.child.pid, ...quiet, label, log });
      r.cpuUs = (r.serverMs * 1000) / r.requests;
      if (r.non2xx || r.socketErrors) warnings.push(`${label}: ${r.non2xx} non-2xx, ${r.socketErrors} socket errors`);
      results[t.key][p.path].push(r);
      log(`  ${label.padEnd(44)} ${r.rps.toFixed(0).padStart(7)} req/s  p50 ${fmtMs(r.p50)}  p99 ${fmtMs(r.p99)}  ${r.cpuUs.toFixed(1)} µs CPU/req  other CPU ${fmtPct(r.other)}`);
    }
  } finally {
    await stopServer(server);
  }
}

function table() {
  const rows = ['| target | path | req/s best | req/s median | × bare best | CPU µs/req | CPU over bare | p50 | p99 | other CPU |', '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|'];
  for (const p of PATHS) {
    const base = results.bare?.[p.path];
    const baseBest = base && Math.max(...base.map((r) => r.rps));
    const baseCpu = base && Math.min(...base.map((r) => r.cpuUs));
    for (const t of targets) {
      const rs = results[t.key][p.path];
      const best = rs.reduce((a, b) => (b.rps > a.rps ? b : a));
      const cpu = Math.min(...rs.map((r) => r.cpuUs));
      rows.push(`| ${t.name} | ${p.path} | ${best.rps.toFixed(0)} | ${median(rs.map((r) => r.rps)).toFixed(0)} | ${baseBest ? (best.rps / baseBest).toFixed(2) : '–'} | ` +
        `${cpu.toFixed(1)} | ${baseCpu ? `+${(cpu - baseCpu).toFixed(1)} µs` : '–'} | ${fmtMs(best.p50)} | ${fmtMs(best.p99)} | ${fmtPct(best.other)} |`);
    }
  }
  return rows.join('\n');
}

log(`bench mount: ${targets.length} targets × ${PATHS.length} paths × ${rounds} rounds; ${pin.note}`);
for (let round = 1; round <= rounds; round++) {
  for (let i = 0; i < targets.length; i++) await runTarget(targets[(i + round - 1) % targets.length], round);
}
const notes = [...machineNotes(ROOT), `- ${pin.note}; wrk -t1 -c${connections}; ${rounds} round(s) × ${duration}s after ${warmup}s warm-up; best round per target and path`];
let report = `# Mounted Express app\n\n${notes.join('\n')}\n\n${table()}\n`;
if (warnings.length) report += `\n**Warnings**:\n${warnings.map((w) => `- ${w}`).join('\n')}\n`;
process.stdout.write(`\n${report}`);
fs.mkdirSync(path.join(BENCH, 'results'), { recursive: true });
fs.writeFileSync(path.join(BENCH, 'results', 'mount.md'), report);
log('\nwritten to bench/results/mount.md');

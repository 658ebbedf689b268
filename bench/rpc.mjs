// XML-RPC and JSON-RPC round trips: Skitai against jayson (JSON-RPC) and the `xmlrpc` package
// (XML-RPC), all answering add(40, 2), loaded by wrk POSTing a fixed body (bench/rpc/*.lua).
// Usage: node bench/rpc.mjs [--duration 5] [--rounds 3] [--warmup 2] [--connections 50]
//        [--quick] [--targets skitai,jayson,xmlrpc] [--no-pin] [--quiet 15] [--quiet-wait 30] [--retries 2]
// (see bench/README.md, "RPC")
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HOST, fmtMs, fmtPct, freePort, luaRequest, machineNotes, measureQuiet, median, pinning, startServer, stopServer, benchArgs, pickByKey, waitReady, wrk } from './lib.mjs';

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.dirname(BENCH);
const RPC = path.join(BENCH, 'rpc');
const NODE = process.execPath;

const { opt, duration, rounds, warmup, quiet } = benchArgs({
  connections: { type: 'string', default: '50' },
  targets: { type: 'string', default: 'skitai,jayson,xmlrpc' },
}, ['connections']);
const connections = Number(opt.connections);

function jsonResult(body) {
  try {
    const j = JSON.parse(body);
    return j.jsonrpc === '2.0' && j.id === 1 && j.result === 42 && !('error' in j);
  } catch {
    return false;
  }
}

const PROTOCOLS = {
  xmlrpc: { name: 'XML-RPC', script: path.join(RPC, 'xmlrpc.lua'), check: (b) => /<value>\s*<(int|i4)>42<\/\1>\s*<\/value>/.test(b) && !b.includes('<fault>') },
  jsonrpc: { name: 'JSON-RPC', script: path.join(RPC, 'jsonrpc.lua'), check: jsonResult },
};
for (const p of Object.values(PROTOCOLS)) p.init = luaRequest(p.script);

const ALL = [
  { key: 'skitai', name: 'skitai', protocols: ['xmlrpc', 'jsonrpc'], cmd: (p) => [NODE, path.join(ROOT, 'bin', 'skitaid.js'), '-c', path.join(RPC, 'site.conf'), '-p', p] },
  { key: 'jayson', name: 'jayson', protocols: ['jsonrpc'], cmd: (p) => [NODE, path.join(RPC, 'jayson.mjs'), p] },
  { key: 'xmlrpc', name: 'xmlrpc (npm)', protocols: ['xmlrpc'], cmd: (p) => [NODE, path.join(RPC, 'xmlrpc.mjs'), p] },
];
const targets = pickByKey(ALL, opt.targets, '--targets');

const pin = pinning(!opt['no-pin']);
const log = (line) => process.stderr.write(`${line}\n`);
/** results[`${target}/${protocol}`] = one wrk result per round */
const results = {};
const warnings = [];

async function runTarget(t, round) {
  const port = String(await freePort());
  const server = startServer(pin.server(t.cmd(port)), { cwd: ROOT });
  const url = `http://${HOST}:${port}/`;
  try {
    // The answer must be right before it is worth loading: the same request wrk sends, result 42.
    for (const p of t.protocols) await waitReady(server, url, PROTOCOLS[p].check, 30_000, PROTOCOLS[p].init);
    for (const p of t.protocols) {
      const { script, name } = PROTOCOLS[p];
      if (warmup > 0) await wrk(url, { seconds: warmup, connections, prefix: pin.load, script });
      const label = `round ${round} ${t.name} ${name}`;
      const r = await measureQuiet(() => wrk(url, { seconds: duration, connections, prefix: pin.load, script }), { serverPid: server.child.pid, label, log, ...quiet });
      r.cpuUs = (r.serverMs * 1000) / r.requests;
      if (r.non2xx || r.socketErrors) warnings.push(`${t.key} ${name} round ${round}: ${r.non2xx} non-2xx, ${r.socketErrors} socket errors`);
      (results[`${t.key}/${p}`] ??= []).push(r);
      log(`  ${label.padEnd(32)} ${r.rps.toFixed(0).padStart(7)} req/s  p50 ${fmtMs(r.p50)}  p99 ${fmtMs(r.p99)}  ${r.cpuUs.toFixed(1)} µs CPU/req  other CPU ${fmtPct(r.other)}`);
    }
  } finally {
    await stopServer(server);
  }
}

/** Per protocol: Skitai's row carries its ratio to the peer (best ÷ best, median ÷ median). */
function table() {
  const rows = [
    '| protocol | server | req/s best | req/s median | Skitai ÷ peer best | Skitai ÷ peer median | CPU µs/req | p50 | p99 | other CPU |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const summary = [];
  for (const [p, proto] of Object.entries(PROTOCOLS)) {
    const here = targets.filter((t) => results[`${t.key}/${p}`]);
    const stats = Object.fromEntries(here.map((t) => {
      const rs = results[`${t.key}/${p}`];
      return [t.key, { best: rs.reduce((a, b) => (b.rps > a.rps ? b : a)), med: median(rs.map((r) => r.rps)), cpu: Math.min(...rs.map((r) => r.cpuUs)) }];
    }));
    const peer = here.find((t) => t.key !== 'skitai');
    for (const t of here) {
      const s = stats[t.key];
      const vs = t.key === 'skitai' && peer ? stats[peer.key] : undefined;
      const ratio = (a, b) => (b ? (a / b).toFixed(2) : '–');
      if (s.best.other >= quiet.quietPct) warnings.push(`other processes used ≥ ${quiet.quietPct}% of a core during the best round of ${t.name} ${proto.name}`);
      rows.push(`| ${proto.name} | ${t.name} | ${s.best.rps.toFixed(0)} | ${s.med.toFixed(0)} | ${ratio(s.best.rps, vs?.best.rps)} | ${ratio(s.med, vs?.med)} | ` +
        `${s.cpu.toFixed(1)} | ${fmtMs(s.best.p50)} | ${fmtMs(s.best.p99)} | ${fmtPct(s.best.other)} |`);
      if (vs) summary.push(`${proto.name}: Skitai ÷ ${peer.name} = **${ratio(s.best.rps, vs.best.rps)}** (median ${ratio(s.med, vs.med)}); CPU per call, ${peer.name} ÷ Skitai = ${ratio(vs.cpu, s.cpu)}`);
    }
  }
  return `${rows.join('\n')}\n\n${summary.map((l) => `- ${l}`).join('\n')}`;
}

log(`bench rpc: ${targets.length} servers × ${rounds} rounds; ${pin.note}`);
for (let round = 1; round <= rounds; round++) {
  for (let i = 0; i < targets.length; i++) await runTarget(targets[(i + round - 1) % targets.length], round);
}
const notes = [
  ...machineNotes(ROOT),
  `- ${pin.note}; wrk -t1 -c${connections} --latency -s bench/rpc/{xmlrpc,jsonrpc}.lua (POST add(40, 2) to /); ${rounds} round(s) × ${duration}s after ${warmup}s warm-up, servers alternating`,
  `- headline = BEST round (median too); CPU µs/req = server CPU per call, lowest round; other CPU = others' load during the best round, % of a core`,
];
let report = `# Skitai RPC benchmark\n\n${notes.join('\n')}\n\n${table()}\n`;
if (warnings.length) report += `\n**Warnings** (results for these rows are suspect):\n${warnings.map((w) => `- ${w}`).join('\n')}\n`;
process.stdout.write(`\n${report}`);
fs.mkdirSync(path.join(BENCH, 'results'), { recursive: true });
fs.writeFileSync(path.join(BENCH, 'results', 'rpc.md'), report);
log(`\nwritten to bench/results/rpc.md`);

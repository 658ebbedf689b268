// `npm run bench -- ws`: WebSocket echo, Skitai against a bare `ws` server in the same run, and
// through Skitai's reverse proxy against direct; then the RSS that 1,000 idle sockets add.
//
// Each target runs in its own process (pinned to one core when taskset allows; the load runs here,
// on the other). Load: --connections sockets, each a loop of one small message out and its echo
// back (round trips/s), then the same sockets with --window messages in flight each (messages/s).
// Ratios are to the bare `ws` server of the same round. Results: bench/results/ws.md.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';
import { benchArgs, freePort, pickByKey, pinning, startServer, stopServer, waitReady } from './lib.mjs';

const ROOT = path.resolve(import.meta.dirname, '..');
const NODE = process.execPath;
const skitaid = path.join(ROOT, 'bin', 'skitaid.js');
const { opt, duration, rounds, warmup } = benchArgs(
  {
    connections: { type: 'string', default: '50' },
    window: { type: 'string', default: '32' },
    size: { type: 'string', default: '32' },
    idle: { type: 'string', default: '1000' },
    targets: { type: 'string', default: 'bare,skitai,proxied' },
  },
  ['connections', 'window', 'size', 'idle'],
);
const pin = pinning(!opt['no-pin']);
// The load (this process) on the second core; servers on the first.
if (pin.cpus) spawnSync('taskset', ['-a', '-pc', String(pin.cpus[1]), String(process.pid)], { stdio: 'ignore' });
const pinNote = pin.cpus ? `servers on cpu ${pin.cpus[0]} (the proxied member too), load (this process) on cpu ${pin.cpus[1]} (taskset)` : pin.note;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-bench-ws-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

function conf(name, text) {
  const file = path.join(tmp, `${name}.conf`);
  fs.writeFileSync(file, `[server]\nip = 127.0.0.1\nprocesses = 1\naccess_log = off\nlog_level = warn\n${text}`);
  return file;
}

const bareCmd = (p) => [NODE, path.join(ROOT, 'bench/ws/echo-server.mjs'), String(p)];
const TARGETS = [
  { key: 'bare', name: 'bare ws (node:http + ws)', cmd: bareCmd },
  // Not in the default set: the bare server with the V8 flag skitaid sets (src/process/heap.ts), to tell that cost from Skitai's own.
  { key: 'bare-nopretenure', name: 'bare ws, --no-allocation-site-pretenuring', cmd: (p) => [NODE, '--no-allocation-site-pretenuring', ...bareCmd(p).slice(1)] },
  { key: 'skitai', name: 'skitai app.websocket()', cmd: (p) => [NODE, skitaid, '-c', conf('skitai', `[routes:line]\n/ = ${path.join(ROOT, 'bench/ws/app.mjs')}\n`), '-p', String(p)] },
  // The member is a bare ws server on a port of its own, started beside the proxy.
  { key: 'proxied', name: 'skitai /p = @echo -> bare ws', member: true, cmd: (p, m) => [NODE, skitaid, '-c', conf('proxy', `[routes:line]\n/p = @echo\n[@echo]\nmembers = 127.0.0.1:${m}\n`), '-p', String(p)], path: '/p/echo' },
];
const targets = pickByKey(TARGETS, opt.targets, '--targets');

async function openAll(url, n) {
  const out = [];
  for (let i = 0; i < n; i += 100) {
    const batch = Array.from({ length: Math.min(100, n - i) }, () => new WebSocket(url, { perMessageDeflate: false }));
    await Promise.all(batch.map((ws) => once(ws, 'open')));
    out.push(...batch);
  }
  return out;
}

/** Every socket keeps `window` messages in flight for `seconds`; resolves with the echoes counted. */
function load(sockets, window, seconds, payload) {
  return new Promise((resolve) => {
    let count = 0;
    let running = true;
    const t0 = performance.now();
    for (const ws of sockets) {
      ws.removeAllListeners('message');
      ws.on('message', () => {
        count++;
        if (running) ws.send(payload);
      });
      for (let i = 0; i < window; i++) ws.send(payload);
    }
    setTimeout(() => {
      running = false;
      resolve(count / ((performance.now() - t0) / 1000));
    }, seconds * 1000);
  });
}

/** CPU seconds (user + system) a process has used so far, from /proc (clock ticks of 10 ms). */
function cpuSeconds(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** `load()` and the server's CPU time per echoed message, in µs: steadier than rates on a shared machine. */
async function loadWithCpu(pid, sockets, window, seconds, payload) {
  const c0 = cpuSeconds(pid);
  const t0 = performance.now();
  const rate = await load(sockets, window, seconds, payload);
  const messages = rate * ((performance.now() - t0) / 1000);
  return { rate, cpuUs: ((cpuSeconds(pid) - c0) * 1e6) / messages };
}

function rssKb(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
}

async function settle(sockets) {
  // Let in-flight echoes drain before the next phase.
  await new Promise((r) => setTimeout(r, 300));
  for (const ws of sockets) ws.removeAllListeners('message');
}

async function measure(t) {
  const port = await freePort();
  let member;
  let memberPort;
  if (t.member) {
    memberPort = await freePort();
    member = startServer(pin.server(bareCmd(memberPort)), { cwd: ROOT });
    await waitReady(member, `http://127.0.0.1:${memberPort}/ping`, 'pong');
  }
  const server = startServer(pin.server(t.cmd(port, memberPort)), { cwd: ROOT });
  try {
    await waitReady(server, `http://127.0.0.1:${port}/ping`, 'pong');
    const url = `ws://127.0.0.1:${port}${t.path ?? '/echo'}`;
    const payload = Buffer.alloc(Number(opt.size), 97).toString();
    const sockets = await openAll(url, Number(opt.connections));
    if (warmup > 0) await load(sockets, 1, warmup, payload);
    await settle(sockets);
    const pid = server.child.pid;
    const rtm = await loadWithCpu(pid, sockets, 1, duration, payload);
    await settle(sockets);
    const msm = await loadWithCpu(pid, sockets, Number(opt.window), duration, payload);
    const rt = rtm.rate;
    const msgs = msm.rate;
    await settle(sockets);
    for (const ws of sockets) ws.terminate();
    // RSS: the server's resident memory before and after opening --idle sockets that then sit idle.
    await new Promise((r) => setTimeout(r, 500));
    const before = rssKb(server.child.pid);
    const idle = await openAll(url, Number(opt.idle));
    await new Promise((r) => setTimeout(r, 1000));
    const afterKb = rssKb(server.child.pid);
    for (const ws of idle) ws.terminate();
    return { rt, msgs, rtCpu: rtm.cpuUs, msgCpu: msm.cpuUs, rssPer1000: ((afterKb - before) / Number(opt.idle)) * 1000 };
  } finally {
    await stopServer(server);
    if (member) await stopServer(member);
  }
}

const results = new Map(targets.map((t) => [t.key, []]));
for (let round = 0; round < rounds; round++) {
  // Rotate the order so no target always goes first.
  const order = targets.map((_, i) => targets[(i + round) % targets.length]);
  for (const t of order) {
    const r = await measure(t);
    results.get(t.key).push(r);
    console.log(`round ${round + 1} ${t.key}: ${Math.round(r.rt)} round trips/s (${r.rtCpu.toFixed(1)} µs CPU each), ${Math.round(r.msgs)} messages/s (${r.msgCpu.toFixed(1)} µs CPU each), +${Math.round(r.rssPer1000 / 1024 * 10) / 10} MiB RSS per ${opt.idle} idle sockets`);
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const summary = targets.map((t) => {
  const rs = results.get(t.key);
  return {
    t, rt: median(rs.map((r) => r.rt)), msgs: median(rs.map((r) => r.msgs)), rss: median(rs.map((r) => r.rssPer1000)),
    rtCpu: Math.min(...rs.map((r) => r.rtCpu)), msgCpu: Math.min(...rs.map((r) => r.msgCpu)),
  };
});
const bare = summary.find((s) => s.t.key === 'bare');
const skitai = summary.find((s) => s.t.key === 'skitai');
const lines = [
  `# WebSocket echo (${new Date().toISOString().slice(0, 10)})`,
  '',
  `${opt.connections} sockets, ${opt.size}-byte text messages; round trips: 1 in flight per socket; messages: ${opt.window} in flight per socket.`,
  `${rounds} round(s) × ${duration} s, median rates; CPU: the server process's user + system time per echoed message, best round (on a shared machine the steadier number; for proxied, the proxy process only). ${pinNote}. RSS: growth of the server process with ${opt.idle} idle sockets open (per 1,000).`,
  '',
  '| target | round trips/s | × bare | CPU µs per round trip | messages/s | × bare | CPU µs per message | RSS per 1,000 idle sockets |',
  '|---|---:|---:|---:|---:|---:|---:|---:|',
  ...summary.map((s) => `| ${s.t.name} | ${Math.round(s.rt)} | ${bare ? (s.rt / bare.rt).toFixed(2) : '-'} | ${s.rtCpu.toFixed(1)} | ${Math.round(s.msgs)} | ${bare ? (s.msgs / bare.msgs).toFixed(2) : '-'} | ${s.msgCpu.toFixed(1)} | ${(s.rss / 1024).toFixed(1)} MiB |`),
];
const proxied = summary.find((s) => s.t.key === 'proxied');
if (proxied && bare) lines.push('', `Proxied vs direct (the member alone is the bare target): ${(proxied.rt / bare.rt).toFixed(2)} of the round trips/s.`);
if (skitai && bare) {
  lines.push(`Skitai vs bare ws: ${(skitai.rt / bare.rt).toFixed(2)} (round trips), ${(skitai.msgs / bare.msgs).toFixed(2)} (messages); goal ≥ 0.9.`);
  lines.push(`By CPU per message (bare ÷ skitai): ${(bare.rtCpu / skitai.rtCpu).toFixed(2)} (round trips), ${(bare.msgCpu / skitai.msgCpu).toFixed(2)} (messages).`);
}
const report = lines.join('\n') + '\n';
fs.mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
fs.writeFileSync(path.join(ROOT, 'bench/results/ws.md'), report);
console.log('\n' + report);

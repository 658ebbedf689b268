// Helpers shared by run.mjs, rpc.mjs, clients.mjs and profile.mjs: free ports, CPU pinning, server
// processes, wrk, CPU meters, quiet-machine waiting, formatting.
import { parseArgs } from 'node:util';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

export const HOST = '127.0.0.1';
// Before any script pins itself (clients.mjs does), which would make this 1.
const CPUS = os.availableParallelism();

/** A port the kernel says is free right now (tiny race before the server binds it; fine on a bench box). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, HOST, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * CPU pinning: server on one core, wrk on another, when `taskset` exists and we may use 2+ cores.
 * Returns a function that prefixes a command line, and a description for the report.
 */
export function pinning(enabled) {
  const none = { server: (cmd) => cmd, load: (cmd) => cmd, note: 'not pinned' };
  if (!enabled) return { ...none, note: 'not pinned (--no-pin)' };
  if (spawnSync('taskset', ['-c', '0', 'true']).status !== 0) return { ...none, note: 'not pinned (taskset unusable)' };
  const out = spawnSync('taskset', ['-pc', String(process.pid)], { encoding: 'utf8' }).stdout ?? '';
  const cpus = parseCpuList(out.split(':').pop()?.trim() ?? '');
  if (cpus.length < 2) return { ...none, note: `not pinned (only cpu ${cpus.join(',') || '?'} allowed)` };
  const [a, b] = cpus;
  return {
    cpus: [a, b],
    server: (cmd) => ['taskset', '-c', String(a), ...cmd],
    load: (cmd) => ['taskset', '-c', String(b), ...cmd],
    note: `server on cpu ${a}, wrk on cpu ${b} (taskset)`,
  };
}

function parseCpuList(list) {
  const cpus = [];
  for (const part of list.split(',')) {
    const [lo, hi] = part.split('-').map(Number);
    if (Number.isInteger(lo)) for (let c = lo; c <= (Number.isInteger(hi) ? hi : lo); c++) cpus.push(c);
  }
  return cpus;
}

/** Start a server process; its output is kept (last 4 KiB) for error messages. */
export function startServer(cmd, opts = {}) {
  const child = spawn(cmd[0], cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  let tail = '';
  const keep = (chunk) => (tail = (tail + chunk).slice(-4096));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, exited, output: () => tail };
}

/**
 * Poll `url` until it answers 200 with `expect` as body (or `expect(body)` is true), or fail after
 * `timeoutMs`. `init` is fetch's (method, headers, body: e.g. an RPC POST).
 */
export async function waitReady(server, url, expect, timeoutMs = 30_000, init = {}) {
  const deadline = Date.now() + timeoutMs;
  const good = typeof expect === 'function' ? expect : (body) => body === expect;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (server.child.exitCode !== null || server.child.signalCode !== null) {
      throw new Error(`server exited before answering (${server.child.exitCode ?? server.child.signalCode}):\n${server.output()}`);
    }
    try {
      const res = await fetch(url, { ...init, signal: AbortSignal.timeout(2000) });
      const body = await res.text();
      if (res.status === 200 && good(body)) return res.headers;
      last = `${res.status} ${JSON.stringify(body.slice(0, 200))}`;
    } catch (err) {
      last = err.cause?.code ?? err.message;
    }
    await sleep(100);
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms (last: ${last}):\n${server.output()}`);
}

/** The request a wrk Lua script sends (`wrk.body = [[...]]`, its Content-Type), as fetch's init: to check the answer first. */
export function luaRequest(file) {
  const lua = fs.readFileSync(file, 'utf8');
  const body = lua.match(/wrk\.body = \[\[([\s\S]*?)\]\]/)?.[1];
  const type = lua.match(/wrk\.headers\["Content-Type"\] = "([^"]+)"/)?.[1];
  if (!body || !type) throw new Error(`${file}: no wrk.body = [[...]] or Content-Type header`);
  return { method: lua.match(/wrk\.method = "(\w+)"/)?.[1] ?? 'POST', headers: { 'content-type': type }, body };
}

/** SIGTERM, then SIGKILL if the process is still there after `graceMs`. */
export async function stopServer(server, graceMs = 5000) {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return server.exited;
  server.child.kill('SIGTERM');
  const timer = setTimeout(() => server.child.kill('SIGKILL'), graceMs);
  const result = await server.exited;
  clearTimeout(timer);
  return result;
}

/**
 * Run wrk once and parse its report. `prefix` is the pinning wrapper; `script` a Lua file (`-s`);
 * `headers` extra request headers (`-H`), e.g. `{ 'If-None-Match': '"x"' }`; `timeout` wrk's per-request limit in s (2 by default).
 */
export function wrk(url, { seconds, connections, threads = 1, prefix = (c) => c, script, headers = {}, timeout }) {
  const extra = Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
  if (timeout) extra.push('--timeout', `${timeout}s`);
  const cmd = prefix(['wrk', `-t${threads}`, `-c${connections}`, `-d${seconds}s`, '--latency', ...extra, ...(script ? ['-s', script] : []), url]);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd[0], cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`wrk exited ${code}:\n${out}`));
      try {
        resolve(parseWrk(out));
      } catch (err) {
        reject(err);
      }
    });
  });
}

const UNIT_MS = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

/** Requests/sec, p50/p99 latency in ms, and error counts from wrk's text report. */
export function parseWrk(text) {
  const rps = text.match(/Requests\/sec:\s+([\d.]+)/);
  if (!rps) throw new Error(`no Requests/sec in wrk output:\n${text}`);
  const pct = (p) => {
    const m = text.match(new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m)\\b`, 'm'));
    return m ? Number(m[1]) * UNIT_MS[m[2]] : NaN;
  };
  const non2xx = Number(text.match(/Non-2xx or 3xx responses:\s+(\d+)/)?.[1] ?? 0);
  const sock = text.match(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/);
  const socketErrors = sock ? sock.slice(1).reduce((a, n) => a + Number(n), 0) : 0;
  const requests = Number(text.match(/(\d+) requests in /)?.[1] ?? NaN);
  return { rps: Number(rps[1]), requests, p50: pct(50), p99: pct(99), non2xx, socketErrors };
}

// ---- Interference: on a shared 2-core box, other processes steal the server's core. ----

const TICKS = 100; // USER_HZ: /proc times are in 1/100 s on Linux

function procTicks(pid, withChildren) {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    // after "pid (comm) ": state=0 ... utime=11 stime=12 cutime=13 cstime=14
    return Number(f[11]) + Number(f[12]) + (withChildren ? Number(f[13]) + Number(f[14]) : 0);
  } catch {
    return 0;
  }
}

/** Pids whose parent is `pid` (the workers of a primary); /proc/<pid>/task/<tid>/children is not always there. */
function childPids(pid) {
  const kids = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const after = fs.readFileSync(`/proc/${name}/stat`, 'utf8').split(') ')[1].split(' ');
      if (Number(after[1]) === pid) kids.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return kids;
}

function systemBusyTicks() {
  try {
    const [user, nice, system, , , irq, softirq, steal] = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].split(/\s+/).slice(1).map(Number);
    return user + nice + system + irq + softirq + steal;
  } catch {
    return NaN;
  }
}

/** CPU ticks of `pid` and its direct children (a cluster primary's workers, nginx's worker, postgres backends). */
function treeTicks(pid) {
  return [pid, ...childPids(pid)].reduce((sum, p) => sum + procTicks(p, false), 0);
}

/**
 * Starts a meter of CPU time during a measurement. `stop()` returns `other`: CPU used by everything
 * except `serverPid`, the `helpers` (a proxy's backend, PostgreSQL: part of the set-up, not
 * interference), this process and its reaped children (wrk), in % of one core; `serverMs`: CPU time
 * the server used (NaN without /proc); `helpersMs`: CPU time the helpers used.
 */
export function otherLoad(serverPid, helpers = []) {
  // A cluster primary's workers are its children: their CPU is the server's, not interference.
  const server = () => (serverPid ? treeTicks(serverPid) : 0);
  const helping = () => helpers.reduce((sum, pid) => sum + treeTicks(pid), 0);
  const ours = () => server() + helping() + procTicks('self', true);
  const h0 = helping();
  const t0 = performance.now();
  const b0 = systemBusyTicks();
  const o0 = ours();
  const s0 = server();
  return {
    stop() {
      const seconds = (performance.now() - t0) / 1000;
      const s1 = server();
      const other = Math.max(0, (100 * (systemBusyTicks() - b0 - (ours() - o0))) / TICKS / seconds);
      return { other, serverMs: serverPid && s1 > 0 ? ((s1 - s0) * 1000) / TICKS : NaN, helpersMs: ((helping() - h0) * 1000) / TICKS };
    },
  };
}

/** Waits (at most `maxMs`) until other processes (not `helpers`) use less than `limitPct` of a core over 0.5 s. */
export async function waitQuiet(limitPct, maxMs, helpers = []) {
  const deadline = Date.now() + maxMs;
  let load = NaN;
  do {
    const m = otherLoad(undefined, helpers);
    await sleep(500);
    load = m.stop().other;
    if (!(load >= limitPct)) return load;
  } while (Date.now() < deadline);
  return load;
}

/**
 * One measurement on a quiet machine: waits for quiet, runs `measure()` (which returns an object)
 * under an interference meter, and measures again (up to `retries`) when others used ≥ `quietPct`
 * of a core meanwhile. Adds `other` (% of a core) and `serverMs` (CPU of `serverPid`) to the result.
 */
export async function measureQuiet(measure, { serverPid, helpers = [], quietPct, quietWaitMs, retries, label, log }) {
  let r;
  for (let attempt = 0; attempt <= retries; attempt++) {
    const before = await waitQuiet(quietPct, quietWaitMs, helpers);
    if (before >= quietPct) log(`  (other processes still use ${fmtPct(before)} of a core after ${quietWaitMs / 1000}s; measuring anyway)`);
    const meter = otherLoad(serverPid, helpers);
    r = await measure();
    Object.assign(r, meter.stop());
    if (!(r.other >= quietPct)) break;
    if (attempt < retries) log(`  ${label}: disturbed (other CPU ${fmtPct(r.other)}), measuring again`);
  }
  return r;
}

// ---- Report helpers ----

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
export const fmtPct = (x) => (Number.isNaN(x) ? '?' : `${x.toFixed(0)}%`);
export const fmtMs = (ms) => (Number.isNaN(ms) ? '–' : ms < 1 ? `${(ms * 1000).toFixed(0)}µs` : `${ms.toFixed(2)}ms`);

/** `date; commit` and `node, cpus` lines for a report; "(src dirty)" when src/ or bin/ has uncommitted changes. */
export function machineNotes(root) {
  const sh = (cmd, args) => {
    try {
      return execFileSync(cmd, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return '?';
    }
  };
  const commit = sh('git', ['rev-parse', '--short', 'HEAD']) + (sh('git', ['status', '--porcelain', '--', 'src', 'bin']) ? ' (src dirty)' : '');
  const wrkVersion = sh('sh', ['-c', 'wrk -v 2>&1 | head -1']).split(' ').slice(0, 2).join(' ');
  return [
    `- date: ${new Date().toISOString()}; commit ${commit}`,
    `- node ${process.version}, ${wrkVersion}; ${os.cpus()[0]?.model ?? '?'} × ${CPUS} cpus`,
  ];
}

/**
 * Parse the options every bench script shares (duration, rounds, warm-up, quick, pinning, the
 * quiet-machine wait) together with the script's own `extra` ones, and check the numbers.
 * `counts` names the script's own whole-number options that must be 1..10000 (connections…).
 */
export function benchArgs(extra, counts = []) {
  const { values: opt } = parseArgs({
    options: {
      duration: { type: 'string', default: '5' },
      rounds: { type: 'string', default: '3' },
      warmup: { type: 'string', default: '2' },
      quick: { type: 'boolean', default: false },
      'no-pin': { type: 'boolean', default: false },
      quiet: { type: 'string', default: '15' },
      'quiet-wait': { type: 'string', default: '30' },
      retries: { type: 'string', default: '2' },
      ...extra,
    },
  });
  const duration = opt.quick ? 2 : Number(opt.duration);
  const rounds = opt.quick ? 1 : Number(opt.rounds);
  const warmup = opt.quick ? 1 : Number(opt.warmup);
  const quiet = { quietPct: Number(opt.quiet), quietWaitMs: Number(opt['quiet-wait']) * 1000, retries: Math.min(10, Math.max(0, Number(opt.retries) || 0)) };
  const checked = { duration, rounds, ...Object.fromEntries(counts.map((k) => [k, Number(opt[k])])) };
  for (const [k, v] of Object.entries(checked)) {
    if (!(Number.isInteger(v) && v > 0 && v <= 10_000)) throw new Error(`--${k} must be a positive integer, got ${v}`);
  }
  if (!(Number.isInteger(warmup) && warmup >= 0 && warmup <= 600)) throw new Error(`--warmup must be 0..600, got ${warmup}`);
  return { opt, duration, rounds, warmup, quiet };
}

/** The entries of `all` named in a comma list (`--targets a,b`); an unknown or empty choice is an error. */
export function pickByKey(all, list, flag) {
  const wanted = list.split(',').map((s) => s.trim());
  const picked = all.filter((t) => wanted.includes(t.key));
  const unknown = wanted.filter((k) => !all.some((t) => t.key === k));
  if (unknown.length || picked.length === 0) throw new Error(`unknown ${flag} ${unknown.join(',')}; use ${all.map((t) => t.key).join(',')}`);
  return picked;
}

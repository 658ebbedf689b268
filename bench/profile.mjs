// Profiles a server under load with `node --cpu-prof` and prints where its CPU time goes, per
// request, with file:line mapped back to the TypeScript in src/. Only samples taken while the
// measured wrk run was going count (start-up and warm-up are left out).
// Usage: node bench/profile.mjs [--path /hello] [--duration 10] [--connections 50] [--top 20]
//        [--target skitai|raw|fastify]   which server to profile (default skitai)
//        [--config FILE]                 Skitai's config for --target (default bench/site.conf; --compare skitai uses the default)
//        [--compare raw]                 profile that one too and list the frames that cost more
//        [--callers NAME]                also print the heaviest stacks through function NAME
import fs from 'node:fs';
import { SourceMap } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { HOST, freePort, pinning, startServer, stopServer, waitReady, wrk } from './lib.mjs';

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.dirname(BENCH);
const SRC = pathToFileURL(path.join(ROOT, 'src')).href + '/';
const OUT = path.join(BENCH, 'results', 'profile');

const { values: opt } = parseArgs({
  options: {
    path: { type: 'string', default: '/hello' },
    target: { type: 'string', default: 'skitai' },
    config: { type: 'string', default: path.join(BENCH, 'site.conf') },
    compare: { type: 'string' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    top: { type: 'string', default: '20' },
    callers: { type: 'string' },
    'no-pin': { type: 'boolean', default: false },
  },
});
const top = Number(opt.top);
const pin = pinning(!opt['no-pin']);

function command(target, port, config) {
  const cmd = {
    skitai: [path.join(ROOT, 'bin', 'skitaid.js'), '-c', config, '-p', port],
    raw: [path.join(BENCH, 'peers', 'raw.mjs'), port],
    fastify: [path.join(BENCH, 'peers', 'fastify.mjs'), port],
  }[target];
  if (!cmd) throw new Error(`unknown target ${target}: use skitai, raw or fastify`);
  return cmd;
}

/** Runs `target` under --cpu-prof with wrk on it; returns the profile, source maps and window. */
async function record(target, config = path.join(BENCH, 'site.conf'), label = target) {
  const dir = path.join(OUT, label);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const maps = path.join(dir, 'sourcemaps.json');
  const port = String(await freePort());
  const hook = pathToFileURL(path.join(BENCH, 'profile-hook.mjs')).href;
  const cmd = [process.execPath, '--cpu-prof', `--cpu-prof-dir=${dir}`, '--import', hook, ...command(target, port, config)];
  const server = startServer(pin.server(cmd), { cwd: ROOT, env: { ...process.env, SKITAI_BENCH_MAPS: maps } });
  const url = `http://${HOST}:${port}${opt.path}`;
  const seconds = Number(opt.duration);
  const connections = Number(opt.connections);
  let window;
  try {
    await waitReady(server, `http://${HOST}:${port}/ping`, 'pong');
    await wrk(url, { seconds: 2, connections, prefix: pin.load });
    const from = process.hrtime.bigint() / 1000n; // CLOCK_MONOTONIC µs, the clock V8 stamps samples with
    const r = await wrk(url, { seconds, connections, prefix: pin.load });
    window = { from: Number(from), to: Number(process.hrtime.bigint() / 1000n), requests: r.requests };
    console.log(`${label} ${url}: ${r.rps.toFixed(0)} req/s under the profiler`);
  } finally {
    await stopServer(server, 15_000);
  }
  const file = fs.readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile written in ${dir}:\n${server.output()}`);
  return analyse(path.join(dir, file), maps, window);
}

/** Maps a V8 call frame (0-based line/column in generated JS) to `file:line` in the source. */
function locator(mapsFile) {
  const payloads = fs.existsSync(mapsFile) ? JSON.parse(fs.readFileSync(mapsFile, 'utf8')) : {};
  const cache = new Map();
  return ({ url, lineNumber, columnNumber }) => {
    if (!url) return '';
    let line = lineNumber + 1;
    if (payloads[url]) {
      if (!cache.has(url)) cache.set(url, new SourceMap(payloads[url]));
      const e = cache.get(url).findEntry(lineNumber, columnNumber);
      if (typeof e?.originalLine === 'number') line = e.originalLine + 1;
    }
    return `${url.startsWith('file://') ? path.relative(ROOT, fileURLToPath(url)) : url}:${line}`;
  };
}

const add = (m, k, us) => m.set(k, (m.get(k) ?? 0) + us);

/** Sums the samples inside the window: self time, inclusive time, time per innermost src/ frame. */
function analyse(file, mapsFile, window) {
  const prof = JSON.parse(fs.readFileSync(file, 'utf8'));
  const where = locator(mapsFile);
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const keys = new Map();
  const key = (id) => {
    if (!keys.has(id)) {
      const f = byId.get(id).callFrame;
      keys.set(id, `${f.functionName || '(anonymous)'}  ${where(f)}`.trim());
    }
    return keys.get(id);
  };
  const a = { file, requests: window.requests, busy: 0, self: new Map(), total: new Map(), owned: new Map(), stacks: new Map() };
  let t = prof.startTime;
  for (let i = 0; i < prof.samples.length; i++) {
    t += prof.timeDeltas[i];
    const us = prof.timeDeltas[i + 1] ?? 0; // the time until the next sample belongs to this one
    if (t < window.from || t > window.to) continue;
    const leaf = prof.samples[i];
    if (byId.get(leaf).callFrame.functionName === '(idle)') continue;
    a.busy += us;
    add(a.self, key(leaf), us);
    const chain = [];
    let owner;
    for (let id = leaf; id !== undefined; id = parent.get(id)) {
      chain.push(key(id));
      if (!owner && byId.get(id).callFrame.url.startsWith(SRC)) owner = key(id);
    }
    add(a.owned, owner ?? '(no src/ frame on the stack: node:http, streams, GC...)', us);
    for (const k of new Set(chain)) add(a.total, k, us);
    const at = opt.callers ? chain.findIndex((k) => k.startsWith(`${opt.callers}  `)) : -1;
    if (at >= 0) add(a.stacks, chain.slice(at, at + 10).join('\n              <- '), us);
  }
  return a;
}

function print(a) {
  const per = (us) => `${(us / a.requests).toFixed(2).padStart(6)} µs/req ${((100 * us) / a.busy).toFixed(1).padStart(5)}%`;
  const list = (m, filter = () => true) =>
    [...m].filter(([k]) => filter(k)).sort((x, y) => y[1] - x[1]).slice(0, top).map(([k, us]) => `  ${per(us)}  ${k}`).join('\n');
  console.log(`\n${a.file}\n${a.requests} requests, ${(a.busy / a.requests).toFixed(2)} µs busy CPU per request (main thread, as sampled)`);
  console.log(`\nTop self time:\n${list(a.self)}`);
  console.log(`\nInclusive time in src/:\n${list(a.total, (k) => / src\//.test(k))}`);
  console.log(`\nBy innermost src/ frame (its own code + the node internals it called):\n${list(a.owned)}`);
  if (opt.callers) console.log(`\nHeaviest stacks through ${opt.callers}:\n${list(a.stacks)}`);
}

/** Frames whose self time per request grew most from `base` to `a`. */
function compare(a, base) {
  const rows = new Set([...a.self.keys(), ...base.self.keys()]);
  const diff = [...rows].map((k) => [k, (a.self.get(k) ?? 0) / a.requests - (base.self.get(k) ?? 0) / base.requests]);
  const fmt = ([k, d]) => `  ${(d >= 0 ? '+' : '') + d.toFixed(2).padStart(5)} µs/req  ${k}`;
  const total = a.busy / a.requests - base.busy / base.requests;
  console.log(`\nSelf time per request, ${opt.target} minus ${opt.compare}: ${total >= 0 ? '+' : ''}${total.toFixed(2)} µs/req in all`);
  console.log(`Most extra:\n${diff.sort((x, y) => y[1] - x[1]).slice(0, top).map(fmt).join('\n')}`);
  console.log(`Most saved:\n${diff.sort((x, y) => x[1] - y[1]).slice(0, 5).map(fmt).join('\n')}`);
}

const main = await record(opt.target, path.resolve(opt.config), `${opt.target}-main`);
print(main);
if (opt.compare) compare(main, await record(opt.compare));

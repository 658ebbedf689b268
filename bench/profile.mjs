// Profiles a server under load with `node --cpu-prof` and prints where its CPU time goes, per
// request, with file:line mapped back to the TypeScript in src/. Only samples taken while the
// measured wrk run was going count (start-up and warm-up are left out).
// Usage: node bench/profile.mjs [--path /hello] [--duration 10] [--connections 50] [--top 20]
//        [--target skitai|raw|fastify|jayson|xmlrpc]   which server to profile (default skitai)
//        [--config FILE]                 Skitai's config for --target (default bench/site.conf; --compare skitai uses the default)
//        [--compare raw]                 profile that one too and list the frames that cost more
//        [--callers NAME]                also print the heaviest stacks through function NAME
//        [--lines NAME]                  also print the sample ticks per line inside function NAME (e.g. '#dispatch')
//        [--script FILE]                 a wrk Lua script, e.g. --config bench/rpc/site.conf --path / --script bench/rpc/jsonrpc.lua
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { analyse, compare as compareProfiles, lineTicks, mainProfile, print as printSummary } from './cpuprofile.mjs';
import { HOST, freePort, luaRequest, pinning, startServer, stopServer, waitReady, wrk } from './lib.mjs';

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.dirname(BENCH);
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
    lines: { type: 'string' },
    script: { type: 'string' },
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
    jayson: [path.join(BENCH, 'rpc', 'jayson.mjs'), port],
    xmlrpc: [path.join(BENCH, 'rpc', 'xmlrpc.mjs'), port],
  }[target];
  if (!cmd) throw new Error(`unknown target ${target}: use skitai, raw, fastify, jayson or xmlrpc`);
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
    // With a script (RPC), ready = its request answered 200; otherwise /ping.
    if (opt.script) await waitReady(server, url, () => true, 30_000, luaRequest(opt.script));
    else await waitReady(server, `http://${HOST}:${port}/ping`, 'pong');
    await wrk(url, { seconds: 2, connections, prefix: pin.load, script: opt.script });
    const from = process.hrtime.bigint() / 1000n; // CLOCK_MONOTONIC µs, the clock V8 stamps samples with
    const r = await wrk(url, { seconds, connections, prefix: pin.load, script: opt.script });
    window = { from: Number(from), to: Number(process.hrtime.bigint() / 1000n), requests: r.requests };
    console.log(`${label} ${url}: ${r.rps.toFixed(0)} req/s under the profiler`);
  } finally {
    await stopServer(server, 15_000);
  }
  const file = mainProfile(dir);
  if (opt.lines) {
    const { hits, lines } = lineTicks(file, opt.lines);
    console.log(`\nTicks per line in ${opt.lines} (${hits} samples, whole recording):\n${lines.slice(0, top).map(([k, n]) => `  ${String(n).padStart(6)}  ${k}`).join('\n')}`);
  }
  return analyse(file, maps, window, { callers: opt.callers });
}


const main = await record(opt.target, path.resolve(opt.config), `${opt.target}-main`);
printSummary(main, { top, callers: opt.callers });
if (opt.compare) compareProfiles(main, await record(opt.compare), `${opt.target} minus ${opt.compare}`, top);

// Profiles a server over HTTP/2 (TLS, h2load) with `node --cpu-prof`, as bench/profile.mjs does over
// HTTP/1 with wrk, and prints where its CPU time goes per request (file:line mapped back to src/).
//   node bench/h2/profile.mjs [--target skitai|node-h2|node-h2-stream] [--path /hello|/1k.txt]
//        [--duration 10] [--connections 32] [--streams 10] [--rps N] [--compare node-h2] [--callers NAME] [--top 20]
//        [--before DIR] (target or compare skitai-before: another checkout, e.g. a worktree of main)
// Only samples taken during the measured h2load run count.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { analyse, compare as compareProfiles, mainProfile, print as printSummary } from '../cpuprofile.mjs';
import { HOST, freePort, pinning, startServer, stopServer } from '../lib.mjs';
import { cpuMs, h2Fixture, h2Servers, h2load, readyH2 } from './lib.mjs';

const BENCH = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const ROOT = path.dirname(BENCH);
const OUT = path.join(BENCH, 'results', 'profile');

const { values: opt } = parseArgs({
  options: {
    target: { type: 'string', default: 'skitai' },
    path: { type: 'string', default: '/hello' },
    compare: { type: 'string' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '32' },
    streams: { type: 'string', default: '10' },
    // A fixed rate (requests a second per connection): servers compared at the same batching.
    rps: { type: 'string' },
    top: { type: 'string', default: '20' },
    callers: { type: 'string' },
    'no-pin': { type: 'boolean', default: false },
    before: { type: 'string' },
  },
});
const pin = pinning(!opt['no-pin']);
const top = Number(opt.top);
const fx = h2Fixture('h2-prof');
const servers = h2Servers(fx, opt.before && path.resolve(opt.before));
const load = { connections: opt.connections, streams: opt.streams, rps: opt.rps, prefix: pin.load };

async function record(target) {
  const make = servers[target];
  if (!make) throw new Error(`unknown target ${target}: use ${Object.keys(servers).join(', ')}`);
  const dir = path.join(OUT, `h2-${target}`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const maps = path.join(dir, 'sourcemaps.json');
  const hook = pathToFileURL(path.join(BENCH, 'profile-hook.mjs')).href;
  const port = String(await freePort());
  const [node, ...args] = make(port);
  const cmd = [node, '--cpu-prof', `--cpu-prof-dir=${dir}`, '--import', hook, ...args];
  const server = startServer(pin.server(cmd), { cwd: ROOT, env: { ...process.env, SKITAI_BENCH_MAPS: maps } });
  const url = `https://${HOST}:${port}${opt.path}`;
  let window;
  try {
    await readyH2(server, url);
    await h2load(url, { ...load, seconds: 2 });
    const c0 = cpuMs(server.child.pid);
    const from = process.hrtime.bigint() / 1000n; // CLOCK_MONOTONIC µs, the clock V8 stamps samples with
    const r = await h2load(url, { ...load, seconds: Number(opt.duration) });
    if (Number.isNaN(r.rps)) throw new Error(`h2load ${url} failed:\n${r.output}`);
    window = { from: Number(from), to: Number(process.hrtime.bigint() / 1000n), requests: r.requests };
    const us = ((cpuMs(server.child.pid) - c0) * 1000) / r.requests;
    console.log(`${target} ${url}: ${r.rps.toFixed(0)} req/s, ${us.toFixed(1)} µs CPU/req (user+sys, under the profiler)`);
  } finally {
    await stopServer(server, 15_000);
  }
  return analyse(mainProfile(dir), maps, window, { callers: opt.callers });
}


try {
  const main = await record(opt.target);
  printSummary(main, { top, callers: opt.callers });
  if (opt.compare) compareProfiles(main, await record(opt.compare), `${opt.target} minus ${opt.compare}`, top);
} finally {
  fx.remove();
}

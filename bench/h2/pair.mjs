// Two HTTP/2 servers measured AT THE SAME TIME (as bench/pair.mjs over HTTP/1): both pinned to one
// core, each loaded by its own h2load on the other core for the same seconds, fresh processes every
// round. The figure is each server's CPU time (user + sys, /proc) per request, and per round B − A.
//   node bench/h2/pair.mjs --a node-h2 --b skitai [--path /hello|/1k.txt] [--rounds 6] [--duration 4]
//        [--connections 16] [--streams 10] [--rps N] [--before DIR]
// Targets: skitai, skitai-before (--before DIR: another checkout, e.g. a worktree of main), node-h2
// (node's compatibility API, bench/peers/h2-raw.mjs), node-h2-stream (its stream API, h2-stream.mjs).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { HOST, freePort, median, otherLoad, pinning, startServer, stopServer } from '../lib.mjs';
import { cpuMs, h2Fixture, h2Servers, h2load, readyH2 } from './lib.mjs';

const ROOT = path.dirname(path.dirname(path.dirname(fileURLToPath(import.meta.url))));
const { values: opt } = parseArgs({
  options: {
    a: { type: 'string', default: 'node-h2' },
    b: { type: 'string', default: 'skitai' },
    path: { type: 'string', default: '/hello' },
    rounds: { type: 'string', default: '6' },
    duration: { type: 'string', default: '4' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '16' },
    streams: { type: 'string', default: '10' },
    // Requests a second per connection at most: both servers at the same rate, so at the same batching.
    rps: { type: 'string' },
    before: { type: 'string' },
  },
});
const fx = h2Fixture('h2-pair');
const servers = h2Servers(fx, opt.before && path.resolve(opt.before));
for (const key of [opt.a, opt.b]) if (!servers[key]) throw new Error(`unknown target ${key}; use ${Object.keys(servers).join(', ')} (skitai-before needs --before DIR)`);
const pin = pinning(true);
const log = (line) => process.stderr.write(`${line}\n`);

async function start(key) {
  const port = String(await freePort());
  const server = startServer(pin.server(servers[key](port)), { cwd: ROOT });
  const url = `https://${HOST}:${port}${opt.path}`;
  await readyH2(server, url);
  return { key, server, url };
}

async function round(n, a, b) {
  const load = (s, seconds) => h2load(s.url, { seconds, connections: opt.connections, streams: opt.streams, rps: opt.rps, prefix: pin.load });
  if (Number(opt.warmup) > 0) await Promise.all([load(a, Number(opt.warmup)), load(b, Number(opt.warmup))]);
  const meter = otherLoad(b.server.child.pid);
  const [a0, b0] = [cpuMs(a.server.child.pid), cpuMs(b.server.child.pid)];
  const [ra, rb] = await Promise.all([load(a, Number(opt.duration)), load(b, Number(opt.duration))]);
  const [a1, b1] = [cpuMs(a.server.child.pid), cpuMs(b.server.child.pid)];
  const other = meter.stop().other;
  if (Number.isNaN(ra.rps) || Number.isNaN(rb.rps)) {
    log(`  round ${n}: h2load failed, round dropped\n${ra.output ?? rb.output}`);
    return undefined;
  }
  const ca = ((a1 - a0) * 1000) / ra.requests;
  const cb = ((b1 - b0) * 1000) / rb.requests;
  log(`  round ${n}: ${a.key} ${ca.toFixed(2)} µs/req (${ra.rps.toFixed(0)} req/s), ${b.key} ${cb.toFixed(2)} µs/req (${rb.rps.toFixed(0)} req/s), ` +
    `B − A ${(cb - ca).toFixed(2)} µs, B/A ${(cb / ca).toFixed(3)}; others ${other.toFixed(0)}% of a core`);
  return { a: ca, b: cb };
}

const started = [];
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    for (const s of started) s.server.child.kill('SIGTERM');
    fx.remove();
    process.exit(130);
  });
}

try {
  log(`h2 pair: A = ${opt.a}, B = ${opt.b}, ${opt.path}; ${pin.note.replace('wrk', 'h2load')}; both servers on one core, one h2load -c${opt.connections} -m${opt.streams}${opt.rps ? ` --rps=${opt.rps}` : ''} each`);
  const rows = [];
  for (let n = 1; n <= Number(opt.rounds); n++) {
    const [first, second] = n % 2 ? [opt.a, opt.b] : [opt.b, opt.a];
    started.length = 0;
    try {
      started.push(await start(first));
      started.push(await start(second));
      const [a, b] = first === opt.a ? started : [started[1], started[0]];
      const r = await round(n, a, b);
      if (r) rows.push(r);
    } finally {
      await Promise.all(started.map((s) => stopServer(s.server)));
    }
  }
  const diffs = rows.map((r) => r.b - r.a);
  const ratios = rows.map((r) => r.b / r.a);
  process.stdout.write(
    `${opt.path}: ${opt.a} ${median(rows.map((r) => r.a)).toFixed(2)} µs/req, ${opt.b} ${median(rows.map((r) => r.b)).toFixed(2)} µs/req (medians); ` +
      `B − A median ${median(diffs).toFixed(2)} µs, range ${Math.min(...diffs).toFixed(2)} … ${Math.max(...diffs).toFixed(2)}; ` +
      `B/A median ${median(ratios).toFixed(3)} over ${rows.length} rounds\n`,
  );
} finally {
  fx.remove();
}

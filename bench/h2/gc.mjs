// What an h2 server allocates and keeps per request, from V8's own GC trace (`--trace-gc-nvp`): bytes
// allocated in new space, bytes the scavenger copied (objects alive at a scavenge: the streams in
// flight) and promoted, and the GC pause time, each per request. Allocation per request does not depend
// on how busy the machine is, so it compares two builds on this shared box where CPU time cannot.
//   node bench/h2/gc.mjs [--targets skitai,node-h2,node-h2-stream,skitai-before] [--path /hello]
//        [--requests 200000] [--connections 32] [--streams 10] [--before DIR]
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { HOST, freePort, pinning, stopServer } from '../lib.mjs';
import { h2Fixture, h2Servers, readyH2 } from './lib.mjs';

const ROOT = path.dirname(path.dirname(path.dirname(fileURLToPath(import.meta.url))));
const { values: opt } = parseArgs({
  options: {
    targets: { type: 'string', default: 'node-h2,skitai' },
    path: { type: 'string', default: '/hello' },
    requests: { type: 'string', default: '200000' },
    connections: { type: 'string', default: '32' },
    streams: { type: 'string', default: '10' },
    before: { type: 'string' },
    // e.g. --node-flags=--no-allocation-site-pretenuring for the peers (skitaid sets it itself)
    'node-flags': { type: 'string', default: '' },
  },
});
const fx = h2Fixture('h2-gc');
const servers = h2Servers(fx, opt.before && path.resolve(opt.before));
const pin = pinning(true);

/** h2load for exactly `n` requests; resolves with the number done. */
function load(url, n) {
  const cmd = pin.load(['h2load', '-n', String(n), '-c', opt.connections, '-m', opt.streams, '-t', '1', url]);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd[0], cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.once('close', () => {
      const done = Number(out.match(/requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded/)?.[2]);
      if (Number.isNaN(done)) reject(new Error(`h2load failed:\n${out.slice(-600)}`));
      else resolve(done);
    });
  });
}

async function measure(key) {
  const make = servers[key];
  if (!make) throw new Error(`unknown target ${key}; use ${Object.keys(servers).join(', ')}`);
  const port = String(await freePort());
  const [node, ...args] = make(port);
  const cmd = pin.server([node, '--trace-gc-nvp', ...opt['node-flags'].split(' ').filter(Boolean), ...args]);
  const child = spawn(cmd[0], cmd.slice(1), { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let trace = '';
  child.stdout.on('data', (d) => (trace += d));
  child.stderr.on('data', (d) => (trace += d));
  const server = { child, exited: new Promise((r) => child.once('exit', r)), output: () => trace.slice(-4096) };
  const url = `https://${HOST}:${port}${opt.path}`;
  try {
    await readyH2(server, url);
    await load(url, Math.max(20000, Number(opt.requests) / 4));
    const from = trace.length;
    const done = await load(url, Number(opt.requests));
    const lines = trace.slice(from).split('\n').filter((l) => l.includes(' gc='));
    const sum = { allocated: 0, copied: 0, promoted: 0, scavenges: 0, marks: 0, pause: 0, markPause: 0 };
    for (const l of lines) {
      const f = (k) => Number(l.match(new RegExp(`\\b${k}=([\\d.]+)`))?.[1] ?? 0);
      sum.allocated += f('allocated');
      sum.copied += f('new_space_survived');
      sum.promoted += f('promoted');
      if (/gc=s\b/.test(l)) {
        sum.scavenges++;
        sum.pause += f('pause');
      } else {
        sum.marks++;
        sum.markPause += f('pause');
      }
    }
    const per = (x) => (x / done).toFixed(0);
    console.log(`${key.padEnd(16)} ${per(sum.allocated).padStart(6)} B allocated, ${per(sum.copied).padStart(5)} B copied, ` +
      `${per(sum.promoted).padStart(4)} B promoted per request; pauses per request: ${((sum.pause * 1000) / done).toFixed(2)} µs in ` +
      `${sum.scavenges} scavenges, ${((sum.markPause * 1000) / done).toFixed(2)} µs in ${sum.marks} other GCs (${done} requests)`);
  } finally {
    await stopServer(server);
  }
}

try {
  console.log(`${opt.path}, h2load -c${opt.connections} -m${opt.streams}; ${pin.note.replace('wrk', 'h2load')}`);
  for (const key of opt.targets.split(',')) await measure(key);
} finally {
  fx.remove();
}

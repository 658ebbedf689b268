// HTTP/2 over TLS: Skitai (`http2 = yes`) vs nginx (`listen ... ssl http2`) vs node's bare http2
// server (its compatibility API, and its stream API), for /hello and a 1 KiB static file, measured
// with h2load in interleaved rounds. Each run also reports the server's CPU µs per request (user +
// sys from /proc, nginx's worker included), the steadier figure on a shared machine.
//   node bench/h2.mjs [--duration 5] [--rounds 3] [--warmup 2] [--connections 32] [--streams 10] [--quick] [--no-pin]
//        [--targets skitai,nginx,node-h2,node-h2-stream]
// (`npm run bench -- h2` installs h2load: Debian's nghttp2-client.) Goals (issue 15): static >= 0.7 x nginx,
// /hello >= node's bare http2 server (compatibility API, bench/peers/h2-raw.mjs).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HOST, benchArgs, freePort, machineNotes, median, otherLoad, pickByKey, pinning, startServer, stopServer } from './lib.mjs';
import { nginx } from './versus/servers.mjs';
import { h2Fixture, h2Servers, h2load, readyH2 } from './h2/lib.mjs';

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.dirname(BENCH);
const { opt, duration, rounds, warmup } = benchArgs({
  connections: { type: 'string', default: '32' },
  streams: { type: 'string', default: '10' },
  targets: { type: 'string', default: 'skitai,nginx,node-h2,node-h2-stream' },
}, ['connections', 'streams']);
const pin = pinning(!opt['no-pin']);
const log = (line) => process.stderr.write(`${line}\n`);
const fx = h2Fixture('h2-bench');
const servers = h2Servers(fx);

const PATHS = ['/hello', '/1k.txt'];
const TARGETS = pickByKey([
  { key: 'skitai', name: 'skitai (http2 = yes)', cmd: servers.skitai },
  { key: 'nginx', name: 'nginx (ssl http2)', cmd: nginxH2() },
  { key: 'node-h2', name: "node's bare http2", cmd: servers['node-h2'] },
  { key: 'node-h2-stream', name: 'node http2 stream API', cmd: servers['node-h2-stream'] },
], opt.targets, '--targets');

function nginxH2() {
  const make = nginx(fx.dir, 'nginx-h2', {
    server: `ssl_certificate ${fx.cert};\n    ssl_certificate_key ${fx.key};\n    location = /hello { default_type 'text/html; charset=utf-8'; return 200 'Hello World'; }\n    location / { root ${fx.www}; }`,
  });
  // nginx 1.22 (Debian 12) takes http2 on the listen line.
  return (port) => {
    const cmd = make(port);
    const conf = cmd[cmd.indexOf('-c') + 1];
    fs.writeFileSync(conf, fs.readFileSync(conf, 'utf8').replace(`listen 127.0.0.1:${port};`, `listen 127.0.0.1:${port} ssl http2;`));
    return cmd;
  };
}

const load = (url, seconds) => h2load(url, { seconds, connections: opt.connections, streams: opt.streams, prefix: pin.load });
const results = Object.fromEntries(TARGETS.map((t) => [t.key, Object.fromEntries(PATHS.map((p) => [p, { rps: [], cpu: [] }]))]));
try {
  for (let round = 1; round <= rounds; round++) {
    // Rotated each round, so no target always goes first.
    const order = TARGETS.map((_, i) => TARGETS[(i + round - 1) % TARGETS.length]);
    for (const t of order) {
      const port = String(await freePort());
      const server = startServer(pin.server(t.cmd(port)), { cwd: ROOT });
      try {
        for (const p of PATHS) await readyH2(server, `https://${HOST}:${port}${p}`);
        for (const p of PATHS) {
          const url = `https://${HOST}:${port}${p}`;
          if (warmup > 0) await load(url, warmup);
          const meter = otherLoad(server.child.pid);
          const r = await load(url, duration);
          const m = meter.stop();
          if (Number.isNaN(r.rps)) log(`h2load ${url} failed:\n${r.output}`);
          const cpu = (m.serverMs * 1000) / r.requests;
          results[t.key][p].rps.push(r.rps);
          results[t.key][p].cpu.push(cpu);
          log(`round ${round} ${t.name.padEnd(22)} ${p.padEnd(8)} ${r.rps.toFixed(0).padStart(6)} req/s ${cpu.toFixed(1).padStart(6)} µs CPU/req, others ${m.other.toFixed(0)}% of a core`);
        }
      } finally {
        await stopServer(server);
      }
    }
  }
} finally {
  fx.remove();
}

const ok = (xs) => xs.filter((x) => !Number.isNaN(x));
const rps = (k, p) => median(ok(results[k]?.[p].rps ?? [NaN]));
const cpu = (k, p) => Math.min(...ok(results[k]?.[p].cpu ?? [NaN]));
const ratio = (a, b) => (Number.isFinite(a / b) ? (a / b).toFixed(2) : '–');
const lines = [
  `# HTTP/2 over TLS: Skitai vs nginx vs node's bare http2`,
  '',
  `h2load -c ${opt.connections} -m ${opt.streams} -t 1, ${duration} s per run (warm-up ${warmup} s), ${rounds} round(s): median req/s and lowest CPU µs/req (server user+sys, /proc); ${pin.note.replace('wrk', 'h2load')}.`,
  '',
  `| path | ${TARGETS.map((t) => t.name).join(' | ')} | skitai / nginx | skitai / node h2 | node h2 CPU / skitai CPU |`,
  `|---|${TARGETS.map(() => '---:').join('|')}|---:|---:|---:|`,
  ...PATHS.map((p) => `| ${p} | ${TARGETS.map((t) => `${rps(t.key, p).toFixed(0)} (${cpu(t.key, p).toFixed(1)} µs)`).join(' | ')} | ${ratio(rps('skitai', p), rps('nginx', p))} | ${ratio(rps('skitai', p), rps('node-h2', p))} | ${ratio(cpu('node-h2', p), cpu('skitai', p))} |`),
  '',
  ...machineNotes(ROOT),
];
const report = lines.join('\n') + '\n';
process.stdout.write(report);
fs.mkdirSync(path.join(BENCH, 'results'), { recursive: true });
fs.writeFileSync(path.join(BENCH, 'results', 'h2.md'), report);

// HTTP/2 over TLS: Skitai (`http2 = yes`) vs nginx (`listen ... ssl http2`) vs node's bare http2
// server, for /hello and a 1 KiB static file, measured with h2load in interleaved rounds.
//   node bench/h2.mjs [--duration 5] [--rounds 3] [--warmup 2] [--connections 32] [--streams 10] [--quick] [--no-pin]
// (`npm run bench -- h2` installs h2load: Debian's nghttp2-client.) Goals (issue 15): static >= 0.7 x nginx,
// /hello >= node's bare http2 server.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { HOST, benchArgs, freePort, machineNotes, median, pinning, startServer, stopServer } from './lib.mjs';
import { nginx, skitai } from './versus/servers.mjs';

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.dirname(BENCH);
const { opt, duration, rounds, warmup } = benchArgs({
  connections: { type: 'string', default: '32' },
  streams: { type: 'string', default: '10' },
}, ['connections', 'streams']);
const connections = Number(opt.connections);
const streams = Number(opt.streams);
const pin = pinning(!opt['no-pin']);
const log = (line) => process.stderr.write(`${line}\n`);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-h2-bench-'));
fs.chmodSync(tmp, 0o755);
const cert = path.join(tmp, 'server.crt');
const key = path.join(tmp, 'server.key');
execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert,
  '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'pipe' });
const www = path.join(tmp, 'www');
fs.mkdirSync(www);
fs.writeFileSync(path.join(www, '1k.txt'), 'x'.repeat(1023) + '\n');

const PATHS = ['/hello', '/1k.txt'];
const TARGETS = [
  { key: 'skitai', name: 'skitai (http2 = yes)', cmd: skitai(tmp, 'skitai-h2', `ssl = yes\nhttp2 = yes\ncertfile = ${cert}\nkeyfile = ${key}\n\n[routes:line]\n/ = ${www}\n/ = ${path.join(BENCH, 'app')}`) },
  { key: 'nginx', name: 'nginx (ssl http2)', cmd: nginxH2() },
  { key: 'node-h2', name: "node's bare http2", cmd: (port) => [process.execPath, path.join(BENCH, 'peers', 'h2-raw.mjs'), port, cert, key, www] },
];

function nginxH2() {
  const make = nginx(tmp, 'nginx-h2', {
    server: `ssl_certificate ${cert};\n    ssl_certificate_key ${key};\n    location = /hello { default_type 'text/html; charset=utf-8'; return 200 'Hello World'; }\n    location / { root ${www}; }`,
  });
  // nginx 1.22 (Debian 12) takes http2 on the listen line.
  return (port) => {
    const cmd = make(port);
    const conf = cmd[cmd.indexOf('-c') + 1];
    fs.writeFileSync(conf, fs.readFileSync(conf, 'utf8').replace(`listen 127.0.0.1:${port};`, `listen 127.0.0.1:${port} ssl http2;`));
    return cmd;
  };
}

/** One h2load run; requests per second, or NaN with the output when it failed. */
function h2load(url, seconds) {
  const cmd = pin.load(['h2load', '-D', String(seconds), '-c', String(connections), '-m', String(streams), '-t', '1', url]);
  const r = spawnSync(cmd[0], cmd.slice(1), { encoding: 'utf8' });
  const rps = Number(r.stdout.match(/finished in [\d.]+\w*, ([\d.]+) req\/s/)?.[1]);
  const failed = Number(r.stdout.match(/requests: .* (\d+) failed/)?.[1] ?? 0);
  if (Number.isNaN(rps) || failed > 0) log(`h2load ${url}: ${failed} failed\n${r.stdout.slice(-600)}${r.stderr}`);
  return rps;
}

async function ready(server, url) {
  for (let i = 0; i < 300; i++) {
    if (server.child.exitCode !== null) throw new Error(`server exited:\n${server.output()}`);
    const r = spawnSync('curl', ['-sk', '--http2', '-o', '/dev/null', '-w', '%{http_code} %{http_version}', url], { encoding: 'utf8' });
    if (r.stdout === '200 2') return;
    await sleep(100);
  }
  throw new Error(`${url} not ready over h2:\n${server.output()}`);
}

const results = Object.fromEntries(TARGETS.map((t) => [t.key, Object.fromEntries(PATHS.map((p) => [p, []]))]));
try {
  for (let round = 1; round <= rounds; round++) {
    for (const t of TARGETS) {
      const port = String(await freePort());
      const server = startServer(pin.server(t.cmd(port)), { cwd: ROOT });
      try {
        for (const p of PATHS) await ready(server, `https://${HOST}:${port}${p}`);
        for (const p of PATHS) {
          const url = `https://${HOST}:${port}${p}`;
          if (warmup > 0) h2load(url, warmup);
          const rps = h2load(url, duration);
          results[t.key][p].push(rps);
          log(`round ${round} ${t.name.padEnd(22)} ${p.padEnd(8)} ${rps.toFixed(0)} req/s`);
        }
      } finally {
        await stopServer(server);
      }
    }
  }
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}

const med = (k, p) => median(results[k][p]);
const lines = [
  `# HTTP/2 over TLS: Skitai vs nginx vs node's bare http2`,
  '',
  `h2load -c ${connections} -m ${streams} -t 1, ${duration} s per run (warm-up ${warmup} s), ${rounds} round(s), median req/s; ${pin.note.replace('wrk', 'h2load')}.`,
  '',
  `| path | ${TARGETS.map((t) => t.name).join(' | ')} | skitai / nginx | skitai / node h2 |`,
  `|---|${TARGETS.map(() => '---:').join('|')}|---:|---:|`,
  ...PATHS.map((p) => `| ${p} | ${TARGETS.map((t) => med(t.key, p).toFixed(0)).join(' | ')} | ${(med('skitai', p) / med('nginx', p)).toFixed(2)} | ${(med('skitai', p) / med('node-h2', p)).toFixed(2)} |`),
  '',
  ...machineNotes(ROOT),
];
const report = lines.join('\n') + '\n';
process.stdout.write(report);
fs.mkdirSync(path.join(BENCH, 'results'), { recursive: true });
fs.writeFileSync(path.join(BENCH, 'results', 'h2.md'), report);

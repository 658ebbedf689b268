// What the HTTP/2 benches share (h2.mjs, h2/profile.mjs, h2/pair.mjs): a temp dir with a
// self-signed certificate and the 1 KiB file, the servers' command lines, h2load, readiness over h2.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { skitai } from '../versus/servers.mjs';

const BENCH = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const NODE = process.execPath;

/** A temp dir with `server.crt`/`server.key` (EC, localhost + 127.0.0.1) and `www/1k.txt`. */
export function h2Fixture(name) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `skitai-${name}-`));
  fs.chmodSync(dir, 0o755);
  const cert = path.join(dir, 'server.crt');
  const key = path.join(dir, 'server.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert,
    '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'pipe' });
  const www = path.join(dir, 'www');
  fs.mkdirSync(www);
  fs.writeFileSync(path.join(www, '1k.txt'), 'x'.repeat(1023) + '\n');
  return { dir, cert, key, www, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Command lines (port => argv) of the h2 servers: Skitai (`http2 = yes`, this checkout or `root`),
 * node's bare http2 server on the compatibility API (`node-h2`) and on the stream API (`node-h2-stream`).
 */
export function h2Servers(fx, root) {
  const site = (dir, name) => {
    const make = skitai(fx.dir, name, `ssl = yes\nhttp2 = yes\ncertfile = ${fx.cert}\nkeyfile = ${fx.key}\n\n[routes:line]\n/ = ${fx.www}\n/ = ${path.join(dir, 'bench', 'app')}`);
    return (port) => [NODE, path.join(dir, 'bin', 'skitaid.js'), ...make(port).slice(2)];
  };
  const peer = (file) => (port) => [NODE, path.join(BENCH, 'peers', file), port, fx.cert, fx.key, fx.www];
  return {
    skitai: site(path.dirname(BENCH), 'skitai-h2'),
    ...(root ? { 'skitai-before': site(root, 'skitai-h2-before') } : {}),
    'node-h2': peer('h2-raw.mjs'),
    'node-h2-stream': peer('h2-stream.mjs'),
  };
}

/**
 * One h2load run (`-t 1`; `rps`: that many requests a second per connection at most); resolves with req/s and requests done (NaN when it failed). h2load now and
 * then never returns after its duration is over; it is killed 30 s later and the run counts as failed.
 */
export function h2load(url, { seconds, connections, streams, rps, prefix = (c) => c }) {
  const cmd = prefix(['h2load', '-D', String(seconds), '-c', String(connections), '-m', String(streams), '-t', '1', ...(rps ? [`--rps=${rps}`] : []), url]);
  return new Promise((resolve) => {
    const child = spawn(cmd[0], cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), (seconds + 30) * 1000);
    child.once('close', () => {
      clearTimeout(timer);
      const rps = Number(out.match(/finished in [\d.]+\w*, ([\d.]+) req\/s/)?.[1]);
      const requests = Number(out.match(/requests: \d+ total, \d+ started, (\d+) done/)?.[1]);
      const failed = Number(out.match(/requests: .* (\d+) failed/)?.[1] ?? NaN);
      if (Number.isNaN(rps) || failed > 0) resolve({ rps: NaN, requests: NaN, output: out.slice(-600) });
      else resolve({ rps, requests });
    });
  });
}

/** Waits until `url` answers 200 over h2 (curl), or throws with the server's output. */
export async function readyH2(server, url) {
  for (let i = 0; i < 300; i++) {
    if (server.child.exitCode !== null) throw new Error(`server exited:\n${server.output()}`);
    const r = spawnSync('curl', ['-sk', '--http2', '-o', '/dev/null', '-w', '%{http_code} %{http_version}', url], { encoding: 'utf8' });
    if (r.stdout === '200 2') return;
    await sleep(100);
  }
  throw new Error(`${url} not ready over h2:\n${server.output()}`);
}

/** The process's user + system CPU time in ms (/proc), its threads included. */
export function cpuMs(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

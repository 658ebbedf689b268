// SQL through a route: Skitai's `was.dlb` route against node:http + pg.Pool, same throwaway
// PostgreSQL, interleaved rounds; prints req/s and the server process's CPU µs per request.
// Usage: node bench/sql/run.mjs [--rounds 3] [--duration 5] [--connections 50] [--max-conns 10]
//        [--before DIR]  also run the Skitai checkout in DIR (a worktree of an older commit) as "skitai before"
//        node bench/sql/run.mjs --serve   start PostgreSQL and the site config only, print the
//                                         config path (for bench/profile.mjs --config ... --path /q)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { HOST, freePort, median, otherLoad, pinning, startServer, stopServer, waitReady, wrk } from '../lib.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const { values: opt } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '5' },
    connections: { type: 'string', default: '50' },
    'max-conns': { type: 'string', default: '10' },
    serve: { type: 'boolean', default: false },
    before: { type: 'string' },
  },
});

/** A throwaway PostgreSQL as test/support/postgres.ts starts one (trust auth, as `nobody` under root). */
async function startPostgres() {
  const bin = ['17', '16', '15', '14'].map((v) => `/usr/lib/postgresql/${v}/bin`).find((d) => fs.existsSync(path.join(d, 'initdb')));
  if (!bin) throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-bench-pg-'));
  const asRoot = process.getuid?.() === 0;
  if (asRoot) spawnSync('chown', ['nobody', dir]);
  const run = (cmd, args) => {
    const full = path.join(bin, cmd);
    const r = asRoot ? spawnSync('runuser', ['-u', 'nobody', '--', full, ...args], { encoding: 'utf8', cwd: os.tmpdir() }) : spawnSync(full, args, { encoding: 'utf8', cwd: os.tmpdir() });
    if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr || r.stdout}`);
  };
  const data = path.join(dir, 'data');
  run('initdb', ['-D', data, '-U', 'skitai', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
  const port = await freePort();
  run('pg_ctl', ['-D', data, '-l', path.join(dir, 'log'), '-w', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50`, 'start']);
  return { port, stop: () => { spawnSync(asRoot ? 'runuser' : path.join(bin, 'pg_ctl'), asRoot ? ['-u', 'nobody', '--', path.join(bin, 'pg_ctl'), '-D', data, '-m', 'immediate', 'stop'] : ['-D', data, '-m', 'immediate', 'stop']); fs.rmSync(dir, { recursive: true, force: true }); } };
}

const pgServer = await startPostgres();
const conf = path.join(os.tmpdir(), `skitai-bench-sql-${process.pid}.conf`);
fs.writeFileSync(conf, `[server]\nip = 127.0.0.1\nprocesses = 1\naccess_log = off\n\n[@db]\ntype = postgresql\nmembers = 127.0.0.1:${pgServer.port}/postgres/skitai\nmax_conns = ${opt['max-conns']}\n\n[routes:line]\n/ = ${path.join(HERE, 'app')}\n`);
const cleanup = () => { pgServer.stop(); fs.rmSync(conf, { force: true }); };
process.on('SIGINT', () => { cleanup(); process.exit(130); });

if (opt.serve) {
  console.log(`PostgreSQL on ${pgServer.port}; config ${conf}; Ctrl-C stops it`);
  await new Promise(() => {});
}

const pin = pinning(true);
const targets = {
  'pg.Pool': (port) => [process.execPath, path.join(HERE, 'pg-pool.mjs'), port, String(pgServer.port), opt['max-conns']],
  'skitai dlb': (port) => [process.execPath, path.join(ROOT, 'bin', 'skitaid.js'), '-c', conf, '-p', port],
};
if (opt.before) targets['skitai before'] = (port) => [process.execPath, path.join(path.resolve(opt.before), 'bin', 'skitaid.js'), '-c', conf, '-p', port];
const seen = Object.fromEntries(Object.keys(targets).map((k) => [k, []]));
try {
  const names = Object.keys(targets);
  for (let round = 0; round < Number(opt.rounds); round++) {
    for (const name of round % 2 ? [...names].reverse() : names) {
      const port = String(await freePort());
      const server = startServer(pin.server(targets[name](port)), { cwd: ROOT });
      const url = `http://${HOST}:${port}/q`;
      try {
        await waitReady(server, url, '1');
        await wrk(url, { seconds: 3, connections: Number(opt.connections), prefix: pin.load });
        const meter = otherLoad(server.child.pid);
        const r = await wrk(url, { seconds: Number(opt.duration), connections: Number(opt.connections), prefix: pin.load });
        const { serverMs, other } = meter.stop();
        const cpu = (serverMs * 1000) / r.requests;
        seen[name].push({ rps: r.rps, cpu });
        console.log(`round ${round + 1} ${name.padEnd(10)} ${r.rps.toFixed(0).padStart(6)} req/s  ${cpu.toFixed(1).padStart(6)} µs CPU/req  errors ${r.non2xx + r.socketErrors}  other ${other.toFixed(0)}%`);
      } finally {
        await stopServer(server);
      }
    }
  }
  const m = (name, k) => median(seen[name].map((x) => x[k]));
  console.log(`\nmedians (${pin.note}):`);
  for (const name of names) {
    console.log(`  ${name.padEnd(14)} ${m(name, 'rps').toFixed(0).padStart(6)} req/s ${(m(name, 'rps') / m('pg.Pool', 'rps')).toFixed(2)} × pg.Pool   ${m(name, 'cpu').toFixed(1).padStart(6)} µs CPU/req, pg.Pool's CPU ÷ this ${(m('pg.Pool', 'cpu') / m(name, 'cpu')).toFixed(2)}`);
  }
} finally {
  cleanup();
}

// SQL through a route: Skitai's `was.dlb` route against node:http + pg.Pool, same throwaway
// PostgreSQL, interleaved rounds; prints req/s and the server process's CPU µs per request.
// Usage: node bench/sql/run.mjs [--rounds 3] [--duration 5] [--connections 50] [--max-conns 10]
//        [--before DIR]  also run the Skitai checkout in DIR (a worktree of an older commit) as "skitai before"
//        node bench/sql/run.mjs --serve   start PostgreSQL and the site config only, print the
//                                         config path (for bench/profile.mjs --config ... --path /q)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { HOST, freePort, median, otherLoad, pinning, startServer, stopServer, waitReady, wrk } from '../lib.mjs';
import { startPostgres } from './postgres.mjs';

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

const pgServer = await startPostgres();
const conf = path.join(os.tmpdir(), `skitai-bench-sql-${process.pid}.conf`);
fs.writeFileSync(conf, `[server]\nip = 127.0.0.1\nprocesses = 1\naccess_log = off\n\n[@db]\ntype = postgresql\nmembers = 127.0.0.1:${pgServer.port}/postgres/skitai\nmax_conns = ${opt['max-conns']}\n\n[routes:line]\n/ = ${path.join(HERE, 'app')}\n`);
const cleanup = () => { pgServer.stop(); fs.rmSync(conf, { force: true }); };
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => { cleanup(); process.exit(130); });

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

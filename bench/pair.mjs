// Two servers measured AT THE SAME TIME, for a CPU-per-request comparison on a shared machine.
// run.mjs measures targets one after the other, so a neighbour's load that comes and goes lands on
// one target and not the other; here both servers share one pinned core and each gets its own wrk
// (on the other core) for the same seconds, so whatever disturbs one disturbs the other. The
// figure is each server's CPU time (user + sys, /proc) per request, and per round B − A.
// Usage: node bench/pair.mjs --a skitai --b skitai-log [--path /hello] [--rounds 6] [--duration 4]
//        [--connections 25] [--before DIR] [--spin 1.5]   targets: raw, fastify, skitai, skitai-dist (npm run build first),
//        skitai-log, skitai-log-console (stdout), skitai-log-text, skitai-spin (--spin), skitai-before,
//        skitai-before-log and skitai-before-log-console (need --before)
//        --static: both sites serve a temp directory of files (1k.css, 1m.jpg) instead of bench/app, with
//        --path /1k.css or /1m.jpg; --revalidate sends each server its own ETag (304s); extra target
//        node-memory (bench/versus/node-static.mjs memory: node:http from a Map)
//        --a-set 'key = value' / --b-set ...: more [server] lines for A's / B's Skitai site (repeatable)
//        --sql: the SQL route instead (bench/sql: `was.dlb` SELECT $1::int at /q, one throwaway PostgreSQL
//        for both, 10 connections each), and target pg = node:http + pg.Pool (bench/sql/pg-pool.mjs)
//        --spin US: target skitai-spin's /hello spins that many µs first (default 1.5): `--a skitai-spin --b
//        skitai-log` answers "does the log cost less than 1.5 µs?" with both servers slowed alike
//        --proxy: the reverse proxy instead (`/p = @backend`, GET /p<path>) for the Skitai targets, both
//        in front of one nginx backend answering /hello and /ping beside the wrks on the other core
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startPostgres } from './sql/postgres.mjs';
import { HOST, freePort, median, otherLoad, pinning, startServer, stopServer, waitReady, wrk } from './lib.mjs';

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.dirname(BENCH);
const NODE = process.execPath;
const { values: opt } = parseArgs({
  options: {
    a: { type: 'string', default: 'skitai-before' },
    b: { type: 'string', default: 'skitai' },
    path: { type: 'string', default: '/hello' },
    rounds: { type: 'string', default: '6' },
    duration: { type: 'string', default: '4' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '25' },
    before: { type: 'string' },
    static: { type: 'boolean', default: false },
    'a-set': { type: 'string', multiple: true, default: [] },
    'b-set': { type: 'string', multiple: true, default: [] },
    revalidate: { type: 'boolean', default: false },
    sql: { type: 'boolean', default: false },
    proxy: { type: 'boolean', default: false },
    spin: { type: 'string', default: '1.5' },
  },
});
if (opt.sql) opt.path = '/q';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-pair-'));
const WWW = path.join(tmp, 'www');
// Static files as bench/versus.mjs makes them: 1 KiB of CSS (memory cache), 1 MiB of noise (above static_cache_file_max).
const FILES = { '/1k.css': Buffer.from('body { margin: 0 auto; max-width: 42em; }\n'.repeat(30).slice(0, 1024)), '/1m.jpg': crypto.randomBytes(1024 * 1024) };
if (opt.static) {
  fs.mkdirSync(WWW);
  for (const [name, data] of Object.entries(FILES)) fs.writeFileSync(path.join(WWW, name), data);
}
const EXPECT = opt.static ? FILES[opt.path]?.length : { '/hello': 'Hello World', '/ping': 'pong', '/q': '1' }[opt.path];
if (EXPECT === undefined) throw new Error(`--path must be ${opt.static ? '/1k.css or /1m.jpg with --static' : '/hello or /ping'}, got ${opt.path}`);
const pgServer = opt.sql ? await startPostgres() : undefined;

/**
 * A copy of bench/site.conf of `dir` in the temp dir (two sites from one config file would share a
 * pid file), with the access log in a temp file when `format` is given (JSON or Skitai's line).
 */
function siteConf(dir, name, format, set = [], to = undefined) {
  let text = opt.sql
    ? `[server]\nip = 127.0.0.1\nprocesses = 1\naccess_log = off\n\n[@db]\ntype = postgresql\nmembers = 127.0.0.1:${pgServer.port}/postgres/skitai\nmax_conns = 10\n\n[routes:line]\n/ = ${path.join(dir, 'bench', 'sql', 'app')}\n`
    : fs.readFileSync(path.join(dir, 'bench', 'site.conf'), 'utf8').replace(/^(\/\S*\s*=\s*)\.\//gm, `$1${path.join(dir, 'bench')}/`);
  if (opt.static) text = text.replace(/^\/\s*=.*$/m, `/ = ${WWW}`);
  if (set.length) text = text.replace(/^\[server\]$/m, `[server]\n${set.join('\n')}`);
  if (format) text = text.replace(/^access_log\s*=.*$/m, `access_log = ${to ?? path.join(tmp, `access-${name}.log`)}\naccess_log_format = ${format}`);
  const file = path.join(tmp, `site-${name}.conf`);
  fs.writeFileSync(file, text);
  return file;
}

/** The reverse proxy's site (`/p = @backend`) for the checkout `dir`; the backend's port is known once it runs. */
let backendPort;
function proxyConf(name) {
  const file = path.join(tmp, `proxy-${name}.conf`);
  fs.writeFileSync(file, `[server]\nip = 127.0.0.1\nprocesses = 1\naccess_log = off\n\n[routes:line]\n/p = @backend\n\n[@backend]\nmembers = 127.0.0.1:${backendPort}\nmax_conns = 64\n`);
  return file;
}
const skitai = (dir, conf) => (p) => [NODE, path.join(dir, 'bin', 'skitaid.js'), '-c', opt.proxy ? proxyConf(`${path.basename(dir)}-${p}`) : conf, '-p', p];
const TARGETS = {
  raw: (p) => [NODE, path.join(BENCH, 'peers', 'raw.mjs'), p],
  fastify: (p) => [NODE, path.join(BENCH, 'peers', 'fastify.mjs'), p],
  pg: (p) => [NODE, path.join(BENCH, 'sql', 'pg-pool.mjs'), p, String(pgServer?.port), '10'],
  'node-memory': (p) => [NODE, path.join(BENCH, 'versus', 'node-static.mjs'), 'memory', p, WWW],
  // Skitai's sites get the side (a, b) in their config's name and that side's --a-set / --b-set lines.
  skitai: (p, side) => skitai(ROOT, siteConf(ROOT, `${side}-skitai`, undefined, opt[`${side}-set`]))(p),
  // The compiled dist/ (after `npm run build`), as an installed package runs; the others run src/ through tsx.
  'skitai-dist': (p, side) => skitai(ROOT, siteConf(ROOT, `${side}-dist`, undefined, opt[`${side}-set`]))(p),
  // The site whose /hello first spins --spin µs (bench/app.ts): a known cost, measured the same way.
  'skitai-spin': (p, side) => skitai(ROOT, siteConf(ROOT, `${side}-spin`, undefined, opt[`${side}-set`]))(p),
  'skitai-log': (p, side) => skitai(ROOT, siteConf(ROOT, `${side}-json`, 'json', opt[`${side}-set`]))(p),
  // The JSON access log on stdout (`access_log = console`, as in a container), a pipe read by this script.
  'skitai-log-console': (p, side) => skitai(ROOT, siteConf(ROOT, `${side}-console`, 'json', opt[`${side}-set`], 'console'))(p),
  'skitai-before-log-console': (p, side) => skitai(beforeDir(), siteConf(beforeDir(), `${side}-before-console`, 'json', opt[`${side}-set`], 'console'))(p),
  'skitai-log-text': (p, side) => skitai(ROOT, siteConf(ROOT, `${side}-text`, 'skitai', opt[`${side}-set`]))(p),
  'skitai-before': (p, side) => skitai(beforeDir(), siteConf(beforeDir(), `${side}-before`, undefined, opt[`${side}-set`]))(p),
  'skitai-before-log': (p, side) => skitai(beforeDir(), siteConf(beforeDir(), `${side}-before-json`, 'json', opt[`${side}-set`]))(p),
};

function beforeDir() {
  if (!opt.before) throw new Error('skitai-before needs --before DIR (another checkout, e.g. a git worktree of the old commit)');
  return path.resolve(opt.before);
}
for (const key of [opt.a, opt.b]) if (!TARGETS[key]) throw new Error(`unknown target ${key}; use ${Object.keys(TARGETS).join(', ')}`);

const pin = pinning(true);
const log = (line) => process.stderr.write(`${line}\n`);

async function start(side) {
  const key = opt[side];
  const port = String(await freePort());
  const env = key === 'skitai-dist' ? { ...process.env, SKITAI_DIST: '1' } : key === 'skitai-spin' ? { ...process.env, SKITAI_BENCH_SPIN_US: opt.spin } : process.env;
  const server = startServer(pin.server(TARGETS[key](port, side)), { cwd: ROOT, env });
  const url = `http://${HOST}:${port}${opt.proxy ? '/p' : ''}${opt.path}`;
  await waitReady(server, url, opt.static ? () => true : EXPECT);
  // What wrk gets (no Accept-Encoding): the file's bytes, and the validator of that representation.
  const res = await fetch(url, { headers: { 'accept-encoding': 'identity' } });
  const body = Buffer.from(await res.arrayBuffer());
  if (opt.static && !body.equals(FILES[opt.path])) throw new Error(`${key}: ${url} answered ${body.length} bytes, not the file`);
  // Each server's own validator: its 304 is what is measured with --revalidate.
  const etag = res.headers.get('etag');
  if (opt.revalidate && !etag) throw new Error(`${key}: no ETag to revalidate`);
  return { key, server, url, headers: opt.revalidate ? { 'If-None-Match': etag } : {} };
}

const MIN_REQUESTS = 1000;

/** The server process's [user, system] CPU ticks (1/100 s), its worker threads (libuv's file writes) included. */
function cpuTicks(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return [Number(f[11]), Number(f[12])];
}

/** Both servers loaded at once; CPU µs per request of each, and the kernel's (system) part of it. */
async function round(n, a, b) {
  const load = (s, seconds) => wrk(s.url, { seconds, connections: Number(opt.connections), prefix: pin.load, headers: s.headers });
  if (Number(opt.warmup) > 0) await Promise.all([load(a, Number(opt.warmup)), load(b, Number(opt.warmup))]);
  const meter = otherLoad(b.server.child.pid);
  const [a0, b0] = [cpuTicks(a.server.child.pid), cpuTicks(b.server.child.pid)];
  const [ra, rb] = await Promise.all([load(a, Number(opt.duration)), load(b, Number(opt.duration))]);
  const [a1, b1] = [cpuTicks(a.server.child.pid), cpuTicks(b.server.child.pid)];
  const other = meter.stop().other;
  const perReq = (t0, t1, requests) => ({ us: ((t1[0] - t0[0] + t1[1] - t0[1]) * 10_000) / requests, sys: ((t1[1] - t0[1]) * 10_000) / requests });
  // A round where wrk got (almost) no answers says nothing per request: 9 requests in 4 s give a
  // CPU figure made of start-up noise, and 0 give NaN, which would poison every median.
  if (Math.min(ra.requests, rb.requests) < MIN_REQUESTS) {
    log(`  round ${n}: dropped (${a.key} ${ra.requests}, ${b.key} ${rb.requests} requests; fewer than ${MIN_REQUESTS}); others ${other.toFixed(0)}% of a core`);
    return undefined;
  }
  const ca = perReq(a0, a1, ra.requests);
  const cb = perReq(b0, b1, rb.requests);
  log(`  round ${n}: ${a.key} ${ca.us.toFixed(2)} µs/req (sys ${ca.sys.toFixed(2)}; ${ra.rps.toFixed(0)} req/s), ${b.key} ${cb.us.toFixed(2)} µs/req (sys ${cb.sys.toFixed(2)}; ${rb.rps.toFixed(0)} req/s), ` +
    `B − A ${(cb.us - ca.us).toFixed(2)} µs (sys ${(cb.sys - ca.sys).toFixed(2)}); others ${other.toFixed(0)}% of a core`);
  return { a: ca.us, b: cb.us, sys: cb.sys - ca.sys };
}

// Servers of the round in progress: stopped on Ctrl-C / SIGTERM too, not left holding the core.
const started = [];
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    for (const s of started) s.server.child.kill('SIGTERM');
    backend?.child.kill('SIGTERM');
    fs.rmSync(tmp, { recursive: true, force: true });
    pgServer?.stop();
    process.exit(130);
  });
}

let backend;
if (opt.proxy) {
  const { nginx } = await import('./versus/servers.mjs');
  backendPort = await freePort();
  const cmd = nginx(tmp, 'backend', { server: 'location = /hello { default_type text/html; return 200 "Hello World"; } location = /ping { default_type text/plain; return 200 "pong"; }' })(String(backendPort));
  backend = startServer(pin.load(cmd), { cwd: ROOT });
  await waitReady(backend, `http://${HOST}:${backendPort}${opt.path}`, EXPECT);
}

try {
  const sets = (side) => (opt[`${side}-set`].length ? ` (${opt[`${side}-set`].join('; ')})` : '');
  log(`pair: A = ${opt.a}${sets('a')}, B = ${opt.b}${sets('b')}, ${opt.proxy ? 'proxied ' : ''}${opt.path}; ${pin.note}; both servers on one core, one wrk -c${opt.connections} each`);
  const rows = [];
  for (let n = 1; n <= Number(opt.rounds); n++) {
    // Fresh processes each round, started in alternating order.
    const [first, second] = n % 2 ? ['a', 'b'] : ['b', 'a'];
    started.length = 0;
    try {
      started.push(await start(first));
      started.push(await start(second));
      const [a, b] = first === 'a' ? started : [started[1], started[0]];
      const row = await round(n, a, b);
      if (row) rows.push(row);
    } finally {
      await Promise.all(started.map((s) => stopServer(s.server)));
    }
  }
  if (rows.length === 0) throw new Error('pair: every round was dropped (see above); the machine is too busy to measure');
  const diffs = rows.map((r) => r.b - r.a);
  process.stdout.write(
    `${opt.path}: ${opt.a} ${median(rows.map((r) => r.a)).toFixed(2)} µs/req, ${opt.b} ${median(rows.map((r) => r.b)).toFixed(2)} µs/req (medians); ` +
      `B − A median ${median(diffs).toFixed(2)} µs (of which system time ${median(rows.map((r) => r.sys)).toFixed(2)}), ` +
      `range ${Math.min(...diffs).toFixed(2)} … ${Math.max(...diffs).toFixed(2)} over ${rows.length} rounds\n`,
  );
} finally {
  if (backend) await stopServer(backend);
  fs.rmSync(tmp, { recursive: true, force: true });
  pgServer?.stop();
}

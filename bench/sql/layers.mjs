// The DB call path by layer, in ONE process (same heap, same JIT, same interference), alternating:
// pool = pg.Pool.query; member = Skitai's MemberPool.run alone (transport/pg); dlb = the whole
// `Databases.dlb(...).execute(...).getwait(2)`. Prints CPU µs per call (lowest and median round).
// Usage: node --import tsx bench/sql/layers.mjs [ROOT] [--rounds 6]   (ROOT: a checkout, default this one)
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { startPostgres } from './postgres.mjs';
import { drive } from './drive.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const { values: opt, positionals } = parseArgs({ allowPositionals: true, options: { rounds: { type: 'string', default: '6' } } });
const root = path.resolve(positionals[0] ?? path.join(HERE, '..', '..'));
const load = (file) => import(pathToFileURL(path.join(root, 'src', file)).href);
const { parseConfigText } = await load('config/load.ts');
// Through the package entry: Databases moved from src/db/ to src/services/, and ROOT may be an older checkout.
const { Databases } = await load('index.ts');
const { MemberPool } = await load('transport/pg/pool.ts');
const { Deadline } = await load('call/deadline.ts');
const { monotonic } = await load('cluster/clock.ts');

const server = await startPostgres();
const SQL = 'SELECT $1::int AS n';
const pool = new pg.Pool({ host: '127.0.0.1', port: server.port, user: 'skitai', database: 'postgres', max: 10 });
const member = new MemberPool({ host: '127.0.0.1', port: server.port, database: 'postgres', user: 'skitai', password: undefined, node: 'bench' }, { maxConns: 10, connectTimeout: 5000, idleTimeout: 60_000, queryTimeout: 30_000 });
const dbs = new Databases({ clusters: parseConfigText(`[@db]\ntype = postgresql\nmembers = 127.0.0.1:${server.port}/postgres/skitai\nmax_conns = 10\n`, '/tmp/layers.conf', '/tmp').clusters });
const modes = {
  pool: () => pool.query(SQL, [1]).then((r) => r.rows[0].n),
  member: () => new Promise((resolve) => member.run({ text: SQL, values: ['1'] }, new Deadline(monotonic), (o) => resolve(o.result.data?.[0]?.n))),
  dlb: () => dbs.dlb('@db').execute(SQL, [1]).getwait(2).then((r) => r.data?.[0]?.n),
};

const run = (call, ms) => drive(call, ms);

try {
  const seen = Object.fromEntries(Object.keys(modes).map((k) => [k, []]));
  // Warm-up by count as well as time: V8 tiers up by calls, and a starved core makes few.
  for (const call of Object.values(modes)) for (let n = 0, t = performance.now(); n < 20_000 && performance.now() - t < 15_000;) n += await run(call, 1000);
  for (let i = 0; i < Number(opt.rounds); i++) {
    for (const [name, call] of Object.entries(modes)) {
      const c0 = process.cpuUsage();
      const n = await run(call, 1500);
      const c = process.cpuUsage(c0);
      seen[name].push((c.user + c.system) / n);
    }
  }
  for (const [name, xs] of Object.entries(seen)) {
    const sorted = [...xs].sort((a, b) => a - b);
    console.log(`${name.padEnd(7)} lowest ${sorted[0].toFixed(1)} µs/call, median ${sorted[sorted.length >> 1].toFixed(1)}`);
  }
} finally {
  await Promise.all([pool.end(), member.close(0), dbs.close()]);
  server.stop();
}

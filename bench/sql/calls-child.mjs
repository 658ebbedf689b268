// One measurement of bench/sql/calls.mjs, in its own process (run under `node --import tsx`):
// MODE pg = pg.Pool.query, dlb = Databases.dlb(...).execute(...).getwait() of the checkout in ROOT.
// Usage: node --import tsx calls-child.mjs MODE ROOT PGPORT SECONDS CONCURRENCY MAXCONNS
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';

const [mode, root, pgPort, seconds, concurrency, maxConns] = process.argv.slice(2);
const SQL = 'SELECT $1::int AS n';
let call;
let close;
if (mode === 'pg') {
  const pool = new pg.Pool({ host: '127.0.0.1', port: Number(pgPort), user: 'skitai', database: 'postgres', max: Number(maxConns) });
  call = () => pool.query(SQL, [1]).then((r) => r.rows[0].n);
  close = () => pool.end();
} else {
  const { parseConfigText } = await import(pathToFileURL(path.join(root, 'src/config/load.ts')).href);
  // Through the package entry: Databases moved from src/db/ to src/services/, and ROOT may be an older checkout (--before).
  const { Databases } = await import(pathToFileURL(path.join(root, 'src/index.ts')).href);
  const text = `[server]\nport = 0\n[@db]\ntype = postgresql\nmembers = 127.0.0.1:${pgPort}/postgres/skitai\nmax_conns = ${maxConns}\n`;
  const dbs = new Databases({ clusters: parseConfigText(text, '/tmp/site.conf', '/tmp').clusters });
  call = () => dbs.dlb('@db').execute(SQL, [1]).getwait(2).then((r) => r.data[0].n);
  close = () => dbs.close();
}

async function run(ms) {
  const end = performance.now() + ms;
  let n = 0;
  const worker = async () => {
    while (performance.now() < end) {
      if ((await call()) !== 1) throw new Error('wrong answer');
      n++;
    }
  };
  await Promise.all(Array.from({ length: Number(concurrency) }, worker));
  return n;
}

await run(2000); // warm-up: JIT, connections
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const n = await run(Number(seconds) * 1000);
const cpu = process.cpuUsage(cpu0);
console.log(JSON.stringify({ calls: n, perSecond: n / ((performance.now() - t0) / 1000), cpuUs: (cpu.user + cpu.system) / n }));
await close();

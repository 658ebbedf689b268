// One side of bench/sql/callgrind.mjs, run under callgrind (`node --import tsx`): MODE pg =
// pg.Pool.query, dlb = Databases.dlb(...).execute(...).getwait() of ROOT's src/. Warms up, says
// "ready", runs COUNT calls when stdin says "go", says "done", exits when stdin says "exit".
// Usage: node --import tsx cg-child.mjs MODE ROOT PGPORT COUNT CONCURRENCY MAXCONNS
import path from 'node:path';
import readline from 'node:readline';
import { pathToFileURL } from 'node:url';
import pg from 'pg';

const [mode, root, pgPort, count, concurrency, maxConns] = process.argv.slice(2);
const SQL = 'SELECT $1::int AS n';
let call;
let close;
if (mode === 'pg') {
  const pool = new pg.Pool({ host: '127.0.0.1', port: Number(pgPort), user: 'skitai', database: 'postgres', max: Number(maxConns) });
  call = () => pool.query(SQL, [1]).then((r) => r.rows[0].n);
  close = () => pool.end();
} else {
  const { parseConfigText } = await import(pathToFileURL(path.join(root, 'src/config/load.ts')).href);
  const { Databases } = await import(pathToFileURL(path.join(root, 'src/index.ts')).href);
  const text = `[server]\nport = 0\n[@db]\ntype = postgresql\nmembers = 127.0.0.1:${pgPort}/postgres/skitai\nmax_conns = ${maxConns}\n`;
  const dbs = new Databases({ clusters: parseConfigText(text, '/tmp/site.conf', '/tmp').clusters });
  call = () => dbs.dlb('@db').execute(SQL, [1]).getwait(30).then((r) => r.data[0].n);
  close = () => dbs.close();
}

/** `n` calls, `concurrency` in flight. */
async function calls(n) {
  let started = 0;
  const worker = async () => {
    while (started < n) {
      started++;
      if ((await call()) !== 1) throw new Error('wrong answer');
    }
  };
  await Promise.all(Array.from({ length: Number(concurrency) }, worker));
}

const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
await calls(Number(count) * 3);
process.stdout.write('ready\n');
await lines.next();
await calls(Number(count));
process.stdout.write('done\n');
await lines.next();
await close();
process.exit(0);

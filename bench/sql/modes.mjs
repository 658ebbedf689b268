// The two ways to run `SELECT $1::int` that the in-process SQL benchmarks compare, for a child process:
// pg = pg.Pool.query; dlb = Databases.dlb(...).execute(...).getwait() of the checkout in ROOT (src/
// through tsx), dlb-dist = the same from ROOT's built dist/ (`npm run build` first).
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';

const SQL = 'SELECT $1::int AS n';

/** `call()` resolves with the selected number (1); `close()` ends the pool. */
export async function sqlMode(mode, root, pgPort, maxConns, waitSeconds = 2) {
  if (mode === 'pg') {
    const pool = new pg.Pool({ host: '127.0.0.1', port: Number(pgPort), user: 'skitai', database: 'postgres', max: Number(maxConns) });
    return { call: () => pool.query(SQL, [1]).then((r) => r.rows[0].n), close: () => pool.end() };
  }
  // Databases through the package entry: it moved from src/db/ to src/services/, and ROOT may be an
  // older checkout (--before).
  const [dir, ext] = mode === 'dlb-dist' ? ['dist', 'js'] : ['src', 'ts'];
  const { parseConfigText } = await import(pathToFileURL(path.join(root, `${dir}/config/load.${ext}`)).href);
  const { Databases } = await import(pathToFileURL(path.join(root, `${dir}/index.${ext}`)).href);
  const text = `[server]\nport = 0\n[@db]\ntype = postgresql\nmembers = 127.0.0.1:${pgPort}/postgres/skitai\nmax_conns = ${maxConns}\n`;
  const dbs = new Databases({ clusters: parseConfigText(text, '/tmp/site.conf', '/tmp').clusters });
  return { call: () => dbs.dlb('@db').execute(SQL, [1]).getwait(waitSeconds).then((r) => r.data[0].n), close: () => dbs.close() };
}

import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

/**
 * Throwaway PostgreSQL servers for tests: `initdb` into a temp dir, `pg_ctl start` on a free port
 * of 127.0.0.1, `stop()` kills it and deletes the dir. PostgreSQL refuses to run as root, so as
 * root (CI) every server command runs as `nobody` through `runuser`, in a dir that user owns.
 *
 * Roles: `skitai` (superuser, scram-sha-256 password `PASSWORD`), `md5user` (md5 password
 * `MD5_PASSWORD`) and `trustuser` (no password), each with access from 127.0.0.1.
 * Missing binaries are an error, never a skip: CI installs them (`.ci/run`).
 */

export const SUPERUSER = 'skitai';
export const PASSWORD = 'S3cret-pg/pass';
export const MD5_USER = 'md5user';
export const MD5_PASSWORD = 'md5-S3cret';
export const TRUST_USER = 'trustuser';

export interface TestPostgres {
  readonly port: number;
  /** `127.0.0.1:port` */
  readonly node: string;
  readonly dir: string;
  /** A superuser client pool for setup and for watching pg_stat_activity. */
  readonly admin: pg.Pool;
  /** Run SQL as the superuser. */
  query<T extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<pg.QueryResult<T>>;
  /** Stop at once (immediate shutdown): clients see their connections cut, as in a crash. */
  kill(): void;
  /** Start again on the same port after kill(). */
  restart(): Promise<void>;
  /** Stop and delete everything. */
  stop(): Promise<void>;
}

let binDir: string | undefined;

/** The directory holding initdb, pg_ctl and postgres; throws a clear error when there is none. */
export function postgresBin(): string {
  return (binDir ??= findPostgresBin(process.env.PATH ?? '', '/usr/lib/postgresql'));
}

/** Look on `pathEnv`, then under `debianRoot/<version>/bin` (newest first). */
export function findPostgresBin(pathEnv: string, debianRoot: string): string {
  const candidates: string[] = [];
  for (const dir of pathEnv.split(path.delimiter)) {
    const initdb = path.join(dir, 'initdb');
    if (dir && fs.existsSync(initdb)) candidates.push(path.dirname(fs.realpathSync(initdb)));
  }
  if (fs.existsSync(debianRoot)) {
    const versions = fs.readdirSync(debianRoot).filter((v) => /^\d+$/.test(v)).sort((x, y) => Number(y) - Number(x));
    for (const v of versions) candidates.push(path.join(debianRoot, v, 'bin'));
  }
  const found = candidates.find((d) => ['initdb', 'pg_ctl', 'postgres'].every((b) => fs.existsSync(path.join(d, b))));
  if (!found) {
    throw new Error(`PostgreSQL server binaries (initdb, pg_ctl, postgres) not found on PATH or under ${debianRoot}/*/bin: install them (Debian: apt-get install postgresql; .ci/run does this)`);
  }
  return found;
}

const asRoot = process.getuid?.() === 0;

function run(cmd: string, args: string[], options: { allowFail?: boolean } = {}): SpawnSyncReturns<string> {
  const full = path.join(postgresBin(), cmd);
  const [file, argv] = asRoot ? ['runuser', ['-u', 'nobody', '--', full, ...args]] : [full, args];
  const r = spawnSync(file, argv, { encoding: 'utf8', timeout: 60_000, cwd: os.tmpdir() });
  if (r.error) throw r.error;
  if (r.status !== 0 && !options.allowFail) throw new Error(`${cmd} failed (exit ${r.status}): ${r.stderr || r.stdout}`);
  return r;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** initdb + start one server with the test roles and a `skitai` database holding table `items`. */
export async function startPostgres(): Promise<TestPostgres> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-pg-'));
  fs.chmodSync(dir, 0o700);
  if (asRoot) {
    const nobody = spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' });
    const uid = Number(nobody.stdout.trim());
    const gid = Number(spawnSync('id', ['-g', 'nobody'], { encoding: 'utf8' }).stdout.trim());
    fs.chownSync(dir, uid, gid);
  }
  const data = path.join(dir, 'data');
  const pwfile = path.join(dir, 'pw');
  fs.writeFileSync(pwfile, `${PASSWORD}\n`);
  if (asRoot) fs.chownSync(pwfile, fs.statSync(dir).uid, fs.statSync(dir).gid);
  run('initdb', ['-D', data, '-U', SUPERUSER, `--pwfile=${pwfile}`, '--auth-local=trust', '--auth-host=scram-sha-256', '--no-sync', '-E', 'UTF8', '--locale=C']);
  fs.writeFileSync(path.join(data, 'pg_hba.conf'), [
    'local all all trust',
    `host all ${TRUST_USER} 127.0.0.1/32 trust`,
    `host all ${MD5_USER} 127.0.0.1/32 md5`,
    'host all all 127.0.0.1/32 scram-sha-256',
    '',
  ].join('\n'));
  const port = await freePort();
  const log = path.join(dir, 'server.log');
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=50 -c shared_buffers=16MB`;
  const start = (): void => void run('pg_ctl', ['-D', data, '-l', log, '-o', opts, '-w', '-t', '30', 'start']);
  try {
    start();
  } catch (err) {
    const text = fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '';
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`${(err as Error).message}\n${text}`);
  }
  const admin = new pg.Pool({ host: '127.0.0.1', port, user: SUPERUSER, password: PASSWORD, database: 'postgres', max: 3 });
  admin.on('error', () => {}); // a killed server cuts idle admin connections
  try {
    await setUp(admin, port);
  } catch (err) {
    await admin.end().catch(() => {});
    run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop'], { allowFail: true });
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  let stopped = false;
  return {
    port,
    node: `127.0.0.1:${port}`,
    dir,
    admin,
    query: (sql, params) => admin.query(sql, params),
    kill() {
      run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop'], { allowFail: true });
    },
    async restart() {
      start();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await admin.end().catch(() => {});
      run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop'], { allowFail: true });
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Roles, the `skitai` database and its `items` table. */
async function setUp(admin: pg.Pool, port: number): Promise<void> {
  await admin.query(`SET password_encryption = 'md5'; CREATE ROLE ${MD5_USER} LOGIN PASSWORD '${MD5_PASSWORD}'`);
  await admin.query(`CREATE ROLE ${TRUST_USER} LOGIN`);
  await admin.query(`CREATE DATABASE skitai OWNER ${SUPERUSER}`);
  const db = new pg.Client({ host: '127.0.0.1', port, user: SUPERUSER, password: PASSWORD, database: 'skitai' });
  await db.connect();
  try {
    await db.query(`CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL);
      INSERT INTO items VALUES (1, 'one'), (2, 'two'), (3, 'three');
      GRANT ALL ON items TO ${MD5_USER}, ${TRUST_USER}`);
  } finally {
    await db.end();
  }
}

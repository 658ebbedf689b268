import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Status } from '../../src/call/status.js';
import { parseConfigText } from '../../src/config/load.js';
import { Databases } from '../../src/services/databases.js';
import type { DbResult } from '../../src/transport/pg/result.js';
import { PASSWORD, SUPERUSER, startPostgres, type TestPostgres } from '../support/postgres.js';
import { until } from '../support/until.js';

// A query that ends while others wait for a connection hands its connection straight to the oldest
// of them (src/transport/pg/pool.ts, `handOver`) — unless that connection must not be reused:
// cancelled on the server, or lost. One connection (max_conns = 1), so every query waits its turn.

let pg: TestPostgres;
const open: Databases[] = [];

before(async () => {
  pg = await startPostgres();
});

after(async () => {
  await Promise.all(open.map((d) => d.close()));
  await pg?.stop();
});

function databases(): Databases {
  const text = `[@db]\ntype = postgresql\nmembers = ${pg.node}/skitai/${SUPERUSER}/${encodeURIComponent(PASSWORD)}\nmax_conns = 1\n`;
  const dbs = new Databases({ clusters: parseConfigText(text, '/tmp/site.conf', '/tmp').clusters, closeGrace: 200 });
  open.push(dbs);
  return dbs;
}

/** The backend a statement ran on (`pid` column), or undefined when it did not run. */
const pidOf = (r: DbResult): number | undefined => (r.data as { pid: number }[] | null)?.[0]?.pid;

/** Whether our pool's one backend is running a statement marked `marker`. */
async function running(marker: string): Promise<boolean> {
  const r = await pg.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'skitai' AND state = 'active' AND query LIKE $1`, [`%${marker}%`]);
  return r.rows[0]!.n === 1;
}

test('waiting queries run in order on the one connection, and the pool counts their waits', async () => {
  const dbs = databases();
  const order: number[] = [];
  const calls = Array.from({ length: 5 }, (_, i) =>
    dbs.dlb('@db').execute('SELECT $1::int AS n, pg_backend_pid() AS pid', [i]).getwait(5).then((r) => {
      order.push((r.data as { n: number }[])[0]!.n);
      return r;
    }));
  const rs = await Promise.all(calls);
  assert.deepEqual(rs.map((r) => [r.status, r.code]), Array.from({ length: 5 }, () => [Status.NORMAL, 200]));
  assert.deepEqual(order, [0, 1, 2, 3, 4], 'oldest waiter first');
  assert.equal(new Set(rs.map(pidOf)).size, 1, 'one connection for all');
  const status = dbs.status().clusters.db!.pools[`${pg.node}/skitai`]!;
  assert.deepEqual([status.total, status.idle, status.waiting, status.running], [1, 1, 0, 0], 'the connection is back in the pool, idle');
  assert.equal(status.waits, 4, 'four queries found the connection taken');
});

test('after a statement error the next waiting query runs on the same connection', async () => {
  const dbs = databases();
  const bad = dbs.dlb('@db').execute('SELECT 1 / (pg_backend_pid() - pg_backend_pid()) AS boom').getwait(5);
  const next = dbs.dlb('@db').execute('SELECT pg_backend_pid() AS pid').getwait(5);
  const failed = await bad;
  assert.deepEqual([failed.status, failed.code, failed.sqlstate], [Status.NORMAL, 500, '22012']);
  const ok = await next;
  assert.equal(ok.status, Status.NORMAL);
  const again = await dbs.dlb('@db').execute('SELECT pg_backend_pid() AS pid').getwait(5);
  assert.equal(pidOf(again), pidOf(ok), 'still the one connection');
});

test('a query cancelled at its deadline does not pass its connection on: the waiting one gets a fresh connection', async () => {
  const dbs = databases();
  const first = await dbs.dlb('@db').execute('SELECT pg_backend_pid() AS pid').getwait(5);
  const slow = dbs.dlb('@db').execute('SELECT pg_sleep(10) /* handover-cancel */').getwait(0.5);
  await until(() => running('handover-cancel'), 10_000, 'the slow statement running');
  const waiting = dbs.dlb('@db').execute('SELECT pg_backend_pid() AS pid').getwait(10);
  const cut = await slow;
  assert.deepEqual([cut.status, cut.code], [Status.TIMEOUT, 'SKT_DB_TIMEOUT']);
  assert.match(cut.msg, /cancelled on the server/);
  const next = await waiting;
  assert.equal(next.status, Status.NORMAL, next.msg);
  assert.notEqual(pidOf(next), pidOf(first), 'the cancelled connection was not reused');
});

test('a connection the server ended mid-query is not passed on: the waiting query runs on a new one', async () => {
  const dbs = databases();
  const first = await dbs.dlb('@db').execute('SELECT pg_backend_pid() AS pid').getwait(5);
  const doomed = dbs.dlb('@db').execute('SELECT pg_sleep(10) /* handover-kill */').getwait(10);
  await until(() => running('handover-kill'), 10_000, 'the doomed statement running');
  const waiting = dbs.dlb('@db').execute('SELECT pg_backend_pid() AS pid').getwait(10);
  await pg.query(`SELECT pg_terminate_backend($1)`, [pidOf(first)]);
  const lost = await doomed;
  assert.deepEqual([lost.status, lost.code], [Status.NETERR, 'SKT_DB_NETWORK']);
  const next = await waiting;
  assert.equal(next.status, Status.NORMAL, next.msg);
  assert.notEqual(pidOf(next), pidOf(first));
});

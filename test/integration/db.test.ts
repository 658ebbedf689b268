import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PASSWORD, SUPERUSER, startPostgres, type TestPostgres } from '../support/postgres.js';
import { startSite, type TestSite } from '../support/site.js';
import { until } from '../support/until.js';

// A whole site against a real PostgreSQL server whose two databases are the cluster's two members
// (test/db/ kills whole servers; here one server keeps the suite light): the config's [@db]
// section, an app route using was.dmap / was.dlb / was.db, was.status(), and shutdown closing the pools.
const APP = `
import { App, Status } from 'skitai';
export const app = new App();
app.route('/items', async (was, { max = '3' }) => {
  const s = was.dmap('@db').execute('SELECT id, name FROM items WHERE id <= $1 ORDER BY id', [Number(max)]);
  const results = await s.getswait(2);
  return results.filter((r) => r.status === Status.NORMAL).flatMap((r) => r.data);
});
app.route('/one', async (was, { id }) => {
  const r = await was.dlb('@db').execute('SELECT name FROM items WHERE id = $1', [Number(id)]).getwait(2);
  return { status: r.status, code: r.code, data: r.data, sqlstate: r.sqlstate ?? null };
});
app.route('/bad', async (was) => {
  const r = await was.dlb('@db').execute('SELECT * FROM no_such_table').getwait(2);
  return { status: r.status, code: r.code, sqlstate: r.sqlstate, msg: r.msg };
});
app.route('/adhoc', async (was, { server, password }) => {
  const r = await was.db(server, 'skitai', '${SUPERUSER}', password).execute('SELECT current_user AS u').getwait(2);
  return { status: r.status, code: r.code, data: r.data, msg: r.msg };
});
app.route('/view', (was) => was.status().databases);
app.route('/query', async (was) => {
  const r = await was.dlb('@db').execute('SELECT current_query() AS q').getwait(2);
  return { q: r.data?.[0]?.q ?? r.msg };
});
`;

let a: TestPostgres;
let site: TestSite;

before(async () => {
  a = await startPostgres();
  await a.query('CREATE DATABASE skitai2 TEMPLATE skitai');
  const password = encodeURIComponent(PASSWORD);
  site = await startSite(
    `[routes:line]
/ = ./app

[@db]
type = postgresql
members = ${a.node}/skitai/${SUPERUSER}/${password}, ${a.node}/skitai2/${SUPERUSER}/${password}
max_conns = 4
`,
    { 'app.ts': APP },
  );
});

after(async () => {
  await site?.close();
  await a?.stop();
});

const get = async (path: string): Promise<unknown> => {
  const res = await fetch(`${site.base}${path}`);
  assert.equal(res.status, 200, `${path}: ${res.status}`);
  return res.json();
};

test('an app route gathers rows from every member with was.dmap', async () => {
  assert.deepEqual(await get('/items?max=2'), [{ id: 1, name: 'one' }, { id: 2, name: 'two' }, { id: 1, name: 'one' }, { id: 2, name: 'two' }]);
});

test('was.dlb answers rows; a SQL error is a result the route can show, not a 500', async () => {
  assert.deepEqual(await get('/one?id=3'), { status: 3, code: 200, data: [{ name: 'three' }], sqlstate: null });
  const bad = (await get('/bad')) as { status: number; code: number; sqlstate: string; msg: string };
  assert.deepEqual([bad.status, bad.code, bad.sqlstate], [3, 500, '42P01']);
  assert.match(bad.msg, /relation "no_such_table" does not exist/);
});

test('was.db with a wrong password: NETERR without the password, nothing in the log holds it', async () => {
  const good = (await get(`/adhoc?server=${a.node}&password=${encodeURIComponent(PASSWORD)}`)) as { data: unknown };
  assert.deepEqual(good.data, [{ u: SUPERUSER }]);
  const wrong = (await get(`/adhoc?server=${a.node}&password=Wr0ngPass`)) as { status: number; code: string; msg: string };
  assert.deepEqual([wrong.status, wrong.code], [2, 'SKT_DB_CONNECT']);
  assert.ok(!wrong.msg.includes('Wr0ngPass'));
  assert.ok(!site.logLines.some((l) => l.includes(PASSWORD) || l.includes('Wr0ngPass')));
});

test('was.status() shows the cluster, its members and pools, never a password', async () => {
  const view = (await get('/view')) as { clusters: Record<string, { type: string; members: { node: string }[]; pools: Record<string, { total: number }> }> };
  const db = view.clusters.db!;
  assert.equal(db.type, 'postgresql');
  assert.deepEqual(db.members.map((m) => m.node), [`${a.node}/skitai`, `${a.node}/skitai2`]);
  assert.ok(Object.values(db.pools).every((p) => p.total >= 1));
  assert.ok(!JSON.stringify(view).includes(PASSWORD));
});

test('a statement sent for a request starts with a /* reqId=… */ comment, as the server sees it', async () => {
  const res = await fetch(`${site.base}/query`);
  const { q } = (await res.json()) as { q: string };
  assert.equal(q, `/* reqId=${res.headers.get('x-request-id')} */ SELECT current_query() AS q`);
});

test('closing the site closes the pools: the servers see no connection of ours', async () => {
  await site.close();
  // A backend exits just after its client hangs up: wait for it to go.
  const count = async (): Promise<number> => (await a.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'skitai'`)).rows[0]!.n as number;
  await until(async () => (await count()) === 0, 10_000, 'no connection of ours left on the server');
});

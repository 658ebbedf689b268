/**
 * `was.dmap` and `was.dlb` from a mounted Node app (test/fixtures/mount/db-listener.js) against a
 * real PostgreSQL server whose two databases are the cluster's two members.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { PASSWORD, SUPERUSER, startPostgres, type TestPostgres } from '../support/postgres.js';
import { startSite, type TestSite } from '../support/site.js';

let pg: TestPostgres;
let site: TestSite;

before(async () => {
  pg = await startPostgres();
  await pg.query('CREATE DATABASE skitai2 TEMPLATE skitai');
  const password = encodeURIComponent(PASSWORD);
  site = await startSite(`[routes:line]
/db = ${path.resolve(import.meta.dirname, '../fixtures/mount/db-listener.js')}:default

[@db]
type = postgresql
members = ${pg.node}/skitai/${SUPERUSER}/${password}, ${pg.node}/skitai2/${SUPERUSER}/${password}
`);
});

after(async () => {
  await site?.close();
  await pg?.stop();
});

test('a mounted listener queries every member with was.dmap and one with was.dlb', async () => {
  const res = await fetch(`${site.base}/db`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { every: ['skitai', 'skitai2'], one: [{ n: 42 }] });
});

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Status } from '../../src/call/status.js';
import { isSkitaiError, type ErrorCode } from '../../src/errors.js';
import { Services } from '../../src/services/services.js';
import { clusterConfig } from '../cluster/helpers.js';
import { manualClock } from '../support/clock.js';
import { until } from '../support/until.js';
import { Members, type Member } from '../support/plain-members.js';

// One Services per worker: both faces over one registry, clock and set of result caches. The HTTP
// member is real (127.0.0.1); the PostgreSQL member is never connected to (its pool opens lazily).

const members = new Members();
let api: Member;

before(async () => {
  api = await members.start((req, res) => res.setHeader('content-type', 'application/json').end(JSON.stringify({ url: req.url })));
});
after(() => members.closeAll());

function services(clock = manualClock()): Services {
  return new Services({
    clock,
    clusters: [
      clusterConfig({ members: api.node }, 'api'),
      clusterConfig({ type: 'postgresql', members: '127.0.0.1:1/app/user/secret' }, 'db'),
      clusterConfig({ members: api.node, breaker: 'no' }, 'more'),
    ],
  });
}

const usage = (code: ErrorCode, text: RegExp) => (err: unknown) => isSkitaiError(err, code) && text.test(err.message);

describe('Services', () => {
  test('one registry: each face finds its own clusters and names the type of the other\'s', async () => {
    const s = services();
    try {
      assert.deepEqual([s.clients.clusterNames, s.databases.clusterNames], [['api', 'more'], ['db']]);
      assert.deepEqual(s.clusters().map((c) => c.name), ['api', 'more', 'db'], 'HTTP then PostgreSQL, each in config order');
      assert.throws(() => s.clients.lb('@db/x', 'GET'), usage('SKT_CLUSTER_TYPE', /@db is a postgresql cluster; use the database calls/));
      assert.throws(() => s.databases.dlb('@api'), usage('SKT_CLUSTER_TYPE', /@api is an HTTP cluster; use was\.map\/was\.lb/));
      assert.throws(() => s.clients.lb('@nope/x', 'GET'), usage('SKT_CLUSTER_UNKNOWN', /no cluster @nope is configured \(known: @api, @more\)/));
      assert.throws(() => s.databases.dlb('@nope'), usage('SKT_CLUSTER_UNKNOWN', /no PostgreSQL cluster @nope is configured \(known: @db\)/));
      const r = await s.clients.lb('@api/x', 'GET').getwait(10);
      assert.deepEqual([r.status, r.data], [Status.NORMAL, { url: '/x' }]);
      const status = s.status();
      assert.deepEqual(Object.keys(status.clusters), ['api', 'more']);
      assert.deepEqual(Object.keys(status.databases.clusters), ['db']);
      assert.equal(status.clusters.api!.members[0]!.requests, 1);
      assert.deepEqual(status.databases.adhoc, {});
    } finally {
      await s.close();
    }
  });

  test('the result cache expires on the services\' clock', async () => {
    const clock = manualClock();
    const s = services(clock);
    try {
      const hits = api.hits;
      (await s.clients.lb('@api/cached', 'GET').getwait(10)).cache(2);
      clock.advance(1999);
      assert.equal((await s.clients.lb('@api/cached', 'GET').getwait(10)).fromCache, true, '1 ms before it expires');
      clock.advance(1);
      assert.equal((await s.clients.lb('@api/cached', 'GET').getwait(10)).fromCache, false, 'expired at 2 s exactly');
      assert.equal(api.hits, hits + 2);
      assert.deepEqual([s.status().resultCache.hits, s.status().databases.resultCache.hits], [1, 0], 'one cache per protocol');
    } finally {
      await s.close();
    }
  });

  test('close() closes both faces: later calls are NETERR, not thrown', async () => {
    const s = services();
    await s.close();
    const http = await s.clients.lb('@api/x', 'GET').getwait(1);
    assert.deepEqual([http.status, http.code], [Status.NETERR, 'SKT_CLIENT_CLOSED']);
    const sql = await s.databases.dlb('@db').execute('SELECT 1').getwait(1);
    assert.deepEqual([sql.status, sql.code], [Status.NETERR, 'SKT_DB_CLOSED']);
    await s.close(); // twice is harmless
  });

  test('close() stops every cluster timer of both types: health checks and DNS re-resolution', async () => {
    const clock = manualClock();
    const s = new Services({
      clock,
      lookup: async () => [{ address: '127.0.0.1' }],
      clusters: [
        clusterConfig({ members: api.node, health_check_path: '/health', health_check_interval: '1s' }, 'api'),
        clusterConfig({ type: 'postgresql', members: 'db.test:1/app/user/secret', resolve: 'yes', health_check: 'yes' }, 'db'),
      ],
    });
    await until(() => clock.pending >= 3, 10_000, 'the health-check intervals and the DNS round\'s timer');
    await s.close();
    assert.equal(clock.pending, 0, 'no timer left to fire after shutdown');
  });

  test('a bad section stops the build, naming its file and line', () => {
    assert.throws(
      () => new Services({ clusters: [clusterConfig({ members: api.node }, 'ok'), clusterConfig({ type: 'postgresql', members: 'db:5432/app/u/p', max_conns: 'many' }, 'bad')] }),
      (err: unknown) => isSkitaiError(err) && /site\.conf/.test(err.message) && /max_conns/.test(err.message),
    );
  });
});

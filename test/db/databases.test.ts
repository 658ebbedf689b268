import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Status } from '../../src/call/status.js';
import { parseConfigText } from '../../src/config/load.js';
import { Databases } from '../../src/services/databases.js';
import type { DbResult } from '../../src/transport/pg/result.js';
import { isSkitaiError } from '../../src/errors.js';
import { Logger } from '../../src/log/logger.js';
import type { Clock } from '../../src/cluster/clock.js';
import { manualClock } from '../support/clock.js';
import { MD5_PASSWORD, MD5_USER, PASSWORD, SUPERUSER, TRUST_USER, startPostgres, type TestPostgres } from '../support/postgres.js';

// Two real servers, so one can be killed: a and b. The password holds a "/" (written %2F).
let a: TestPostgres;
let b: TestPostgres;
const open: Databases[] = [];
const logLines: string[] = [];

const member = (p: TestPostgres, weight = 1): string => `${p.node}/skitai/${SUPERUSER}/${encodeURIComponent(PASSWORD)} ${weight}`;

function databases(extra = '', members = `${member(a)}, ${member(b)}`, clock?: Clock): Databases {
  const text = `[server]\nport = 0\n[@db]\ntype = postgresql\nmembers = ${members}\n${extra}\n`;
  const config = parseConfigText(text, '/tmp/site.conf', '/tmp');
  const logger = new Logger({ write: (l) => void logLines.push(l), reopen() {}, async close() {} }, true);
  const dbs = new Databases({ clusters: config.clusters, logger, closeGrace: 200, ...(clock ? { clock } : {}) });
  open.push(dbs);
  return dbs;
}

/** Poll until `check` holds or `ms` pass; returns whether it held. */
async function until(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = performance.now() + ms;
  while (!(await check())) {
    if (performance.now() > end) return false;
    await sleep(25);
  }
  return true;
}

/** A port of 127.0.0.1 nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Backends of our pools that are running a statement matching `pattern`. */
async function running(p: TestPostgres, pattern: string): Promise<number> {
  const r = await p.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'skitai' AND state = 'active' AND query LIKE $1`, [pattern]);
  return r.rows[0]!.n as number;
}

const noSecret = (r: DbResult): void => {
  assert.ok(!r.msg.includes(PASSWORD) && !r.msg.includes(encodeURIComponent(PASSWORD)), `password in "${r.msg}"`);
  assert.ok(!r.error?.message.includes(PASSWORD), 'password in the error');
};

before(async () => {
  [a, b] = await Promise.all([startPostgres(), startPostgres()]);
});

after(async () => {
  await Promise.all(open.map((d) => d.close()));
  await Promise.all([a?.stop(), b?.stop()]);
  assert.ok(!logLines.some((l) => l.includes(PASSWORD)), 'a log line holds the password');
});

describe('dmap and dlb on two servers', () => {
  test('dmap: one Result per live member, rows as objects, fields, command', async () => {
    const dbs = databases();
    const s = dbs.dmap('@db').execute('SELECT id, name, current_setting($1) AS port FROM items WHERE id <= $2 ORDER BY id', ['port', 2]);
    const results = await s.getswait(2);
    assert.equal(results.length, 2);
    assert.deepEqual(results.map((r) => r.node), [`${a.node}/skitai`, `${b.node}/skitai`]);
    for (const [i, r] of results.entries()) {
      assert.deepEqual([r.status, r.code, r.msg], [Status.NORMAL, 200, 'OK']);
      const port = String([a, b][i]!.port);
      assert.deepEqual(r.data, [{ id: 1, name: 'one', port }, { id: 2, name: 'two', port }]);
      assert.deepEqual(r.fields.map((f) => f.name), ['id', 'name', 'port']);
      assert.equal(r.command, 'SELECT');
      assert.equal(r.rowCount, 2);
    }
    await assert.rejects(dbs.dmap('@db').execute('SELECT 1').getwait(2), (err: unknown) => isSkitaiError(err, 'SKT_DB_USAGE') && /use getswait/.test(err.message));
  });

  test('dlb: one member per call, spread by weight', async () => {
    const dbs = databases();
    const ports: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await dbs.dlb('@db').execute(`SELECT current_setting('port') AS port`).getwait(2);
      assert.equal(r.status, Status.NORMAL);
      ports.push((r.data as { port: string }[])[0]!.port);
    }
    assert.deepEqual(ports.sort(), [a.port, a.port, b.port, b.port].map(String).sort());
  });

  test('a bad statement is NORMAL with code 500, the SQLSTATE and the error; never a rejection; the member stays healthy', async () => {
    const dbs = databases();
    const r = await dbs.dlb('@db').execute('SELEC 1').getwait(2);
    assert.deepEqual([r.status, r.code, r.sqlstate], [Status.NORMAL, 500, '42601']);
    assert.match(r.msg, /^ERROR 42601: syntax error at or near "SELEC"/);
    assert.equal((r.error as { code?: string }).code, '42601');
    assert.equal(r.data, null);
    const dup = await dbs.dlb('@db').execute('INSERT INTO items VALUES (1, $1)', ['again']).getwait(2);
    assert.deepEqual([dup.status, dup.code, dup.sqlstate], [Status.NORMAL, 500, '23505']);
    const status = dbs.status().clusters.db!;
    assert.ok(status.members.every((m) => m.state === 'healthy' && m.failures === 0));
    // The connection that saw the errors is reused, healthy.
    const ok = await dbs.dlb('@db').execute('SELECT 1 AS one').getwait(2);
    assert.deepEqual(ok.data, [{ one: 1 }]);
  });

  test('a parameter the driver cannot send is SKT_DB_USAGE at execute(), not a lost connection that ejects the member', async () => {
    const dbs = databases('eject_failures = 1');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const bad of [{ n: 1n }, cyclic]) {
      assert.throws(() => dbs.dlb('@db').execute('SELECT $1::jsonb AS j', [1, bad]), (err: unknown) => isSkitaiError(err, 'SKT_DB_USAGE') && /parameter \$2 cannot be sent/.test(err.message));
    }
    assert.deepEqual(dbs.status().clusters.db!.members.map((m) => m.state), ['healthy', 'healthy']);
    const when = new Date('2024-05-06T07:08:09Z');
    const r = await dbs.dlb('@db').execute('SELECT $1::jsonb AS j, $2::timestamptz = $3::timestamptz AS same, $4::int[] AS a', [{ n: 1 }, when, '2024-05-06T07:08:09Z', [1, 2]]).getwait(2);
    assert.equal(r.status, Status.NORMAL, r.msg);
    assert.deepEqual(r.data, [{ j: { n: 1 }, same: true, a: [1, 2] }]);
  });

  test('filter runs on each result as it arrives and may rewrite data; a filter that throws rejects getwait', async () => {
    const dbs = databases();
    const seen: string[] = [];
    const s = dbs.dmap('@db', {
      filter: (r) => {
        seen.push(r.node);
        r.data = (r.data ?? []).map((row) => ({ n: row.name }));
      },
    });
    const results = await s.execute('SELECT name FROM items WHERE id = 2').getswait(2);
    assert.deepEqual(results.map((r) => r.data), [[{ n: 'two' }], [{ n: 'two' }]]);
    assert.equal(seen.length, 2);
    const boom = new Error('bug in filter');
    await assert.rejects(dbs.dlb('@db', { filter: () => { throw boom; } }).execute('SELECT 1').getwait(2), boom);
  });

  test('several statements without params: the last one answers', async () => {
    const dbs = databases('', member(a));
    const r = await dbs.dlb('@db').execute('CREATE TEMP TABLE t (x int); INSERT INTO t VALUES (7), (8); SELECT sum(x)::int AS s FROM t').getwait(2);
    assert.deepEqual([r.status, r.code, r.data, r.command], [Status.NORMAL, 200, [{ s: 15 }], 'SELECT']);
  });

  test('one execute per call object; cache(seconds) answers the same statement from memory', async () => {
    const dbs = databases();
    const s = dbs.dlb('@db').execute('SELECT count(*)::int AS n FROM items');
    assert.throws(() => s.execute('SELECT 2'), (err: unknown) => isSkitaiError(err, 'SKT_DB_USAGE'));
    const r = await s.getwait(2);
    r.cache(60);
    const again = await dbs.dlb('@db').execute('SELECT count(*)::int AS n FROM items').getwait(2);
    assert.equal(again.fromCache, true);
    assert.deepEqual(again.data, [{ n: 3 }]);
    const other = await dbs.dlb('@db').execute('SELECT count(*)::int AS n FROM items WHERE id > $1', [1]).getwait(2);
    assert.equal(other.fromCache, false);
    const fresh = await dbs.dlb('@db').execute('SELECT count(*)::int AS n FROM items', undefined, { useCache: false }).getwait(2);
    assert.equal(fresh.fromCache, false);
  });
});

// The call's deadline runs on the test's clock: it falls when the test advances it, once the
// statement is seen running on the server — exact, with no race against a loaded machine.
describe('deadlines cancel on the server', () => {
  test('pg_sleep(10) with getwait(0.5): TIMEOUT at the deadline, and the backend stops at once', async () => {
    const clock = manualClock();
    const dbs = databases('', member(a), clock);
    const waiting = dbs.dlb('@db').execute('SELECT pg_sleep(10) /* deadline-test */').getwait(0.5);
    assert.ok(await until(async () => (await running(a, '%deadline-test%')) === 1, 10_000), 'the query runs');
    clock.advance(499);
    assert.equal(await running(a, '%deadline-test%'), 1, '1 ms before the deadline it still runs');
    clock.advance(1);
    const r = await waiting;
    assert.deepEqual([r.status, r.code], [Status.TIMEOUT, 'SKT_DB_TIMEOUT']);
    assert.match(r.msg, /within 0\.5 s; the query was cancelled on the server/);
    // Under connect_timeout (5 s), after which a stuck connection would be cut instead.
    const t1 = performance.now();
    assert.ok(await until(async () => (await running(a, '%deadline-test%')) === 0, 4000), 'the query still runs on the server');
    assert.ok(performance.now() - t1 < 4000);
  });

  test('query_timeout cuts a query nobody waits for, on the server too', async () => {
    const clock = manualClock();
    const dbs = databases('query_timeout = 1s', member(a), clock);
    const s = dbs.dlb('@db').execute('SELECT pg_sleep(10) /* qt-test */');
    assert.ok(await until(async () => (await running(a, '%qt-test%')) === 1, 10_000), 'the query runs');
    const waiting = s.getwait(5);
    clock.advance(1000);
    const r = await waiting;
    assert.deepEqual([r.status, r.code], [Status.TIMEOUT, 'SKT_DB_TIMEOUT']);
    assert.match(r.msg, /within 1 s; the query was cancelled on the server/);
    // Uncancelled, the statement would run 9 s more.
    assert.ok(await until(async () => (await running(a, '%qt-test%')) === 0, 6000), 'not cancelled at query_timeout');
  });

  test('the wait for a pool slot counts against the same deadline', async () => {
    const clock = manualClock();
    const dbs = databases('max_conns = 1', member(a), clock);
    const busy = dbs.dlb('@db').execute('SELECT pg_sleep(1) AS slept /* slot-holder */');
    assert.ok(await until(async () => (await running(a, '%slot-holder%')) === 1, 10_000), 'the busy query holds the one slot');
    const waiting = dbs.dlb('@db').execute('SELECT 1').getwait(0.3);
    clock.advance(300);
    const queued = await waiting;
    assert.deepEqual([queued.status, queued.code], [Status.TIMEOUT, 'SKT_DB_TIMEOUT']);
    assert.match(queued.msg, /no free connection/);
    assert.equal(await running(a, '%slot-holder%'), 1, 'at the deadline, not when the busy query ended');
    assert.equal((await busy.getwait(10)).status, Status.NORMAL);
    // The slot the timed-out call would have had went back to the pool.
    const after = await dbs.dlb('@db').execute('SELECT 2 AS two').getwait(2);
    assert.deepEqual(after.data, [{ two: 2 }]);
    assert.equal(dbs.status().clusters.db!.pools[`${a.node}/skitai`]!.total, 1);
  });
});

describe('logins', () => {
  test('cluster members log in with scram (password with "/" written %2F) and md5 from the config', async () => {
    const dbs = databases('', `${a.node}/skitai/${MD5_USER}/${MD5_PASSWORD}, ${member(b)}`);
    const results = await dbs.dmap('@db').execute('SELECT current_user AS u').getswait(2);
    assert.deepEqual(results.map((r) => r.data), [[{ u: MD5_USER }], [{ u: SUPERUSER }]]);
  });

  test('was.db: scram and md5 passwords, trust without one; a wrong password is refused without showing it', async () => {
    const dbs = databases();
    const scram = await dbs.db(a.node, 'skitai', SUPERUSER, PASSWORD).execute('SELECT current_user AS u').getwait(2);
    assert.deepEqual(scram.data, [{ u: SUPERUSER }]);
    const md5 = await dbs.db(a.node, 'skitai', MD5_USER, MD5_PASSWORD).execute('SELECT current_user AS u').getwait(2);
    assert.deepEqual(md5.data, [{ u: MD5_USER }]);
    const trust = await dbs.db(a.node, 'skitai', TRUST_USER).execute('SELECT current_user AS u').getwait(2);
    assert.deepEqual(trust.data, [{ u: TRUST_USER }]);
    // Same server, db and user, wrong password: a pool of its own, so it cannot borrow the good login.
    const wrong = await dbs.db(a.node, 'skitai', MD5_USER, 'not-it').execute('SELECT 1').getwait(2);
    assert.deepEqual([wrong.status, wrong.code], [Status.NETERR, 'SKT_DB_CONNECT']);
    assert.match(wrong.msg, /refused the login: password authentication failed for user "md5user" \(SQLSTATE 28P01\)/);
    assert.ok(!wrong.msg.includes('not-it'));
    const nodb = await dbs.db(a.node, 'nope', SUPERUSER, PASSWORD).execute('SELECT 1').getwait(2);
    assert.deepEqual([nodb.status, nodb.code], [Status.NETERR, 'SKT_DB_CONNECT']);
    assert.match(nodb.msg, /3D000/);
    noSecret(nodb);
    assert.deepEqual(Object.keys(dbs.status().adhoc).sort(), [`${a.node}/nope ${SUPERUSER}`, `${a.node}/skitai ${MD5_USER}`, `${a.node}/skitai ${MD5_USER}`, `${a.node}/skitai ${SUPERUSER}`, `${a.node}/skitai ${TRUST_USER}`].sort().filter((k, i, all) => all.indexOf(k) === i));
  });
});

describe('pool bounds and shutdown', () => {
  test('was.db keeps at most maxAdhocPools pools, least recently used closed first', async () => {
    const dbs = new Databases({ maxAdhocPools: 2, closeGrace: 100 });
    open.push(dbs);
    for (const user of [SUPERUSER, TRUST_USER, SUPERUSER, MD5_USER]) {
      const password = user === SUPERUSER ? PASSWORD : user === MD5_USER ? MD5_PASSWORD : undefined;
      const r = await dbs.db(a.node, 'skitai', user, password).execute('SELECT 1').getwait(2);
      assert.equal(r.status, Status.NORMAL, r.msg);
    }
    assert.deepEqual(Object.keys(dbs.status().adhoc).sort(), [`${a.node}/skitai ${MD5_USER}`, `${a.node}/skitai ${SUPERUSER}`]);
  });

  test('a was.db pool with a query in flight is not closed to make room; idle ones are', async () => {
    const dbs = new Databases({ maxAdhocPools: 1, closeGrace: 100 });
    open.push(dbs);
    // 2 s: long enough that a loaded machine still sees it running below.
    const slow = dbs.db(a.node, 'skitai', SUPERUSER, PASSWORD).execute('SELECT 1 AS one, pg_sleep(2) /* busy-pool */');
    assert.ok(await until(async () => (await running(a, '%busy-pool%')) === 1, 2000));
    const other = await dbs.db(a.node, 'skitai', TRUST_USER).execute('SELECT 2 AS two').getwait(2);
    assert.equal(other.status, Status.NORMAL, other.msg);
    const r = await slow.getwait(10);
    assert.deepEqual([r.status, r.msg, r.data], [Status.NORMAL, 'OK', [{ one: 1, pg_sleep: '' }]]);
    await dbs.db(a.node, 'skitai', MD5_USER, MD5_PASSWORD).execute('SELECT 1').getwait(2);
    assert.deepEqual(Object.keys(dbs.status().adhoc), [`${a.node}/skitai ${MD5_USER}`]);
  });

  test('thousands of calls that gave up waiting for a slot leave no waiter behind (no stack overflow when it frees)', async () => {
    const dbs = new Databases({ closeGrace: 100, adhoc: { maxConns: 1 } });
    open.push(dbs);
    const call = (sql: string): ReturnType<Databases['db']> => dbs.db(a.node, 'skitai', SUPERUSER, PASSWORD).execute(sql);
    // Held until the waiters are done, however slow the machine: then cancelled from outside.
    const hold = call('SELECT pg_sleep(30) /* hold-slot */');
    assert.ok(await until(async () => (await running(a, '%hold-slot%')) === 1, 10_000));
    // Under steady traffic a slow query turns into this many timed-out waiters.
    const waits = Array.from({ length: 5000 }, () => call('SELECT 1').getwait(0.05));
    const timedOut = await Promise.all(waits);
    assert.ok(timedOut.every((r) => r.code === 'SKT_DB_TIMEOUT'));
    assert.equal(dbs.status().adhoc[`${a.node}/skitai ${SUPERUSER}`]!.waiting, 0);
    await a.query(`SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE '%hold-slot%' AND pid <> pg_backend_pid()`);
    assert.equal((await hold.getwait(5)).sqlstate, '57014');
    const next = await call('SELECT 2 AS two').getwait(3);
    assert.deepEqual([next.status, next.data], [Status.NORMAL, [{ two: 2 }]]);
  });

  test('close() cancels running queries after the grace period; later calls are NETERR SKT_DB_CLOSED', async () => {
    const dbs = new Databases({ closeGrace: 100, adhoc: { maxConns: 1 } });
    const s = dbs.db(a.node, 'skitai', SUPERUSER, PASSWORD).execute('SELECT pg_sleep(10) /* close-test */');
    assert.ok(await until(async () => (await running(a, '%close-test%')) === 1, 5000));
    const queued = dbs.db(a.node, 'skitai', SUPERUSER, PASSWORD).execute('SELECT 1'); // waits for the one connection
    const t0 = performance.now();
    await dbs.close();
    assert.ok(performance.now() - t0 < 5000, 'close waited for the query'); // it would take 10 s
    for (const r of [await s.getwait(1), await queued.getwait(1)]) assert.deepEqual([r.status, r.code], [Status.NETERR, 'SKT_DB_CLOSED']);
    assert.ok(await until(async () => (await running(a, '%close-test%')) === 0, 5000), 'the query outlived close()');
    const later = await dbs.db(a.node, 'skitai', SUPERUSER, PASSWORD).execute('SELECT 1').getwait(1);
    assert.deepEqual([later.status, later.code], [Status.NETERR, 'SKT_DB_CLOSED']);
  });
});

describe('a dead member', () => {
  test('dmap: the live member answers, the dead one is NETERR naming it without the password; dlb fails over', async () => {
    const dbs = databases('eject_failures = 1\neject_base = 10s');
    await dbs.dmap('@db').execute('SELECT 1').getswait(2); // warm both pools: idle connections die with b
    b.kill();
    try {
      const results = await dbs.dmap('@db').execute('SELECT 1 AS one').getswait(3);
      assert.deepEqual(results.map((r) => r.status), [Status.NORMAL, Status.NETERR]);
      const dead = results[1]!;
      assert.equal(dead.node, `${b.node}/skitai`);
      assert.ok(['SKT_DB_CONNECT', 'SKT_DB_NETWORK'].includes(dead.code as string), String(dead.code));
      assert.match(dead.msg, new RegExp(b.node.replace(/\./g, '\\.')));
      noSecret(dead);
      // Every dlb call answers, whichever member the strategy picks first.
      for (let i = 0; i < 4; i++) {
        const r = await dbs.dlb('@db').execute(`SELECT current_setting('port') AS port`).getwait(3);
        assert.equal(r.status, Status.NORMAL, r.msg);
        assert.deepEqual(r.data, [{ port: String(a.port) }]);
      }
      assert.equal(dbs.status().clusters.db!.members[1]!.state, 'ejected');
    } finally {
      await b.restart();
    }
  });

  test('health_check = yes: a dead member is marked down by probes and left out of dmap, then comes back', async () => {
    const dbs = databases('health_check = yes\nhealth_check_interval = 100ms\nunhealthy_threshold = 2\nhealthy_threshold = 1');
    const state = (): string => dbs.status().clusters.db!.members[1]!.state;
    await dbs.checkHealth();
    assert.equal(state(), 'healthy');
    b.kill();
    try {
      assert.ok(await until(async () => state() === 'down', 10_000), 'b never marked down');
      const results = await dbs.dmap('@db').execute('SELECT 1 AS one').getswait(2);
      assert.deepEqual(results.map((r) => r.node), [`${a.node}/skitai`]);
    } finally {
      await b.restart();
    }
    assert.ok(await until(async () => state() === 'healthy', 10_000), 'b never came back');
    assert.equal((await dbs.dmap('@db').execute('SELECT 1').getswait(2)).length, 2);
  });

  test('dlb over three members, two refusing connections: it answers from the live one, trying each member at most once', async () => {
    const [dead1, dead2] = [await closedPort(), await closedPort()];
    const members = `127.0.0.1:${dead1}/skitai/${SUPERUSER}/x, 127.0.0.1:${dead2}/skitai/${SUPERUSER}/x, ${member(a)}`;
    // No ejection: every call may meet the dead members again, in the strategy's turn.
    const dbs = databases('eject_failures = 100\nretry_budget_min = 1000', members);
    for (let i = 0; i < 6; i++) {
      const r = await dbs.dlb('@db').execute(`SELECT current_setting('port') AS port`).getwait(3);
      assert.equal(r.status, Status.NORMAL, r.msg);
      assert.deepEqual(r.data, [{ port: String(a.port) }]);
    }
    const [d1, d2, live] = dbs.status().clusters.db!.members;
    assert.deepEqual([live!.requests, d1!.inFlight, d2!.inFlight, live!.inFlight], [6, 0, 0, 0]);
    assert.ok(d1!.requests <= 6 && d2!.requests <= 6 && d1!.requests + d2!.requests > 0, `dead members asked ${d1!.requests} and ${d2!.requests} times in 6 calls`);
    // Nothing alive: one attempt per member, then the last member's failure is the answer.
    const none = databases('eject_failures = 100\nretry_budget_min = 1000', `127.0.0.1:${dead1}/skitai/${SUPERUSER}/x, 127.0.0.1:${dead2}/skitai/${SUPERUSER}/x`);
    const r = await none.dlb('@db').execute('SELECT 1').getwait(3);
    assert.deepEqual([r.status, r.code], [Status.NETERR, 'SKT_DB_CONNECT']);
    assert.deepEqual(none.status().clusters.db!.members.map((m) => m.requests), [1, 1]);
  });

  test('connections the server ends, idle or mid-query, over many calls: NETERR for the one running, no crash, the pool goes on', async () => {
    const dbs = databases('max_conns = 2', member(a));
    const ours = async (): Promise<number> =>
      (await a.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'skitai' AND datname = 'skitai'`)).rows[0]!.n as number;
    const kill = (): Promise<unknown> => a.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'skitai' AND datname = 'skitai'`);
    for (let round = 0; round < 3; round++) {
      const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => dbs.dlb('@db').execute('SELECT $1::int AS n', [i]).getwait(3)));
      assert.deepEqual(rs.map((r) => (r.data as { n: number }[] | null)?.[0]?.n), Array.from({ length: 20 }, (_, i) => i));
      // Idle: pg-pool drops them and the log says so.
      assert.ok(await ours() > 0);
      const lost = (): number => logLines.filter((l) => l.includes('idle connection lost')).length;
      const before = lost();
      await kill();
      assert.ok(await until(async () => lost() > before && dbs.status().clusters.db!.pools[`${a.node}/skitai`]!.total === 0, 3000), 'the idle connections lost were not dropped and logged');
      // Mid-query: that call is NETERR (not safe, so no retry); the others are unaffected.
      const slow = dbs.dlb('@db').execute(`SELECT pg_sleep(5) /* mid-${round} */`);
      assert.ok(await until(async () => (await running(a, `%mid-${round}%`)) === 1, 3000), 'the statement never ran');
      await kill();
      const r = await slow.getwait(3);
      assert.deepEqual([r.status, r.code], [Status.NETERR, 'SKT_DB_NETWORK']);
    }
    const last = await dbs.dlb('@db').execute('SELECT 42 AS n').getwait(3);
    assert.deepEqual(last.data, [{ n: 42 }]);
  });

  test('a connection lost mid-query: NETERR, no failover unless the statement is marked safe', async () => {
    const dbs = databases();
    // a is picked first (equal weights, first member); on a the statement sleeps until terminated.
    const sql = (mark: string): string => `SELECT current_setting('port') AS port, pg_sleep(CASE WHEN current_setting('port') = '${a.port}' THEN 5 ELSE 0 END) /* ${mark} */`;
    // Each call has its own mark: a backend just terminated may still be listed for a moment.
    const terminate = async (mark: string): Promise<void> => {
      assert.ok(await until(async () => (await running(a, `%${mark}%`)) > 0, 4000), `${mark} running on a`);
      await a.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE $1 AND pid <> pg_backend_pid()`, [`%${mark}%`]);
    };
    const plain = dbs.dlb('@db').execute(sql('lost-plain'));
    await terminate('lost-plain');
    const r1 = await plain.getwait(3);
    assert.deepEqual([r1.status, r1.code, r1.node], [Status.NETERR, 'SKT_DB_NETWORK', `${a.node}/skitai`]);
    const dbs2 = databases();
    const safe = dbs2.dlb('@db').execute(sql('lost-safe'), undefined, { safe: true });
    await terminate('lost-safe');
    const r2 = await safe.getwait(3);
    assert.equal(r2.status, Status.NORMAL, r2.msg);
    assert.deepEqual((r2.data as { port: string }[])[0]!.port, String(b.port));
  });
});

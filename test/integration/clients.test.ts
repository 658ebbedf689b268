import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Clients } from '../../src/services/clients.js';
import type { Result } from '../../src/call/result.js';
import { Status } from '../../src/call/status.js';
import { makeTestCerts, type TestCerts } from '../support/certs.js';
import { startChildMember, startMember, type MemberServer } from '../support/members.js';
import { clusterConfig } from '../cluster/helpers.js';
import { manualClock } from '../support/clock.js';
import { until } from '../support/until.js';

/**
 * The "done means" list of issue 5 against real member servers on 127.0.0.1: map statuses and
 * deadlines, weighted spread, failover when a member process is killed, re-admission, breaker,
 * hedging, result cache, TLS. Each test builds its own Clients so health state does not leak.
 */

const open: Clients[] = [];
function clients(clusters: Record<string, Record<string, string>>, extra: ConstructorParameters<typeof Clients>[0] = {}): Clients {
  const c = new Clients({ ...extra, clusters: Object.entries(clusters).map(([name, values]) => clusterConfig(values, name)) });
  open.push(c);
  return c;
}

/** Run `n` calls, `width` at a time. */
async function pool<T>(n: number, width: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < n) {
      const i = next++;
      out[i] = await fn(i);
    }
  }));
  return out;
}

const nameOf = (r: Result): string => (r.data as { name: string }).name;

let ok: MemberServer;
let slow: MemberServer;
let broken: MemberServer;
let deadPort: number;

before(async () => {
  [ok, slow, broken] = await Promise.all([startMember('ok'), startMember('slow', { delayMs: 6000 }), startMember('broken', { mode: 'error500' })]);
  const gone = await startMember('gone');
  deadPort = gone.port;
  await gone.kill();
});

after(async () => {
  await Promise.all(open.map((c) => c.close()));
  await Promise.all([ok, slow, broken].map((m) => m.kill()));
});

describe('map', () => {
  test('gathers every member, each with its own status, partial at the deadline and not later', async () => {
    // Time is the test's clock: the deadline falls when the test says, not after a real 1.5 s.
    const clock = manualClock();
    const c = clients({ all: { members: `${ok.node}, ${slow.node}, ${broken.node}, 127.0.0.1:${deadPort}` } }, { clock });
    const filtered: string[] = [];
    const s = c.map('@all/rpc2', 'XMLRPC', undefined, { filter: (r) => void filtered.push(`${r.node}:${r.status}`) });
    s.echo('mozart', 1);
    await until(() => filtered.length === 3, 10_000, 'the three quick members (the slow one answers at 6 s)');
    clock.advance(150); // "request early, use late": the 150 ms count against the 1.5 s
    const waiting = s.getswait(1.5);
    clock.advance(1349);
    assert.equal(filtered.length, 3, '1 ms before the deadline: still waiting for the slow one');
    clock.advance(1);
    const results = await waiting;
    assert.match(results[1]!.msg, /within 1\.5 s/);
    assert.deepEqual(results.map((r) => r.node), [ok.node, slow.node, broken.node, `127.0.0.1:${deadPort}`]);
    const [good, late, error, dead] = results;
    assert.equal(good!.status, Status.NORMAL);
    assert.equal(good!.code, 200);
    assert.deepEqual(good!.data, { name: 'ok', method: 'echo', params: ['mozart', 1] });
    assert.equal(late!.status, Status.TIMEOUT);
    assert.equal(late!.code, 'SKT_CLIENT_TIMEOUT');
    assert.equal(error!.status, Status.NORMAL, 'a 500 is a response: NORMAL with code 500');
    assert.equal(error!.code, 500);
    assert.match(String(error!.data), /Internal Server Error/);
    assert.match(error!.error!.message, /an HTML page/);
    assert.equal(dead!.status, Status.NETERR);
    assert.equal(dead!.code, 'SKT_CLIENT_CONNECT');
    assert.match(dead!.msg, /ECONNREFUSED/);
    assert.equal(filtered.length, 4, 'the filter saw every result, the synthesized timeout too');
  });

  test('JSON-RPC to every member; a fault is a NORMAL result with `fault`', async () => {
    const c = clients({ two: { members: `${ok.node}, ${broken.node}` } });
    broken.mode = 'ok';
    try {
      const results = await c.map('@two/api', 'JSONRPC').math.add(1, 2).getswait(1);
      assert.deepEqual(results.map((r) => [r.status, r.code, nameOf(r), (r.data as { method: string }).method]), [[3, 200, 'ok', 'math.add'], [3, 200, 'broken', 'math.add']]);
      const [fault] = await c.map('@two/api', 'JSONRPC').fail().getswait(1);
      assert.equal(fault!.status, Status.NORMAL);
      assert.equal(fault!.data, null);
      assert.deepEqual(fault!.fault, { code: -32000, message: 'nope', data: { why: 'asked to fail' } });
    } finally {
      broken.mode = 'error500';
    }
  });
});

describe('lb', () => {
  test('spreads by weight within 3 points over 600 calls', async () => {
    const members = await Promise.all([startMember('w1'), startMember('w2'), startMember('w3')]);
    try {
      const c = clients({ w: { members: members.map((m, i) => `${m.node} ${i + 1}`).join(', ') } });
      const results = await pool(600, 12, () => c.lb('@w/x', 'GET').getwait(2));
      assert.ok(results.every((r) => r.status === Status.NORMAL));
      members.forEach((m, i) => {
        const share = m.hits / 600;
        assert.ok(Math.abs(share - (i + 1) / 6) < 0.03, `${m.name}: ${share}`);
      });
    } finally {
      await Promise.all(members.map((m) => m.kill()));
    }
  });

  test('fails over when a member process is killed mid-load (zero failed calls), then re-admits it', async () => {
    const children = await Promise.all([startChildMember('a'), startChildMember('b'), startChildMember('c')]);
    const c = clients({ k: { members: children.map((m) => m.node).join(', '), health_check_path: '/health', health_check_interval: '100ms', healthy_threshold: '2' } });
    let revived: Awaited<ReturnType<typeof startChildMember>> | undefined;
    try {
      const results = await pool(300, 10, async (i) => {
        if (i === 100) await children[1]!.kill();
        return c.lb('@k/item', 'GET', { i }).getwait(3);
      });
      const failed = results.filter((r) => r.status !== Status.NORMAL || r.code !== 200);
      assert.deepEqual(failed.map((r) => `${r.code} ${r.msg}`), []);
      const after = results.slice(150).map(nameOf);
      assert.ok(!after.includes('b'), 'no answer from the killed member');
      const member = () => c.status().clusters.k!.members[1]!;
      assert.notEqual(member().state, 'healthy');
      assert.ok(member().failures >= 1);

      revived = await startChildMember('b', children[1]!.port);
      await until(() => member().state === 'healthy', 10_000, 'active checks to re-admit the member');
      const spread = await pool(60, 6, () => c.lb('@k/item', 'GET').getwait(2));
      const fromB = spread.filter((r) => nameOf(r) === 'b').length;
      assert.ok(fromB >= 15 && fromB <= 25, `the revived member took ${fromB} of 60`);
    } finally {
      await Promise.all([...children, ...(revived ? [revived] : [])].map((m) => m.kill()));
    }
  });

  test('a POST is only sent elsewhere when it certainly did not arrive, or when marked safe', async () => {
    const resetter = await startMember('resetter', { mode: 'reset' });
    try {
      const refused = clients({ r: { members: `127.0.0.1:${deadPort}, ${ok.node}`, eject_failures: '100' } });
      for (let i = 0; i < 4; i++) {
        const r = await refused.lb('@r/form', 'POST', { i }).getwait(2);
        assert.equal(r.status, Status.NORMAL, 'a refused connection never delivered the POST: failover');
      }
      const c = clients({ s: { members: `${resetter.node}, ${ok.node}`, eject_failures: '100', strategy: 'least_connections' } });
      const outcomes = await Promise.all(Array.from({ length: 4 }, () => c.lb('@s/form', 'POST', { a: 1 }).getwait(2)));
      const reset = outcomes.filter((r) => r.status === Status.NETERR);
      assert.ok(reset.length >= 1, 'a POST cut mid-exchange is not retried');
      assert.equal(reset[0]!.code, 'SKT_CLIENT_NETWORK');
      const safe = await Promise.all(Array.from({ length: 4 }, () => c.lb('@s/rpc2', 'XMLRPC', undefined, { safe: true }).lookup(1).getwait(2)));
      assert.ok(safe.every((r) => r.status === Status.NORMAL && nameOf(r) === 'ok'), 'safe RPC calls fail over');
    } finally {
      await resetter.kill();
    }
  });

  test('the breaker opens on the failure rate, fails fast, half-opens to probe and closes', async () => {
    // Real exchanges; the cooldown passes when the test's clock says, exactly, not after a real sleep.
    const flaky = await startMember('flaky', { mode: 'error500' });
    try {
      const clock = manualClock();
      const c = clients({ b: { members: flaky.node, breaker_min_requests: '4', breaker_failure_rate: '50%', breaker_cooldown: '250ms', eject_failures: '1000' } }, { clock });
      const state = () => c.status().clusters.b!.breaker.state;
      for (let i = 0; i < 4; i++) assert.equal((await c.lb('@b/x', 'GET').getwait(1)).code, 500);
      assert.equal(state(), 'open');
      const hits = flaky.hits;
      const fast = await c.lb('@b/x', 'GET').getwait(1);
      assert.equal(fast.status, Status.NETERR);
      assert.equal(fast.code, 'SKT_CLUSTER_BREAKER_OPEN');
      assert.equal(flaky.hits, hits, 'nothing was sent while open');
      clock.advance(249);
      assert.equal(state(), 'open', '1 ms before the cooldown ends');
      assert.equal((await c.lb('@b/x', 'GET').getwait(1)).code, 'SKT_CLUSTER_BREAKER_OPEN');
      clock.advance(1);
      assert.equal(state(), 'half-open');
      assert.equal((await c.lb('@b/x', 'GET').getwait(1)).code, 500, 'the probe goes through');
      assert.equal(state(), 'open', 'a failed probe opens it again');
      flaky.mode = 'ok';
      clock.advance(249);
      assert.equal(state(), 'open', 'a whole cooldown again, counted from the failed probe');
      clock.advance(1);
      const [probe, extra] = await Promise.all([c.lb('@b/x', 'GET').getwait(1), c.lb('@b/x', 'GET').getwait(1)]);
      assert.equal(probe.code, 200);
      assert.equal(extra.code, 'SKT_CLUSTER_BREAKER_OPEN', 'half-open lets one probe through at a time');
      assert.equal(state(), 'closed');
      assert.equal((await c.lb('@b/x', 'GET').getwait(1)).code, 200);
      assert.equal(c.status().clusters.b!.breaker.opens, 2);
      assert.equal(flaky.hits, hits + 3, 'only the two probes and the last call reached the member');
    } finally {
      await flaky.kill();
    }
  });

  test('hedging cuts the tail when one member is slow', async () => {
    // The tortoise never answers in time; the test's clock decides when hedge_delay has passed.
    const tortoise = await startMember('tortoise', { delayMs: 60_000 });
    const hare = await startMember('hare');
    try {
      const clock = manualClock();
      const members = `${tortoise.node}, ${hare.node}`;
      const c = clients({ h: { members, hedge_delay: '40ms', eject_failures: '1000' }, plain: { members, eject_failures: '1000' } }, { clock });
      const tortoiseBusy = (cluster: string): boolean => c.status().clusters[cluster]!.members[0]!.inFlight > 0;
      let hedges = 0;
      for (let i = 0; i < 4; i++) {
        const call = c.lb('@h/x', 'GET').getwait(2); // sent now: the wait starts it
        if (tortoiseBusy('h')) {
          const hareBusy = (): number => c.status().clusters.h!.members[1]!.inFlight;
          clock.advance(39);
          assert.equal(hareBusy(), 0, 'not hedged before 40 ms');
          clock.advance(1);
          assert.equal(hareBusy(), 1, 'hedged at 40 ms');
          hedges++;
        }
        const r = await call;
        assert.deepEqual([r.status, nameOf(r)], [Status.NORMAL, 'hare'], 'the hare answers every call, hedged or asked first');
      }
      assert.equal(hedges, 2, 'round-robin asked the tortoise first every other call');
      const plainCall = c.lb('@plain/x', 'GET').getwait(2);
      const slowFirst = tortoiseBusy('plain') ? plainCall : c.lb('@plain/x', 'GET').getwait(2);
      if (slowFirst !== plainCall) assert.equal((await plainCall).status, Status.NORMAL);
      clock.advance(2000);
      assert.equal((await slowFirst).status, Status.TIMEOUT, 'without hedging the call waits for the slow member to its deadline');
      const status = c.status().clusters.h!;
      assert.equal(status.members[0]!.failures, 0, 'a hedge that lost is not a failure');
      assert.equal(status.retryBudget.retries, 2);
    } finally {
      await Promise.all([tortoise.kill(), hare.kill()]);
    }
  });
});

describe('result cache', () => {
  test('a cached lb, rest and map result answers without a request reaching a member', async () => {
    const c = clients({ one: { members: ok.node }, all: { members: `${ok.node}, ${broken.node}` } }, { resultCacheMax: 10 });
    const before = ok.hits;
    const first = await c.lb('@one/cached', 'GET', { q: 1 }).getwait(1);
    assert.equal(first.fromCache, false);
    first.cache(60);
    const second = await c.lb('@one/cached', 'GET', { q: 1 }).getwait(1);
    assert.equal(second.fromCache, true);
    assert.deepEqual(second.data, first.data);
    assert.equal(ok.hits, before + 1, 'the second call never reached the member');
    await c.lb('@one/cached', 'GET', { q: 2 }).getwait(1);
    assert.equal(ok.hits, before + 2, 'other data, other call');
    const fresh = await c.lb('@one/cached', 'GET', { q: 1 }, { useCache: false }).getwait(1);
    assert.equal(fresh.fromCache, false);
    second.cache(0);
    assert.equal((await c.lb('@one/cached', 'GET', { q: 1 }).getwait(1)).fromCache, false, 'cache(0) dropped it');

    const url = `${ok.url}/page`;
    (await c.get(url).getwait(1)).cache(60);
    const hits = ok.hits;
    assert.equal((await c.get(url).getwait(1)).fromCache, true);
    assert.equal(ok.hits, hits);

    const partial = await c.map('@all/rpc2').who().getswait(1);
    partial.cache(60); // one member answered 500: not kept
    assert.equal((await c.map('@all/rpc2').who().getswait(1))[0]!.fromCache, false);
    broken.mode = 'ok';
    try {
      (await c.map('@all/rpc2').who().getswait(1)).cache(60);
      const [h1, h2] = [ok.hits, broken.hits];
      const cached = await c.map('@all/rpc2').who().getswait(1);
      assert.deepEqual(cached.map((r) => [r.fromCache, nameOf(r)]), [[true, 'ok'], [true, 'broken']]);
      assert.deepEqual([ok.hits, broken.hits], [h1, h2]);
    } finally {
      broken.mode = 'error500';
    }
    assert.ok(c.status().resultCache.hits >= 3);
  });
});

describe('TLS', () => {
  let certs: TestCerts;
  let secure: MemberServer;
  before(async () => {
    certs = makeTestCerts();
    secure = await startMember('secure', { tls: { key: certs.key, cert: certs.cert } });
  });
  after(async () => {
    await secure.kill();
    certs.remove();
  });

  test('a member certified by a trusted test CA works; an untrusted certificate is a NETERR saying why', async () => {
    const c = clients({ trusted: { members: secure.node, ssl: 'yes', ca_file: certs.caFile }, untrusted: { members: secure.node, ssl: 'yes' } });
    const r = await c.lb('@trusted/x', 'GET').getwait(2);
    assert.equal(r.status, Status.NORMAL);
    assert.equal(nameOf(r), 'secure');
    const bad = await c.lb('@untrusted/x', 'GET').getwait(2);
    assert.equal(bad.status, Status.NETERR);
    assert.equal(bad.code, 'SKT_CLIENT_TLS');
    assert.match(bad.msg, /^TLS handshake with 127\.0\.0\.1:\d+ failed: (unable to verify the first certificate|self.signed certificate|unable to get local issuer certificate)/);
    const rest = clients({}, { caFile: certs.caFile });
    assert.equal((await rest.get(`${secure.url}/plain`).getwait(2)).status, Status.NORMAL);
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Cluster } from '../../src/cluster/cluster.js';
import { applyProbe } from '../../src/cluster/health.js';
import type { Member } from '../../src/cluster/member.js';
import { parseClusterOptions } from '../../src/cluster/options.js';
import { clusterConfig, manualClock, seeded } from './helpers.js';

/** Share of `picks` picks that went to `member`. */
function shareOf(cluster: Cluster, member: Member, picks: number): number {
  let hits = 0;
  for (let i = 0; i < picks; i++) if (cluster.pick() === member) hits++;
  return hits / picks;
}

function cluster(strategy: string, extra: Record<string, string> = {}) {
  const clock = manualClock();
  const c = new Cluster(
    parseClusterOptions(clusterConfig({ members: '127.0.0.1:1, 127.0.0.1:2', strategy, eject_failures: '1', eject_base: '1s', slow_start: '10s', ...extra })),
    { clock: clock.now, random: seeded(11) },
  );
  return { clock, c, a: c.members[0]!, b: c.members[1]! };
}

describe('slow start', () => {
  for (const strategy of ['weighted_round_robin', 'least_connections', 'random_of_two']) {
    test(`${strategy}: a member back from an ejection gets a linearly growing share over slow_start`, () => {
      const { clock, c, a, b } = cluster(strategy);
      assert.ok(Math.abs(shareOf(c, b, 2000) - 0.5) < 0.03, 'members the cluster starts with are at full weight at once');
      c.release(c.acquire(b)!, 'failure'); // ejected for 1 s
      assert.equal(shareOf(c, a, 100), 1, 'ejected: no traffic');
      clock.advance(1000); // the ejection ends: the slow start counts from here
      // With weights 1 and f (f = elapsed / window), b's share of the picks is f / (1 + f).
      let at = 0;
      for (const [elapsed, f] of [[0, 0.01], [2500, 0.25], [5000, 0.5], [7500, 0.75]] as const) {
        clock.advance(elapsed - at);
        at = elapsed;
        const want = f / (1 + f);
        const got = shareOf(c, b, 4000);
        assert.ok(Math.abs(got - want) < 0.03, `${elapsed} ms into the window: ${got.toFixed(3)} vs ${want.toFixed(3)}`);
        assert.equal(c.status().members[1]!.share, f);
      }
      clock.advance(2500); // the window is over: full weight
      assert.ok(Math.abs(shareOf(c, b, 2000) - 0.5) < 0.03);
      assert.equal(c.status().members[1]!.share, 1);
    });
  }

  test('a member an active check brings back up warms up from that moment', () => {
    const { clock, c, b } = cluster('weighted_round_robin');
    const check = { intervalMs: 1000, timeoutMs: 100, healthyThreshold: 1, unhealthyThreshold: 1 };
    applyProbe(b, false, check, clock.now());
    assert.equal(b.state(clock.now()), 'down');
    clock.advance(60_000);
    assert.equal(applyProbe(b, true, check, clock.now()), 'up');
    clock.advance(5000);
    const got = shareOf(c, b, 3000);
    assert.ok(Math.abs(got - 1 / 3) < 0.03, `half-way: ${got}`);
  });

  test('off by default: a member back from an ejection takes its full share at once', () => {
    const { clock, c, b } = cluster('weighted_round_robin', { slow_start: '' });
    c.release(c.acquire(b)!, 'failure');
    clock.advance(1000);
    assert.equal(shareOf(c, b, 1000), 0.5);
  });

  test('a lone member warming up still gets every request (panic and single members are never starved)', () => {
    const { clock, c, a, b } = cluster('weighted_round_robin');
    c.release(c.acquire(a)!, 'failure');
    clock.advance(500);
    c.release(c.acquire(b)!, 'failure');
    clock.advance(600); // a is back (warming), b is still ejected
    assert.equal(shareOf(c, a, 100), 1);
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LeastConnections, RandomOfTwo, SmoothWeightedRoundRobin, createBalancer, selectCandidates, type Balancer } from '../../src/cluster/balance.js';
import type { Member } from '../../src/cluster/member.js';
import { members, seeded } from './helpers.js';

function shares(balancer: Balancer, list: Member[], picks: number): number[] {
  const counts = new Map(list.map((m) => [m, 0]));
  for (let i = 0; i < picks; i++) {
    const m = balancer.pick(list);
    counts.set(m, counts.get(m)! + 1);
  }
  return list.map((m) => counts.get(m)! / picks);
}

describe('balancing strategies', () => {
  test('smooth weighted round-robin interleaves like nginx (5,1,1 -> a a b a c a a)', () => {
    const [a, b, c] = members(5, 1, 1);
    const wrr = new SmoothWeightedRoundRobin();
    const order = Array.from({ length: 14 }, () => wrr.pick([a!, b!, c!]));
    const name = new Map([[a, 'a'], [b, 'b'], [c, 'c']]);
    assert.equal(order.map((m) => name.get(m)).join(' '), 'a a b a c a a a a b a c a a');
  });

  for (const strategy of ['weighted_round_robin', 'least_connections', 'random_of_two'] as const) {
    test(`${strategy}: 10,000 idle picks spread by weight 1:2:3 within 2 points`, () => {
      const list = members(1, 2, 3);
      const got = shares(createBalancer(strategy, seeded(7)), list, 10_000);
      [1 / 6, 2 / 6, 3 / 6].forEach((want, i) => assert.ok(Math.abs(got[i]! - want) < 0.02, `member ${i}: ${got[i]} vs ${want}`));
    });
  }

  test('least-connections takes the member with the fewest in flight per weight', () => {
    const [a, b, c] = members(1, 1, 2);
    a!.inFlight = 3;
    b!.inFlight = 1;
    c!.inFlight = 4; // 4 / 2 = 2 per weight
    assert.equal(new LeastConnections().pick([a!, b!, c!]), b);
    b!.inFlight = 5;
    assert.equal(new LeastConnections().pick([a!, b!, c!]), c);
  });

  test('random-of-two never picks the busier of its two draws', () => {
    const [a, b] = members(1, 1);
    a!.inFlight = 10;
    const p2c = new RandomOfTwo(seeded(3));
    for (let i = 0; i < 200; i++) assert.equal(p2c.pick([a!, b!]), b);
    assert.equal(p2c.pick([a!]), a, 'one candidate is picked whatever its load');
  });

  test('a member back from an outage gets its share again at once', () => {
    const list = members(1, 1, 1);
    const wrr = new SmoothWeightedRoundRobin();
    for (let i = 0; i < 1000; i++) wrr.pick(list.slice(0, 2)); // member 2 is out
    const got = shares(wrr, list, 3000);
    got.forEach((s) => assert.ok(Math.abs(s - 1 / 3) < 0.01, `share ${s}`));
  });
});

describe('candidates', () => {
  test('ejected and down members are skipped while any member is available', () => {
    const [a, b, c] = members(1, 1, 1);
    a!.ejectedUntil = 2000;
    b!.activeDown = true;
    const got = selectCandidates([a!, b!, c!], new Set(), 1000);
    assert.deepEqual(got, { members: [c], panic: false });
  });

  test('panic mode: when every member is out, every member is used', () => {
    const [a, b] = members(1, 1);
    a!.ejectedUntil = 2000;
    b!.activeDown = true;
    assert.deepEqual(selectCandidates([a!, b!], new Set(), 1000), { members: [a, b], panic: true });
    // Ejections end by the clock.
    assert.deepEqual(selectCandidates([a!, b!], new Set(), 2000), { members: [a], panic: false });
  });

  test('members a call already tried are not offered again, panic or not', () => {
    const [a, b, c] = members(1, 1, 1);
    c!.ejectedUntil = 2000;
    assert.deepEqual(selectCandidates([a!, b!, c!], new Set([a!]), 1000).members, [b]);
    assert.deepEqual(selectCandidates([a!, b!, c!], new Set([a!, b!]), 1000), { members: [c], panic: true });
    assert.deepEqual(selectCandidates([a!, b!, c!], new Set([a!, b!, c!]), 1000), { members: [], panic: false });
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Breaker, type BreakerOptions } from '../../src/cluster/breaker.js';
import { RetryBudget } from '../../src/cluster/budget.js';
import { manualClock } from './helpers.js';

const OPTIONS: BreakerOptions = { enabled: true, failureRate: 0.5, minRequests: 10, windowMs: 10_000, cooldownMs: 5000, probes: 2 };

function feed(b: Breaker, ok: number, bad: number): void {
  for (let i = 0; i < ok; i++) b.record(b.admit()!, true);
  for (let i = 0; i < bad; i++) b.record(b.admit()!, false);
}

describe('circuit breaker', () => {
  test('stays closed below the minimum number of requests, whatever the rate', () => {
    const b = new Breaker(OPTIONS, manualClock().now);
    feed(b, 0, 9);
    assert.equal(b.state, 'closed');
    assert.equal(b.admit(), 'pass');
  });

  test('opens at the failure rate, fails fast while open, half-opens after the cooldown', () => {
    const clock = manualClock();
    const b = new Breaker(OPTIONS, clock.now);
    feed(b, 6, 4);
    assert.equal(b.state, 'closed', '40% < 50%');
    feed(b, 0, 2); // 6/12 = 50%
    assert.equal(b.state, 'open');
    assert.equal(b.admit(), undefined);
    clock.advance(4999);
    assert.equal(b.admit(), undefined);
    clock.advance(1);
    assert.equal(b.state, 'half-open');
    assert.equal(b.status().opens, 1);
  });

  test('half-open lets `probes` requests through; as many successes close it', () => {
    const clock = manualClock();
    const b = new Breaker(OPTIONS, clock.now);
    feed(b, 0, 10);
    clock.advance(5000);
    const p1 = b.admit();
    const p2 = b.admit();
    assert.deepEqual([p1, p2, b.admit()], ['probe', 'probe', undefined]);
    b.record(p1!, true);
    assert.equal(b.state, 'half-open');
    b.record(p2!, true);
    assert.equal(b.state, 'closed');
    assert.deepEqual(b.status(), { state: 'closed', requests: 0, failures: 0, opens: 1 });
  });

  test('a failed probe opens it again for another cooldown', () => {
    const clock = manualClock();
    const b = new Breaker(OPTIONS, clock.now);
    feed(b, 0, 10);
    clock.advance(5000);
    b.record(b.admit()!, false);
    assert.equal(b.state, 'open');
    assert.equal(b.admit(), undefined);
    clock.advance(5000);
    assert.equal(b.admit(), 'probe');
    assert.equal(b.status().opens, 2);
  });

  test('a cancelled probe frees its slot without deciding anything', () => {
    const clock = manualClock();
    const b = new Breaker({ ...OPTIONS, probes: 1 }, clock.now);
    feed(b, 0, 10);
    clock.advance(5000);
    b.record(b.admit()!, undefined);
    assert.equal(b.state, 'half-open');
    assert.equal(b.admit(), 'probe');
  });

  test('old failures leave the window', () => {
    const clock = manualClock();
    const b = new Breaker(OPTIONS, clock.now);
    feed(b, 0, 9);
    clock.advance(10_000);
    feed(b, 9, 1);
    assert.equal(b.state, 'closed');
    assert.deepEqual([b.status().requests, b.status().failures], [10, 1]);
  });

  test('results of requests admitted before it opened are ignored', () => {
    const clock = manualClock();
    const b = new Breaker(OPTIONS, clock.now);
    const early = b.admit()!;
    feed(b, 0, 10);
    clock.advance(5000);
    const probe = b.admit()!;
    b.record(early, true);
    assert.equal(b.state, 'half-open');
    b.record(probe, true);
  });

  test('disabled: always pass', () => {
    const b = new Breaker({ ...OPTIONS, enabled: false }, manualClock().now);
    feed(b, 0, 100);
    assert.equal(b.admit(), 'pass');
  });
});

describe('retry budget', () => {
  test('a floor per second, plus a share of requests, over a sliding window', () => {
    const clock = manualClock();
    const budget = new RetryBudget({ ratio: 0.2, minPerSecond: 1, windowMs: 10_000 }, clock.now);
    let granted = 0;
    while (budget.tryRetry()) granted++;
    assert.equal(granted, 10, '1/s over 10 s');
    for (let i = 0; i < 50; i++) budget.onRequest();
    granted = 0;
    while (budget.tryRetry()) granted++;
    assert.equal(granted, 10, '20% of 50 more');
    clock.advance(10_000);
    assert.equal(budget.tryRetry(), true, 'the window moved on');
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ActiveChecker, applyProbe, ejectionPeriod, recordFailure, recordSuccess } from '../../src/cluster/health.js';
import { manualClock, members } from './helpers.js';

const EJECT = { failures: 3, baseMs: 1000, maxMs: 10_000 };
/** Let settled promises run their continuations (no time passes: the clock is the test's). */
const drained = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const CHECK = { intervalMs: 50, timeoutMs: 100, healthyThreshold: 2, unhealthyThreshold: 3 };

describe('passive ejection', () => {
  test('the period doubles per ejection in a row and stops at the cap', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6, 50, 5000].map((n) => ejectionPeriod(n, EJECT)), [1000, 2000, 4000, 8000, 10_000, 10_000, 10_000, 10_000]);
  });

  test('ejects after N failures in a row, not before; a success in between resets the count', () => {
    const [m] = members(1);
    const clock = manualClock();
    assert.equal(recordFailure(m!, EJECT, clock.now()), false);
    assert.equal(recordFailure(m!, EJECT, clock.now()), false);
    recordSuccess(m!);
    assert.equal(recordFailure(m!, EJECT, clock.now()), false);
    assert.equal(recordFailure(m!, EJECT, clock.now()), false);
    assert.equal(recordFailure(m!, EJECT, clock.now()), true);
    assert.equal(m!.state(clock.now()), 'ejected');
    assert.equal(m!.ejectedUntil - clock.now(), 1000);
  });

  test('on probation one failure ejects again for twice as long; a success forgives', () => {
    const [m] = members(1);
    const clock = manualClock();
    for (let i = 0; i < 3; i++) recordFailure(m!, EJECT, clock.now());
    const periods: number[] = [];
    for (let round = 0; round < 4; round++) {
      clock.advance(m!.ejectedUntil - clock.now());
      assert.equal(m!.isAvailable(clock.now()), true, 'back after the period');
      assert.equal(recordFailure(m!, EJECT, clock.now()), true);
      periods.push(m!.ejectedUntil - clock.now());
    }
    assert.deepEqual(periods, [2000, 4000, 8000, 10_000]);
    clock.advance(10_000);
    recordSuccess(m!);
    assert.equal(m!.ejections, 0);
    assert.equal(recordFailure(m!, EJECT, clock.now()), false, 'a forgiven member needs N failures again');
  });

  test('failures while ejected (requests already in flight) do not stack periods', () => {
    const [m] = members(1);
    const clock = manualClock();
    for (let i = 0; i < 3; i++) recordFailure(m!, EJECT, clock.now());
    const until = m!.ejectedUntil;
    for (let i = 0; i < 5; i++) assert.equal(recordFailure(m!, EJECT, clock.now()), false);
    assert.equal(m!.ejectedUntil, until);
    assert.equal(m!.totalEjections, 1);
    assert.equal(m!.failures, 8);
  });
});

describe('active checks', () => {
  test('unhealthy_threshold failed probes mark a member down; healthy_threshold good ones bring it back', () => {
    const [m] = members(1);
    const now = 0;
    assert.equal(applyProbe(m!, false, CHECK, now), undefined);
    assert.equal(applyProbe(m!, false, CHECK, now), undefined);
    assert.equal(applyProbe(m!, false, CHECK, now), 'down');
    assert.equal(m!.state(now), 'down');
    assert.equal(applyProbe(m!, true, CHECK, now), undefined);
    assert.equal(applyProbe(m!, true, CHECK, now), 'up');
    assert.equal(m!.state(now), 'healthy');
  });

  test('good probes end a passive ejection early', () => {
    const [m] = members(1);
    const clock = manualClock();
    for (let i = 0; i < 3; i++) recordFailure(m!, EJECT, clock.now());
    assert.equal(m!.state(clock.now()), 'ejected');
    applyProbe(m!, true, CHECK, clock.now());
    assert.equal(applyProbe(m!, true, CHECK, clock.now()), 'up');
    assert.equal(m!.state(clock.now()), 'healthy');
    assert.equal(m!.ejections, 0);
  });

  test('the checker probes every member, never two probes of one member at once, and stops on close', async () => {
    const list = members(1, 1);
    const clock = manualClock();
    let calls = 0;
    let release: () => void = () => {};
    const checker = new ActiveChecker(list, CHECK, async (member, signal) => {
      calls++;
      if (member === list[1]) return false;
      await new Promise<void>((resolve) => {
        release = resolve;
        signal.addEventListener('abort', () => resolve());
      });
      return true;
    }, clock.now);
    const first = checker.runOnce();
    const overlapping = checker.runOnce(); // both probes are still running: nothing new starts
    assert.equal(calls, 2);
    release();
    await Promise.all([first, overlapping]);
    const third = checker.runOnce();
    release();
    await third;
    assert.equal(calls, 4);
    assert.equal(list[1]!.probeStreak, -2);
    checker.start();
    assert.equal(calls, 6, 'start() probes at once');
    checker.close(); // also aborts the probe still waiting
    await checker.runOnce();
    assert.equal(calls, 6, 'no probe after close');
  });

  test('a probe that hangs is abandoned at its timeout exactly and counts as failed', async () => {
    const [m] = members(1);
    const clock = manualClock();
    let aborted = false;
    const checker = new ActiveChecker([m!], { ...CHECK, timeoutMs: 30 }, (member, signal) =>
      new Promise((_, reject) => signal.addEventListener('abort', () => ((aborted = true), reject(signal.reason)))), clock.now);
    const round = checker.runOnce();
    clock.advance(29);
    assert.equal(aborted, false, 'still waiting 1 ms before the timeout');
    clock.advance(1);
    assert.equal(aborted, true);
    await round;
    assert.equal(m!.probeStreak, -1);
    assert.equal(clock.now.pending, 0, 'no timer left');
    checker.close();
  });

  test('start() probes at once and then every interval on the clock; close() leaves no timer', async () => {
    const list = members(1);
    const clock = manualClock();
    let calls = 0;
    const checker = new ActiveChecker(list, { ...CHECK, intervalMs: 1000 }, async () => (calls++, true), clock.now);
    checker.start();
    assert.equal(calls, 1);
    await checker.runOnce(); // the first round (a probe in flight is not doubled): let it end
    clock.advance(999);
    assert.equal(calls, 1, 'not before the interval');
    clock.advance(1);
    assert.equal(calls, 2);
    await drained(); // the round's probe settles (a member's probes never overlap)
    clock.advance(1000);
    assert.equal(calls, 3);
    checker.close();
    await drained();
    assert.equal(clock.now.pending, 0, 'neither the interval nor a probe timeout is left');
    clock.advance(5000);
    assert.equal(calls, 3, 'no round after close');
  });
});

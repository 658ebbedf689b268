import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Clock } from '../../src/cluster/clock.js';
import { RollingWindow } from '../../src/cluster/window.js';

/** A clock read from `read`; the window sets no timers. */
const clockOf = (read: () => number): Clock => Object.assign(read, { after: () => ({}), cancel: () => {} });

/** What the window must equal: every count kept with its time, summed over the buckets of the last window. */
class Reference {
  readonly events: { slot: number; a: number; b: number }[] = [];
  constructor(
    readonly bucketMs: number,
    readonly buckets: number,
  ) {}
  add(now: number, a: number, b: number): void {
    this.events.push({ slot: Math.floor(now / this.bucketMs), a, b });
  }
  totals(now: number): [number, number] {
    const oldest = Math.floor(now / this.bucketMs) - this.buckets + 1;
    let a = 0;
    let b = 0;
    for (const e of this.events) if (e.slot >= oldest) [a, b] = [a + e.a, b + e.b];
    return [a, b];
  }
}

test('the running sums equal a recount of the last window, as time moves by steps, by whole buckets and past the window', () => {
  let seed = 7;
  const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (const [windowMs, buckets] of [[10_000, 10], [1000, 4], [60_000, 12]] as const) {
    let now = 1_000_000;
    const w = new RollingWindow(windowMs, clockOf(() => now), buckets);
    const ref = new Reference(windowMs / buckets, buckets);
    for (let step = 0; step < 20_000; step++) {
      const r = random();
      // Mostly small steps, sometimes a bucket or two, now and then a whole quiet window or more.
      now += r < 0.9 ? random() * 50 : r < 0.99 ? random() * windowMs / 2 : windowMs * (1 + random() * 3);
      if (random() < 0.6) {
        w.addA(1, now);
        ref.add(now, 1, 0);
      } else {
        w.addB(1);
        ref.add(now, 0, 1);
      }
      if (step % 7 === 0) {
        const at = now + random() * 100;
        assert.deepEqual(w.totals(at), ref.totals(at), `step ${step}`);
      }
    }
  }
});

test('reset() empties the sums; counts after it start from zero', () => {
  let now = 0;
  const w = new RollingWindow(1000, clockOf(() => now));
  w.addA(3);
  w.addB(2);
  assert.deepEqual(w.totals(), [3, 2]);
  w.reset();
  assert.deepEqual(w.totals(), [0, 0]);
  now = 50;
  w.addB();
  assert.equal(w.sumA(), 0);
  assert.equal(w.sumB(), 1);
  now = 1200;
  assert.equal(w.sumB(), 0, 'the count left the window');
});

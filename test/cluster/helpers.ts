import type { ClusterConfig } from '../../src/config/types.js';
import { Member } from '../../src/cluster/member.js';
import { manualClock as makeClock, type ManualClock } from '../support/clock.js';

/** A clock tests move by hand; `now` is the Clock itself (time and timers, test/support/clock.ts). */
export function manualClock(start = 1_000_000): { now: ManualClock; advance: (ms: number) => void } {
  const clock = makeClock(start);
  return { now: clock, advance: (ms) => clock.advance(ms) };
}

/** mulberry32: a small seeded PRNG so random strategies give the same picks every run. */
export function seeded(seed = 42): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function members(...weights: number[]): Member[] {
  return weights.map((weight, i) => new Member({ host: '127.0.0.1', port: 5001 + i, weight }));
}

/** A `[@name]` section as the config layer hands it over; every key on its own line from 2. */
export function clusterConfig(values: Record<string, string>, name = 'c', file = '/etc/skitai/site.conf'): ClusterConfig {
  const keyLines: Record<string, number> = {};
  Object.keys(values).forEach((k, i) => (keyLines[k] = i + 2));
  return { name, file, line: 1, values, keyLines };
}

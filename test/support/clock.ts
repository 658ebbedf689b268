/**
 * A clock tests move by hand: the same `Clock` the cluster and call layers run on (time and
 * timers), so deadlines, hedging, gathering, ejections and budgets move instantly and exactly.
 * `advance(ms)` fires the timers that fall due, in time order, each at its own time.
 */
import type { Clock, ClockTimer } from '../../src/cluster/clock.js';

interface Timer extends ClockTimer {
  at: number;
  fn: () => void;
  live: boolean;
  seq: number;
}

export interface ManualClock extends Clock {
  /** Move time on by `ms`, firing the timers due on the way. */
  advance(ms: number): void;
  /** Timers armed and not yet fired or cancelled. */
  readonly pending: number;
}

export function manualClock(start = 1_000_000): ManualClock {
  let now = start;
  let seq = 0;
  let timers: Timer[] = [];
  const clock = Object.assign(() => now, {
    after(ms: number, fn: () => void): ClockTimer {
      const t: Timer = { at: now + Math.max(0, ms), fn, live: true, seq: seq++ };
      timers.push(t);
      return t;
    },
    cancel(timer: ClockTimer): void {
      (timer as Timer).live = false;
      timers = timers.filter((t) => t !== timer);
    },
    advance(ms: number): void {
      const end = now + ms;
      for (;;) {
        const due = timers.filter((t) => t.live && t.at <= end).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
        if (!due) break;
        now = Math.max(now, due.at);
        due.live = false;
        timers = timers.filter((t) => t !== due);
        due.fn();
      }
      now = end;
    },
  });
  Object.defineProperty(clock, 'pending', { get: () => timers.filter((t) => t.live).length });
  return clock as ManualClock;
}

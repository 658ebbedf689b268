// The module's binding rather than the global: Node defines the global `performance` as an accessor,
// so every `performance.now()` through it is a getter call first.
import { performance } from 'node:perf_hooks';

/**
 * The one clock of the cluster and call layers: monotonic milliseconds, and the timers that run on
 * them. Injected in tests (`test/support/clock.ts`), so health, breaker, budget, call deadlines,
 * hedging and gathering move on demand — instantly and exactly — instead of by real sleeps.
 *
 * It is callable (`clock()` reads the time) so the cluster code, which only reads it, stays a
 * plain function call.
 */
export interface Clock {
  /** Milliseconds from a monotonic source. */
  (): number;
  /** Run `fn` once, `ms` from now. */
  after(ms: number, fn: () => void): ClockTimer;
  /** Stop a timer that has not fired; a fired or cancelled one is ignored. */
  cancel(timer: ClockTimer): void;
}

/** A timer of a {@link Clock}. A real one can be unref'd (it then keeps no process alive). */
export interface ClockTimer {
  unref?(): unknown;
}

// setTimeout fires at once for delays past 2^31-1 ms, so "far away" is capped at ~24 days.
const MAX_DELAY = 2 ** 31 - 1;

/** `performance.now()` and node's timers: immune to wall-clock jumps, which would otherwise end ejections early or late. */
export const monotonic: Clock = Object.assign(() => performance.now(), {
  after: (ms: number, fn: () => void): ClockTimer => setTimeout(fn, Math.min(Math.max(0, ms), MAX_DELAY)),
  cancel: (timer: ClockTimer): void => clearTimeout(timer as NodeJS.Timeout),
});

import type { RecentErrors } from './types.js';

/** How often a sample is taken, and how many make the window (6 × 10 s = the last minute). */
const STEP_MS = 10_000;
const STEPS = 6;

/**
 * 5xx answers over the last minute, from the engine's running totals sampled every 10 s: a
 * sample is two numbers, so nothing is added to the request path. The window is the last 60–70 s
 * (since the previous sample), or the worker's whole life when it is younger.
 */
export class RecentRate {
  readonly #samples: { at: number; responses: number; errors: number }[] = [];
  readonly #timer: NodeJS.Timeout;

  constructor(
    readonly read: () => { responses: number; errors: number },
    readonly clock: () => number = Date.now,
  ) {
    // Built before the engine serves anything: the totals start at zero.
    this.#samples.push({ at: clock(), responses: 0, errors: 0 });
    this.#timer = setInterval(() => this.sample(), STEP_MS);
    this.#timer.unref();
  }

  /** Record the totals now (the timer calls it; tests may too). */
  sample(): void {
    this.#samples.push({ at: this.clock(), ...this.read() });
    if (this.#samples.length > STEPS + 1) this.#samples.shift();
  }

  status(): RecentErrors {
    const now = this.read();
    const oldest = this.#samples[0]!;
    return {
      seconds: Math.round((this.clock() - oldest.at) / 1000),
      responses: now.responses - oldest.responses,
      errors5xx: now.errors - oldest.errors,
    };
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

import type { Clock } from './clock.js';

/**
 * Two counters (good, bad) over a sliding time window, kept in a ring of buckets so old counts fall
 * off without storing every event. Used by the breaker (successes, failures) and the retry budget
 * (requests, retries).
 */
export class RollingWindow {
  readonly #bucketMs: number;
  readonly #starts: Float64Array;
  readonly #a: Float64Array;
  readonly #b: Float64Array;

  constructor(
    readonly windowMs: number,
    readonly clock: Clock,
    buckets = 10,
  ) {
    this.#bucketMs = Math.max(1, windowMs / buckets);
    this.#starts = new Float64Array(buckets).fill(-Infinity);
    this.#a = new Float64Array(buckets);
    this.#b = new Float64Array(buckets);
  }

  #bucket(): number {
    const slot = Math.floor(this.clock() / this.#bucketMs);
    const i = slot % this.#starts.length;
    if (this.#starts[i] !== slot) {
      this.#starts[i] = slot;
      this.#a[i] = 0;
      this.#b[i] = 0;
    }
    return i;
  }

  addA(n = 1): void {
    this.#a[this.#bucket()]! += n;
  }

  addB(n = 1): void {
    this.#b[this.#bucket()]! += n;
  }

  /** `[a, b]` summed over the buckets inside the window. */
  totals(): [number, number] {
    const oldest = Math.floor(this.clock() / this.#bucketMs) - this.#starts.length + 1;
    let a = 0;
    let b = 0;
    for (let i = 0; i < this.#starts.length; i++) {
      if (this.#starts[i]! >= oldest) {
        a += this.#a[i]!;
        b += this.#b[i]!;
      }
    }
    return [a, b];
  }

  reset(): void {
    this.#starts.fill(-Infinity);
  }
}

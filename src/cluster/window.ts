import type { Clock } from './clock.js';

/**
 * Two counters (good, bad) over a sliding time window, kept in a ring of buckets so old counts fall
 * off without storing every event. Used by the breaker (successes, failures) and the retry budget
 * (requests, retries).
 *
 * The sums are kept as counts come in and as buckets fall out of the window, so reading them is a
 * field read, not a walk over the ring: the breaker reads them after every exchange. Methods take
 * the time from their caller when it has just read the clock (one read per exchange, not one per
 * counter).
 */
export class RollingWindow {
  readonly #bucketMs: number;
  readonly #starts: Float64Array;
  readonly #a: Float64Array;
  readonly #b: Float64Array;
  /**
   * The sums over the buckets inside the window, as of {@link #slot}: [a, b]. A typed array, as the
   * buckets are: a number field that took integers and then the buckets' doubles would change the
   * object's map once under load, and deoptimize every function that had seen the old one.
   */
  readonly #sums = new Float64Array(2);
  /** The newest bucket slot the sums were brought up to. */
  #slot = -Infinity;

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

  /** Drop the buckets that left the window by `now` from the sums; the bucket index of `now`. */
  #advance(now: number): number {
    const slot = Math.floor(now / this.#bucketMs);
    const n = this.#starts.length;
    if (slot > this.#slot) {
      // The slots (#slot - n, slot - n] leave the window: every bucket, when the clock moved a whole window.
      if (slot - this.#slot >= n) this.reset();
      else for (let s = this.#slot - n + 1; s <= slot - n; s++) this.#drop(s);
      this.#slot = slot;
    }
    const i = ((slot % n) + n) % n;
    if (this.#starts[i] !== slot) {
      // Whatever the bucket held is out of the window (or, with a clock that went back, overwritten as before).
      this.#drop(this.#starts[i]!);
      this.#starts[i] = slot;
      this.#a[i] = 0;
      this.#b[i] = 0;
    }
    return i;
  }

  /** Take bucket slot `s` out of the sums, if the ring still holds it. */
  #drop(s: number): void {
    if (!Number.isFinite(s)) return;
    const n = this.#starts.length;
    const i = ((s % n) + n) % n;
    if (this.#starts[i] !== s) return;
    this.#sums[0]! -= this.#a[i]!;
    this.#sums[1]! -= this.#b[i]!;
    this.#starts[i] = -Infinity;
    this.#a[i] = 0;
    this.#b[i] = 0;
  }

  addA(n = 1, now = this.clock()): void {
    const i = this.#advance(now);
    this.#a[i]! += n;
    this.#sums[0]! += n;
  }

  addB(n = 1, now = this.clock()): void {
    const i = this.#advance(now);
    this.#b[i]! += n;
    this.#sums[1]! += n;
  }

  /** The `a` counts inside the window at `now`. */
  sumA(now = this.clock()): number {
    this.#advance(now);
    return this.#sums[0]!;
  }

  /** The `b` counts inside the window at `now`. */
  sumB(now = this.clock()): number {
    this.#advance(now);
    return this.#sums[1]!;
  }

  /** `[a, b]` summed over the buckets inside the window. */
  totals(now = this.clock()): [number, number] {
    this.#advance(now);
    return [this.#sums[0]!, this.#sums[1]!];
  }

  reset(): void {
    this.#starts.fill(-Infinity);
    this.#a.fill(0);
    this.#b.fill(0);
    this.#sums.fill(0);
  }
}

/** Latency percentiles over the most recent samples of one member. */
export interface LatencySummary {
  /** Milliseconds, rounded to 0.1 ms. */
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  /** How many samples the percentiles are taken over (at most the ring size). */
  readonly samples: number;
}

/**
 * A fixed ring of the last N latencies. Adding is O(1) on the hot path; sorting happens only when a
 * status view asks, which is rare.
 */
export class LatencyRing {
  readonly #samples: Float64Array;
  #next = 0;
  #count = 0;

  constructor(size = 256) {
    this.#samples = new Float64Array(size);
  }

  add(ms: number): void {
    this.#samples[this.#next] = ms;
    this.#next = (this.#next + 1) % this.#samples.length;
    if (this.#count < this.#samples.length) this.#count++;
  }

  /** Nearest-rank percentiles, or undefined before the first sample. */
  summary(): LatencySummary | undefined {
    if (this.#count === 0) return undefined;
    const sorted = this.#samples.slice(0, this.#count).sort();
    const at = (p: number): number => Math.round(sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]! * 10) / 10;
    return { p50: at(0.5), p90: at(0.9), p99: at(0.99), samples: this.#count };
  }
}

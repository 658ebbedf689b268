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
 * Upper bounds (ms) of the per-member latency histogram (the metrics' `le`, in seconds there): the
 * same bounds as the request-duration histogram, from a local member (< 1 ms) to a slow one (10 s).
 */
export const LATENCY_BUCKETS_MS: readonly number[] = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

/** Every latency since start, counted per bucket of {@link LATENCY_BUCKETS_MS} (not cumulative; the last slot is +Inf). */
export interface LatencyHistogram {
  /** {@link LATENCY_BUCKETS_MS}, so a reader needs no import of this layer. */
  readonly bounds: readonly number[];
  readonly counts: ArrayLike<number>;
  /** Sum of the latencies, ms. */
  readonly sumMs: number;
  readonly count: number;
}

/**
 * A fixed ring of the last N latencies, and a histogram of all of them. Adding is O(1) on the hot
 * path (a store and a walk over 13 bounds); sorting happens only when a status view asks, which is rare.
 */
export class LatencyRing implements LatencyHistogram {
  readonly #samples: Float64Array;
  #next = 0;
  #count = 0;
  readonly bounds = LATENCY_BUCKETS_MS;
  readonly counts = new Float64Array(LATENCY_BUCKETS_MS.length + 1);
  sumMs = 0;
  count = 0;

  constructor(size = 256) {
    this.#samples = new Float64Array(size);
  }

  add(ms: number): void {
    this.#samples[this.#next] = ms;
    this.#next = (this.#next + 1) % this.#samples.length;
    if (this.#count < this.#samples.length) this.#count++;
    let i = 0;
    while (i < LATENCY_BUCKETS_MS.length && ms > LATENCY_BUCKETS_MS[i]!) i++;
    this.counts[i]!++;
    this.sumMs += ms;
    this.count++;
  }

  /** Nearest-rank percentiles, or undefined before the first sample. */
  summary(): LatencySummary | undefined {
    if (this.#count === 0) return undefined;
    const sorted = this.#samples.slice(0, this.#count).sort();
    const at = (p: number): number => Math.round(sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]! * 10) / 10;
    return { p50: at(0.5), p90: at(0.9), p99: at(0.99), samples: this.#count };
  }
}

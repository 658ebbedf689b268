import type { Clock } from './clock.js';
import { RollingWindow } from './window.js';

/**
 * The cluster's circuit breaker. It is per CLUSTER, not per member: one bad member is already taken
 * out by passive ejection; the breaker is for when the service as a whole fails, so callers get an
 * answer at once instead of piling requests (and retries) onto it.
 *
 * closed --(failure rate ≥ threshold over the window, with ≥ min requests)--> open
 * open --(cooldown elapsed)--> half-open: `probes` requests pass, the rest fail fast
 * half-open --(`probes` successes)--> closed;  --(any probe fails)--> open again
 */

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  readonly enabled: boolean;
  /** 0..1: the share of failed exchanges that opens the breaker. */
  readonly failureRate: number;
  /** No decision on fewer exchanges than this in the window (one failure of two is not a trend). */
  readonly minRequests: number;
  readonly windowMs: number;
  readonly cooldownMs: number;
  /** Requests let through at once when half-open; this many successes close it. */
  readonly probes: number;
}

/** How a request was let through: it must hand this back to {@link Breaker.record}. */
export type Admission = 'pass' | 'probe';

export interface BreakerStatus {
  readonly state: BreakerState;
  /** Exchanges and failures in the current window. */
  readonly requests: number;
  readonly failures: number;
  /** Times it has opened since start. */
  readonly opens: number;
}

export class Breaker {
  #state: 'closed' | 'open' | 'half-open' = 'closed';
  #openedAt = 0;
  #probesInFlight = 0;
  #probeSuccesses = 0;
  #opens = 0;
  readonly #window: RollingWindow;

  constructor(
    readonly options: BreakerOptions,
    readonly clock: Clock,
  ) {
    this.#window = new RollingWindow(options.windowMs, clock);
  }

  get state(): BreakerState {
    if (this.#state === 'open' && this.clock() - this.#openedAt >= this.options.cooldownMs) return 'half-open';
    return this.#state;
  }

  /** Whether a request may be sent now, and as what; undefined = fail fast. */
  admit(): Admission | undefined {
    if (!this.options.enabled) return 'pass';
    if (this.#state === 'open') {
      if (this.clock() - this.#openedAt < this.options.cooldownMs) return undefined;
      this.#state = 'half-open';
      this.#probesInFlight = 0;
      this.#probeSuccesses = 0;
    }
    if (this.#state === 'half-open') {
      if (this.#probesInFlight >= this.options.probes) return undefined;
      this.#probesInFlight++;
      return 'probe';
    }
    return 'pass';
  }

  /**
   * The outcome of an admitted request: true = success, false = failure, undefined = cancelled by
   * us (a hedge that lost the race), which says nothing about the service.
   */
  record(admission: Admission, ok: boolean | undefined, now = this.clock()): void {
    if (!this.options.enabled) return;
    if (admission === 'probe') {
      this.#probesInFlight = Math.max(0, this.#probesInFlight - 1);
      if (this.#state !== 'half-open' || ok === undefined) return;
      if (!ok) this.#open();
      else if (++this.#probeSuccesses >= this.options.probes) this.#close();
      return;
    }
    // A request admitted while closed that ends after the breaker opened is old news.
    if (this.#state !== 'closed' || ok === undefined) return;
    if (ok) this.#window.addA(1, now);
    else this.#window.addB(1, now);
    const w = this.#window;
    const bad = w.sumB(now);
    const total = w.sumA(now) + bad;
    if (total >= this.options.minRequests && bad / total >= this.options.failureRate) this.#open();
  }

  status(): BreakerStatus {
    const [good, bad] = this.#window.totals();
    return { state: this.state, requests: good + bad, failures: bad, opens: this.#opens };
  }

  #open(): void {
    this.#state = 'open';
    this.#openedAt = this.clock();
    this.#opens++;
  }

  #close(): void {
    this.#state = 'closed';
    this.#window.reset();
  }
}

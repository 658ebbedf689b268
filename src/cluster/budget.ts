import type { Clock } from './clock.js';
import { RollingWindow } from './window.js';

/**
 * How many retries (failovers and hedges) a cluster may send: a share of its recent requests plus
 * a small floor per second. During a full outage every call would otherwise multiply into one request
 * per member; the budget caps the extra load at `ratio` while still letting a quiet cluster fail over.
 */
export interface RetryBudgetOptions {
  /** 0..1: retries allowed per first attempt over the window. */
  readonly ratio: number;
  /** Retries always allowed per second of window, whatever the traffic. */
  readonly minPerSecond: number;
  readonly windowMs: number;
}

export class RetryBudget {
  readonly #window: RollingWindow;

  constructor(
    readonly options: RetryBudgetOptions,
    clock: Clock,
  ) {
    this.#window = new RollingWindow(options.windowMs, clock);
  }

  /** Count a first attempt (it earns `ratio` retries). */
  onRequest(now?: number): void {
    this.#window.addA(1, now);
  }

  /** Spend one retry if the budget allows it. */
  tryRetry(): boolean {
    const [requests, retries] = this.#window.totals();
    const allowed = (this.options.minPerSecond * this.options.windowMs) / 1000 + this.options.ratio * requests;
    if (retries >= allowed) return false;
    this.#window.addB();
    return true;
  }

  /** Requests and retries in the window, for status. */
  status(): { requests: number; retries: number } {
    const [requests, retries] = this.#window.totals();
    return { requests, retries };
  }
}

import type { Outcome as Health } from '../cluster/cluster.js';
import type { Cancellable } from './deadline.js';
import type { Result } from './result.js';

export type { Health };

/**
 * How one attempt ended — the one shape every transport reports (`transport/http`, `transport/pg`):
 * what the caller gets, what failover may do with it, and what it means for the member's health.
 * A transport classifies; it knows nothing of members, retries or budgets.
 */
export interface Outcome<R extends Result<unknown> = Result> {
  readonly result: R;
  /** False when the request certainly did not reach the member (refused, TLS failed, no connection): safe to send elsewhere. */
  readonly sent: boolean;
  /** How it counts for passive health and the breaker; `cancelled` = we gave up on it (a lost hedge, shutdown). */
  readonly health: Health;
}

/** Called exactly once per attempt, never from inside `send()`. */
export type Done<R extends Result<unknown>> = (outcome: Outcome<R>) => void;

/** Where a transport registers what it can cancel (a call's Deadline, or a hedged attempt's own node). */
export interface CancelScope {
  add(target: Cancellable): void;
}

/**
 * One protocol's sender: `send(target, req, cancel, done)`. `target` is what the transport needs of
 * one member (an undici endpoint, a pg pool), never the member itself.
 */
export interface Transport<T, Req, R extends Result<unknown>> {
  send(target: T, req: Req, cancel: CancelScope, done: Done<R>): void;
}

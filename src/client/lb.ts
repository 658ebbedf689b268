import type { Lease } from '../cluster/cluster.js';
import type { Member } from '../cluster/member.js';
import { Abort } from './abort.js';
import type { Sink, Slot } from './call.js';
import { send, type Attempt } from './exchange.js';
import { CallAbort } from './failure.js';
import type { Prepared } from './request.js';
import { Result } from './result.js';
import { Status } from './status.js';
import type { Upstream } from './upstream.js';

/**
 * `was.lb`: one member chosen by the strategy, with failover and optional hedging — the ONE layer
 * that retries (undici does not, callers should not).
 *
 * Another member is tried after a failure when the request certainly did not arrive (refused
 * connection, failed TLS handshake), or when it is retryable — an idempotent method or a call
 * marked `safe` — and failed with NETERR (or TIMEOUT, with `retry_timeouts`). Only buffered bodies
 * are replayed. Each retry spends the cluster's retry budget, and no member is tried twice, so a
 * call makes at most one attempt per member. Any HTTP response, 5xx included, ends the call.
 *
 * Hedging (`hedge_delay` > 0, retryable calls only): when the first member has not answered in
 * that time, a second is asked too; the first good answer wins and the other is cancelled.
 */

export interface LbPolicy {
  readonly retryTimeouts: boolean;
}

/** Send `prepared` to one member of `up`; the Result goes to `sink` as slot 0. */
export function sendLb(up: Upstream, prepared: Prepared, abort: Abort, policy: LbPolicy, sink: Sink): Slot {
  const lb = new LbCall(up, prepared, abort, policy, sink);
  lb.start();
  return lb.slot;
}

/**
 * One lb call's attempts, driven by callbacks rather than a promise loop: the common case — one
 * member answers — allocates no Set, Map, timer or extra AbortController.
 */
class LbCall {
  readonly slot: Slot;
  readonly #up: Upstream;
  readonly #prepared: Prepared;
  readonly #abort: Abort;
  readonly #policy: LbPolicy;
  readonly #sink: Sink;
  readonly #hedging: boolean;
  /** The first member asked; `#tried` is made only when a second one is needed. */
  #first: Member | undefined;
  #tried: Set<Member> | undefined;
  #flights = 0;
  /** One child Abort per attempt when hedging, so the loser can be cancelled alone. */
  #cancels: Abort[] | undefined;
  #hedgeTimer: NodeJS.Timeout | undefined;
  #hedged = false;
  #last: Result | undefined;
  #done = false;

  constructor(up: Upstream, prepared: Prepared, abort: Abort, policy: LbPolicy, sink: Sink) {
    this.#up = up;
    this.#prepared = prepared;
    this.#abort = abort;
    this.#policy = policy;
    this.#sink = sink;
    this.#hedging = prepared.retryable && prepared.replayable && up.options.hedgeDelay > 0;
    this.slot = { node: `@${up.cluster.name}` };
  }

  start(): void {
    this.#up.cluster.countRequest();
    if (this.#launch()) this.#armHedge();
    else this.#end();
  }

  #launch(): boolean {
    const cluster = this.#up.cluster;
    const skip = this.#first === undefined ? undefined : (this.#tried ??= new Set([this.#first]));
    const member = cluster.pick(skip);
    if (!member) return false;
    const lease = cluster.acquire(member);
    if (!lease) {
      this.#last ??= Result.failure(Status.NETERR, 'SKT_CLUSTER_BREAKER_OPEN', `the circuit breaker of @${cluster.name} is open; the request was not sent`, member.node);
      return false;
    }
    if (skip) skip.add(member);
    else this.#first = member;
    this.slot.node = member.node;
    this.#flights++;
    let abort = this.#abort;
    if (this.#hedging) {
      abort = new Abort();
      this.#abort.add(abort);
      (this.#cancels ??= []).push(abort);
    }
    send(this.#up.endpoint(member), this.#prepared, abort, (attempt) => this.#landed(lease, attempt));
    return true;
  }

  /** Hedge once per call, while exactly one attempt is out and another member is left to ask. */
  #armHedge(): void {
    if (!this.#hedging || this.#hedged || this.#flights !== 1) return;
    if ((this.#tried?.size ?? 1) >= this.#up.cluster.members.length) return;
    this.#hedgeTimer = setTimeout(() => this.#hedge(), this.#up.options.hedgeDelay);
  }

  #hedge(): void {
    this.#hedgeTimer = undefined;
    if (this.#done || this.#flights !== 1) return;
    this.#hedged = true;
    if (this.#up.cluster.tryRetry()) this.#launch();
  }

  #landed(lease: Lease, attempt: Attempt): void {
    this.#up.cluster.release(lease, this.#up.outcomeOf(attempt));
    this.#flights--;
    if (this.#done) return;
    if (attempt.ok) {
      this.#last = attempt.result;
      this.#end();
      return;
    }
    // A failover's result is only worth keeping over an earlier one if it says more than "cancelled".
    if (!attempt.cancelled || !this.#last) this.#last = attempt.result;
    if (this.#flights > 0) return; // a hedge may still win
    if (!this.#abort.aborted && !attempt.cancelled && this.#mayRetry(attempt) && this.#up.cluster.tryRetry() && this.#launch()) {
      if (this.#hedgeTimer === undefined) this.#armHedge();
      return;
    }
    this.#end();
  }

  #mayRetry(attempt: Attempt & { ok: false }): boolean {
    const prepared = this.#prepared;
    if (!prepared.replayable) return false;
    if (!attempt.sent) return true;
    if (!prepared.retryable) return false;
    const status = attempt.result.status;
    return status === Status.NETERR || (status === Status.TIMEOUT && this.#policy.retryTimeouts);
  }

  #end(): void {
    this.#done = true;
    if (this.#hedgeTimer !== undefined) clearTimeout(this.#hedgeTimer);
    const cancels = this.#cancels;
    if (cancels) for (const c of cancels) c.abort(new CallAbort('cancel'));
    const cluster = this.#up.cluster;
    this.#sink.arrive(0, this.#last ?? Result.failure(Status.NETERR, 'SKT_CLIENT_NETWORK', `no member of @${cluster.name} could be asked`, `@${cluster.name}`));
  }
}

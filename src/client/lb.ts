import type { Member } from '../cluster/member.js';
import type { Slot } from './call.js';
import { exchange, type Attempt } from './exchange.js';
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

interface Flight {
  readonly member: Member;
  readonly cancel: AbortController | undefined;
  readonly done: Promise<{ member: Member; attempt: Attempt }>;
}

const HEDGE = Symbol('hedge');

export function sendLb(up: Upstream, prepared: Prepared, signal: AbortSignal, policy: LbPolicy): Slot {
  const cluster = up.cluster;
  let current: Member | undefined;
  const tried = new Set<Member>();
  const flights = new Map<Member, Flight>();
  let last: Result | undefined;
  const repeatable = prepared.retryable && prepared.replayable;
  const hedging = repeatable && up.options.hedgeDelay > 0;

  const launch = (): boolean => {
    const member = cluster.pick(tried);
    if (!member) return false;
    const lease = cluster.acquire(member);
    if (!lease) {
      last ??= Result.failure(Status.NETERR, 'SKT_CLUSTER_BREAKER_OPEN', `the circuit breaker of @${cluster.name} is open; the request was not sent`, member.node);
      return false;
    }
    tried.add(member);
    current = member;
    // Only a hedged call has a loser to cancel; the others skip the cost of a composite signal.
    const cancel = hedging ? new AbortController() : undefined;
    const done = exchange(up.endpoint(member), prepared, cancel ? AbortSignal.any([signal, cancel.signal]) : signal).then((attempt) => {
      cluster.release(lease, up.outcomeOf(attempt));
      return { member, attempt };
    });
    flights.set(member, { member, cancel, done });
    return true;
  };

  const run = async (): Promise<Result> => {
    cluster.countRequest();
    launch();
    let hedged = false;
    while (flights.size > 0) {
      const hedge = hedging && !hedged && flights.size === 1 && tried.size < cluster.members.length;
      let timer: NodeJS.Timeout | undefined;
      const racers: Promise<typeof HEDGE | { member: Member; attempt: Attempt }>[] = [...flights.values()].map((f) => f.done);
      if (hedge) racers.push(new Promise((resolve) => (timer = setTimeout(() => resolve(HEDGE), up.options.hedgeDelay))));
      const first = racers.length === 1 ? await racers[0]! : await Promise.race(racers);
      clearTimeout(timer);
      if (first === HEDGE) {
        hedged = true;
        if (cluster.tryRetry()) launch();
        continue;
      }
      flights.delete(first.member);
      const { attempt } = first;
      if (attempt.ok) {
        for (const f of flights.values()) f.cancel?.abort(new CallAbort('cancel'));
        return attempt.result;
      }
      // A failover's result is only worth keeping over an earlier one if it says more than "cancelled".
      if (!attempt.cancelled || !last) last = attempt.result;
      if (signal.aborted || flights.size > 0) continue; // deadline: the others end soon too; or a hedge may still win
      const again =
        prepared.replayable &&
        (!attempt.sent || (repeatable && (attempt.result.status === Status.NETERR || (attempt.result.status === Status.TIMEOUT && policy.retryTimeouts))));
      if (again && !attempt.cancelled && cluster.tryRetry()) launch();
    }
    return last ?? Result.failure(Status.NETERR, 'SKT_CLIENT_NETWORK', `no member of @${cluster.name} could be asked`, `@${cluster.name}`);
  };

  return { node: () => current?.node ?? `@${cluster.name}`, done: run() };
}

import type { Cluster, Lease } from '../cluster/cluster.js';
import type { Clock, ClockTimer } from '../cluster/clock.js';
import type { Member } from '../cluster/member.js';
import { CallAbort, Deadline } from './deadline.js';
import type { Sink, Slot } from './gather.js';
import type { Outcome, Transport } from './outcome.js';
import type { Result } from './result.js';
import { Status } from './status.js';

/**
 * "Send over a cluster", written once for every protocol: {@link failover} (one member, then
 * others — `was.lb`, `was.dlb`) and {@link fanOut} (every live member — `was.map`, `was.dmap`).
 * Picking, leasing, retrying, hedging and spending the retry budget live here and nowhere else;
 * the transport sends one attempt and classifies how it ended, the protocol's {@link Rule} says
 * whether a failed attempt may go elsewhere (`retry.ts`).
 *
 * Both are callback-driven rather than promise loops: the common case — one member answers —
 * allocates one object, no Set, Map, timer or extra cancel node (docs/performance.md).
 *
 * The reverse proxy uses {@link failover} too, over its streaming transport
 * (handlers/proxy/transport.ts); only its WebSocket upgrade borrows a member with
 * `client/upstream.ts`'s `lend()` (docs/ARCHITECTURE.md).
 */

/** A cluster with its wires, as the plan needs it. */
export interface Route<T, Req, R extends Result<unknown>> {
  readonly cluster: Cluster;
  readonly clock: Clock;
  readonly transport: Transport<T, Req, R>;
  /** What the transport needs of `member` (its endpoint, its pool). */
  target(member: Member): T;
  /** The result of an attempt that could not be made: the breaker said fail fast, or no member was left to ask. */
  refused(why: 'breaker' | 'none', node: string): R;
}

/** One protocol's policy for one kind of request (see `retry.ts`). */
export interface Rule<Req, R extends Result<unknown>> {
  /** Whether a failed attempt (not cancelled, within the deadline) may be sent to another member. */
  mayRetry(outcome: Outcome<R>, req: Req): boolean;
  /** Ask a second member when the first has not answered within this many ms; 0: never. */
  hedgeDelay(req: Req): number;
}

/**
 * One member chosen by the strategy, then — per `rule`, under the retry budget — others, each at
 * most once; optionally hedged. The one Result goes to `sink` as slot 0; the returned slot names
 * the member being asked (for a synthesized TIMEOUT).
 */
export function failover<T, Req, R extends Result<unknown>>(route: Route<T, Req, R>, rule: Rule<Req, R>, req: Req, deadline: Deadline, sink: Sink<R>): Slot {
  const f = new Failover(route, rule, req, deadline, sink);
  f.start();
  return f;
}

/**
 * The same request to every live member at once (every member in panic mode), one Result each, in
 * member order. No retries: a member's failure is its Result. Each attempt is admitted by the
 * breaker separately, so when it is half-open only the probes go out.
 */
export function fanOut<T, Req, R extends Result<unknown>>(route: Route<T, Req, R>, req: Req, deadline: Deadline, sink: Sink<R>): Slot[] {
  const cluster = route.cluster;
  const now = route.clock();
  const members = cluster.live(now);
  const slots: Slot[] = new Array<Slot>(members.length);
  for (let i = 0; i < members.length; i++) {
    const member = members[i]!;
    slots[i] = { node: member.node };
    const lease = cluster.acquire(member, now);
    if (!lease) {
      sink.arrive(i, route.refused('breaker', member.node));
      continue;
    }
    route.transport.send(route.target(member), req, deadline, (outcome) => {
      cluster.release(lease, outcome.health);
      sink.arrive(i, outcome.result);
    });
  }
  return slots;
}

/** One failover call's attempts; it is its own slot (no extra object per call). */
class Failover<T, Req, R extends Result<unknown>> implements Slot {
  node: string;
  readonly #route: Route<T, Req, R>;
  readonly #rule: Rule<Req, R>;
  readonly #req: Req;
  readonly #deadline: Deadline;
  readonly #sink: Sink<R>;
  readonly #hedgeDelay: number;
  /** The first member asked; `#tried` is made only when a second one is needed. */
  #first: Member | undefined;
  #tried: Set<Member> | undefined;
  #flights = 0;
  /** One cancel node per attempt when hedging, so the loser can be cancelled alone. */
  #nodes: Deadline[] | undefined;
  #hedgeTimer: ClockTimer | undefined;
  #hedged = false;
  #last: R | undefined;
  #done = false;

  constructor(route: Route<T, Req, R>, rule: Rule<Req, R>, req: Req, deadline: Deadline, sink: Sink<R>) {
    this.#route = route;
    this.#rule = rule;
    this.#req = req;
    this.#deadline = deadline;
    this.#sink = sink;
    this.#hedgeDelay = rule.hedgeDelay(req);
    this.node = ''; // the member asked, set by #launch (the cluster's name when none could be)
  }

  start(): void {
    // One clock read for what happens at the same instant: the budget's count, the pick and the lease.
    const now = this.#route.clock();
    this.#route.cluster.countRequest(now);
    if (this.#launch(now)) this.#armHedge();
    else {
      this.node = `@${this.#route.cluster.name}`;
      this.#end();
    }
  }

  #launch(now = this.#route.clock()): boolean {
    const route = this.#route;
    const cluster = route.cluster;
    const skip = this.#first === undefined ? undefined : (this.#tried ??= new Set([this.#first]));
    const member = cluster.pick(skip, now);
    if (!member) return false;
    const lease = cluster.acquire(member, now);
    if (!lease) {
      this.#last ??= route.refused('breaker', member.node);
      return false;
    }
    if (skip) skip.add(member);
    else this.#first = member;
    this.node = member.node;
    this.#flights++;
    let scope = this.#deadline;
    if (this.#hedgeDelay > 0) {
      // A cancel node of its own (no timer: the call's deadline times it), so a lost race is cut alone.
      scope = new Deadline(route.clock);
      this.#deadline.add(scope);
      (this.#nodes ??= []).push(scope);
    }
    route.transport.send(route.target(member), this.#req, scope, (outcome) => this.#landed(lease, outcome));
    return true;
  }

  /** Hedge once per call, while exactly one attempt is out and another member is left to ask. */
  #armHedge(): void {
    if (this.#hedgeDelay <= 0 || this.#hedged || this.#flights !== 1) return;
    if ((this.#tried?.size ?? 1) >= this.#route.cluster.members.length) return;
    this.#hedgeTimer = this.#route.clock.after(this.#hedgeDelay, () => this.#hedge());
  }

  #hedge(): void {
    this.#hedgeTimer = undefined;
    if (this.#done || this.#flights !== 1) return;
    this.#hedged = true;
    if (this.#route.cluster.tryRetry()) this.#launch();
  }

  #landed(lease: Lease, outcome: Outcome<R>): void {
    const cluster = this.#route.cluster;
    cluster.release(lease, outcome.health);
    this.#flights--;
    if (this.#done) return;
    if (outcome.result.status === Status.NORMAL) {
      // Any answer ends the call (an HTTP 5xx, an SQL error): only the transport's failures go elsewhere.
      this.#last = outcome.result;
      this.#end();
      return;
    }
    const cancelled = outcome.health === 'cancelled';
    // A later attempt's result replaces an earlier failure unless all it says is "we cancelled it"
    // (shutdown, the client gone); a TIMEOUT says more (SQL: no free connection by the deadline).
    if (!cancelled || !this.#last || outcome.result.status === Status.TIMEOUT) this.#last = outcome.result;
    if (this.#flights > 0) return; // a hedge may still win
    if (!cancelled && !this.#deadline.cancelled && this.#rule.mayRetry(outcome, this.#req) && cluster.tryRetry() && this.#launch()) {
      if (this.#hedgeTimer === undefined) this.#armHedge();
      return;
    }
    this.#end();
  }

  #end(): void {
    this.#done = true;
    if (this.#hedgeTimer !== undefined) this.#route.clock.cancel(this.#hedgeTimer);
    const nodes = this.#nodes;
    if (nodes) for (const n of nodes) n.cancel(new CallAbort('cancel'));
    this.#sink.arrive(0, this.#last ?? this.#route.refused('none', `@${this.#route.cluster.name}`));
  }
}

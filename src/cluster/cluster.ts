import type { Logger } from '../log/logger.js';
import { createBalancer, selectCandidates, type Balancer, type Random, type Strategy } from './balance.js';
import { Breaker, type Admission, type BreakerStatus } from './breaker.js';
import { RetryBudget } from './budget.js';
import { monotonic, type Clock } from './clock.js';
import { ActiveChecker, recordFailure, recordSuccess, type ActiveCheckOptions, type EjectOptions, type Probe } from './health.js';
import type { LatencySummary } from './latency.js';
import { Member, nodeOf, type MemberSpec, type MemberState } from './member.js';
import { dnsLookup, isName, MemberResolver, type Lookup } from './resolve.js';
import { warmShare } from './slow.js';
import type { ClusterOptions, ClusterType } from './options.js';

/** How an exchange ended, for health, breaker and latency. `cancelled` = we gave up on it (a hedge that lost). */
export type Outcome = 'success' | 'failure' | 'cancelled';

/** A member lent to one exchange; hand it back to {@link Cluster.release} exactly once. */
export interface Lease {
  readonly member: Member;
  readonly admission: Admission;
  readonly started: number;
}

export interface MemberStatus {
  readonly node: string;
  readonly weight: number;
  /** The weight it gets now: less than `weight` while it warms up (`slow_start`). */
  readonly share: number;
  readonly state: MemberState;
  readonly inFlight: number;
  readonly requests: number;
  readonly failures: number;
  readonly consecutiveFailures: number;
  /** Ejections since start. */
  readonly ejections: number;
  /** Milliseconds left of the current ejection (0 when not ejected). */
  readonly ejectedForMs: number;
  readonly latency: LatencySummary | null;
}

/** The JSON view of one cluster (`was.status()`). */
export interface ClusterStatus {
  readonly name: string;
  readonly type: ClusterType;
  readonly ssl: boolean;
  readonly strategy: Strategy;
  /** True when no member is available, so every member is used (panic mode). */
  readonly panic: boolean;
  readonly breaker: BreakerStatus;
  readonly retryBudget: { readonly requests: number; readonly retries: number };
  readonly members: readonly MemberStatus[];
}

/**
 * What a Cluster needs of its options, whatever the protocol: HTTP clusters pass their
 * ClusterOptions, PostgreSQL clusters (the DB layer) their own options with the same policy keys.
 */
export interface ClusterPolicy {
  readonly name: string;
  readonly type: ClusterType;
  readonly ssl: boolean;
  readonly members: readonly MemberSpec[];
  readonly strategy: ClusterOptions['strategy'];
  readonly eject: EjectOptions;
  readonly breaker: ClusterOptions['breaker'];
  readonly retryBudget: ClusterOptions['retryBudget'];
  /** Undefined: passive health only. */
  readonly healthCheck: ActiveCheckOptions | undefined;
  /** ms over which a member that comes back or is added grows to its weight; 0 or absent = off. */
  readonly slowStart?: number;
  /** Look named members up in DNS every `intervalMs` (`resolve = yes`); absent = off. */
  readonly resolve?: { readonly intervalMs: number } | undefined;
}

/** Told when members are added or removed (DNS): the transport opens and retires their pools. */
export type MembersListener = (added: readonly Member[], removed: readonly Member[]) => void;

export interface ClusterDeps {
  /** DNS for `resolve = yes` (default: node's resolver); tests point it at their own server. */
  readonly lookup?: Lookup;
  readonly clock?: Clock;
  readonly random?: Random;
  readonly logger?: Logger;
}

/**
 * A cluster of members (HTTP or PostgreSQL): which member to use, whether to send at all (breaker),
 * whether a retry is affordable (budget), and what each exchange's outcome does to health. It knows
 * no protocol; the client and DB layers send and report back through leases.
 */
export class Cluster {
  readonly name: string;
  #members: readonly Member[];
  readonly #listeners: MembersListener[] = [];
  readonly #resolver: MemberResolver | undefined;
  readonly #balancer: Balancer;
  readonly #breaker: Breaker;
  readonly #budget: RetryBudget;
  readonly #clock: Clock;
  readonly #logger: Logger | undefined;
  #checker: ActiveChecker | undefined;
  #closed = false;

  constructor(
    readonly options: ClusterPolicy,
    deps: ClusterDeps = {},
  ) {
    this.name = options.name;
    this.#clock = deps.clock ?? monotonic;
    this.#logger = deps.logger;
    this.#members = Object.freeze(options.members.map((spec) => new Member(spec)));
    this.#balancer = createBalancer(options.strategy, deps.random);
    this.#breaker = new Breaker(options.breaker, this.#clock);
    this.#budget = new RetryBudget({ ...options.retryBudget, windowMs: 10_000 }, this.#clock);
    // Until the first answer, a named member is connected to by its name (the system resolver).
    if (options.resolve && options.members.some((m) => isName(m.host))) {
      this.#resolver = new MemberResolver(this, options.members, options.resolve.intervalMs, deps.lookup ?? dnsLookup(), this.#logger, this.#clock);
    }
  }

  /** The current members, in config order (then DNS answer order). A new array when they change. */
  get members(): readonly Member[] {
    return this.#members;
  }

  /**
   * Replace the members by `specs` (DNS). A member whose node stays is kept, health and counters
   * included; a new one starts its slow start when `warm`; removed ones are handed to the listeners,
   * whose pools let their in-flight exchanges finish.
   */
  updateMembers(specs: readonly MemberSpec[], warm: boolean): { readonly added: readonly Member[]; readonly removed: readonly Member[] } {
    const old = new Map(this.#members.map((m) => [m.node, m]));
    const next: Member[] = [];
    const added: Member[] = [];
    const now = this.#clock();
    for (const spec of specs) {
      const node = nodeOf(spec);
      const kept = old.get(node);
      if (kept) {
        old.delete(node);
        next.push(kept);
        continue;
      }
      const member = new Member(spec);
      if (warm) member.warmFrom = now;
      next.push(member);
      added.push(member);
    }
    const removed = [...old.values()];
    if (added.length === 0 && removed.length === 0) return { added, removed };
    this.#members = Object.freeze(next);
    for (const m of removed) this.#balancer.forget?.(m);
    for (const listener of this.#listeners) listener(added, removed);
    return { added, removed };
  }

  /** Be told when members are added or removed. */
  watchMembers(listener: MembersListener): void {
    this.#listeners.push(listener);
  }

  /** Start looking member names up (`resolve = yes`); idempotent. The wires call it once they watch. */
  startResolving(): void {
    if (!this.#closed) this.#resolver?.start();
  }

  /** One round of DNS lookups now (tests); resolves when the members are updated. */
  async resolveNow(): Promise<void> {
    await this.#resolver?.resolveNow();
  }

  /** The member for the next attempt of a call that already tried `tried`; undefined when all were tried. */
  pick(tried?: ReadonlySet<Member>, now = this.#clock()): Member | undefined {
    const { members } = selectCandidates(this.members, tried, now);
    if (members.length === 0) return undefined;
    const slow = this.options.slowStart;
    if (slow) for (const m of members) m.share = warmShare(m, now, slow);
    return this.#balancer.pick(members);
  }

  /** The members a map call sends to: the available ones, or all in panic mode. */
  live(now = this.#clock()): readonly Member[] {
    return selectCandidates(this.members, undefined, now).members;
  }

  /** Lend `member` to one exchange, or undefined when the breaker says fail fast. */
  acquire(member: Member, now = this.#clock()): Lease | undefined {
    const admission = this.#breaker.admit();
    if (admission === undefined) return undefined;
    member.inFlight++;
    member.requests++;
    return new Lent(member, admission, now);
  }

  /** Hand a lease back with the exchange's outcome. */
  release(lease: Lease, outcome: Outcome): void {
    const { member } = lease;
    member.inFlight--;
    const now = this.#clock();
    const before = this.#breaker.state;
    if (outcome === 'cancelled') {
      this.#breaker.record(lease.admission, undefined, now);
      return;
    }
    member.latency.add(now - lease.started);
    if (outcome === 'success') {
      recordSuccess(member);
    } else if (recordFailure(member, this.options.eject, now)) {
      this.#logger?.warn(`cluster @${this.name}: ${member.node} ejected for ${Math.round(member.ejectedUntil - now)} ms after ${member.consecutiveFailures} failure(s)`);
    }
    this.#breaker.record(lease.admission, outcome === 'success', now);
    const after = this.#breaker.state;
    if (after !== before) this.#logger?.warn(`cluster @${this.name}: circuit breaker ${before} -> ${after}`);
  }

  /** Count a call's first attempt toward the retry budget. */
  countRequest(now?: number): void {
    this.#budget.onRequest(now);
  }

  /** Spend one failover or hedge from the retry budget; false = not affordable now. */
  tryRetry(): boolean {
    return this.#budget.tryRetry();
  }

  /** Start active checks with `probe` when `health_check_path` is set. Idempotent. */
  startHealthChecks(probe: Probe): void {
    const check = this.options.healthCheck;
    if (!check || this.#checker || this.#closed) return;
    this.#checker = new ActiveChecker(() => this.#members, check, probe, this.#clock, (m, change) =>
      this.#logger?.info(`cluster @${this.name}: ${m.node} is ${change === 'up' ? 'healthy again' : 'down'} (active check)`),
    );
    this.#checker.start();
  }

  /** One round of active checks now (tests, and a first check at start). */
  async checkNow(): Promise<void> {
    await this.#checker?.runOnce();
  }

  status(): ClusterStatus {
    const now = this.#clock();
    return {
      name: this.name,
      type: this.options.type,
      ssl: this.options.ssl,
      strategy: this.options.strategy,
      panic: this.members.every((m) => !m.isAvailable(now)),
      breaker: this.#breaker.status(),
      retryBudget: this.#budget.status(),
      members: this.members.map((m) => ({
        node: m.node,
        weight: m.weight,
        share: this.options.slowStart ? Math.round(warmShare(m, now, this.options.slowStart) * 100) / 100 : m.weight,
        state: m.state(now),
        inFlight: m.inFlight,
        requests: m.requests,
        failures: m.failures,
        consecutiveFailures: m.consecutiveFailures,
        ejections: m.totalEjections,
        ejectedForMs: Math.max(0, Math.round(m.ejectedUntil - now)),
        latency: m.latency.summary() ?? null,
      })),
    };
  }

  /** Stop active checks. Exchanges in flight are the client layer's to finish. */
  close(): void {
    this.#closed = true;
    this.#checker?.close();
    this.#resolver?.close();
  }
}

/**
 * A {@link Lease} as `acquire` makes one per attempt: a class, not an object literal, so V8's
 * allocation-site pretenuring never moves leases to old space (docs/performance.md, "SQL", fifth pass).
 */
class Lent implements Lease {
  constructor(
    readonly member: Member,
    readonly admission: Admission,
    readonly started: number,
  ) {}
}

import type { Pool } from 'undici';
import { Cluster, type ClusterDeps, type Lease, type Outcome } from '../cluster/cluster.js';
import type { Member } from '../cluster/member.js';
import type { ClusterOptions } from '../cluster/options.js';
import { abortFromSignal } from './abort.js';
import { exchange, type Attempt, type Endpoint } from './exchange.js';
import { closeDispatchers, createPool } from './pool.js';
import { prepare } from './request.js';
import { Status } from './status.js';

/** A member lent by {@link Upstream.lend}: where to send, and the one report of how it went. */
export interface Loan {
  /** `host:port`. */
  readonly node: string;
  readonly endpoint: Endpoint;
  /** Report the exchange once: the HTTP status it answered with, or `'failure'` / `'cancelled'` (ours, not the member's fault). */
  release(outcome: number | Exclude<Outcome, 'success'>): void;
}

/** A lent member: an object rather than a closure per request (this is the reverse proxy's hot path). */
class MemberLoan implements Loan {
  readonly node: string;
  #open = true;

  constructor(
    readonly upstream: Upstream,
    readonly lease: Lease,
    readonly endpoint: Endpoint,
  ) {
    this.node = endpoint.node;
  }

  release(outcome: number | Exclude<Outcome, 'success'>): void {
    // A second report would skew in-flight counts and the breaker window.
    if (!this.#open) return;
    this.#open = false;
    this.upstream.settle(this.lease, outcome);
  }
}

/**
 * A cluster with its wires: the Cluster (choice, health, breaker) plus one undici Pool and Endpoint
 * per member, and the active health probe.
 */
export class Upstream {
  readonly cluster: Cluster;
  readonly #endpoints = new Map<Member, Endpoint>();
  readonly #pools: Pool[] = [];

  constructor(
    readonly options: ClusterOptions,
    deps: ClusterDeps = {},
  ) {
    this.cluster = new Cluster(options, deps);
    const scheme = options.ssl ? 'https' : 'http';
    for (const member of this.cluster.members) {
      const origin = `${scheme}://${member.node}`;
      const pool = createPool(origin, { connections: options.maxConns, connectTimeout: options.connectTimeout, keepAlive: options.keepAlive, caFile: options.caFile, h2: options.http2 });
      this.#pools.push(pool);
      this.#endpoints.set(member, {
        dispatcher: pool,
        origin,
        node: member.node,
        connectTimeout: options.connectTimeout,
        responseTimeout: options.responseTimeout,
        maxResponseSize: options.maxResponseSize,
      });
    }
    const check = options.healthCheck;
    if (check) {
      const probe = prepare('GET', check.path, undefined, {});
      this.cluster.startHealthChecks(async (member, signal) => {
        const attempt = await exchange({ ...this.endpoint(member), responseTimeout: check.timeoutMs }, probe, abortFromSignal(signal));
        return attempt.ok && Number(attempt.result.code) < 400;
      });
    }
  }

  endpoint(member: Member): Endpoint {
    return this.#endpoints.get(member)!;
  }

  /**
   * Lend the next member to a caller that sends by itself (the reverse proxy): chosen by the
   * strategy and health among members whose node is not in `tried`. `undefined` when every member
   * was tried; `'breaker'` when the circuit breaker says fail fast (nothing may be sent).
   */
  lend(tried: ReadonlySet<string>): Loan | 'breaker' | undefined {
    let skip: Set<Member> | undefined;
    if (tried.size > 0) for (const m of this.cluster.members) if (tried.has(m.node)) (skip ??= new Set()).add(m);
    const member = this.cluster.pick(skip);
    if (!member) return undefined;
    const lease = this.cluster.acquire(member);
    if (!lease) return 'breaker';
    return new MemberLoan(this, lease, this.endpoint(member));
  }

  /** @internal A loan's one report (see {@link Loan.release}). */
  settle(lease: Lease, outcome: number | Exclude<Outcome, 'success'>): void {
    this.cluster.release(lease, typeof outcome === 'number' ? this.#outcomeOfCode(outcome) : outcome);
  }

  /**
   * What an attempt means for health and breaker. A 4xx is the caller's problem and healthy; a 5xx
   * is a failure when `fail_on_5xx` (the default) although it is returned, not retried; a broken
   * RPC body with a 2xx is a NETERR and a failure; our own cancellations count for nothing.
   */
  outcomeOf(attempt: Attempt): Outcome {
    if (attempt.ok) return attempt.result.status === Status.NORMAL ? this.#outcomeOfCode(Number(attempt.result.code)) : 'success';
    return attempt.cancelled ? 'cancelled' : 'failure';
  }

  #outcomeOfCode(code: number): Outcome {
    return this.options.failOn5xx && code >= 500 ? 'failure' : 'success';
  }

  async close(graceMs: number): Promise<void> {
    this.cluster.close();
    await closeDispatchers(this.#pools, graceMs);
  }
}

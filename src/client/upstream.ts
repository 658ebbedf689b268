import type { Pool } from 'undici';
import { Cluster, type ClusterDeps, type Lease, type Outcome } from '../cluster/cluster.js';
import { nodeOf, type Member } from '../cluster/member.js';
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
  readonly #pools = new Map<Member, Pool>();
  /** Pools of members DNS removed, closing once their requests in flight are done. */
  readonly #retiring = new Set<Pool>();

  constructor(
    readonly options: ClusterOptions,
    deps: ClusterDeps = {},
  ) {
    this.cluster = new Cluster(options, deps);
    for (const member of this.cluster.members) this.#wire(member);
    this.cluster.watchMembers((added, removed) => {
      for (const member of removed) this.#retire(member);
      for (const member of added) this.#wire(member);
    });
    this.cluster.startResolving();
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

  #wire(member: Member): void {
    const { options } = this;
    const scheme = options.ssl ? 'https' : 'http';
    // A member found in DNS is asked by its name (Host header, TLS name) at its own address.
    const origin = `${scheme}://${member.name === undefined ? member.node : nodeOf({ host: member.name, port: member.port })}`;
    const pool = createPool(origin, { connections: options.maxConns, connectTimeout: options.connectTimeout, keepAlive: options.keepAlive, caFile: options.caFile, address: member.name === undefined ? undefined : member.host });
    this.#pools.set(member, pool);
    this.#endpoints.set(member, {
      dispatcher: pool,
      origin,
      node: member.node,
      connectTimeout: options.connectTimeout,
      responseTimeout: options.responseTimeout,
      maxResponseSize: options.maxResponseSize,
    });
  }

  #retire(member: Member): void {
    const pool = this.#pools.get(member);
    this.#pools.delete(member);
    this.#endpoints.delete(member);
    if (!pool) return;
    this.#retiring.add(pool);
    // undici's close() lets queued and running requests finish first.
    void pool.close().catch(() => undefined).finally(() => this.#retiring.delete(pool));
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
    await closeDispatchers([...this.#pools.values(), ...this.#retiring], graceMs);
  }
}

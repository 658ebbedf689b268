import type { Pool } from 'undici';
import { deadlineFromSignal } from '../call/deadline.js';
import type { Rule } from '../call/plan.js';
import { httpMayRetry } from '../call/retry.js';
import { Result } from '../call/result.js';
import { Status } from '../call/status.js';
import { monotonic, type Clock } from '../cluster/clock.js';
import { Cluster, type ClusterDeps, type Lease, type Outcome } from '../cluster/cluster.js';
import { nodeOf, type Member } from '../cluster/member.js';
import type { ClusterOptions } from '../cluster/options.js';
import { exchange, httpTransport, type Endpoint } from '../transport/http/exchange.js';
import { closeDispatchers, createPool } from '../transport/http/pool.js';
import { MemberPool } from '../transport/h1/pool.js';
import type { Prepared } from '../transport/http/prepared.js';
import { prepare } from './request.js';

/** A member lent by {@link Upstream.lend}: where to send, and the one report of how it went. */
export interface Loan {
  /** `host:port`. */
  readonly node: string;
  readonly endpoint: Endpoint;
  /** Report the exchange once: the HTTP status it answered with, or `'failure'` / `'cancelled'` (ours, not the member's fault). */
  release(outcome: number | Exclude<Outcome, 'success'>): void;
}

/** A member's endpoint on Skitai's own HTTP/1.1 client (transport/h1), as the reverse proxy streams over it. */
export type MemberEndpoint = Omit<Endpoint, 'dispatcher'> & { readonly dispatcher: MemberPool };

/** A lent member: an object rather than a closure per request. */
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
 * A cluster with its wires: the Cluster (choice, health, breaker) plus, per member, one undici Pool
 * and one pool of Skitai's own HTTP/1.1 client (transport/h1, made on first use), and the active
 * health probe — the `Route` that `call/plan.ts` sends `was.lb` and `was.map` over with the HTTP
 * transport.
 */
export class Upstream {
  readonly cluster: Cluster;
  readonly clock: Clock;
  readonly transport = httpTransport;
  readonly #endpoints = new Map<Member, Endpoint>();
  readonly #pools = new Map<Member, Pool>();
  /** Pools of members DNS removed, closing once their requests in flight are done. */
  readonly #retiring = new Set<Pool | MemberPool>();
  /** Each member on Skitai's own HTTP/1.1 client (transport/h1), shared by calls and the reverse proxy. */
  readonly #h1 = new Map<Member, MemberEndpoint>();
  /** Calls' endpoints when `call_client = skitai`: the undici one with the member's h1 pool beside it. */
  readonly #calls = new Map<Member, Endpoint>();

  constructor(
    readonly options: ClusterOptions,
    deps: ClusterDeps = {},
  ) {
    this.clock = deps.clock ?? monotonic;
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
        const outcome = await exchange({ ...this.endpoint(member), responseTimeout: check.timeoutMs }, probe, deadlineFromSignal(this.clock, signal));
        return outcome.result.status === Status.NORMAL && Number(outcome.result.code) < 400;
      });
    }
  }

  /**
   * `member`'s endpoint for calls and health checks: on Skitai's own HTTP/1.1 client, or on undici
   * when the cluster speaks h2 to its members (`http2 = yes`) or asks for it (`call_client = undici`).
   */
  endpoint(member: Member): Endpoint {
    const base = this.#endpoints.get(member)!;
    if (this.options.http2 || this.options.callClient === 'undici') return base;
    let endpoint = this.#calls.get(member);
    if (endpoint === undefined) {
      endpoint = { ...base, h1: this.#h1Of(member).dispatcher };
      this.#calls.set(member, endpoint);
    }
    return endpoint;
  }

  /** Internal (Route): the endpoint of `member`. */
  target(member: Member): Endpoint {
    return this.#calls.get(member) ?? this.endpoint(member);
  }

  /**
   * Internal (the reverse proxy's Route): `member`'s endpoint on Skitai's own HTTP/1.1 client,
   * or on undici when the cluster speaks h2 to its members (`http2 = yes`) or asks for it (`proxy_client = undici`).
   */
  streamTarget(member: Member): Endpoint | MemberEndpoint {
    if (this.options.http2 || this.options.proxyClient === 'undici') return this.#endpoints.get(member)!;
    return this.#h1Of(member);
  }

  /** `member` on transport/h1: one pool per member, made on first use. */
  #h1Of(member: Member): MemberEndpoint {
    let endpoint = this.#h1.get(member);
    if (endpoint === undefined) {
      const base = this.#endpoints.get(member)!;
      const { options } = this;
      const dispatcher = new MemberPool({
        origin: base.origin, address: member.name === undefined ? undefined : member.host,
        connections: options.maxConns, connectTimeout: options.connectTimeout, keepAlive: options.keepAlive, caFile: options.caFile,
      });
      endpoint = { ...base, dispatcher };
      this.#h1.set(member, endpoint);
    }
    return endpoint;
  }

  /** Internal (Route). */
  refused(why: 'breaker' | 'none', node: string): Result {
    const name = this.cluster.name;
    if (why === 'breaker') return Result.failure(Status.NETERR, 'SKT_CLUSTER_BREAKER_OPEN', `the circuit breaker of @${name} is open; the request was not sent`, node);
    return Result.failure(Status.NETERR, 'SKT_CLIENT_NETWORK', `no member of @${name} could be asked`, node);
  }

  /**
   * `was.lb`'s rule (`call/retry.ts`): fail over per {@link httpMayRetry}; hedge (`hedge_delay`)
   * only requests that may be sent twice and can be.
   */
  rule(retryTimeouts: boolean): Rule<Prepared, Result> {
    const hedgeDelay = this.options.hedgeDelay;
    return {
      mayRetry: (outcome, req) => httpMayRetry(outcome, req, retryTimeouts),
      hedgeDelay: (req) => (req.retryable && req.replayable ? hedgeDelay : 0),
    };
  }

  #wire(member: Member): void {
    const { options } = this;
    const scheme = options.ssl ? 'https' : 'http';
    // A member found in DNS is asked by its name (Host header, TLS name) at its own address.
    const origin = `${scheme}://${member.name === undefined ? member.node : nodeOf({ host: member.name, port: member.port })}`;
    const pool = createPool(origin, { connections: options.maxConns, connectTimeout: options.connectTimeout, keepAlive: options.keepAlive, caFile: options.caFile, h2: options.http2, address: member.name === undefined ? undefined : member.host });
    this.#pools.set(member, pool);
    this.#endpoints.set(member, {
      dispatcher: pool,
      origin,
      node: member.node,
      connectTimeout: options.connectTimeout,
      responseTimeout: options.responseTimeout,
      maxResponseSize: options.maxResponseSize,
      failOn5xx: options.failOn5xx,
    });
  }

  #retire(member: Member): void {
    this.#calls.delete(member);
    const stream = this.#h1.get(member);
    if (stream !== undefined) {
      this.#h1.delete(member);
      const pool = stream.dispatcher;
      this.#retiring.add(pool);
      void pool.close().finally(() => this.#retiring.delete(pool));
    }
    const pool = this.#pools.get(member);
    this.#pools.delete(member);
    this.#endpoints.delete(member);
    if (!pool) return;
    this.#retiring.add(pool);
    // undici's close() lets queued and running requests finish first.
    void pool.close().catch(() => undefined).finally(() => this.#retiring.delete(pool));
  }

  /**
   * Lend the next member to a caller that sends by itself (the reverse proxy's WebSocket upgrade): chosen by the
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

  #outcomeOfCode(code: number): Outcome {
    return this.options.failOn5xx && code >= 500 ? 'failure' : 'success';
  }

  async close(graceMs: number): Promise<void> {
    this.cluster.close();
    const streams = [...this.#h1.values()].map((e) => e.dispatcher);
    await closeDispatchers([...this.#pools.values(), ...streams, ...this.#retiring], graceMs);
  }
}

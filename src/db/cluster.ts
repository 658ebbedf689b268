import { Cluster, type ClusterDeps, type ClusterStatus } from '../cluster/cluster.js';
import { monotonic } from '../cluster/clock.js';
import type { Member } from '../cluster/member.js';
import type { Deadline } from '../call/deadline.js';
import type { Sink, Slot } from '../call/gather.js';
import { failover, fanOut, type Route, type Rule } from '../call/plan.js';
import { pgMayRetry } from '../call/retry.js';
import { Status } from '../call/status.js';
import type { Logger } from '../log/logger.js';
import { MemberPool, pgTransport } from '../transport/pg/pool.js';
import { probeMember } from '../transport/pg/probe.js';
import type { DbQuery, DbTarget, PoolStatus } from '../transport/pg/query.js';
import { DbResult } from '../transport/pg/result.js';
import type { DbClusterOptions } from './options.js';
import type { DbMemberSpec } from './members.js';

/** `was.status()`'s view of a PostgreSQL cluster: the cluster's health view plus each member's pool. */
export interface DbClusterStatus extends ClusterStatus {
  readonly pools: Readonly<Record<string, PoolStatus>>;
}

/** dlb's retry rules (`call/retry.ts`), one per `safe` setting, made once: SQL is never hedged. */
const SAFE: Rule<DbQuery, DbResult> = { mayRetry: (o) => pgMayRetry(o, true), hedgeDelay: () => 0 };
const UNSAFE: Rule<DbQuery, DbResult> = { mayRetry: (o) => pgMayRetry(o, false), hedgeDelay: () => 0 };

/**
 * A `type = postgresql` cluster with its wires: the protocol-free Cluster (choice, passive health,
 * breaker, retry budget) and one MemberPool per member — the {@link Route} that `call/plan.ts`
 * sends over. (The route is a private object, so the public declarations never reach pg's types.)
 */
export class DbCluster {
  readonly cluster: Cluster;
  readonly #pools = new Map<Member, MemberPool>();
  readonly #route: Route<MemberPool, DbQuery, DbResult>;
  /** Pools of members DNS removed, closing once their queries are done. */
  readonly #retiring = new Set<MemberPool>();
  readonly #logger: Logger | undefined;

  constructor(
    readonly options: DbClusterOptions,
    deps: ClusterDeps & { logger?: Logger } = {},
  ) {
    const cluster = new Cluster(options, deps);
    this.cluster = cluster;
    this.#logger = deps.logger;
    const pools = this.#pools;
    this.#route = {
      cluster,
      clock: deps.clock ?? monotonic,
      transport: pgTransport,
      target: (member) => pools.get(member)!,
      refused: (why, node) => refused(cluster.name, why, node),
    };
    for (const member of cluster.members) pools.set(member, new MemberPool(targetOf(member), options, deps.logger));
    cluster.watchMembers((added, removed) => {
      for (const member of removed) this.#retire(member);
      for (const member of added) pools.set(member, new MemberPool(targetOf(member), options, this.#logger));
    });
    cluster.startResolving();
    const check = options.healthCheck;
    if (check) this.cluster.startHealthChecks((member, signal) => probeMember(targetOf(member), check.timeoutMs, signal));
  }

  // Queries already given to a removed member run to their end (the longest a query may wait and run), then the pool closes.
  #retire(member: Member): void {
    const pool = this.#pools.get(member);
    this.#pools.delete(member);
    if (!pool) return;
    this.#retiring.add(pool);
    void (async () => {
      const until = Date.now() + this.options.connectTimeout + this.options.queryTimeout;
      while (busy(pool.status()) && Date.now() < until && this.#retiring.has(pool)) await new Promise((r) => setTimeout(r, 50).unref());
      await pool.close(0);
      this.#retiring.delete(pool);
    })();
  }

  /** dmap: every live member, one Result each, in member order. No retries. */
  sendMap(query: DbQuery, deadline: Deadline, sink: Sink<DbResult>): Slot[] {
    return fanOut(this.#route, query, deadline, sink);
  }

  /** dlb: one member, failing over when the statement certainly did not run (or, `safe`, after a lost connection). */
  sendLb(query: DbQuery, safe: boolean, deadline: Deadline, sink: Sink<DbResult>): Slot {
    return failover(this.#route, safe ? SAFE : UNSAFE, query, deadline, sink);
  }

  status(): DbClusterStatus {
    const pools: Record<string, PoolStatus> = {};
    for (const [member, pool] of this.#pools) pools[member.node] = pool.status();
    return { ...this.cluster.status(), pools };
  }

  async close(graceMs: number): Promise<void> {
    this.cluster.close();
    // A retiring pool's own wait ends here: shutdown gives it the same grace as the others.
    const pools = [...this.#pools.values(), ...this.#retiring];
    this.#retiring.clear();
    await Promise.all(pools.map((p) => p.close(graceMs)));
  }
}

function refused(name: string, why: 'breaker' | 'none', node: string): DbResult {
  if (why === 'breaker') return DbResult.dbFailure(Status.NETERR, 'SKT_CLUSTER_BREAKER_OPEN', `the circuit breaker of @${name} is open; the query was not sent`, node);
  return DbResult.dbFailure(Status.NETERR, 'SKT_DB_CONNECT', `no member of @${name} could be asked`, node);
}

/** A member's pool target: its spec (database, credentials) at the member's address. */
function targetOf(member: Member): DbTarget {
  return { ...(member.spec as DbMemberSpec), host: member.host, node: member.node };
}

function busy(status: PoolStatus): boolean {
  return status.running > 0 || status.waiting > 0;
}

import { Cluster, type ClusterDeps, type ClusterStatus, type Lease } from '../cluster/cluster.js';
import type { Member } from '../cluster/member.js';
import type { Abort } from '../client/abort.js';
import { Status } from '../client/status.js';
import type { Logger } from '../log/logger.js';
import type { DbSink, DbSlot } from './call.js';
import type { DbOutcome } from './failure.js';
import type { DbClusterOptions } from './options.js';
import { MemberPool } from './pool.js';
import type { DbMemberSpec } from './members.js';
import type { DbQuery, DbTarget, PoolStatus } from './query.js';
import { probeMember } from './probe.js';
import { DbResult } from './result.js';

/** `was.status()`'s view of a PostgreSQL cluster: the cluster's health view plus each member's pool. */
export interface DbClusterStatus extends ClusterStatus {
  readonly pools: Readonly<Record<string, PoolStatus>>;
}

/**
 * A `type = postgresql` cluster with its wires: the protocol-free Cluster (choice, passive health,
 * breaker, retry budget) and one MemberPool per member.
 */
export class DbCluster {
  readonly cluster: Cluster;
  readonly #pools = new Map<Member, MemberPool>();
  /** Pools of members DNS removed, closing once their queries are done. */
  readonly #retiring = new Set<MemberPool>();
  readonly #logger: Logger | undefined;

  constructor(
    readonly options: DbClusterOptions,
    deps: ClusterDeps & { logger?: Logger } = {},
  ) {
    this.cluster = new Cluster(options, deps);
    this.#logger = deps.logger;
    for (const member of this.cluster.members) this.#pools.set(member, new MemberPool(targetOf(member), options, deps.logger));
    this.cluster.watchMembers((added, removed) => {
      for (const member of removed) this.#retire(member);
      for (const member of added) this.#pools.set(member, new MemberPool(targetOf(member), options, this.#logger));
    });
    this.cluster.startResolving();
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

  /** dmap: every live member (every member in panic mode), one Result each, in member order. No retries. */
  sendMap(query: DbQuery, abort: Abort, sink: DbSink): DbSlot[] {
    const cluster = this.cluster;
    const members = cluster.live();
    const slots: DbSlot[] = new Array<DbSlot>(members.length);
    for (let i = 0; i < members.length; i++) {
      const member = members[i]!;
      slots[i] = { node: member.node };
      const lease = cluster.acquire(member);
      if (!lease) {
        sink.arrive(i, breakerOpen(cluster.name, member.node));
        continue;
      }
      this.#pools.get(member)!.run(query, abort, (outcome) => {
        cluster.release(lease, outcome.health);
        sink.arrive(i, outcome.result);
      });
    }
    return slots;
  }

  /**
   * dlb: one member chosen by the strategy. Another member is tried when the statement certainly
   * did not run (no connection: refused, unreachable, login refused, too many connections), or —
   * for `safe` statements — when the connection was lost mid-query. A server's SQL error and a
   * TIMEOUT end the call: the statement may have run, and a slow query would only get slower
   * elsewhere. Each failover spends the cluster's retry budget; no member is tried twice.
   */
  sendLb(query: DbQuery, safe: boolean, abort: Abort, sink: DbSink): DbSlot {
    const send = new LbSend(this.cluster, this.#pools, query, safe, abort, sink);
    this.cluster.countRequest();
    if (!send.launch()) send.end();
    return send.slot;
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

/**
 * One dlb call's walk over the members: a class rather than closures made per call (under tsx each
 * named closure also pays a `__name` call), and the set of tried members only once it fails over.
 */
class LbSend {
  readonly slot: DbSlot;
  #tried: Set<Member> | undefined;
  #last: DbResult | undefined;
  #lease: Lease | undefined;
  readonly #onOutcome = (outcome: DbOutcome): void => this.#outcome(outcome);

  constructor(
    readonly cluster: Cluster,
    readonly pools: Map<Member, MemberPool>,
    readonly query: DbQuery,
    readonly safe: boolean,
    readonly abort: Abort,
    readonly sink: DbSink,
  ) {
    this.slot = { node: `@${cluster.name}` };
  }

  end(): void {
    this.sink.arrive(0, this.#last ?? DbResult.dbFailure(Status.NETERR, 'SKT_DB_CONNECT', `no member of @${this.cluster.name} could be asked`, `@${this.cluster.name}`));
  }

  launch(): boolean {
    const cluster = this.cluster;
    // The member of the attempt that just failed joins the tried ones (no Set unless it fails over).
    if (this.#lease) (this.#tried ??= new Set()).add(this.#lease.member);
    const member = cluster.pick(this.#tried);
    if (!member) return false;
    const lease = cluster.acquire(member);
    if (!lease) {
      this.#last ??= breakerOpen(cluster.name, member.node);
      return false;
    }
    this.#lease = lease;
    this.slot.node = member.node;
    this.pools.get(member)!.run(this.query, this.abort, this.#onOutcome);
    return true;
  }

  #outcome(outcome: DbOutcome): void {
    this.cluster.release(this.#lease!, outcome.health);
    this.#last = outcome.result;
    if (outcome.result.status === Status.NORMAL || this.abort.aborted || outcome.health === 'cancelled' || !mayRetry(outcome, this.safe)) return this.end();
    if (this.cluster.tryRetry() && this.launch()) return;
    this.end();
  }
}

/** A member's pool target: its spec (database, credentials) at the member's address. */
function targetOf(member: Member): DbTarget {
  return { ...(member.spec as DbMemberSpec), host: member.host, node: member.node };
}

function busy(status: PoolStatus): boolean {
  return status.running > 0 || status.waiting > 0;
}

function mayRetry(outcome: DbOutcome, safe: boolean): boolean {
  if (!outcome.sent) return true;
  return safe && outcome.result.status === Status.NETERR;
}

function breakerOpen(name: string, node: string): DbResult {
  return DbResult.dbFailure(Status.NETERR, 'SKT_CLUSTER_BREAKER_OPEN', `the circuit breaker of @${name} is open; the query was not sent`, node);
}

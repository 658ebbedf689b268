import crypto from 'node:crypto';
import net from 'node:net';
import type { Random } from '../cluster/balance.js';
import { ResultCache, type CacheStats } from '../call/cache.js';
import type { Deadline } from '../call/deadline.js';
import { Status } from '../call/status.js';
import { monotonic, type Clock } from '../cluster/clock.js';
import type { Cluster } from '../cluster/cluster.js';
import type { Lookup } from '../cluster/resolve.js';
import { clusterType } from '../cluster/options.js';
import type { ClusterConfig } from '../config/types.js';
import { SkitaiError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { DbCall, type DbCallOptions, type DbSender, type DbSink, type DbSlot } from './call.js';
import { DbCluster, type DbClusterStatus } from './cluster.js';
import { DEFAULT_PG_PORT } from './members.js';
import { parseDbClusterOptions, type DbPoolOptions } from './options.js';
import { MemberPool } from '../transport/pg/pool.js';
import type { DbQuery, PoolStatus } from '../transport/pg/query.js';
import { DbResult } from '../transport/pg/result.js';

/** Settings of the facade. Durations in MILLISECONDS. */
export interface DatabasesOptions {
  /** `[@name]` sections; only `type = postgresql` ones are taken, the rest belong to the HTTP clients. */
  readonly clusters?: readonly ClusterConfig[] | Readonly<Record<string, ClusterConfig>>;
  /** `[server] num_result_cache_max`; 0 turns the DB result cache off. Default 200. */
  readonly resultCacheMax?: number;
  readonly logger?: Logger;
  /** Pools of `was.db(...)`: at most this many (the least recently used idle one closed first; busy ones are kept). Default 16. */
  readonly maxAdhocPools?: number;
  /** Pool settings of `was.db(...)` pools. Defaults: 4 connections, 5 s connect, 60 s idle, 30 s query. */
  readonly adhoc?: Partial<DbPoolOptions>;
  /** How long `close()` lets running queries finish before cancelling them. Default 5000. */
  readonly closeGrace?: number;
  /** Tests: a controllable clock (time, call deadlines, timers) and random source for every cluster. */
  readonly clock?: Clock;
  readonly random?: Random;
  /** DNS for `resolve = yes` clusters (default: node's resolver). */
  readonly lookup?: Lookup;
}

/** `was.status()`'s view of the databases. */
export interface DatabasesStatus {
  readonly clusters: Readonly<Record<string, DbClusterStatus>>;
  /** Ad-hoc pools by `host:port/dbname user`. */
  readonly adhoc: Readonly<Record<string, PoolStatus>>;
  readonly resultCache: CacheStats;
}

interface ClusterSenders {
  readonly map: DbSender;
  readonly lb: DbSender;
}

const ADHOC_DEFAULTS: DbPoolOptions = { maxConns: 4, connectTimeout: 5000, idleTimeout: 60_000, queryTimeout: 30_000 };

/**
 * PostgreSQL calls, one per worker: `dmap` and `dlb` to `[@name] type = postgresql` clusters and
 * `db` to any server, over shared pools, with one result cache. Misuse (unknown cluster, bad
 * server) throws SkitaiError at once; a member's failure never throws — it is a DbResult.
 */
export class Databases {
  readonly #clusters = new Map<string, DbCluster>();
  readonly #httpClusters = new Set<string>();
  readonly #bySpelling = new Map<string, ClusterSenders>();
  readonly #adhoc = new Map<string, { pool: MemberPool; label: string }>();
  readonly #cache: ResultCache;
  readonly #adhocOptions: DbPoolOptions;
  readonly #maxAdhoc: number;
  readonly #closeGrace: number;
  readonly #logger: Logger | undefined;
  readonly #state = { closed: false };
  readonly #clock: Clock;

  constructor(options: DatabasesOptions = {}) {
    const configs = Array.isArray(options.clusters) ? options.clusters : Object.values(options.clusters ?? {});
    const deps = { ...(options.clock ? { clock: options.clock } : {}), ...(options.random ? { random: options.random } : {}), ...(options.logger ? { logger: options.logger } : {}), ...(options.lookup ? { lookup: options.lookup } : {}) };
    try {
      for (const config of configs as readonly ClusterConfig[]) {
        if (clusterType(config) === 'postgresql') this.#clusters.set(config.name, new DbCluster(parseDbClusterOptions(config), deps));
        else this.#httpClusters.add(config.name);
      }
    } catch (err) {
      for (const c of this.#clusters.values()) void c.close(0);
      throw err;
    }
    this.#cache = new ResultCache(options.resultCacheMax ?? 200);
    this.#adhocOptions = { ...ADHOC_DEFAULTS, ...options.adhoc };
    this.#maxAdhoc = options.maxAdhocPools ?? 16;
    this.#closeGrace = options.closeGrace ?? 5000;
    this.#logger = options.logger;
    this.#clock = options.clock ?? monotonic;
  }

  /** Every live member of cluster `'@name'`: `execute(sql, params)`, then `getswait()`. */
  dmap(target: string, options?: DbCallOptions): DbCall {
    return new DbCall(this.#senders(target).map, this.#cache, options, this.#clock);
  }

  /** One member of cluster `'@name'`, failing over when the statement certainly did not run: `execute()`, then `getwait()`. */
  dlb(target: string, options?: DbCallOptions): DbCall {
    return new DbCall(this.#senders(target).lb, this.#cache, options, this.#clock);
  }

  /**
   * Any server, without a config section: `server` is `host:port` (port 5432 by default). Pools are
   * kept per server, database, user and password, at most `maxAdhocPools` of them.
   */
  db(server: string, dbname: string, user: string, password?: string, options?: DbCallOptions): DbCall {
    const { host, port } = parseServer(server);
    for (const [what, v] of [['dbname', dbname], ['user', user]] as const) {
      if (typeof v !== 'string' || v === '') throw new SkitaiError('SKT_DB_USAGE', `was.db() needs ${what} as a non-empty string`);
    }
    if (password !== undefined && typeof password !== 'string') throw new SkitaiError('SKT_DB_USAGE', 'was.db() takes the password as a string');
    const node = `${host.includes(':') ? `[${host}]` : host}:${port}/${dbname}`;
    // The password is part of the key (hashed): a call with a wrong password must never borrow
    // connections another call opened with the right one.
    const secret = password === undefined ? '' : crypto.createHash('sha256').update(password).digest('base64url');
    const key = `${node}\n${user}\n${secret}`;
    const state = this.#state;
    const sender: DbSender = {
      kind: 'db', target: node, identity: `${user}\n${secret}`, queryTimeout: this.#adhocOptions.queryTimeout,
      start: (query: DbQuery, _safe: boolean, deadline: Deadline, sink: DbSink): DbSlot[] => {
        if (state.closed) return closedSlots(node, sink);
        this.#adhocPool(key, { host, port, database: dbname, user, password, node }).run(query, deadline, (o) => sink.arrive(0, o.result));
        return [{ node }];
      },
    };
    return new DbCall(sender, this.#cache, options, this.#clock);
  }

  /** Names of the PostgreSQL clusters. */
  get clusterNames(): string[] {
    return [...this.#clusters.keys()];
  }

  /** The PostgreSQL clusters themselves, for the metrics (each member's latency histogram). */
  clusters(): Cluster[] {
    return [...this.#clusters.values()].map((c) => c.cluster);
  }

  status(): DatabasesStatus {
    const clusters: Record<string, DbClusterStatus> = {};
    for (const [name, c] of this.#clusters) clusters[name] = c.status();
    const adhoc: Record<string, PoolStatus> = {};
    for (const { pool, label } of this.#adhoc.values()) adhoc[label] = pool.status();
    return { clusters, adhoc, resultCache: this.#cache.stats() };
  }

  /** One round of active health checks on every cluster that has them (`health_check = yes`). */
  async checkHealth(): Promise<void> {
    await Promise.all([...this.#clusters.values()].map((c) => c.cluster.checkNow()));
  }

  /** Close every pool: running queries get `closeGrace` ms, then are cancelled on the server. Later calls get NETERR SKT_DB_CLOSED. */
  async close(): Promise<void> {
    if (this.#state.closed) return;
    this.#state.closed = true;
    this.#cache.clear();
    const grace = this.#closeGrace;
    await Promise.all([...[...this.#clusters.values()].map((c) => c.close(grace)), ...[...this.#adhoc.values()].map(({ pool }) => pool.close(grace))]);
  }

  /** The dmap and dlb senders of cluster `target`, made once per target spelling (a call then allocates no closures for them). */
  #senders(target: string): ClusterSenders {
    const known = this.#bySpelling.get(target);
    if (known) return known;
    const c = this.#cluster(target);
    const name = `@${c.options.name}`;
    const state = this.#state;
    const senders: ClusterSenders = {
      map: {
        kind: 'dmap', target: name, identity: '', queryTimeout: c.options.queryTimeout,
        start: (query, _safe, deadline, sink) => (state.closed ? closedSlots(name, sink) : c.sendMap(query, deadline, sink)),
      },
      lb: {
        kind: 'dlb', target: name, identity: '', queryTimeout: c.options.queryTimeout,
        start: (query, safe, deadline, sink) => (state.closed ? closedSlots(name, sink) : [c.sendLb(query, safe, deadline, sink)]),
      },
    };
    // Only spellings of configured clusters get here ("@db", "@db/"), so the map stays small.
    this.#bySpelling.set(target, senders);
    return senders;
  }

  #cluster(target: string): DbCluster {
    if (typeof target !== 'string' || !/^@[\w.-]+\/?$/.test(target)) {
      throw new SkitaiError('SKT_DB_USAGE', `expected a cluster as "@name", got ${JSON.stringify(target)}`);
    }
    const name = target.slice(1).replace(/\/$/, '');
    const c = this.#clusters.get(name);
    if (c) return c;
    if (this.#httpClusters.has(name)) throw new SkitaiError('SKT_CLUSTER_TYPE', `@${name} is an HTTP cluster; use was.map/was.lb for it (dmap/dlb need type = postgresql)`);
    const known = [...this.#clusters.keys()].map((n) => `@${n}`).join(', ');
    throw new SkitaiError('SKT_CLUSTER_UNKNOWN', `no PostgreSQL cluster @${name} is configured${known ? ` (known: ${known})` : ''}`);
  }

  #adhocPool(key: string, target: ConstructorParameters<typeof MemberPool>[0]): MemberPool {
    const known = this.#adhoc.get(key);
    if (known) {
      // Map order is use order: re-insert so the least recently used pool is first.
      this.#adhoc.delete(key);
      this.#adhoc.set(key, known);
      return known.pool;
    }
    const pool = new MemberPool(target, this.#adhocOptions, this.#logger);
    this.#adhoc.set(key, { pool, label: `${target.node} ${target.user}` });
    // Least recently used first, and only pools with nothing in flight: closing a busy one cut
    // its queries with "the pools are closed". While every other pool is busy, there are more.
    for (const [oldKey, old] of this.#adhoc) {
      if (this.#adhoc.size <= this.#maxAdhoc) break;
      if (old.pool === pool || old.pool.busy) continue;
      this.#adhoc.delete(oldKey);
      void old.pool.close(this.#closeGrace);
    }
    return pool;
  }
}

function parseServer(server: string): { host: string; port: number } {
  const m = typeof server === 'string' ? /^(\[[^\]]+\]|[^\s:/[\]]+)(?::(\d{1,5}))?$/.exec(server.trim()) : null;
  const host = m ? (m[1]!.startsWith('[') ? m[1]!.slice(1, -1) : m[1]!) : '';
  const port = m?.[2] === undefined ? DEFAULT_PG_PORT : Number(m[2]);
  if (!m || (m[1]!.startsWith('[') && !net.isIPv6(host)) || !(port >= 1 && port <= 65535)) {
    throw new SkitaiError('SKT_DB_USAGE', `was.db() needs the server as "host:port" (port 5432 when left out), got ${JSON.stringify(server)}`);
  }
  return { host, port };
}

function closedSlots(node: string, sink: DbSink): DbSlot[] {
  sink.arrive(0, DbResult.dbFailure(Status.NETERR, 'SKT_DB_CLOSED', 'the database pools are closed (the worker is shutting down)', node));
  return [{ node }];
}

import crypto from 'node:crypto';
import net from 'node:net';
import type { CacheStats } from '../call/cache.js';
import type { Deadline } from '../call/deadline.js';
import { Status } from '../call/status.js';
import { SkitaiError } from '../errors.js';
import { DbCall, type DbCallOptions, type DbSender, type DbSink, type DbSlot } from '../db/call.js';
import type { DbCluster, DbClusterStatus } from '../db/cluster.js';
import { DEFAULT_PG_PORT } from '../db/members.js';
import type { DbPoolOptions } from '../db/options.js';
import { MemberPool } from '../transport/pg/pool.js';
import type { DbQuery, PoolStatus } from '../transport/pg/query.js';
import { DbResult } from '../transport/pg/result.js';
import type { ServicesCore, SharedOptions } from './core.js';
import { ServiceFace } from './face.js';

/** Settings of the facade. Durations in MILLISECONDS. */
export interface DatabasesOptions extends SharedOptions {
  /** Pools of `was.db(...)`: at most this many (the least recently used idle one closed first; busy ones are kept). Default 16. */
  readonly maxAdhocPools?: number;
  /** Pool settings of `was.db(...)` pools. Defaults: 4 connections, 5 s connect, 60 s idle, 30 s query. */
  readonly adhoc?: Partial<DbPoolOptions>;
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
 * PostgreSQL calls, one per worker (the `databases` face of its `Services`): `dmap` and `dlb` to
 * `[@name] type = postgresql` clusters and `db` to any server, over shared pools, with one result
 * cache. Misuse (unknown cluster, bad server) throws SkitaiError at once; a member's failure never
 * throws — it is a DbResult.
 */
export class Databases extends ServiceFace {
  readonly #bySpelling = new Map<string, ClusterSenders>();
  readonly #adhoc = new Map<string, { pool: MemberPool; label: string }>();
  readonly #adhocOptions: DbPoolOptions;
  readonly #maxAdhoc: number;

  /**
   * @param options the `[@name]` sections (only `type = postgresql` ones are wired here) and the `was.db()` pool settings.
   * @param core internal: the worker's shared parts when this face belongs to a `Services`
   *   (its clusters, clock, cache and logger are used, not those in `options`).
   */
  constructor(options: DatabasesOptions = {}, core?: ServicesCore) {
    super('postgresql', options, core);
    this.#adhocOptions = { ...ADHOC_DEFAULTS, ...options.adhoc };
    this.#maxAdhoc = options.maxAdhocPools ?? 16;
  }

  /** Every live member of cluster `'@name'`: `execute(sql, params)`, then `getswait()`. */
  dmap(target: string, options?: DbCallOptions): DbCall {
    return new DbCall(this.#senders(target).map, this.cache, options, this.clock);
  }

  /** One member of cluster `'@name'`, failing over when the statement certainly did not run: `execute()`, then `getwait()`. */
  dlb(target: string, options?: DbCallOptions): DbCall {
    return new DbCall(this.#senders(target).lb, this.cache, options, this.clock);
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
    const state = this.state;
    const sender: DbSender = {
      kind: 'db', target: node, identity: `${user}\n${secret}`, queryTimeout: this.#adhocOptions.queryTimeout,
      start: (query: DbQuery, _safe: boolean, deadline: Deadline, sink: DbSink): DbSlot => {
        if (state.closed) return closedSlots(node, sink);
        this.#adhocPool(key, { host, port, database: dbname, user, password, node }).run(query, deadline, (o) => sink.arrive(0, o.result));
        return { node };
      },
    };
    return new DbCall(sender, this.cache, options, this.clock);
  }

  status(): DatabasesStatus {
    const adhoc: Record<string, PoolStatus> = {};
    for (const { pool, label } of this.#adhoc.values()) adhoc[label] = pool.status();
    return { clusters: this.registry.dbStatus(), adhoc, resultCache: this.cache.stats() };
  }

  /** @internal */
  protected closeOwn(graceMs: number): Promise<void>[] {
    return [...this.#adhoc.values()].map(({ pool }) => pool.close(graceMs));
  }

  /** The dmap and dlb senders of cluster `target`, made once per target spelling (a call then allocates no closures for them). */
  #senders(target: string): ClusterSenders {
    const known = this.#bySpelling.get(target);
    if (known) return known;
    const c = this.#cluster(target);
    const name = `@${c.options.name}`;
    const state = this.state;
    const senders: ClusterSenders = {
      map: {
        kind: 'dmap', target: name, identity: '', queryTimeout: c.options.queryTimeout,
        start: (query, _safe, deadline, sink) => (state.closed ? closedSlots(name, sink) : c.sendMap(query, deadline, sink)),
      },
      lb: {
        kind: 'dlb', target: name, identity: '', queryTimeout: c.options.queryTimeout,
        start: (query, safe, deadline, sink) => (state.closed ? closedSlots(name, sink) : c.sendLb(query, safe, deadline, sink)),
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
    return this.registry.database(target.slice(1).replace(/\/$/, ''));
  }

  #adhocPool(key: string, target: ConstructorParameters<typeof MemberPool>[0]): MemberPool {
    const known = this.#adhoc.get(key);
    if (known) {
      // Map order is use order: re-insert so the least recently used pool is first.
      this.#adhoc.delete(key);
      this.#adhoc.set(key, known);
      return known.pool;
    }
    const pool = new MemberPool(target, this.#adhocOptions, this.core.logger);
    this.#adhoc.set(key, { pool, label: `${target.node} ${target.user}` });
    // Least recently used first, and only pools with nothing in flight: closing a busy one cut
    // its queries with "the pools are closed". While every other pool is busy, there are more.
    for (const [oldKey, old] of this.#adhoc) {
      if (this.#adhoc.size <= this.#maxAdhoc) break;
      if (old.pool === pool || old.pool.busy) continue;
      this.#adhoc.delete(oldKey);
      void old.pool.close(this.core.closeGrace);
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

function closedSlots(node: string, sink: DbSink): DbSlot {
  sink.arrive(0, DbResult.dbFailure(Status.NETERR, 'SKT_DB_CLOSED', 'the database pools are closed (the worker is shutting down)', node));
  return { node };
}

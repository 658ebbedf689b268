import { cacheKey, storeOutcome, type ResultCache } from '../call/cache.js';
import type { Deadline } from '../call/deadline.js';
import { Gathering, type GatherKind, type Sink, type Slot } from '../call/gather.js';
import { atTickEnd, type TickEnd } from '../call/tick.js';
import { ownOutcome, type CacheOwner, type Results } from '../call/result.js';
import { Status } from '../call/status.js';
import { monotonic, type Clock } from '../cluster/clock.js';
import { SkitaiError } from '../errors.js';
import type { RequestContext } from '../log/trace.js';
import { Statement, type DbQuery } from '../transport/pg/query.js';
import { DbResult, type DbResults } from '../transport/pg/result.js';
import { prepareParams } from './params.js';

/** One result the call waits for; `node` is who is being asked (it changes as dlb fails over). */
export type DbSlot = Slot;

/** Where a sender reports each slot's Result, once. May be called before `start()` returns. */
export type DbSink = Sink<DbResult>;

/** How a statement is sent: dmap (every live member), dlb (one, with failover) or db (one ad-hoc pool). */
export interface DbSender {
  readonly kind: 'dmap' | 'dlb' | 'db';
  /** `@name`, or `host:port/dbname` for db. */
  readonly target: string;
  /** What else makes two calls the same call for the cache (the ad-hoc user and password); hashed, never readable. */
  readonly identity: string;
  /** The cluster's query_timeout: how long the call may take when nobody waits for it (ms). */
  readonly queryTimeout: number;
  /**
   * Start; each slot's Result goes to `sink` (never a rejection). `deadline` cancels at the call's
   * deadline. One slot (dlb, db) is returned as itself, not in an array.
   */
  start(query: DbQuery, safe: boolean, deadline: Deadline, sink: DbSink): DbSlot | DbSlot[];
}

/** Runs on each Result as it arrives (synthesized timeouts included); may rewrite `data` (Skitai's `filter`). */
export type DbResultFilter = (result: DbResult) => void;

/** Options of `was.dmap/dlb/db`. */
export interface DbCallOptions {
  readonly filter?: DbResultFilter;
  /**
   * The request this call is made for (`was` sets it): the statement is sent as
   * `/* reqId=<id> *\/ <sql>`, so `pg_stat_activity` and the server log show which request ran it.
   * The result-cache key is made from the SQL without it.
   */
  readonly context?: RequestContext | undefined;
  /**
   * The request's deadline (`was` sets it): this call ends no later than it, and is cancelled —
   * the statement cancelled on the server — when the request's client goes away.
   */
  readonly deadline?: Deadline | undefined;
}

/** Options of `execute()`. */
export interface ExecuteOptions {
  /**
   * dlb: the statement may run twice (read-only, or idempotent), so fail over after a connection
   * lost mid-query too — not only when it certainly never ran. Default false.
   */
  readonly safe?: boolean;
  /** `false`: do not answer from the result cache. */
  readonly useCache?: boolean;
}

/**
 * A database call: made by `was.dmap/dlb/db`, sent by `execute(sql, params)`, read with
 * `getwait`/`getswait`. As for HTTP calls the deadline counts from when the call was MADE, a
 * member's failure is a Result (TIMEOUT, NETERR) and never a rejection, and at the deadline every
 * pending query gets a TIMEOUT — and is cancelled on the server. A call nobody waits for is cut at
 * the cluster's `query_timeout`.
 */
export class DbCall implements CacheOwner, TickEnd {
  static readonly #KIND: GatherKind<DbResult, DbCall> = {
    usage: (message) => new SkitaiError('SKT_DB_USAGE', message),
    unsent: (call) => DbResult.dbFailure(Status.UNSENT, 'SKT_DB_UNSENT', 'execute() was not called on this call object, so nothing was sent', call.#sender.target),
    timedOut: (node, seconds) => {
      const timeout = DbResult.dbFailure(Status.TIMEOUT, 'SKT_DB_TIMEOUT', `no answer from ${node} within ${seconds} s of the call`, node);
      timeout.elapsed = seconds * 1000;
      return timeout;
    },
    cancelled: (node) => DbResult.dbFailure(Status.NETERR, 'SKT_DB_NETWORK', `query to ${node} cancelled: the request's client went away`, node),
    finished: (call, results) => call.#finished(results),
    // Each attempt reports what it was doing (waiting for a connection, or running — then it is
    // cancelled on the server); only slots still empty get a plain TIMEOUT.
    abortFirst: true,
  };

  readonly #sender: DbSender;
  readonly #cache: ResultCache | undefined;
  readonly #g: Gathering<DbResult, DbCall>;
  #key: string | null | undefined;
  #query: DbQuery | undefined;
  /** query_timeout is still to be put on the call's deadline (by the first wait, or at the end of the tick). */
  #limitDue = false;

  constructor(sender: DbSender, cache: ResultCache | undefined, options?: DbCallOptions, clock: Clock = monotonic) {
    this.#sender = sender;
    this.#cache = cache;
    // No `= {}` default: an object literal per call, for nothing, on the hot path.
    this.#g = new Gathering(DbCall.#KIND, this, options?.filter, clock, options?.deadline);
    this.#context = options?.context;
  }

  readonly #context: RequestContext | undefined;

  /**
   * Send one statement: `$1, $2…` placeholders take `params` (never build SQL from user input).
   * Several statements separated by `;` may run only without params. One execute per call object.
   */
  execute(sql: string, params?: readonly unknown[], options?: ExecuteOptions): this {
    if (this.#query) throw new SkitaiError('SKT_DB_USAGE', `one call object runs one execute(); make a new was.${this.#sender.kind}() for the next statement`);
    if (typeof sql !== 'string' || sql.trim() === '') throw new SkitaiError('SKT_DB_USAGE', 'execute() needs the SQL text as a non-empty string');
    if (params !== undefined && !Array.isArray(params)) throw new SkitaiError('SKT_DB_USAGE', 'execute() takes its parameters as an array, for $1, $2, …');
    const query: DbQuery = new Statement(sql, params === undefined ? undefined : prepareParams(params));
    this.#query = query;
    if (this.#cache && this.#cache.size > 0 && options?.useCache !== false) {
      const key = this.#cacheKey();
      const hit = key === null ? undefined : this.#cache.get(key);
      if (hit) {
        this.#g.settle((Array.isArray(hit) ? hit : [hit as DbResult]).map((r) => (r as DbResult).cloneFromCache()));
        return this;
      }
    }
    // Statements are unnamed (no server-side prepared statement to miss), and pg_stat_statements
    // ignores comments, so the prefix costs a few bytes on the wire and nothing else.
    const ctx = this.#context;
    const sent: DbQuery = ctx ? new Statement(`/* reqId=${ctx.id} */ ${sql}`, query.values) : query;
    const g = this.#g;
    if (g.expiredBeforeSend(this.#sender.target)) return this;
    g.begin(this.#sender.start(sent, options?.safe === true, g.deadline, g));
    // query_timeout: the limit of a call nobody waits for, on the call's one timer — put there after
    // a wait of the same tick, so `execute(...).getwait(2)` arms one timer rather than two.
    if (!g.final) {
      this.#limitDue = true;
      atTickEnd(this);
    }
    return this;
  }

  /** Internal (TickEnd), and the first wait: the cluster's query_timeout joins the deadline. */
  flush(): void {
    if (!this.#limitDue) return;
    this.#limitDue = false;
    const g = this.#g;
    if (!g.final) g.deadline.cap(g.created + this.#sender.queryTimeout, false);
  }

  /** The one Result (dlb, db). Rejects only for misuse — a dmap call with several results — or a filter that threw. */
  getwait(timeout = 3): Promise<DbResult> {
    const waiting = this.#g.wait(timeout, true) as Promise<DbResult>;
    this.flush();
    return waiting;
  }

  /** Every Result, in member order, by `timeout` seconds after the call was made. Never rejects for a member's failure. */
  getswait(timeout = 3): Promise<DbResults> {
    const waiting = this.#g.wait(timeout, false) as Promise<DbResults>;
    this.flush();
    return waiting;
  }

  #finished(results: Results): void {
    if (!this.#cache) return;
    ownOutcome(results, this, this.#sender.kind === 'dmap');
  }

  /** Internal (CacheOwner): `cache(seconds)` on this call's Result or Results. */
  storeInCache(seconds: number): void {
    const cache = this.#cache;
    const results = this.#g.final;
    if (!cache || !results) return;
    const key = this.#cacheKey();
    if (key === null) return;
    storeOutcome(cache, key, results, seconds, this.#sender.kind === 'dmap');
  }

  #cacheKey(): string | null {
    if (this.#key !== undefined) return this.#key;
    const q = this.#query;
    if (!q) return (this.#key = null);
    const s = this.#sender;
    return (this.#key = cacheKey({ kind: s.kind, target: s.target, method: 'SQL', data: { sql: q.text, params: q.values ?? null }, login: s.identity }) ?? null);
  }
}

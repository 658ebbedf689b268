import { Abort } from '../client/abort.js';
import { cacheKey, type Cached, type ResultCache } from '../client/cache.js';
import { CallAbort } from '../client/failure.js';
import { Results, setCacheOwner, type CacheOwner } from '../client/result.js';
import { Status } from '../client/status.js';
import { SkitaiError } from '../errors.js';
import { prepareParams } from './params.js';
import type { DbQuery } from './pool.js';
import { DbResult, type DbResults, type Row } from './result.js';

/** One result the call waits for; `node` is who is being asked (it changes as dlb fails over). */
export interface DbSlot {
  node: string;
}

/** Where a sender reports each slot's Result, once. May be called before `start()` returns. */
export interface DbSink {
  arrive(index: number, result: DbResult): void;
}

/** How a statement is sent: dmap (every live member), dlb (one, with failover) or db (one ad-hoc pool). */
export interface DbSender {
  readonly kind: 'dmap' | 'dlb' | 'db';
  /** `@name`, or `host:port/dbname` for db. */
  readonly target: string;
  /** What else makes two calls the same call for the cache (the ad-hoc user and password); hashed, never readable. */
  readonly identity: string;
  /** The cluster's query_timeout: how long the call may take when nobody waits for it (ms). */
  readonly queryTimeout: number;
  /** Start; each slot's Result goes to `sink` (never a rejection). `abort` fires at the call's deadline. */
  start(query: DbQuery, safe: boolean, abort: Abort, sink: DbSink): DbSlot[];
}

/** Runs on each Result as it arrives (synthesized timeouts included); may rewrite `data` (Skitai's `filter`). */
export type DbResultFilter = (result: DbResult) => void;

/** Options of `was.dmap/dlb/db`. */
export interface DbCallOptions {
  readonly filter?: DbResultFilter;
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

interface Waiter {
  readonly resolve: (value: never) => void;
  readonly reject: (err: unknown) => void;
  readonly one: boolean;
  readonly timer: NodeJS.Timeout | undefined;
}

/**
 * A database call: made by `was.dmap/dlb/db`, sent by `execute(sql, params)`, read with
 * `getwait`/`getswait`. As for HTTP calls the deadline counts from when the call was MADE, a
 * member's failure is a Result (TIMEOUT, NETERR) and never a rejection, and at the deadline every
 * pending query gets a TIMEOUT — and is cancelled on the server. A call nobody waits for is cut at
 * the cluster's `query_timeout`.
 */
export class DbCall implements DbSink, CacheOwner {
  readonly #created = performance.now();
  readonly #sender: DbSender;
  readonly #cache: ResultCache | undefined;
  readonly #abort = new Abort();
  readonly #filter: DbResultFilter | undefined;
  #filterError: unknown;
  #key: string | null | undefined;
  #query: DbQuery | undefined;
  #slots: DbSlot[] | undefined;
  #results: (DbResult | undefined)[] = [];
  #early: [number, DbResult][] | undefined;
  #pending = 0;
  #final: Results<Row[] | null> | undefined;
  #limit: NodeJS.Timeout | undefined;
  #waiters: Waiter[] | undefined;

  constructor(sender: DbSender, cache: ResultCache | undefined, options: DbCallOptions = {}) {
    this.#sender = sender;
    this.#cache = cache;
    this.#filter = options.filter;
  }

  /**
   * Send one statement: `$1, $2…` placeholders take `params` (never build SQL from user input).
   * Several statements separated by `;` may run only without params. One execute per call object.
   */
  execute(sql: string, params?: readonly unknown[], options: ExecuteOptions = {}): this {
    if (this.#query) throw new SkitaiError('SKT_DB_USAGE', `one call object runs one execute(); make a new was.${this.#sender.kind}() for the next statement`);
    if (typeof sql !== 'string' || sql.trim() === '') throw new SkitaiError('SKT_DB_USAGE', 'execute() needs the SQL text as a non-empty string');
    if (params !== undefined && !Array.isArray(params)) throw new SkitaiError('SKT_DB_USAGE', 'execute() takes its parameters as an array, for $1, $2, …');
    const query: DbQuery = { text: sql, values: params === undefined ? undefined : prepareParams(params) };
    this.#query = query;
    if (this.#cache && this.#cache.size > 0 && options.useCache !== false) {
      const key = this.#cacheKey();
      const hit = key === null ? undefined : this.#cache.get(key);
      if (hit) {
        this.#slots = [];
        this.#finish((Array.isArray(hit) ? hit : [hit as DbResult]).map((r) => (r as DbResult).cloneFromCache()));
        return this;
      }
    }
    const slots = this.#sender.start(query, options.safe === true, this.#abort, this);
    this.#slots = slots;
    this.#results = new Array<DbResult | undefined>(slots.length);
    this.#pending = slots.length;
    if (slots.length === 0) this.#finish([]);
    const early = this.#early;
    this.#early = undefined;
    if (early) for (const [i, r] of early) this.arrive(i, r);
    if (!this.#final) {
      this.#limit = setTimeout(() => this.#expire(), Math.max(0, this.#created + this.#sender.queryTimeout - performance.now()));
      this.#limit.unref();
    }
    return this;
  }

  /** The one Result (dlb, db). Rejects only for misuse — a dmap call with several results — or a filter that threw. */
  getwait(timeout = 3): Promise<DbResult> {
    return new Promise((resolve, reject) => this.#wait(timeout, true, resolve as (v: never) => void, reject));
  }

  /** Every Result, in member order, by `timeout` seconds after the call was made. Never rejects for a member's failure. */
  getswait(timeout = 3): Promise<DbResults> {
    return new Promise((resolve, reject) => this.#wait(timeout, false, resolve as (v: never) => void, reject));
  }

  #wait(timeout: number, one: boolean, resolve: (v: never) => void, reject: (err: unknown) => void): void {
    if (!this.#slots) {
      const unsent = DbResult.dbFailure(Status.UNSENT, 'SKT_DB_UNSENT', 'execute() was not called on this call object, so nothing was sent', this.#sender.target);
      this.#deliver({ resolve, reject, one, timer: undefined }, Results.fromList([unsent]));
      return;
    }
    if (this.#final) {
      this.#deliver({ resolve, reject, one, timer: undefined }, this.#final);
      return;
    }
    if (typeof timeout !== 'number' || Number.isNaN(timeout)) {
      reject(new SkitaiError('SKT_DB_USAGE', 'getwait/getswait take a timeout in seconds'));
      return;
    }
    const remaining = Math.min(this.#created + timeout * 1000 - performance.now(), 2 ** 31 - 1);
    const timer = setTimeout(() => this.#expire(), Math.max(0, remaining));
    (this.#waiters ??= []).push({ resolve, reject, one, timer });
  }

  #deliver(waiter: Waiter, results: Results<Row[] | null>): void {
    if (waiter.timer !== undefined) clearTimeout(waiter.timer);
    if (this.#filterError !== undefined) waiter.reject(this.#filterError);
    else if (!waiter.one) waiter.resolve(results as never);
    else if (results.length !== 1) waiter.reject(new SkitaiError('SKT_DB_USAGE', `this call has ${results.length} results; use getswait()`));
    else waiter.resolve(results[0] as never);
  }

  /** Internal (DbSink): a sender reports slot `index`. */
  arrive(index: number, result: DbResult): void {
    if (!this.#slots) {
      (this.#early ??= []).push([index, result]);
      return;
    }
    if (this.#final || this.#results[index]) return; // after the deadline: the TIMEOUT stands
    this.#applyFilter(result);
    this.#results[index] = result;
    if (--this.#pending === 0) this.#finish(this.#results as DbResult[]);
  }

  #expire(): void {
    if (this.#final) return;
    // Abort first: each attempt reports at once with what it was doing (waiting for a connection,
    // or running — then it is cancelled on the server). Slots still empty get a plain TIMEOUT.
    this.#abort.abort(new CallAbort('deadline'));
    if (this.#final) return;
    const seconds = Math.round(performance.now() - this.#created) / 1000;
    const slots = this.#slots!;
    for (let i = 0; i < slots.length; i++) {
      if (this.#results[i]) continue;
      const node = slots[i]!.node;
      const timeout = DbResult.dbFailure(Status.TIMEOUT, 'SKT_DB_TIMEOUT', `no answer from ${node} within ${seconds} s of the call`, node);
      timeout.elapsed = seconds * 1000;
      this.#applyFilter(timeout);
      this.#results[i] = timeout;
    }
    this.#finish(this.#results as DbResult[]);
  }

  #applyFilter(result: DbResult): void {
    if (!this.#filter || this.#filterError !== undefined) return;
    try {
      this.#filter(result);
    } catch (err) {
      this.#filterError = err; // a bug in the caller's code: getwait rejects with it
    }
  }

  #finish(list: readonly DbResult[]): void {
    if (this.#limit) clearTimeout(this.#limit);
    const results = Results.fromList<Row[] | null>(list);
    this.#final = results;
    if (this.#cache) {
      setCacheOwner(results, this);
      if (this.#sender.kind !== 'dmap' && results.length === 1) setCacheOwner(results[0]!, this);
    }
    const waiters = this.#waiters;
    this.#waiters = undefined;
    if (waiters) for (const w of waiters) this.#deliver(w, results);
  }

  /** Internal (CacheOwner): `cache(seconds)` on this call's Result or Results. */
  storeInCache(seconds: number): void {
    const cache = this.#cache;
    const results = this.#final;
    if (!cache || !results) return;
    const key = this.#cacheKey();
    if (key === null) return;
    if (seconds <= 0) {
      cache.delete(key);
      return;
    }
    if (this.#sender.kind === 'dmap') {
      if (results.length > 0 && results.every((r) => r.cacheable)) cache.set(key, [...results] as Cached, seconds);
      return;
    }
    const one = results[0];
    if (one?.cacheable) cache.set(key, one, seconds);
  }

  #cacheKey(): string | null {
    if (this.#key !== undefined) return this.#key;
    const q = this.#query;
    if (!q) return (this.#key = null);
    const s = this.#sender;
    return (this.#key = cacheKey({ kind: s.kind, target: s.target, method: 'SQL', data: { sql: q.text, params: q.values ?? null }, login: s.identity }) ?? null);
  }
}

import { SkitaiError } from '../errors.js';
import { Abort } from './abort.js';
import { cacheKey, type Cached, type ResultCache } from './cache.js';
import { CallAbort } from './failure.js';
import { isRpcMethod, prepare, type Prepared, type RequestOptions } from './request.js';
import { Result, Results, setCacheOwner, type CacheOwner } from './result.js';
import { Status } from './status.js';

/** One result the call waits for. `node` says who is being asked (a sender may change it as it fails over), for a synthesized TIMEOUT. */
export interface Slot {
  node: string;
}

/** Where a sender reports: each slot's Result, once. May be called before `start()` returns. */
export interface Sink {
  arrive(index: number, result: Result): void;
}

/** How a call is sent: lb (one member, failover), map (every live member) or rest (one URL). */
export interface Sender {
  readonly kind: 'lb' | 'map' | 'rest';
  /** `@name/path` or the URL, for cache keys. */
  readonly target: string;
  /**
   * Start the exchanges of one request; each slot's Result goes to `sink` (never a rejection).
   * `abort` fires at the call's deadline. May throw SKT_CLIENT_USAGE (a stream body for a map).
   */
  start(prepared: Prepared, abort: Abort, sink: Sink): Slot[];
}

/** Runs on each Result as it arrives (synthesized timeouts included); may rewrite `data`. */
export type ResultFilter = (result: Result) => void;

/** Options of map/lb/rest/wget and the verb helpers. */
export interface CallOptions extends RequestOptions {
  readonly filter?: ResultFilter;
  /** `false`: do not answer from the result cache (the answer may still be stored with `cache()`). */
  readonly useCache?: boolean;
  /** lb: fail over after a member TIMEOUT too (overrides the cluster's `retry_timeouts`). */
  readonly retryTimeouts?: boolean;
}

/** What a call sends: the method and data of `was.map/lb/rest` before any RPC method is named. */
export interface CallSpec {
  readonly method: string;
  readonly path: string;
  readonly data: unknown;
  readonly options: CallOptions;
}

type Rpc = { readonly name: string; readonly params: unknown[] };

/** A getwait/getswait in progress. */
interface Waiter {
  readonly resolve: (value: never) => void;
  readonly reject: (err: unknown) => void;
  /** getwait: exactly one Result. */
  readonly one: boolean;
  readonly timer: NodeJS.Timeout | undefined;
}

/**
 * A call in flight. Non-RPC calls are sent when made; RPC calls when a method is called on them
 * (see `proxy.ts`). Deadlines count from when the call was MADE ("request early, use late"):
 * `getwait(2)` two seconds after `was.lb(...)` returns at once. At the deadline every pending
 * exchange is aborted and gets a synthesized TIMEOUT, so waiting never takes longer than asked.
 */
export class Call implements Sink, CacheOwner {
  readonly #created = performance.now();
  readonly #sender: Sender;
  readonly #spec: CallSpec;
  readonly #cache: ResultCache | undefined;
  readonly #abort = new Abort();
  #rpc: Rpc | undefined;
  #prepared: Prepared | undefined;
  /** The cache key; `null` when the call cannot be cached; undefined until needed. */
  #key: string | null | undefined;
  #slots: Slot[] | undefined;
  #results: (Result | undefined)[] = [];
  /** Results a sender reported before `start()` returned. */
  #early: [number, Result][] | undefined;
  #pending = 0;
  #final: Results | undefined;
  #filterError: unknown;
  #waiters: Waiter[] | undefined;

  constructor(sender: Sender, spec: CallSpec, cache: ResultCache | undefined) {
    this.#sender = sender;
    this.#spec = spec;
    this.#cache = cache;
    if (!isRpcMethod(spec.method)) this.#send(undefined);
  }

  /**
   * Send RPC method `name` — the explicit form of `s.name(...params)`, for names the call object
   * already uses (`getwait`, `then`, `toString`…). One method per call object.
   */
  invoke(name: string, ...params: unknown[]): this {
    if (!isRpcMethod(this.#spec.method)) throw new SkitaiError('SKT_CLIENT_USAGE', `a ${this.#spec.method} call is sent when made; RPC methods need XMLRPC or JSONRPC`);
    if (this.#slots) throw new SkitaiError('SKT_CLIENT_USAGE', `one call object sends one RPC method; "${name}" needs a new was.${this.#sender.kind}()`);
    this.#send({ name, params });
    return this;
  }

  /** The one Result (lb/rest). Rejects only for misuse — a map call with several results — or a filter that threw. */
  getwait<T = unknown>(timeout = 3): Promise<Result<T>> {
    return new Promise((resolve, reject) => this.#wait(timeout, true, resolve as (v: never) => void, reject));
  }

  /** Every Result, in member order, by `timeout` seconds after the call was made. Never rejects for a member's failure. */
  getswait<T = unknown>(timeout = 3): Promise<Results<T>> {
    return new Promise((resolve, reject) => this.#wait(timeout, false, resolve as (v: never) => void, reject));
  }

  #wait(timeout: number, one: boolean, resolve: (v: never) => void, reject: (err: unknown) => void): void {
    if (!this.#slots) {
      const unsent = Result.failure(Status.UNSENT, 'SKT_CLIENT_UNSENT', 'no RPC method was called on this call object, so nothing was sent', this.#sender.target);
      this.#deliver({ resolve, reject, one, timer: undefined }, Results.fromList([unsent]));
      return;
    }
    if (this.#final) {
      this.#deliver({ resolve, reject, one, timer: undefined }, this.#final);
      return;
    }
    if (Number.isNaN(timeout)) {
      reject(new SkitaiError('SKT_CLIENT_USAGE', 'getwait/getswait take a timeout in seconds'));
      return;
    }
    // setTimeout fires at once for delays past 2^31-1 ms, so "wait forever" is capped at ~24 days.
    const remaining = Math.min(this.#created + timeout * 1000 - performance.now(), 2 ** 31 - 1);
    const timer = setTimeout(() => this.#expire(), Math.max(0, remaining));
    (this.#waiters ??= []).push({ resolve, reject, one, timer });
  }

  #deliver(waiter: Waiter, results: Results): void {
    if (waiter.timer !== undefined) clearTimeout(waiter.timer);
    if (this.#filterError !== undefined) waiter.reject(this.#filterError);
    else if (!waiter.one) waiter.resolve(results as never);
    else if (results.length !== 1) waiter.reject(new SkitaiError('SKT_CLIENT_USAGE', `this call has ${results.length} results; use getswait()`));
    else waiter.resolve(results[0] as never);
  }

  #send(rpc: Rpc | undefined): void {
    const { method, path, data, options } = this.#spec;
    if (rpc && data !== undefined) throw new SkitaiError('SKT_CLIENT_USAGE', 'RPC calls take their arguments as method params, not as data');
    const prepared = prepare(method, path, data, options, rpc);
    this.#rpc = rpc;
    this.#prepared = prepared;
    // An empty cache has nothing to answer with: the key (JSON + sha256) is made only when needed.
    const cache = this.#cache;
    if (cache && cache.size > 0 && options.useCache !== false) {
      const key = this.#cacheKey();
      const hit = key === null ? undefined : cache.get(key);
      if (hit) {
        this.#slots = [];
        this.#finish(fromCache(hit));
        return;
      }
    }
    const slots = this.#sender.start(prepared, this.#abort, this);
    this.#slots = slots;
    this.#results = new Array<Result | undefined>(slots.length);
    this.#pending = slots.length;
    if (slots.length === 0) this.#finish([]);
    const early = this.#early;
    this.#early = undefined;
    if (early) for (const [i, r] of early) this.arrive(i, r);
  }

  /** Internal (Sink): a sender reports slot `index`. */
  arrive(index: number, result: Result): void {
    if (!this.#slots) {
      (this.#early ??= []).push([index, result]);
      return;
    }
    if (this.#final || this.#results[index]) return; // arrived after the deadline: the TIMEOUT stands
    this.#filter(result);
    this.#results[index] = result;
    if (--this.#pending === 0) this.#finish(this.#results as Result[]);
  }

  #expire(): void {
    if (this.#final) return;
    const seconds = Math.round(performance.now() - this.#created) / 1000;
    const slots = this.#slots!;
    for (let i = 0; i < slots.length; i++) {
      if (this.#results[i]) continue;
      const node = slots[i]!.node;
      const timeout = Result.failure(Status.TIMEOUT, 'SKT_CLIENT_TIMEOUT', `no answer from ${node} within ${seconds} s of the call`, node);
      timeout.elapsed = seconds * 1000;
      this.#filter(timeout);
      this.#results[i] = timeout;
    }
    this.#finish(this.#results as Result[]);
    this.#abort.abort(new CallAbort('deadline'));
  }

  #filter(result: Result): void {
    const filter = this.#spec.options.filter;
    if (!filter || this.#filterError !== undefined) return;
    try {
      filter(result);
    } catch (err) {
      this.#filterError = err; // a bug in the caller's code: getwait rejects with it
    }
  }

  #finish(list: readonly Result[]): void {
    const results = Results.fromList(list);
    this.#final = results;
    if (this.#cache) {
      setCacheOwner(results, this);
      if (this.#sender.kind !== 'map' && results.length === 1) setCacheOwner(results[0]!, this);
    }
    const waiters = this.#waiters;
    this.#waiters = undefined;
    if (waiters) for (const w of waiters) this.#deliver(w, results);
  }

  /** Internal (CacheOwner): `cache(seconds)` on this call's Result or Results. */
  storeInCache(seconds: number): void {
    const cache = this.#cache;
    const results = this.#final;
    if (!cache || !results || !this.#prepared?.replayable) return;
    const key = this.#cacheKey();
    if (key === null) return;
    if (seconds <= 0) {
      cache.delete(key);
      return;
    }
    if (this.#sender.kind === 'map') {
      if (results.length > 0 && results.every((r) => r.cacheable)) cache.set(key, [...results] as Cached, seconds);
      return;
    }
    const one = results[0];
    if (one?.cacheable) cache.set(key, one, seconds);
  }

  #cacheKey(): string | null {
    if (this.#key !== undefined) return this.#key;
    if (!this.#prepared?.replayable) return (this.#key = null);
    const { method, data, options } = this.#spec;
    const rpc = this.#rpc;
    const key = cacheKey({
      kind: this.#sender.kind, target: this.#sender.target, method, rpcMethod: rpc?.name, params: rpc?.params, data,
      headers: options.headers, login: options.login,
    });
    return (this.#key = key ?? null);
  }
}

function fromCache(hit: Cached): Result[] {
  return (Array.isArray(hit) ? hit : [hit as Result]).map((r) => r.cloneFromCache());
}

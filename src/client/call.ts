import { SkitaiError } from '../errors.js';
import { cacheKey, type Cached, type ResultCache } from './cache.js';
import { CallAbort } from './failure.js';
import { isRpcMethod, prepare, type Prepared, type RequestOptions } from './request.js';
import { Result, Results, setCacheHook } from './result.js';
import { Status } from './status.js';

/** One result the call waits for; `node` says who is being asked, for a synthesized TIMEOUT. */
export interface Slot {
  node(): string;
  /** Never rejects. */
  readonly done: Promise<Result>;
}

/** How a call is sent: lb (one member, failover), map (every live member) or rest (one URL). */
export interface Sender {
  readonly kind: 'lb' | 'map' | 'rest';
  /** `@name/path` or the URL, for cache keys. */
  readonly target: string;
  /** Start the exchanges of one request. May throw SKT_CLIENT_USAGE (a stream body for a map). */
  start(prepared: Prepared, signal: AbortSignal): Slot[];
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

/**
 * A call in flight. Non-RPC calls are sent when made; RPC calls when a method is called on them
 * (see `proxy.ts`). Deadlines count from when the call was MADE ("request early, use late"):
 * `getwait(2)` two seconds after `was.lb(...)` returns at once. At the deadline every pending
 * exchange is aborted and gets a synthesized TIMEOUT, so waiting never takes longer than asked.
 */
export class Call {
  readonly #created = performance.now();
  readonly #sender: Sender;
  readonly #spec: CallSpec;
  readonly #cache: ResultCache | undefined;
  readonly #abort = new AbortController();
  #key: string | undefined;
  #slots: Slot[] | undefined;
  #results: (Result | undefined)[] = [];
  #pending = 0;
  #final: Results | undefined;
  #filterError: unknown;
  #waiters: (() => void)[] = [];

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
  async getwait<T = unknown>(timeout = 3): Promise<Result<T>> {
    const results = await this.getswait<T>(timeout);
    if (results.length !== 1) throw new SkitaiError('SKT_CLIENT_USAGE', `this call has ${results.length} results; use getswait()`);
    return results[0]!;
  }

  /** Every Result, in member order, by `timeout` seconds after the call was made. Never rejects for a member's failure. */
  getswait<T = unknown>(timeout = 3): Promise<Results<T>> {
    if (!this.#slots) {
      const unsent = Result.failure(Status.UNSENT, 'SKT_CLIENT_UNSENT', 'no RPC method was called on this call object, so nothing was sent', this.#sender.target);
      return Promise.resolve(Results.fromList([unsent]) as Results<T>);
    }
    if (this.#final) return this.#settled<T>();
    if (Number.isNaN(timeout)) return Promise.reject(new SkitaiError('SKT_CLIENT_USAGE', 'getwait/getswait take a timeout in seconds'));
    // setTimeout fires at once for delays past 2^31-1 ms, so "wait forever" is capped at ~24 days.
    const remaining = Math.min(this.#created + timeout * 1000 - performance.now(), 2 ** 31 - 1);
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.#expire(), Math.max(0, remaining));
      this.#waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    }).then(() => this.#settled<T>());
  }

  #settled<T>(): Promise<Results<T>> {
    return this.#filterError !== undefined ? Promise.reject(this.#filterError) : Promise.resolve(this.#final as Results<T>);
  }

  #send(rpc: { name: string; params: unknown[] } | undefined): void {
    const { method, path, data, options } = this.#spec;
    if (rpc && data !== undefined) throw new SkitaiError('SKT_CLIENT_USAGE', 'RPC calls take their arguments as method params, not as data');
    const prepared = prepare(method, path, data, options, rpc);
    if (this.#cache && prepared.replayable) {
      this.#key = cacheKey({
        kind: this.#sender.kind, target: this.#sender.target, method, rpcMethod: rpc?.name, params: rpc?.params, data,
        headers: options.headers, login: options.login,
      });
    }
    const hit = this.#key !== undefined && options.useCache !== false ? this.#cache!.get(this.#key) : undefined;
    if (hit) {
      this.#slots = [];
      this.#finish(fromCache(hit));
      return;
    }
    const slots = this.#sender.start(prepared, this.#abort.signal);
    this.#slots = slots;
    this.#results = new Array<Result | undefined>(slots.length);
    this.#pending = slots.length;
    if (slots.length === 0) this.#finish([]);
    slots.forEach((slot, i) =>
      void slot.done.then(
        (r) => this.#arrive(i, r),
        // Senders never reject; if one does (a bug), the caller still gets a Result, not an unhandled rejection.
        (err: unknown) => this.#arrive(i, Result.failure(Status.NETERR, 'SKT_CLIENT_NETWORK', `internal error: ${String(err)}`, slot.node(), err instanceof Error ? err : undefined)),
      ),
    );
  }

  #arrive(index: number, result: Result): void {
    if (this.#final || this.#results[index]) return; // arrived after the deadline: the TIMEOUT stands
    this.#filter(result);
    this.#results[index] = result;
    if (--this.#pending === 0) this.#finish(this.#results as Result[]);
  }

  #expire(): void {
    if (this.#final) return;
    const seconds = Math.round(performance.now() - this.#created) / 1000;
    this.#slots!.forEach((slot, i) => {
      if (this.#results[i]) return;
      const timeout = Result.failure(Status.TIMEOUT, 'SKT_CLIENT_TIMEOUT', `no answer from ${slot.node()} within ${seconds} s of the call`, slot.node());
      timeout.elapsed = seconds * 1000;
      this.#filter(timeout);
      this.#results[i] = timeout;
    });
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
    this.#hookCache(results);
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  #hookCache(results: Results): void {
    const key = this.#key;
    const cache = this.#cache;
    if (key === undefined || !cache) return;
    const store = (value: Cached, ok: boolean, seconds: number): void => {
      if (seconds <= 0) cache.delete(key);
      else if (ok) cache.set(key, value, seconds);
    };
    if (this.#sender.kind === 'map') {
      setCacheHook(results, (s) => store([...results], results.length > 0 && results.every((r) => r.cacheable), s));
      return;
    }
    const one = results[0];
    if (!one) return;
    setCacheHook(one, (s) => store(one, one.cacheable, s));
    setCacheHook(results, (s) => store(one, one.cacheable, s));
  }
}

function fromCache(hit: Cached): Result[] {
  return (Array.isArray(hit) ? hit : [hit as Result]).map((r) => r.cloneFromCache());
}

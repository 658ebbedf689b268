import { cacheKey, storeOutcome, type Cached, type ResultCache } from '../call/cache.js';
import type { Deadline } from '../call/deadline.js';
import { Gathering, type GatherKind, type Sink as GatherSink, type Slot } from '../call/gather.js';
import { atTickEnd, type TickEnd } from '../call/tick.js';
import { Result, Results, ownOutcome, type CacheOwner } from '../call/result.js';
import { Status } from '../call/status.js';
import { monotonic, type Clock } from '../cluster/clock.js';
import { SkitaiError } from '../errors.js';
import { encodeDeadline } from './deadline.js';
import { isRpcMethod, prepare, type Prepared, type RequestOptions } from './request.js';

export type { Slot } from '../call/gather.js';

/** Where a sender reports each slot's Result, once (see call/gather.ts). */
export type Sink = GatherSink<Result>;

/** How a call is sent: lb (one member, failover), map (every live member) or rest (one URL). */
export interface Sender {
  readonly kind: 'lb' | 'map' | 'rest';
  /** `@name/path` or the URL, for cache keys. */
  readonly target: string;
  /** Misuse known before sending (a stream body for a map): throws SKT_CLIENT_USAGE when the call is made. */
  check?(prepared: Prepared): void;
  /**
   * Start the exchanges of one request; each slot's Result goes to `sink` (never a rejection).
   * `deadline` cancels them at the call's deadline. One slot (lb, rest) is returned as itself, not in an array.
   */
  start(prepared: Prepared, deadline: Deadline, sink: Sink): Slot | Slot[];
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
  /**
   * The request's deadline (`was` sets it): the call ends no later than it, sends what is left of
   * it to the member (`X-Skitai-Deadline`), and is cancelled when the request's client goes away.
   */
  readonly deadline?: Deadline | undefined;
}

/** What a call sends: the method and data of `was.map/lb/rest` before any RPC method is named. */
export interface CallSpec {
  readonly method: string;
  readonly path: string;
  readonly data: unknown;
  readonly options: CallOptions;
}

type Rpc = { readonly name: string; readonly params: unknown[] };

/**
 * A call in flight. Non-RPC calls are sent when made; RPC calls when a method is called on them
 * (see `proxy.ts`) — at the latest at the end of that tick of the event loop, sooner when waited
 * on, so that `was.lb(...).getwait(2)` can tell the member its two seconds (`X-Skitai-Deadline`).
 * Deadlines count from when the call was MADE ("request early, use late"): `getwait(2)` two
 * seconds after `was.lb(...)` returns at once. At the deadline every pending exchange is aborted
 * and gets a synthesized TIMEOUT, so waiting never takes longer than asked.
 */
export class Call implements CacheOwner, TickEnd {
  static readonly #KIND: GatherKind<Result, Call> = {
    usage: (message) => new SkitaiError('SKT_CLIENT_USAGE', message),
    unsent: (call) => Result.failure(Status.UNSENT, 'SKT_CLIENT_UNSENT', 'no RPC method was called on this call object, so nothing was sent', call.#sender.target),
    timedOut: (node, seconds) => {
      const timeout = Result.failure(Status.TIMEOUT, 'SKT_CLIENT_TIMEOUT', `no answer from ${node} within ${seconds} s of the call`, node);
      timeout.elapsed = seconds * 1000;
      return timeout;
    },
    cancelled: (node) => Result.failure(Status.NETERR, 'SKT_CLIENT_NETWORK', `request to ${node} cancelled: the request's client went away`, node),
    finished: (call, results) => call.#finished(results),
    abortFirst: false,
  };

  readonly #sender: Sender;
  readonly #spec: CallSpec;
  readonly #cache: ResultCache | undefined;
  readonly #g: Gathering<Result, Call>;
  #rpc: Rpc | undefined;
  #prepared: Prepared | undefined;
  /** The cache key; `null` when the call cannot be cached; undefined until needed. */
  #key: string | null | undefined;
  /** Prepared and due to be started (at the end of the tick, or by the first wait). */
  #due = false;

  constructor(sender: Sender, spec: CallSpec, cache: ResultCache | undefined, clock: Clock = monotonic) {
    this.#sender = sender;
    this.#spec = spec;
    this.#cache = cache;
    this.#g = new Gathering(Call.#KIND, this, spec.options.filter, clock, spec.options.deadline);
    if (!isRpcMethod(spec.method)) this.#send(undefined);
  }

  /**
   * Send RPC method `name` — the explicit form of `s.name(...params)`, for names the call object
   * already uses (`getwait`, `then`, `toString`…). One method per call object.
   */
  invoke(name: string, ...params: unknown[]): this {
    if (!isRpcMethod(this.#spec.method)) throw new SkitaiError('SKT_CLIENT_USAGE', `a ${this.#spec.method} call is sent when made; RPC methods need XMLRPC or JSONRPC`);
    if (this.#rpc || this.#g.sent) throw new SkitaiError('SKT_CLIENT_USAGE', `one call object sends one RPC method; "${name}" needs a new was.${this.#sender.kind}()`);
    this.#send({ name, params });
    return this;
  }

  /** The one Result (lb/rest). Rejects only for misuse — a map call with several results — or a filter that threw. */
  getwait<T = unknown>(timeout = 3): Promise<Result<T>> {
    if (this.#due) this.#start(timeout);
    return this.#g.wait(timeout, true) as Promise<Result<T>>;
  }

  /** Every Result, in member order, by `timeout` seconds after the call was made. Never rejects for a member's failure. */
  getswait<T = unknown>(timeout = 3): Promise<Results<T>> {
    if (this.#due) this.#start(timeout);
    return this.#g.wait(timeout, false) as Promise<Results<T>>;
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
        this.#g.settle(fromCache(hit));
        return;
      }
    }
    this.#sender.check?.(prepared);
    this.#due = true;
    atTickEnd(this);
  }

  /** Internal (TickEnd): start the exchanges if no wait did. */
  flush(): void {
    if (this.#due) this.#start(undefined);
  }

  /** Start now; `timeout` (seconds), when a wait starts it, counts in the deadline sent to the member. */
  #start(timeout: number | undefined): void {
    this.#due = false;
    const g = this.#g;
    const prepared = this.#prepared!;
    let at = g.deadline.at;
    if (typeof timeout === 'number' && !Number.isNaN(timeout)) at = Math.min(at, g.created + timeout * 1000);
    // One clock read for the header (not one per limit).
    const remaining = at === Infinity ? Infinity : Math.max(0, at - g.deadline.now());
    if (g.expiredBeforeSend(this.#sender.target)) return;
    if (remaining !== Infinity) prepared.headers['x-skitai-deadline'] = encodeDeadline(remaining);
    g.begin(this.#sender.start(prepared, g.deadline, g));
  }

  #finished(results: Results): void {
    if (!this.#cache) return;
    ownOutcome(results, this, this.#sender.kind === 'map');
  }

  /** Internal (CacheOwner): `cache(seconds)` on this call's Result or Results. */
  storeInCache(seconds: number): void {
    const cache = this.#cache;
    const results = this.#g.final;
    if (!cache || !results || !this.#prepared?.replayable) return;
    const key = this.#cacheKey();
    if (key === null) return;
    storeOutcome(cache, key, results, seconds, this.#sender.kind === 'map');
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


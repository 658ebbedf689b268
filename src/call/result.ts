import type { ErrorCode } from '../errors.js';
import { Status } from './status.js';

/** Response headers as undici gives them: lower-case names, repeated headers as arrays. */
export type ResultHeaders = Record<string, string | string[]>;

/** An RPC fault (XML-RPC `<fault>`, JSON-RPC `error`) the member answered with. */
export interface RpcFaultInfo {
  readonly code: number;
  readonly message: string;
  /** JSON-RPC `error.data`; XML-RPC has none. */
  readonly data?: unknown;
}

export interface ResultInit<T> {
  status: Status;
  code: number | ErrorCode;
  msg: string;
  node: string;
  header?: ResultHeaders | undefined;
  data?: T;
  fault?: RpcFaultInfo | undefined;
  error?: Error | undefined;
  elapsed?: number | undefined;
}

/** The call behind a Result: `cache(seconds)` asks it to store the answer under its key. */
export interface CacheOwner {
  storeInCache(seconds: number): void;
}

/** Internal: give a Result or Results its `cache()` behaviour (the call that made it knows the key). */
export function setCacheOwner(target: Result<unknown> | Results<unknown>, owner: CacheOwner): void {
  if (target instanceof Results) Results.setOwner(target, owner);
  else Result.setOwner(target, owner);
}

/**
 * Internal: hook a finished call's outcome to its owner, so `cache()` reaches the owner. A fan-out
 * call's single results have no identity of their own: only the whole set is hooked.
 */
export function ownOutcome(results: Results<unknown>, owner: CacheOwner, fanOut: boolean): void {
  setCacheOwner(results, owner);
  if (!fanOut && results.length === 1) setCacheOwner(results[0]!, owner);
}

/**
 * What one member (or URL) answered. Fields are plain and writable, so a `filter` callback may
 * rewrite `data` as results arrive, as in Skitai.
 */
export class Result<T = unknown> {
  status: Status;
  /** The HTTP status for NORMAL; for TIMEOUT/NETERR a stable reason code (`SKT_CLIENT_TLS`, …, see docs/errors.md). */
  code: number | ErrorCode;
  /** HTTP reason phrase for NORMAL; otherwise a sentence for humans (the TLS error text, the member, the limit). */
  msg: string;
  /** Response headers; `{}` when there was no response. */
  header: ResultHeaders;
  /**
   * Parsed body: the RPC return value; JSON for JSON content types; text for text types; a Buffer
   * otherwise; `null` for an empty body, an RPC fault or a failure.
   */
  data: T;
  /** `host:port` of the member or URL that answered (or was being asked when the call failed). */
  node: string;
  /** Set when an RPC method answered with a fault (status NORMAL, data null). */
  fault: RpcFaultInfo | undefined;
  /** The underlying error of a failure, or why a body could not be parsed (data then holds the raw text). */
  error: Error | undefined;
  /** Milliseconds from sending to this result. */
  elapsed: number;
  /** True when this came from the result cache and nothing was sent. */
  fromCache = false;
  // A private field, not a WeakMap entry: one WeakMap set per result cost more than the rest of the bookkeeping.
  #owner: CacheOwner | undefined;

  /** Internal (see setCacheOwner). */
  static setOwner(target: Result<unknown>, owner: CacheOwner): void {
    target.#owner = owner;
  }

  constructor(init: ResultInit<T>) {
    this.status = init.status;
    this.code = init.code;
    this.msg = init.msg;
    this.node = init.node;
    this.header = init.header ?? {};
    this.data = (init.data ?? null) as T;
    this.fault = init.fault;
    this.error = init.error;
    this.elapsed = init.elapsed ?? 0;
  }

  /** A TIMEOUT or NETERR result. */
  static failure(status: Status.TIMEOUT | Status.NETERR | Status.UNSENT, code: ErrorCode, msg: string, node: string, error?: Error): Result<never> {
    return new Result<never>({ status, code, msg, node, ...(error ? { error } : {}) });
  }

  /** NORMAL with HTTP 200 and no fault: the only kind of result the cache keeps. */
  get cacheable(): boolean {
    return this.status === Status.NORMAL && this.code === 200 && this.fault === undefined;
  }

  /**
   * Keep this result for `seconds` (default 300) so the same call answers from memory without
   * sending. Only lb/rest/wget results with status NORMAL and code 200 are kept; on anything else
   * (and on one member's result of a map — use the Results' `cache()`) this does nothing.
   * `seconds <= 0` drops the entry.
   */
  cache(seconds = 300): void {
    this.#owner?.storeInCache(seconds);
  }

  /** A copy answering a cache hit: same data (treat it as read-only), marked `fromCache`. */
  cloneFromCache(): Result<T> {
    const copy = Object.assign(new Result<T>(this), this);
    copy.fromCache = true;
    copy.#owner = undefined; // the call answering from the cache owns the copy
    return copy;
  }
}

/**
 * Every member's Result of a map call (one for lb/rest), in member order. An Array, so `filter`,
 * `map` and `for…of` work (they return plain arrays).
 */
export class Results<T = unknown> extends Array<Result<T>> {
  static override get [Symbol.species](): ArrayConstructor {
    return Array;
  }

  #owner: CacheOwner | undefined;

  /** Internal (see setCacheOwner). */
  static setOwner(target: Results<unknown>, owner: CacheOwner): void {
    target.#owner = owner;
  }

  /** Build from a list (the Array constructor's one-number form makes `new Results(list)` unsafe). */
  static fromList<T>(items: Iterable<Result<T>>): Results<T> {
    const out = new Results<T>();
    // Stores by index, not push(): push on an Array subclass takes V8's slow path (0.8 µs a call
    // against 0.05, measured); and arrays without an iterator object.
    let n = 0;
    if (Array.isArray(items)) for (let i = 0; i < items.length; i++) out[n++] = items[i] as Result<T>;
    else for (const r of items) out[n++] = r;
    return out;
  }

  /** The Results of a call with one slot (lb, dlb, db): no list made first. */
  static fromList1<T>(item: Result<T>): Results<T> {
    const out = new Results<T>();
    out[0] = item;
    return out;
  }

  /**
   * Keep the whole set for `seconds` (default 300). A map's results are kept only when EVERY
   * member answered NORMAL with code 200, so a partial answer is never frozen in the cache.
   * `seconds <= 0` drops the entry.
   */
  cache(seconds = 300): void {
    this.#owner?.storeInCache(seconds);
  }
}

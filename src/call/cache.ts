import { performance } from 'node:perf_hooks';
import crypto from 'node:crypto';
import type { Result } from './result.js';

/**
 * The per-worker result cache (`num_result_cache_max` entries): a Map kept in use order, so the
 * least recently used entry is the first key and eviction is O(1). An entry also expires after the
 * seconds given to `cache()`; expired entries go when touched or evicted.
 */

export interface CacheStats {
  readonly size: number;
  readonly max: number;
  readonly hits: number;
  readonly misses: number;
  readonly stores: number;
  readonly evictions: number;
}

/** One Result (lb/rest) or every member's Results of a map. */
export type Cached = Result | readonly Result[];

interface Entry {
  readonly value: Cached;
  readonly expires: number;
}

export class ResultCache {
  readonly #entries = new Map<string, Entry>();
  #hits = 0;
  #misses = 0;
  #stores = 0;
  #evictions = 0;

  constructor(
    readonly max: number,
    readonly clock: () => number = () => performance.now(),
  ) {}

  /** Entries held (expired ones included until touched). */
  get size(): number {
    return this.#entries.size;
  }

  get(key: string): Cached | undefined {
    const entry = this.#entries.get(key);
    if (!entry || entry.expires <= this.clock()) {
      if (entry) this.#entries.delete(key);
      this.#misses++;
      return undefined;
    }
    // Re-insert: the Map's order is the LRU order.
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    this.#hits++;
    return entry.value;
  }

  set(key: string, value: Cached, seconds: number): void {
    if (this.max <= 0) return;
    if (seconds <= 0) {
      this.#entries.delete(key);
      return;
    }
    this.#entries.delete(key);
    this.#entries.set(key, { value, expires: this.clock() + seconds * 1000 });
    this.#stores++;
    while (this.#entries.size > this.max) {
      this.#entries.delete(this.#entries.keys().next().value!);
      this.#evictions++;
    }
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }

  stats(): CacheStats {
    return { size: this.#entries.size, max: this.max, hits: this.#hits, misses: this.#misses, stores: this.#stores, evictions: this.#evictions };
  }
}

/**
 * `cache(seconds)` on a call's outcome: `seconds <= 0` drops the entry. A fan-out call (map, dmap)
 * is kept whole, and only when every member's result is cacheable, so a partial answer is never
 * frozen; any other call keeps its one result when that is cacheable.
 */
export function storeOutcome(cache: ResultCache, key: string, results: readonly Result[], seconds: number, fanOut: boolean): void {
  if (seconds <= 0) {
    cache.delete(key);
    return;
  }
  if (fanOut) {
    if (results.length > 0 && results.every((r) => r.cacheable)) cache.set(key, [...results], seconds);
    return;
  }
  const one = results[0];
  if (one?.cacheable) cache.set(key, one, seconds);
}

/** What makes two calls "the same call". */
export interface CallIdentity {
  readonly kind: string;
  readonly target: string;
  readonly method: string;
  readonly rpcMethod?: string | undefined;
  readonly params?: unknown;
  readonly data?: unknown;
  readonly headers?: Readonly<Record<string, string>> | undefined;
  readonly login?: string | undefined;
}

/**
 * A key for a call, or undefined when the call cannot be identified (a stream or Blob body, a value
 * JSON cannot write): such calls are never cached. Headers and login are part of the key — two
 * users must never see each other's cached answers — and are hashed, so no secret sits in memory
 * as a readable key.
 */
export function cacheKey(id: CallIdentity): string | undefined {
  if (!jsonSafe(id.data) || !jsonSafe(id.params)) return undefined;
  let text: string;
  try {
    const headers = id.headers ? Object.entries(id.headers).map(([k, v]) => [k.toLowerCase(), v]).sort() : [];
    text = JSON.stringify([id.kind, id.target, id.method.toUpperCase(), id.rpcMethod ?? '', id.params ?? null, id.data ?? null, headers, id.login ?? '']);
  } catch {
    return undefined;
  }
  return sha256(text);
}

function jsonSafe(v: unknown, depth = 0): boolean {
  if (v === null || v === undefined || typeof v !== 'object') return typeof v !== 'bigint' && typeof v !== 'function' && typeof v !== 'symbol';
  if (depth > 32 || v instanceof Blob || typeof (v as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') return false;
  if (Buffer.isBuffer(v) || v instanceof Date) return true;
  return Object.values(v).every((x) => jsonSafe(x, depth + 1));
}

/** sha256 in base64url: the one-shot `crypto.hash` (Node ≥ 20.12) skips a Hash object per call; same digest. */
const sha256: (text: string) => string =
  typeof crypto.hash === 'function' ? (text) => crypto.hash('sha256', text, 'base64url') : (text) => crypto.createHash('sha256').update(text).digest('base64url');

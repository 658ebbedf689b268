import type { Stats } from 'node:fs';
import { compressSync, type Coding } from '../../http/compress.js';

/** A small file held in memory, with the compressed variants computed so far. */
export interface CachedFile {
  readonly data: Buffer;
  /** What identifies this version of the file on disk (from the fstat of the handle it was read through). */
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: number;
  readonly variants: Partial<Record<Coding, Buffer>>;
  /** Latin1 strings of small bodies (key: coding, or `identity`), for the one-write hot path. */
  readonly texts: Partial<Record<Coding | 'identity', string>>;
}

/** True when `stat` describes the same version of the file as `entry`. */
export function sameVersion(entry: CachedFile, stat: Stats): boolean {
  return entry.mtimeMs === stat.mtimeMs && entry.size === stat.size && entry.ino === stat.ino;
}

/**
 * In-memory copies of small static files, keyed by real path, evicted least-recently-used when
 * their bytes (identity plus every compressed variant) exceed `maxBytes`. Freshness is the
 * caller's job: it passes the stat it trusts, and a mismatching entry is dropped.
 */
export class FileCache {
  readonly #maxBytes: number;
  readonly #onDrop: ((real: string) => void) | undefined;
  readonly #entries = new Map<string, CachedFile>();
  /** The entry inserted last (held, most recently used): a hit on it needs no re-insertion. */
  #newest: CachedFile | undefined;
  #bytes = 0;

  /** `onDrop`: told when an entry leaves (evicted, stale or replaced; not by clear()), to drop references to it. */
  constructor(maxBytes: number, onDrop?: (real: string) => void) {
    this.#maxBytes = maxBytes;
    this.#onDrop = onDrop;
  }

  /** Bytes held right now. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Entries held right now. */
  get size(): number {
    return this.#entries.size;
  }

  /** The entry for `real` if it is the version `stat` describes; a stale entry is dropped. */
  get(real: string, stat: Stats): CachedFile | undefined {
    const entry = this.#entries.get(real);
    if (!entry) return undefined;
    if (!sameVersion(entry, stat)) {
      this.#drop(real, entry);
      return undefined;
    }
    this.#use(real, entry);
    return entry;
  }

  /**
   * True when `entry` is still the one held for `real` (not evicted or replaced), marking it most
   * recently used: the check of a hot path that kept the entry from an earlier lookup.
   */
  touch(real: string, entry: CachedFile): boolean {
    if (entry === this.#newest) return true;
    if (this.#entries.get(real) !== entry) return false;
    this.#use(real, entry);
    return true;
  }

  /** Re-insert to mark it most recently used (a Map keeps insertion order), unless it is the newest already. */
  #use(real: string, entry: CachedFile): void {
    if (entry === this.#newest) return;
    this.#entries.delete(real);
    this.#entries.set(real, entry);
    this.#newest = entry;
  }

  /** Keep `data` as the current version of `real`. Returns the entry (held or not, when too big). */
  put(real: string, data: Buffer, stat: Stats): CachedFile {
    const old = this.#entries.get(real);
    if (old) this.#drop(real, old);
    const entry: CachedFile = { data, size: stat.size, mtimeMs: stat.mtimeMs, ino: stat.ino, variants: {}, texts: {} };
    if (data.length <= this.#maxBytes) {
      this.#entries.set(real, entry);
      this.#newest = entry;
      this.#bytes += data.length;
      this.#evict();
    }
    return entry;
  }

  /**
   * The entry's body in `coding`, compressed once at storage quality and then kept with the entry.
   * Compressing synchronously is acceptable because only small files are cached and each variant
   * is made once per version of the file.
   */
  variant(real: string, entry: CachedFile, coding: Coding): Buffer {
    const held = entry.variants[coding];
    if (held) return held;
    const packed = compressSync(coding, entry.data, true);
    entry.variants[coding] = packed;
    if (this.#entries.get(real) === entry) {
      this.#bytes += packed.length;
      this.#evict();
    }
    return packed;
  }

  /**
   * `body` (the entry's data or one of its variants, named by `key`) as a latin1 string: each byte one
   * character, so Node writes the bytes unchanged and can join them to the head in one write.
   * Made once and counted with the entry, like a variant; it may push other entries out, never its
   * own: undefined when the entry and the copy would not fit the cache together.
   */
  text(real: string, entry: CachedFile, key: Coding | 'identity', body: Buffer): string | undefined {
    const held = entry.texts[key];
    if (held !== undefined) return held;
    if (this.#entries.get(real) !== entry || footprint(entry) + body.length > this.#maxBytes) return undefined;
    const text = body.toString('latin1');
    entry.texts[key] = text;
    this.#bytes += text.length;
    this.#evict(real);
    return text;
  }

  /** Drop everything. */
  clear(): void {
    this.#entries.clear();
    this.#newest = undefined;
    this.#bytes = 0;
  }

  #drop(real: string, entry: CachedFile): void {
    this.#entries.delete(real);
    if (entry === this.#newest) this.#newest = undefined;
    this.#bytes -= footprint(entry);
    this.#onDrop?.(real);
  }

  #evict(keep?: string): void {
    for (const [real, entry] of this.#entries) {
      if (this.#bytes <= this.#maxBytes) return;
      if (real !== keep) this.#drop(real, entry);
    }
  }
}

function footprint(entry: CachedFile): number {
  let bytes = entry.data.length;
  for (const packed of Object.values(entry.variants)) bytes += packed.length;
  for (const text of Object.values(entry.texts)) bytes += text.length;
  return bytes;
}

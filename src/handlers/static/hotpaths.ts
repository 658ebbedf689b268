import { sameVersion, type FileCache } from './filecache.js';
import type { PreparedFile } from './prepared.js';
import type { Lookup } from './statcache.js';

/** A request path known, since `at`, to name a file held in `cache` (small files' or hot copies'). */
export interface Hot {
  /** When the stat that vouches for the file was taken (Date.now() ms); moved on by a re-stat that finds it unchanged. */
  at: number;
  /** The absolute path the stat cache knows the request path by. */
  readonly abs: string;
  readonly real: string;
  readonly file: PreparedFile;
  readonly cache: FileCache;
  /** A re-stat is under way. */
  restating?: boolean;
}

/** A fresh stat of `abs`: what it found, and when that stat began (Date.now() ms). */
export type Restat = (abs: string) => Promise<{ found: Lookup; at: number }>;

// Bounded like the stat cache; a full map is simply started again.
const MAX_HOT = 4096;
// As long as the stat cache trusts a stat: a hot entry is never older than the stat that made it.
const HOT_TTL_MS = 1000;
// A hit on an entry this old stats its file again, while the entry still answers: a path in steady
// use never expires, so its requests never fall to the full path together at the second's end.
const RESTAT_AFTER_MS = 750;

/**
 * The static handler's hot path: request paths (as sent) of cached files, with their prepared
 * answers. An entry holds its file's bytes, so when the cache drops a file, {@link forget} drops its
 * paths too: otherwise a path nobody asks for again would keep an evicted file alive outside the
 * cache's budget (up to 4096 of them).
 */
export class HotPaths {
  readonly #byPath = new Map<string, Hot>();
  /** Which paths name each real file, for forget(). */
  readonly #byReal = new Map<string, Set<string>>();
  /** Stats a path afresh (the stat cache's probe, which it also remembers): what it found, and when that stat began. */
  readonly #restat: Restat;
  readonly #now: () => number;

  /** `now` (Date.now by default) is injected by tests. */
  constructor(restat: Restat, now: () => number = Date.now) {
    this.#restat = restat;
    this.#now = now;
  }

  get(rest: string): Hot | undefined {
    return this.#byPath.get(rest);
  }

  /**
   * The entry of `rest` when it is fresh (younger than the stat it came from may be trusted) and its
   * file still held by its cache, marked there as just used; else undefined (the full path decides).
   */
  fresh(rest: string): Hot | undefined {
    const hot = this.#byPath.get(rest);
    if (hot === undefined) return undefined;
    const age = this.#now() - hot.at;
    if (age >= HOT_TTL_MS || !hot.cache.touch(hot.real, hot.file.entry)) return undefined;
    if (age >= RESTAT_AFTER_MS && hot.restating !== true) this.#restatAhead(rest, hot);
    return hot;
  }

  /**
   * Stat the file of `hot` again before its entry expires. Unchanged (same real path and version):
   * the entry is vouched for from the moment this stat began, as if the full path had just made it.
   * Changed, gone or failed: the entry is dropped, and the next request takes the full path, which
   * finds the new answer in the stat cache. Same rule as before for a changed file: seen within 1 s.
   */
  #restatAhead(rest: string, hot: Hot): void {
    hot.restating = true;
    this.#restat(hot.abs).then(
      ({ found, at }) => {
        hot.restating = false;
        if (this.#byPath.get(rest) !== hot) return;
        if (found.kind === 'file' && found.real === hot.real && sameVersion(hot.file.entry, found.stat)) hot.at = Math.max(hot.at, at);
        else this.#drop(rest, hot);
      },
      () => {
        hot.restating = false;
        if (this.#byPath.get(rest) === hot) this.#drop(rest, hot);
      },
    );
  }

  #drop(rest: string, hot: Hot): void {
    this.#byPath.delete(rest);
    const paths = this.#byReal.get(hot.real);
    paths?.delete(rest);
    if (paths?.size === 0) this.#byReal.delete(hot.real);
  }

  remember(rest: string, hot: Hot): void {
    if (this.#byPath.size >= MAX_HOT) this.clear();
    this.#byPath.set(rest, hot);
    const paths = this.#byReal.get(hot.real);
    if (paths) paths.add(rest);
    else this.#byReal.set(hot.real, new Set([rest]));
  }

  /** Drop the paths that answer with `real` from `cache` (the cache just let the file go). */
  forget(real: string, cache: FileCache): void {
    const paths = this.#byReal.get(real);
    if (!paths) return;
    for (const rest of paths) {
      const hot = this.#byPath.get(rest);
      if (hot === undefined || hot.real !== real) paths.delete(rest);
      else if (hot.cache === cache) {
        this.#byPath.delete(rest);
        paths.delete(rest);
      }
    }
    if (paths.size === 0) this.#byReal.delete(real);
  }

  clear(): void {
    this.#byPath.clear();
    this.#byReal.clear();
  }
}

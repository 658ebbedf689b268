import type { FileCache } from './filecache.js';
import type { PreparedFile } from './prepared.js';

/** A request path known, since `at`, to name a file held in `cache` (small files' or hot copies'). */
export interface Hot {
  readonly at: number;
  readonly real: string;
  readonly file: PreparedFile;
  readonly cache: FileCache;
}

// Bounded like the stat cache; a full map is simply started again.
const MAX_HOT = 4096;

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

  get(rest: string): Hot | undefined {
    return this.#byPath.get(rest);
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

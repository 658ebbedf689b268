import type { Handler } from './handler.js';
import { RouteStats } from './traffic.js';

/** Handlers mounted on one URL prefix, in config order. */
export interface Mount {
  /** Prefix without a trailing slash; '' is the root. */
  readonly prefix: string;
  readonly handlers: readonly Handler[];
  /** Responses of the requests this mount took (the metrics' `route` label is the prefix, `/` for the root). */
  readonly stats: RouteStats;
}

/**
 * The `[routes:line]` table: URL prefix -> handlers. The longest matching prefix is asked first;
 * when every handler there declines, shorter prefixes get their turn, so an app at `/api` with no
 * matching route still lets a static root serve `/api/readme.txt`.
 */
export class RouteTable {
  readonly #mounts: Mount[] = [];

  /** Add a handler on a prefix; handlers on the same prefix keep the order they were added in. */
  add(prefix: string, handler: Handler): this {
    const clean = normalizePrefix(prefix);
    const existing = this.#mounts.find((m) => m.prefix === clean);
    if (existing) (existing.handlers as Handler[]).push(handler);
    else {
      this.#mounts.push({ prefix: clean, handlers: [handler], stats: new RouteStats(clean || '/') });
      this.#mounts.sort((a, b) => b.prefix.length - a.prefix.length);
    }
    return this;
  }

  /** Mounts whose prefix matches `path`, longest first. A prefix matches itself and `prefix/...`. */
  match(path: string): Mount[] {
    return this.#mounts.filter((m) => mountMatches(m.prefix, path));
  }

  /** Every mount, longest prefix first. */
  get mounts(): readonly Mount[] {
    return this.#mounts;
  }

  /** Every handler once, in mount order. */
  handlers(): Handler[] {
    return [...new Set(this.#mounts.flatMap((m) => m.handlers))];
  }

  /**
   * Every handler's `goingAway` (a stop began): resolves when all have, or after `ms`. A handler
   * that fails is reported to `onError` and counts as done.
   */
  async goingAway(ms: number, onError: (h: Handler, err: unknown) => void): Promise<void> {
    const all = Promise.all(this.handlers().map((h) => h.goingAway?.().catch((err: unknown) => onError(h, err))));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
  }
}

/** True when a mount at `prefix` takes `path`: the prefix itself and `prefix/...` ('' takes every path). */
export function mountMatches(prefix: string, path: string): boolean {
  return prefix === '' || (path.startsWith(prefix) && (path.length === prefix.length || path.charCodeAt(prefix.length) === 47));
}

/** `/` -> '', `/a/` -> `/a`. */
export function normalizePrefix(prefix: string): string {
  let p = prefix.trim();
  if (!p.startsWith('/')) p = '/' + p;
  while (p.endsWith('/')) p = p.slice(0, -1);
  return p;
}

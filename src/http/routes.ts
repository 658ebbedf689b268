import type { RouteEntry, SiteConfig } from '../config/types.js';
import type { Handler } from './handler.js';
import { HostMap } from './hosts.js';
import { RouteStats } from './traffic.js';

/** Handlers mounted on one URL prefix, in config order. */
export interface Mount {
  /** Prefix without a trailing slash; '' is the root. */
  readonly prefix: string;
  readonly handlers: readonly Handler[];
  /** Responses of the requests this mount took (the metrics' `route` label is the prefix, `/` for the root; `example.com/api` in a host group). */
  readonly stats: RouteStats;
  /** The first name of the mount's host group; undefined in the default group. */
  readonly host: string | undefined;
}

/**
 * The `[routes:line]` table: URL prefix -> handlers. The longest matching prefix is asked first;
 * when every handler there declines, shorter prefixes get their turn, so an app at `/api` with no
 * matching route still lets a static root serve `/api/readme.txt`. Host groups (`@ example.com`
 * lines) are tables of their own, chosen by the Host header before the prefix (docs/routing.md).
 */
export class RouteTable {
  readonly #mounts: Mount[] = [];
  readonly #host: string | undefined;
  /** Host groups, by name; undefined while there are none, so a site without them never reads Host. */
  #hosts: HostMap<RouteTable> | undefined;
  readonly #groups = new Map<string, RouteTable>();
  /** Whether a host of no group gets this table's own mounts; false: {@link match} gives undefined (421). */
  fallback = true;

  /** The table of `[routes:line]`, host groups included, with each line's handler from `handlerFor`. */
  static build(config: Pick<SiteConfig, 'routes' | 'hostGroups' | 'defaultGroup'>, handlerFor: (route: RouteEntry) => Handler): RouteTable {
    const table = new RouteTable();
    table.fallback = config.defaultGroup;
    // Made first: a group without route lines still takes its hosts (404), in config order.
    for (const group of config.hostGroups) table.group(group.names);
    for (const route of config.routes) (route.group ? table.group(route.group.names) : table).add(route.prefix, handlerFor(route));
    return table;
  }

  /** `host`: the group's first name, for labels (a group's table is made by {@link group}). */
  constructor(host?: string) {
    this.#host = host;
  }

  /** The table of the host group named `names`, made on first use. */
  group(names: readonly string[]): RouteTable {
    const key = names.join(' ');
    let table = this.#groups.get(key);
    if (!table) {
      table = new RouteTable(names[0]);
      this.#groups.set(key, table);
      this.#hosts ??= new HostMap();
      for (const name of names) this.#hosts.add(name, table);
    }
    return table;
  }

  /** Add a handler on a prefix; handlers on the same prefix keep the order they were added in. */
  add(prefix: string, handler: Handler): this {
    const clean = normalizePrefix(prefix);
    const existing = this.#mounts.find((m) => m.prefix === clean);
    if (existing) (existing.handlers as Handler[]).push(handler);
    else {
      this.#mounts.push({ prefix: clean, handlers: [handler], stats: new RouteStats((this.#host ?? '') + (clean || '/')), host: this.#host });
      this.#mounts.sort((a, b) => b.prefix.length - a.prefix.length);
    }
    return this;
  }

  /**
   * Mounts whose prefix matches `path`, longest first, in the group of `host` (a Host header) or
   * else the default one. A prefix matches itself and `prefix/...`. Undefined: the host is in no
   * group and there is no default group.
   */
  match(path: string, host?: string): Mount[] | undefined {
    return this.mountsFor(host)?.filter((m) => mountMatches(m.prefix, path));
  }

  /**
   * Every mount of the group of `host` (a Host header; else the default group), longest prefix
   * first, without copying. Undefined: the host is in no group and there is no default group.
   */
  mountsFor(host: string | undefined): readonly Mount[] | undefined {
    if (this.#hosts !== undefined) {
      const table = host === undefined ? undefined : this.#hosts.find(host);
      if (table !== undefined) return table.#mounts;
      if (!this.fallback) return undefined;
    }
    return this.#mounts;
  }

  /** True when the table has host groups, so that {@link mountsFor} reads the Host it is given. */
  get grouped(): boolean {
    return this.#hosts !== undefined;
  }

  /** Every mount, longest prefix first, the default group's then each host group's. */
  get mounts(): readonly Mount[] {
    if (this.#groups.size === 0) return this.#mounts;
    return [...this.#mounts, ...[...this.#groups.values()].flatMap((t) => t.mounts)];
  }

  /** Every handler once, in mount order. */
  handlers(): Handler[] {
    return [...new Set(this.mounts.flatMap((m) => m.handlers))];
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

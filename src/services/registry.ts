import { Upstream } from '../client/upstream.js';
import type { Cluster, ClusterDeps, ClusterStatus } from '../cluster/cluster.js';
import { clusterType, parseClusterOptions, type ClusterType } from '../cluster/options.js';
import type { ClusterConfig } from '../config/types.js';
import { DbCluster, type DbClusterStatus } from '../db/cluster.js';
import { parseDbClusterOptions } from '../db/options.js';
import { SkitaiError } from '../errors.js';
import type { Logger } from '../log/logger.js';

/** `[@name]` sections as the config gives them (a list, or by name). */
export type ClusterConfigs = readonly ClusterConfig[] | Readonly<Record<string, ClusterConfig>>;

/** Which cluster types a registry wires (opens pools, timers, health checks for); the others are only named. */
export type Wiring = Readonly<Record<ClusterType, boolean>>;

/**
 * The worker's `[@name]` clusters, HTTP and PostgreSQL, each built once with its wires (an
 * {@link Upstream} or a {@link DbCluster}) from its section, in config order, so the first bad
 * section stops the start. A lookup by the wrong kind of call names the cluster's type.
 */
export class ClusterRegistry {
  readonly #http = new Map<string, Upstream>();
  readonly #db = new Map<string, DbCluster>();
  /** Every configured name and its type, wired or not. */
  readonly #types = new Map<string, ClusterType>();

  constructor(configs: ClusterConfigs | undefined, wiring: Wiring, deps: ClusterDeps & { logger?: Logger | undefined }) {
    const list = Array.isArray(configs) ? configs : Object.values(configs ?? {});
    try {
      for (const config of list as readonly ClusterConfig[]) {
        const type = clusterType(config);
        this.#types.set(config.name, type);
        if (!wiring[type]) continue;
        if (type === 'http') this.#http.set(config.name, new Upstream(parseClusterOptions(config), deps));
        else this.#db.set(config.name, new DbCluster(parseDbClusterOptions(config), deps));
      }
    } catch (err) {
      // Clusters built before the bad section have timers (DNS, health checks): stop them.
      void this.close('http', 0);
      void this.close('postgresql', 0);
      throw err;
    }
  }

  /** The HTTP cluster `name` (without `@`) for was.map/lb/ws and the reverse proxy. */
  upstream(name: string): Upstream {
    const up = this.#http.get(name);
    if (up) return up;
    const type = this.#types.get(name);
    if (type && type !== 'http') throw new SkitaiError('SKT_CLUSTER_TYPE', `@${name} is a ${type} cluster; use the database calls (dmap/dlb) for it`);
    throw new SkitaiError('SKT_CLUSTER_UNKNOWN', `no cluster @${name} is configured${known(this.#http)}`);
  }

  /** The PostgreSQL cluster `name` (without `@`) for was.dmap/dlb. */
  database(name: string): DbCluster {
    const c = this.#db.get(name);
    if (c) return c;
    if (this.#types.get(name) === 'http') throw new SkitaiError('SKT_CLUSTER_TYPE', `@${name} is an HTTP cluster; use was.map/was.lb for it (dmap/dlb need type = postgresql)`);
    throw new SkitaiError('SKT_CLUSTER_UNKNOWN', `no PostgreSQL cluster @${name} is configured${known(this.#db)}`);
  }

  /** Names of the wired clusters of one type, in config order. */
  names(type: ClusterType): string[] {
    return [...(type === 'http' ? this.#http : this.#db).keys()];
  }

  /** The wired clusters of one type (or both), for the metrics' per-member histograms. */
  clusters(type?: ClusterType): Cluster[] {
    const http = type === 'postgresql' ? [] : [...this.#http.values()].map((up) => up.cluster);
    const db = type === 'http' ? [] : [...this.#db.values()].map((c) => c.cluster);
    return [...http, ...db];
  }

  httpStatus(): Record<string, ClusterStatus> {
    const out: Record<string, ClusterStatus> = {};
    for (const [name, up] of this.#http) out[name] = up.cluster.status();
    return out;
  }

  dbStatus(): Record<string, DbClusterStatus> {
    const out: Record<string, DbClusterStatus> = {};
    for (const [name, c] of this.#db) out[name] = c.status();
    return out;
  }

  /** One round of active health checks on every cluster of `type` that has them. */
  async checkHealth(type: ClusterType): Promise<void> {
    await Promise.all(this.clusters(type).map((c) => c.checkNow()));
  }

  /** Stop the timers of every cluster of `type` and close its pools; work in flight gets `graceMs`. */
  async close(type: ClusterType, graceMs: number): Promise<void> {
    const wired: readonly { close(graceMs: number): Promise<void> }[] = type === 'http' ? [...this.#http.values()] : [...this.#db.values()];
    await Promise.all(wired.map((w) => w.close(graceMs)));
  }
}

function known(wired: ReadonlyMap<string, unknown>): string {
  return wired.size ? ` (known: ${[...wired.keys()].map((n) => `@${n}`).join(', ')})` : '';
}

import type { ResultCache } from '../call/cache.js';
import type { Clock } from '../cluster/clock.js';
import type { Cluster } from '../cluster/cluster.js';
import type { ClusterType } from '../cluster/options.js';
import { ServicesCore, type SharedOptions } from './core.js';
import type { ClusterRegistry } from './registry.js';

/**
 * What `Clients` and `Databases` have in common: the core they face (their own, or their
 * `Services`' one), their protocol's clusters and result cache in it, and closing them.
 */
export abstract class ServiceFace {
  /** @internal */
  protected readonly core: ServicesCore;
  /** @internal */
  protected readonly registry: ClusterRegistry;
  /** @internal */
  protected readonly cache: ResultCache;
  /** @internal */
  protected readonly clock: Clock;
  /** @internal Shared with every sender, so a call made after close() fails at once. */
  protected readonly state = { closed: false };

  /** @internal */
  protected constructor(
    /** @internal */
    protected readonly type: ClusterType,
    options: SharedOptions,
    core: ServicesCore | undefined,
  ) {
    this.core = core ?? new ServicesCore(options, { http: type === 'http', postgresql: type === 'postgresql' });
    this.registry = this.core.registry;
    this.cache = this.core.caches[type];
    this.clock = this.core.clock;
  }

  /** Names of this protocol's clusters, in config order. */
  get clusterNames(): string[] {
    return this.registry.names(this.type);
  }

  /** This protocol's clusters themselves, for the metrics (each member's latency histogram). */
  clusters(): Cluster[] {
    return this.registry.clusters(this.type);
  }

  /** One round of active health checks on every cluster that has them. */
  async checkHealth(): Promise<void> {
    await this.registry.checkHealth(this.type);
  }

  /**
   * Stop the clusters' health checks and DNS timers and close every pool: work in flight gets
   * `closeGrace` ms (then requests are cut, queries cancelled on the server). Later calls get a
   * NETERR Result (`SKT_CLIENT_CLOSED`, `SKT_DB_CLOSED`).
   */
  async close(): Promise<void> {
    if (this.state.closed) return;
    this.state.closed = true;
    this.cache.clear();
    const grace = this.core.closeGrace;
    await Promise.all([this.registry.close(this.type, grace), ...this.closeOwn(grace)]);
  }

  /** @internal The face's own pools (single-URL agent, `was.db()` pools), closed with the clusters. */
  protected abstract closeOwn(graceMs: number): Promise<void>[];
}

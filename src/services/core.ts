import { ResultCache } from '../call/cache.js';
import type { Random } from '../cluster/balance.js';
import { monotonic, type Clock } from '../cluster/clock.js';
import type { Lookup } from '../cluster/resolve.js';
import type { Logger } from '../log/logger.js';
import { ClusterRegistry, type ClusterConfigs, type Wiring } from './registry.js';

/** Settings every face of the services shares. Durations in MILLISECONDS. */
export interface SharedOptions {
  /** `[@name]` sections of both types (`type = http`, the default, and `type = postgresql`). */
  readonly clusters?: ClusterConfigs;
  /** `[server] num_result_cache_max`: entries of each result cache (HTTP, PostgreSQL); 0 turns them off. Default 200. */
  readonly resultCacheMax?: number;
  readonly logger?: Logger;
  /** How long `close()` lets work in flight finish before cutting or cancelling it. Default 5000. */
  readonly closeGrace?: number;
  /**
   * Tests: a controllable clock for every cluster and call — time, call deadlines, hedging,
   * breaker cooldown, ejections, result-cache expiry.
   */
  readonly clock?: Clock;
  /** Tests: the random source of the random strategies. */
  readonly random?: Random;
  /** DNS for `resolve = yes` clusters (default: node's resolver). */
  readonly lookup?: Lookup;
}

/**
 * The parts of a worker's services that its faces ({@link Clients}, {@link Databases}) share:
 * one cluster registry, one clock, one result cache per protocol, the logger and the close grace.
 * A {@link Services} makes one for both faces; a face made on its own makes its own, wiring
 * only its protocol's clusters.
 */
export class ServicesCore {
  readonly registry: ClusterRegistry;
  readonly clock: Clock;
  readonly logger: Logger | undefined;
  readonly closeGrace: number;
  /** Results of was.map/lb/rest (`http`) and of was.dmap/dlb/db (`postgresql`), kept apart. */
  readonly caches: { readonly http: ResultCache; readonly postgresql: ResultCache };

  constructor(options: SharedOptions, wiring: Wiring) {
    this.clock = options.clock ?? monotonic;
    this.logger = options.logger;
    this.closeGrace = options.closeGrace ?? 5000;
    const max = options.resultCacheMax ?? 200;
    this.caches = { http: new ResultCache(max, this.clock), postgresql: new ResultCache(max, this.clock) };
    const deps = {
      clock: this.clock,
      ...(options.random ? { random: options.random } : {}),
      ...(options.logger ? { logger: options.logger } : {}),
      ...(options.lookup ? { lookup: options.lookup } : {}),
    };
    this.registry = new ClusterRegistry(options.clusters, wiring, deps);
  }
}

/**
 * `[@name]` section -> typed, frozen ClusterOptions. The KEYS table is the one list of cluster keys:
 * parsing, defaults, unknown-key errors and the docs/clusters.md table all come from it. Errors are
 * SKT_CONFIG_VALUE / SKT_CONFIG_UNKNOWN_KEY naming file, line and key, like every config error.
 */
import fs from 'node:fs';
import { CLUSTER_KEYS } from '../config/cluster-keys.js';
import { clusterSection } from '../config/clusters.js';
import type { KeySpec } from '../config/keys.js';
import { readSection, type ReadSection } from '../config/reader.js';
import type { ClusterConfig } from '../config/types.js';
import { SkitaiError, type ConfigPlace } from '../errors.js';
import type { Strategy } from './balance.js';
import type { BreakerOptions } from './breaker.js';
import type { RetryBudgetOptions } from './budget.js';
import type { ActiveCheckOptions, EjectOptions } from './health.js';
import { parseMembers } from './members.js';
import type { MemberSpec } from './member.js';

export { CLUSTER_KEYS } from '../config/cluster-keys.js';

/** Cluster types: HTTP/RPC members here, PostgreSQL members for the DB layer. */
export type ClusterType = 'http' | 'postgresql';

/** A validated HTTP cluster. Durations in MILLISECONDS, sizes in bytes, rates 0..1. */
export interface ClusterOptions extends ClusterPolicyOptions {
  readonly name: string;
  readonly type: 'http';
  readonly members: readonly MemberSpec[];
  readonly ssl: boolean;
  /** HTTP/2 to the members (ALPN over TLS, so only with `ssl`): requests multiplex over one connection. */
  readonly http2: boolean;
  /** Absolute path of a PEM CA bundle trusted for the members, in addition to nothing else. */
  readonly caFile: string | undefined;
  readonly maxConns: number;
  readonly connectTimeout: number;
  readonly responseTimeout: number;
  readonly keepAlive: number;
  readonly maxResponseSize: number;
  /** The member client of `was.*` calls and health checks (`call_client`): Skitai's own HTTP/1.1 one, or undici (always with `http2`). */
  readonly callClient: 'skitai' | 'undici';
  /** The reverse proxy's member client (`proxy_client`): its own HTTP/1.1 one, or undici (always with `http2`). */
  readonly proxyClient: 'skitai' | 'undici';
  /** Undefined when `health_check_path` is not set: no active checks. */
  readonly healthCheck: (ActiveCheckOptions & { readonly path: string }) | undefined;
  readonly failOn5xx: boolean;
  readonly retryTimeouts: boolean;
  /** 0 = no hedging. */
  readonly hedgeDelay: number;
}

/** What the cluster and DB layers both read: health, breaker, budget, slow start and DNS. */
export interface ClusterPolicyOptions {
  readonly strategy: Strategy;
  readonly eject: EjectOptions;
  readonly breaker: BreakerOptions;
  readonly retryBudget: Omit<RetryBudgetOptions, 'windowMs'>;
  /** ms over which a returning or added member's share grows to its weight; 0 = off. */
  readonly slowStart: number;
  /** Look member names up in DNS again and again (`resolve = yes`); undefined = off. */
  readonly resolve: { readonly intervalMs: number } | undefined;
}

/** The cluster's `type` (checked), without validating the rest: the DB layer owns `postgresql` sections. */
export function clusterType(config: ClusterConfig): ClusterType {
  // Skitai's own docs misspell the type (`postresql`), which silently made an HTTP cluster; the table refuses it.
  return readCluster(config, ONLY_TYPE, false).values.type as ClusterType;
}

/** `required = yes`: readiness depends on this cluster having a live member (`[server] ready_path`). */
export function isRequired(config: ClusterConfig): boolean {
  return readCluster(config, ONLY_REQUIRED, false).values.required === true;
}

const ONLY_TYPE = CLUSTER_KEYS.filter((k) => k.key === 'type');
const ONLY_REQUIRED = CLUSTER_KEYS.filter((k) => k.key === 'required');

/**
 * Read a cluster section by `table` with the one section reader. `strict` (the default) refuses keys the
 * table does not list; `false` reads only the table's keys (a look at one key before the owner reads all).
 */
export function readCluster(config: ClusterConfig, table: readonly KeySpec[], strict = true): ReadSection {
  const raw = clusterSection(config);
  if (strict) return readSection(table, raw);
  const known = new Set(table.flatMap((k) => [k.key, ...(k.aliases ?? [])]));
  return readSection(table, { ...raw, entries: [...raw.entries].filter(([key]) => known.has(key)) });
}

/** The policy keys both cluster types share, from a section read by either table. */
export function policyOf(read: ReadSection): ClusterPolicyOptions {
  const v = read.values;
  const ms = (key: string): number => v[key] as number;
  if (ms('eject_max') < ms('eject_base')) {
    throw new SkitaiError('SKT_CONFIG_VALUE', 'eject_max must be at least eject_base', { place: read.place('eject_max') });
  }
  return {
    strategy: v.strategy as Strategy,
    eject: Object.freeze({ failures: ms('eject_failures'), baseMs: ms('eject_base'), maxMs: ms('eject_max') }),
    breaker: Object.freeze({
      enabled: v.breaker as boolean,
      failureRate: ms('breaker_failure_rate') / 100,
      minRequests: ms('breaker_min_requests'),
      windowMs: ms('breaker_window'),
      cooldownMs: ms('breaker_cooldown'),
      probes: ms('breaker_probes'),
    }),
    retryBudget: Object.freeze({ ratio: ms('retry_budget') / 100, minPerSecond: ms('retry_budget_min') }),
    slowStart: ms('slow_start'),
    resolve: v.resolve === true ? Object.freeze({ intervalMs: ms('resolve_interval') }) : undefined,
  };
}

/** Validate an HTTP cluster section. Throws SkitaiError naming file, line and key. */
export function parseClusterOptions(config: ClusterConfig): ClusterOptions {
  if (clusterType(config) !== 'http') {
    throw new SkitaiError('SKT_CLUSTER_TYPE', `cluster @${config.name} is type postgresql; HTTP options do not apply`);
  }
  const read = readCluster(config, CLUSTER_KEYS);
  const v = read.values;
  const ms = (key: string): number => v[key] as number;
  const ssl = v.ssl as boolean;
  const members = parseMembers(v.members as string, ssl ? 443 : 80, (msg) => {
    throw new SkitaiError('SKT_CONFIG_VALUE', msg, { place: read.place('members') });
  });
  const http2 = v.http2 as boolean;
  if (http2 && !ssl) throw new SkitaiError('SKT_CONFIG_VALUE', 'http2 = yes needs ssl = yes (h2 to members is negotiated by TLS ALPN)', { place: read.place('http2') });
  const caFile = v.ca_file as string | undefined;
  if (caFile !== undefined && !fs.existsSync(caFile)) {
    throw new SkitaiError('SKT_CONFIG_VALUE', `CA file not found: ${caFile}`, { place: read.place('ca_file') });
  }
  const checkPath = v.health_check_path as string | undefined;
  return Object.freeze({
    name: config.name,
    type: 'http' as const,
    members: Object.freeze(members),
    ssl,
    http2,
    caFile,
    ...policyOf(read),
    maxConns: ms('max_conns'),
    connectTimeout: ms('connect_timeout'),
    responseTimeout: ms('response_timeout'),
    keepAlive: ms('keep_alive'),
    maxResponseSize: ms('max_response_size'),
    callClient: v.call_client as 'skitai' | 'undici',
    proxyClient: v.proxy_client as 'skitai' | 'undici',
    healthCheck: checkPath === undefined ? undefined : Object.freeze({
      path: checkPath,
      intervalMs: ms('health_check_interval'),
      timeoutMs: ms('health_check_timeout'),
      healthyThreshold: ms('healthy_threshold'),
      unhealthyThreshold: ms('unhealthy_threshold'),
    }),
    failOn5xx: v.fail_on_5xx as boolean,
    retryTimeouts: v.retry_timeouts as boolean,
    hedgeDelay: ms('hedge_delay'),
  });
}

/** File, line and key of `key` in a cluster section, for config errors (the DB layer's too). */
export function placeOf(config: ClusterConfig, key: string): ConfigPlace {
  return { file: config.file, line: config.keyLines[key] ?? config.line, section: `@${config.name}`, key };
}

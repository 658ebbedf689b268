/**
 * `[@name]` section -> typed, frozen ClusterOptions. The KEYS table is the one list of cluster keys:
 * parsing, defaults, unknown-key errors and the docs/clusters.md table all come from it. Errors are
 * SKT_CONFIG_VALUE / SKT_CONFIG_UNKNOWN_KEY naming file, line and key, like every config error.
 */
import fs from 'node:fs';
import path from 'node:path';
import { SkitaiError, type ConfigPlace } from '../errors.js';
import type { ClusterConfig } from '../config/types.js';
import { describeScalar, readScalar, type ScalarRule } from '../config/values.js';
import { STRATEGIES, STRATEGY_ALIASES, type Strategy } from './balance.js';
import type { BreakerOptions } from './breaker.js';
import type { RetryBudgetOptions } from './budget.js';
import type { ActiveCheckOptions, EjectOptions } from './health.js';
import { parseMembers } from './members.js';
import type { MemberSpec } from './member.js';

/** Cluster types: HTTP/RPC members here, PostgreSQL members for the DB layer. */
export type ClusterType = 'http' | 'postgresql';

/** A validated HTTP cluster. Durations in MILLISECONDS, sizes in bytes, rates 0..1. */
export interface ClusterOptions {
  readonly name: string;
  readonly type: 'http';
  readonly members: readonly MemberSpec[];
  readonly ssl: boolean;
  /** HTTP/2 to the members (ALPN over TLS, so only with `ssl`): requests multiplex over one connection. */
  readonly http2: boolean;
  /** Absolute path of a PEM CA bundle trusted for the members, in addition to nothing else. */
  readonly caFile: string | undefined;
  readonly strategy: Strategy;
  readonly maxConns: number;
  readonly connectTimeout: number;
  readonly responseTimeout: number;
  readonly keepAlive: number;
  readonly maxResponseSize: number;
  /** Undefined when `health_check_path` is not set: no active checks. */
  readonly healthCheck: (ActiveCheckOptions & { readonly path: string }) | undefined;
  readonly eject: EjectOptions;
  readonly failOn5xx: boolean;
  readonly breaker: BreakerOptions;
  readonly retryTimeouts: boolean;
  readonly retryBudget: Omit<RetryBudgetOptions, 'windowMs'>;
  /** 0 = no hedging. */
  readonly hedgeDelay: number;
}

type KeyType = 'bool' | 'int' | 'seconds' | 'size' | 'percent' | 'path' | 'string' | 'enum' | 'members';

/** One cluster key. Bounds are inclusive and in stored units (ms, bytes, percent). */
export interface ClusterKey {
  readonly key: string;
  readonly type: KeyType;
  readonly default: boolean | number | string | undefined;
  readonly min?: number;
  readonly max?: number;
  readonly values?: readonly string[];
  readonly doc: string;
}

const S = 1000;
const KEYS: readonly ClusterKey[] = [
  { key: 'members', type: 'members', default: undefined, doc: '`host:port weight, …` — weight after a space (default 1); port 80, or 443 with `ssl = yes`. Required.' },
  { key: 'type', type: 'enum', default: 'http', values: ['http', 'postgresql'], doc: '`postgresql` clusters belong to the DB layer; only `type` is checked here.' },
  { key: 'ssl', type: 'bool', default: false, doc: 'HTTPS to the members. Certificates are verified (system CAs, or `ca_file`).' },
  { key: 'http2', type: 'bool', default: false, doc: 'HTTP/2 to the members (needs `ssl = yes`: chosen by ALPN, HTTP/1.1 when a member does not offer h2); requests to a member multiplex over its connections (docs/http2.md).' },
  { key: 'ca_file', type: 'path', default: undefined, doc: 'PEM CA bundle to trust for the members (relative to the config file); replaces the system CAs.' },
  { key: 'strategy', type: 'enum', default: 'weighted_round_robin', values: STRATEGIES, doc: 'Member choice for `lb`: `weighted_round_robin` (smooth, like nginx), `least_connections`, `random_of_two`.' },
  { key: 'max_conns', type: 'int', default: 100, min: 1, max: 100_000, doc: 'Connections per member per worker; more requests queue.' },
  { key: 'connect_timeout', type: 'seconds', default: 3 * S, min: 1, max: 600 * S, doc: 'TCP + TLS connect limit; a failed connect is a NETERR and safe to fail over.' },
  { key: 'response_timeout', type: 'seconds', default: 10 * S, min: 1, max: 3600 * S, doc: 'Limit for the response headers, and for each gap while reading the body (TIMEOUT). undici checks it on a coarse clock (up to ~1 s late); the call deadline of `getwait` is exact.' },
  { key: 'keep_alive', type: 'seconds', default: 60 * S, min: 1, max: 3600 * S, doc: 'Idle keep-alive time of member connections (a shorter `Keep-Alive: timeout` from the member wins).' },
  { key: 'max_response_size', type: 'size', default: 64 * 2 ** 20, min: 1, max: 2 ** 40, doc: 'Largest response body read, after decompression; larger is a NETERR.' },
  { key: 'health_check_path', type: 'string', default: undefined, doc: 'Path for active checks (`GET`, 2xx/3xx = healthy). Unset: passive health only.' },
  { key: 'health_check_interval', type: 'seconds', default: 10 * S, min: 10, max: 3600 * S, doc: 'Time between active checks of each member.' },
  { key: 'health_check_timeout', type: 'seconds', default: 2 * S, min: 1, max: 600 * S, doc: 'A probe not answered in this time counts as failed.' },
  { key: 'healthy_threshold', type: 'int', default: 2, min: 1, max: 100, doc: 'Good probes in a row that bring a member back (also ending a passive ejection).' },
  { key: 'unhealthy_threshold', type: 'int', default: 3, min: 1, max: 100, doc: 'Failed probes in a row that mark a member down.' },
  { key: 'eject_failures', type: 'int', default: 3, min: 1, max: 1000, doc: 'Failures in a row that eject a member (passive health).' },
  { key: 'eject_base', type: 'seconds', default: 1 * S, min: 1, max: 3600 * S, doc: 'First ejection period; the n-th in a row lasts `eject_base × 2^(n-1)`.' },
  { key: 'eject_max', type: 'seconds', default: 60 * S, min: 1, max: 24 * 3600 * S, doc: 'Cap of the ejection period.' },
  { key: 'fail_on_5xx', type: 'bool', default: true, doc: 'Count 5xx responses as failures for health and breaker (they are still returned, never retried).' },
  { key: 'breaker', type: 'bool', default: true, doc: 'The cluster circuit breaker.' },
  { key: 'breaker_failure_rate', type: 'percent', default: 50, min: 1, max: 100, doc: 'Failure share (`50` or `50%`) over the window that opens the breaker.' },
  { key: 'breaker_min_requests', type: 'int', default: 20, min: 1, max: 1_000_000, doc: 'Exchanges needed in the window before the breaker may open.' },
  { key: 'breaker_window', type: 'seconds', default: 10 * S, min: 10, max: 3600 * S, doc: 'Sliding window of the failure rate.' },
  { key: 'breaker_cooldown', type: 'seconds', default: 5 * S, min: 1, max: 3600 * S, doc: 'How long the breaker stays open before it half-opens.' },
  { key: 'breaker_probes', type: 'int', default: 1, min: 1, max: 1000, doc: 'Requests let through when half-open; as many successes close it.' },
  { key: 'hedge_delay', type: 'seconds', default: 0, min: 0, max: 600 * S, doc: '`lb` only: when the first member has not answered in this time, also ask a second and take the first answer. 0 = off.' },
  { key: 'retry_timeouts', type: 'bool', default: false, doc: 'Fail over after a member TIMEOUT too (idempotent or safe calls only).' },
  { key: 'retry_budget', type: 'percent', default: 20, min: 0, max: 100, doc: 'Failovers and hedges allowed, as a share of requests over the last 10 s.' },
  { key: 'retry_budget_min', type: 'int', default: 10, min: 0, max: 1_000_000, doc: 'Failovers and hedges always allowed per second, however little traffic there is.' },
  { key: 'required', type: 'bool', default: false, doc: 'The site is not ready (`ready_path` answers 503) while no member of this cluster is live (healthy, not ejected or down). Pair it with active health checks, so a member found down is also found back up without traffic.' },
];

/** The cluster key table, for docs and tests. */
export const CLUSTER_KEYS: readonly ClusterKey[] = KEYS;

/** The cluster's `type` (checked), without validating the rest: the DB layer owns `postgresql` sections. */
export function clusterType(config: ClusterConfig): ClusterType {
  const raw = (config.values.type ?? 'http').trim().toLowerCase();
  // Skitai's own docs misspell the type (`postresql`), which silently made an HTTP cluster; refuse instead.
  if (raw === 'http' || raw === 'postgresql') return raw;
  throw new SkitaiError('SKT_CONFIG_VALUE', `expected a cluster type of http or postgresql, got "${config.values.type}"`, { place: placeOf(config, 'type') });
}

/** `required = yes`: readiness depends on this cluster having a live member (`[server] ready_path`). */
export function isRequired(config: ClusterConfig): boolean {
  return readKey(config, KEYS.find((k) => k.key === 'required')!) === true;
}

/** Validate an HTTP cluster section. Throws SkitaiError naming file, line and key. */
export function parseClusterOptions(config: ClusterConfig): ClusterOptions {
  if (clusterType(config) !== 'http') {
    throw new SkitaiError('SKT_CLUSTER_TYPE', `cluster @${config.name} is type postgresql; HTTP options do not apply`);
  }
  checkKeys(config, KEYS);
  const v = (key: string): unknown => readKey(config, KEYS.find((k) => k.key === key)!);
  const ssl = v('ssl') as boolean;
  const members = parseMembers(config.values.members ?? '', ssl ? 443 : 80, (msg) => {
    throw new SkitaiError('SKT_CONFIG_VALUE', msg, { place: placeOf(config, 'members') });
  });
  const http2 = v('http2') as boolean;
  if (http2 && !ssl) throw new SkitaiError('SKT_CONFIG_VALUE', 'http2 = yes needs ssl = yes (h2 to members is negotiated by TLS ALPN)', { place: placeOf(config, 'http2') });
  const caFile = v('ca_file') as string | undefined;
  if (caFile !== undefined && !fs.existsSync(caFile)) {
    throw new SkitaiError('SKT_CONFIG_VALUE', `CA file not found: ${caFile}`, { place: placeOf(config, 'ca_file') });
  }
  const checkPath = v('health_check_path') as string | undefined;
  if (checkPath !== undefined && !checkPath.startsWith('/')) {
    throw new SkitaiError('SKT_CONFIG_VALUE', 'expected a path starting with "/"', { place: placeOf(config, 'health_check_path') });
  }
  const ms = (key: string): number => v(key) as number;
  if (ms('eject_max') < ms('eject_base')) {
    throw new SkitaiError('SKT_CONFIG_VALUE', 'eject_max must be at least eject_base', { place: placeOf(config, 'eject_max') });
  }
  return Object.freeze({
    name: config.name,
    type: 'http' as const,
    members: Object.freeze(members),
    ssl,
    http2,
    caFile,
    strategy: v('strategy') as Strategy,
    maxConns: ms('max_conns'),
    connectTimeout: ms('connect_timeout'),
    responseTimeout: ms('response_timeout'),
    keepAlive: ms('keep_alive'),
    maxResponseSize: ms('max_response_size'),
    healthCheck: checkPath === undefined ? undefined : Object.freeze({
      path: checkPath,
      intervalMs: ms('health_check_interval'),
      timeoutMs: ms('health_check_timeout'),
      healthyThreshold: ms('healthy_threshold'),
      unhealthyThreshold: ms('unhealthy_threshold'),
    }),
    eject: Object.freeze({ failures: ms('eject_failures'), baseMs: ms('eject_base'), maxMs: ms('eject_max') }),
    failOn5xx: v('fail_on_5xx') as boolean,
    breaker: Object.freeze({
      enabled: v('breaker') as boolean,
      failureRate: ms('breaker_failure_rate') / 100,
      minRequests: ms('breaker_min_requests'),
      windowMs: ms('breaker_window'),
      cooldownMs: ms('breaker_cooldown'),
      probes: ms('breaker_probes'),
    }),
    retryTimeouts: v('retry_timeouts') as boolean,
    retryBudget: Object.freeze({ ratio: ms('retry_budget') / 100, minPerSecond: ms('retry_budget_min') }),
    hedgeDelay: ms('hedge_delay'),
  });
}

/** Refuse keys that `keys` does not list, suggesting a near spelling. */
export function checkKeys(config: ClusterConfig, keys: readonly ClusterKey[]): void {
  for (const key of Object.keys(config.values)) {
    if (!keys.some((k) => k.key === key)) {
      const near = keys.find((k) => k.key.replace(/_/g, '') === key.replace(/[_-]/g, ''));
      throw new SkitaiError('SKT_CONFIG_UNKNOWN_KEY', `unknown cluster key "${key}"${near ? ` (did you mean "${near.key}"?)` : ''}`, { place: placeOf(config, key) });
    }
  }
}

/** File, line and key of `key` in a cluster section, for config errors (the DB layer's too). */
export function placeOf(config: ClusterConfig, key: string): ConfigPlace {
  return { file: config.file, line: config.keyLines[key] ?? config.line, section: `@${config.name}`, key };
}

/** Read one key by its table entry: the default when unset, SKT_CONFIG_VALUE naming file:line:key when bad. */
export function readKey(config: ClusterConfig, spec: ClusterKey): unknown {
  const raw = config.values[spec.key]?.trim();
  if (raw === undefined || (raw === '' && (spec.type === 'path' || spec.type === 'string'))) return spec.default;
  const bad = (): never => {
    throw new SkitaiError('SKT_CONFIG_VALUE', `expected ${describeKey(spec)}, got "${raw}"`, { place: placeOf(config, spec.key) });
  };
  switch (spec.type) {
    case 'bool':
    case 'int':
    case 'seconds':
    case 'size':
      return readScalar(raw, spec as ScalarRule) ?? bad();
    case 'percent': {
      const m = /^(\d+(?:\.\d+)?)\s*%?$/.exec(raw);
      const n = m ? Number(m[1]) : undefined;
      return n !== undefined && n >= spec.min! && n <= spec.max! ? n : bad();
    }
    case 'enum': {
      const word = raw.toLowerCase();
      const canonical = spec.key === 'strategy' ? (STRATEGY_ALIASES[word] ?? word) : word;
      return spec.values!.includes(canonical) ? canonical : bad();
    }
    case 'path':
      return path.resolve(path.isAbsolute(config.file) ? path.dirname(config.file) : process.cwd(), raw);
    case 'string':
    case 'members':
      return raw;
  }
}

/** What a key accepts, in the words errors and docs/clusters.md share. */
export function describeKey(spec: ClusterKey): string {
  switch (spec.type) {
    case 'bool':
    case 'int':
    case 'seconds':
    case 'size':
      return describeScalar(spec as ScalarRule);
    case 'percent':
      return `a percentage from ${spec.min} to ${spec.max}`;
    case 'enum':
      return `one of ${spec.values!.join(', ')}`;
    case 'path':
      return 'a file path';
    case 'string':
      return 'text';
    case 'members':
      return 'host:port weight, …';
  }
}

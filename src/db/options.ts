/**
 * `[@name] type = postgresql` section -> typed, frozen DbClusterOptions. DB_CLUSTER_KEYS is the one
 * list of keys of such a section (docs/db.md's table follows it). Health, breaker and retry-budget
 * keys mean what they mean for HTTP clusters and share their table entries.
 */
import type { ClusterPolicy } from '../cluster/cluster.js';
import { CLUSTER_KEYS, checkKeys, clusterType, placeOf, readKey, type ClusterKey } from '../cluster/options.js';
import type { Strategy } from '../cluster/balance.js';
import type { ClusterConfig } from '../config/types.js';
import { SkitaiError } from '../errors.js';
import { parseDbMembers, type DbMemberSpec } from './members.js';
import type { DbPoolOptions } from '../transport/pg/query.js';

export type { DbPoolOptions } from '../transport/pg/query.js';


/** A validated PostgreSQL cluster. */
export interface DbClusterOptions extends ClusterPolicy, DbPoolOptions {
  readonly type: 'postgresql';
  readonly members: readonly DbMemberSpec[];
}

const S = 1000;
const shared = (key: string): ClusterKey => CLUSTER_KEYS.find((k) => k.key === key)!;

const KEYS: readonly ClusterKey[] = [
  { key: 'members', type: 'members', default: undefined, doc: '`host:port/dbname/user/password weight, …` — port 5432 by default, weight after a space (default 1); user and password are %-decoded (`%2C` comma, `%25` percent). The password may be left out (`host:port/db/user`) for trust auth or `PGPASSWORD`/`.pgpass`. Required.' },
  { key: 'type', type: 'enum', default: 'http', values: ['http', 'postgresql'], doc: '`postgresql` for these sections.' },
  { ...shared('strategy'), doc: 'Member choice for `dlb`: `weighted_round_robin`, `least_connections`, `random_of_two`.' },
  { key: 'max_conns', type: 'int', default: 10, min: 1, max: 1000, doc: 'Connections per member per worker (a pg.Pool each). More queries wait for a free one; the wait counts against the call\'s deadline.' },
  { key: 'connect_timeout', type: 'seconds', default: 5 * S, min: 1, max: 600 * S, doc: 'Connect + authentication limit; a failed connect is a NETERR and safe to fail over.' },
  { key: 'idle_timeout', type: 'seconds', default: 60 * S, min: 1 * S, max: 24 * 3600 * S, doc: 'Idle connections are closed after this long.' },
  { key: 'query_timeout', type: 'seconds', default: 30 * S, min: 1, max: 24 * 3600 * S, doc: 'Longest a query may run, even when nobody waits for it (a call\'s `getwait` deadline may cut it sooner). At the limit the call gets TIMEOUT and the query is cancelled ON THE SERVER.' },
  { key: 'health_check', type: 'bool', default: false, doc: 'Active checks: every `health_check_interval` each member gets a fresh connection running `SELECT 1`. Off: passive health only.' },
  ...['health_check_interval', 'health_check_timeout', 'healthy_threshold', 'unhealthy_threshold'].map(shared),
  ...['eject_failures', 'eject_base', 'eject_max', 'breaker', 'breaker_failure_rate', 'breaker_min_requests', 'breaker_window', 'breaker_cooldown', 'breaker_probes', 'retry_budget', 'retry_budget_min', 'required'].map(shared),
];

/** The key table of `type = postgresql` sections, for docs and tests. */
export const DB_CLUSTER_KEYS: readonly ClusterKey[] = KEYS;

/** Validate a PostgreSQL cluster section. Throws SkitaiError naming file, line and key, never quoting a password. */
export function parseDbClusterOptions(config: ClusterConfig): DbClusterOptions {
  if (clusterType(config) !== 'postgresql') {
    throw new SkitaiError('SKT_CLUSTER_TYPE', `cluster @${config.name} is type http; database options do not apply`);
  }
  checkKeys(config, KEYS);
  const v = (key: string): number => readKey(config, KEYS.find((k) => k.key === key)!) as number;
  const members = parseDbMembers(config.values.members ?? '', (msg) => {
    throw new SkitaiError('SKT_CONFIG_VALUE', msg, { place: placeOf(config, 'members') });
  });
  if (v('eject_max') < v('eject_base')) {
    throw new SkitaiError('SKT_CONFIG_VALUE', 'eject_max must be at least eject_base', { place: placeOf(config, 'eject_max') });
  }
  return Object.freeze({
    name: config.name,
    type: 'postgresql' as const,
    ssl: false,
    members: Object.freeze(members),
    strategy: readKey(config, KEYS.find((k) => k.key === 'strategy')!) as Strategy,
    maxConns: v('max_conns'),
    connectTimeout: v('connect_timeout'),
    idleTimeout: v('idle_timeout'),
    queryTimeout: v('query_timeout'),
    healthCheck: readKey(config, KEYS.find((k) => k.key === 'health_check')!) === true
      ? Object.freeze({ intervalMs: v('health_check_interval'), timeoutMs: v('health_check_timeout'), healthyThreshold: v('healthy_threshold'), unhealthyThreshold: v('unhealthy_threshold') })
      : undefined,
    eject: Object.freeze({ failures: v('eject_failures'), baseMs: v('eject_base'), maxMs: v('eject_max') }),
    breaker: Object.freeze({
      enabled: readKey(config, shared('breaker')) as boolean,
      failureRate: v('breaker_failure_rate') / 100,
      minRequests: v('breaker_min_requests'),
      windowMs: v('breaker_window'),
      cooldownMs: v('breaker_cooldown'),
      probes: v('breaker_probes'),
    }),
    retryBudget: Object.freeze({ ratio: v('retry_budget') / 100, minPerSecond: v('retry_budget_min') }),
  });
}

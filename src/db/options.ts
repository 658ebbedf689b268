/**
 * `[@name] type = postgresql` section -> typed, frozen DbClusterOptions. DB_CLUSTER_KEYS is the one
 * list of keys of such a section (docs/db.md's table follows it). Health, breaker and retry-budget
 * keys mean what they mean for HTTP clusters and share their table entries.
 */
import type { ClusterPolicy } from '../cluster/cluster.js';
import { clusterType, policyOf, readCluster } from '../cluster/options.js';
import { DB_CLUSTER_KEYS } from '../config/cluster-keys.js';
import type { ClusterConfig } from '../config/types.js';
import { SkitaiError } from '../errors.js';
import { parseDbMembers, type DbMemberSpec } from './members.js';
import type { DbPoolOptions } from '../transport/pg/query.js';

export type { DbPoolOptions } from '../transport/pg/query.js';

export { DB_CLUSTER_KEYS } from '../config/cluster-keys.js';

/** A validated PostgreSQL cluster. */
export interface DbClusterOptions extends ClusterPolicy, DbPoolOptions {
  readonly type: 'postgresql';
  readonly members: readonly DbMemberSpec[];
}

/** Validate a PostgreSQL cluster section. Throws SkitaiError naming file, line and key, never quoting a password. */
export function parseDbClusterOptions(config: ClusterConfig): DbClusterOptions {
  if (clusterType(config) !== 'postgresql') {
    throw new SkitaiError('SKT_CLUSTER_TYPE', `cluster @${config.name} is type http; database options do not apply`);
  }
  const read = readCluster(config, DB_CLUSTER_KEYS);
  const v = (key: string): number => read.values[key] as number;
  const members = parseDbMembers(read.values.members as string, (msg) => {
    throw new SkitaiError('SKT_CONFIG_VALUE', msg, { place: read.place('members') });
  });
  return Object.freeze({
    name: config.name,
    type: 'postgresql' as const,
    ssl: false,
    members: Object.freeze(members),
    ...policyOf(read),
    maxConns: v('max_conns'),
    connectTimeout: v('connect_timeout'),
    idleTimeout: v('idle_timeout'),
    queryTimeout: v('query_timeout'),
    healthCheck: read.values.health_check === true
      ? Object.freeze({ intervalMs: v('health_check_interval'), timeoutMs: v('health_check_timeout'), healthyThreshold: v('healthy_threshold'), unhealthyThreshold: v('unhealthy_threshold') })
      : undefined,
  });
}

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { Cluster } from '../../src/cluster/cluster.js';
import { CLUSTER_KEYS, clusterType, parseClusterOptions } from '../../src/cluster/options.js';
import { isSkitaiError } from '../../src/errors.js';
import { clusterConfig, manualClock } from './helpers.js';

function throwsConfig(values: Record<string, string>, code: string, pattern: RegExp): void {
  assert.throws(() => parseClusterOptions(clusterConfig(values)), (err: unknown) => {
    assert.ok(isSkitaiError(err), String(err));
    assert.equal(err.code, code);
    assert.match(err.message, pattern);
    return true;
  });
}

describe('cluster options', () => {
  test('members: weight after a space (default 1), port 80 or 443 with ssl, IPv6 in brackets', () => {
    const o = parseClusterOptions(clusterConfig({ members: '127.0.0.1:5001, 127.0.0.1:5002 2,\nexample.com, [::1]:8080 3' }));
    assert.deepEqual(o.members, [
      { host: '127.0.0.1', port: 5001, weight: 1 },
      { host: '127.0.0.1', port: 5002, weight: 2 },
      { host: 'example.com', port: 80, weight: 1 },
      { host: '::1', port: 8080, weight: 3 },
    ]);
    const tls = parseClusterOptions(clusterConfig({ members: 'pypi.example.org', ssl: 'yes' }));
    assert.equal(tls.members[0]!.port, 443);
    assert.equal(tls.ssl, true);
  });

  test('defaults', () => {
    const o = parseClusterOptions(clusterConfig({ members: 'a:1' }));
    assert.equal(o.strategy, 'weighted_round_robin');
    assert.deepEqual([o.maxConns, o.connectTimeout, o.responseTimeout, o.hedgeDelay], [100, 3000, 10_000, 0]);
    assert.deepEqual(o.eject, { failures: 3, baseMs: 1000, maxMs: 60_000 });
    assert.deepEqual(o.breaker, { enabled: true, failureRate: 0.5, minRequests: 20, windowMs: 10_000, cooldownMs: 5000, probes: 1 });
    assert.equal(o.healthCheck, undefined);
    assert.equal(o.failOn5xx, true);
    assert.equal(o.retryTimeouts, false);
    assert.ok(Object.isFrozen(o));
  });

  test('every key parses, with units and aliases', () => {
    const o = parseClusterOptions(clusterConfig({
      members: 'a:1', strategy: 'P2C', max_conns: '8', connect_timeout: '250ms', response_timeout: '1.5',
      health_check_path: '/ping', health_check_interval: '100ms', healthy_threshold: '1', unhealthy_threshold: '2',
      eject_failures: '2', eject_base: '200ms', eject_max: '2s', breaker_failure_rate: '30%', breaker_min_requests: '5',
      breaker_window: '1s', breaker_cooldown: '300ms', breaker_probes: '2', hedge_delay: '50ms', retry_timeouts: 'yes',
      retry_budget: '50', retry_budget_min: '3', fail_on_5xx: 'no', breaker: 'off', keep_alive: '5s', max_response_size: '1M',
    }));
    assert.equal(o.strategy, 'random_of_two');
    assert.deepEqual(o.healthCheck, { path: '/ping', intervalMs: 100, timeoutMs: 2000, healthyThreshold: 1, unhealthyThreshold: 2 });
    assert.deepEqual(o.breaker, { enabled: false, failureRate: 0.3, minRequests: 5, windowMs: 1000, cooldownMs: 300, probes: 2 });
    assert.deepEqual([o.connectTimeout, o.responseTimeout, o.hedgeDelay, o.keepAlive, o.maxResponseSize], [250, 1500, 50, 5000, 2 ** 20]);
    assert.deepEqual(o.retryBudget, { ratio: 0.5, minPerSecond: 3 });
  });

  test('errors name the file, the line and the key', () => {
    throwsConfig({ members: '127.0.0.1:5001 x' }, 'SKT_CONFIG_VALUE', /^\/etc\/skitai\/site\.conf:line 2 \[@c\] members: weight of "127\.0\.0\.1:5001 x"/);
    throwsConfig({ members: 'a:1', strategy: 'fastest' }, 'SKT_CONFIG_VALUE', /line 3 \[@c\] strategy: expected one of weighted_round_robin, least_connections, random_of_two/);
    throwsConfig({ members: 'a:99999' }, 'SKT_CONFIG_VALUE', /port 99999/);
    throwsConfig({ members: 'a:1, a:1 2' }, 'SKT_CONFIG_VALUE', /listed twice/);
    throwsConfig({ members: 'a:b:c' }, 'SKT_CONFIG_VALUE', /expected host:port/);
    throwsConfig({ members: 'a:1 two' }, 'SKT_CONFIG_VALUE', /weight of "a:1 two" must be a whole number/);
    throwsConfig({ members: 'a:1', max_conn: '5' }, 'SKT_CONFIG_UNKNOWN_KEY', /line 3 \[@c\] max_conn: unknown key "max_conn" in \[@c\]; did you mean "max_conns"\?/);
    throwsConfig({ members: 'a:1', connecttimeout: '5' }, 'SKT_CONFIG_UNKNOWN_KEY', /did you mean "connect_timeout"/);
    throwsConfig({ members: 'a:1', health_check_path: 'ping' }, 'SKT_CONFIG_VALUE', /starting with "\/"/);
    throwsConfig({ members: 'a:1', eject_base: '10s', eject_max: '1s' }, 'SKT_CONFIG_VALUE', /eject_max/);
    throwsConfig({ members: 'a:1', ca_file: './nope.pem' }, 'SKT_CONFIG_VALUE', /CA file not found: \/etc\/skitai\/nope\.pem/);
    throwsConfig({ members: 'a:1', breaker_failure_rate: '0' }, 'SKT_CONFIG_VALUE', /percentage from 1 to 100/);
  });

  test('ca_file resolves against the config file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-cluster-'));
    fs.writeFileSync(path.join(dir, 'ca.pem'), 'x');
    const o = parseClusterOptions(clusterConfig({ members: 'a:1', ca_file: 'ca.pem' }, 'c', path.join(dir, 'site.conf')));
    assert.equal(o.caFile, path.join(dir, 'ca.pem'));
    fs.rmSync(dir, { recursive: true });
  });

  test('postgresql clusters are recognised and left alone; a misspelt type is refused', () => {
    const pg = clusterConfig({ type: 'postgresql', members: 'db1:5432/mydb/user/secret-pass' });
    assert.equal(clusterType(pg), 'postgresql');
    assert.throws(() => parseClusterOptions(pg), (e: unknown) => isSkitaiError(e, 'SKT_CLUSTER_TYPE'));
    assert.throws(() => clusterType(clusterConfig({ type: 'postresql', members: 'a:1' })), /line 2 \[@c\] type: expected one of http, postgresql \(got "postresql"\)/);
  });

  test('docs/clusters.md lists every key', () => {
    const doc = fs.readFileSync(path.resolve(import.meta.dirname, '../../docs/clusters.md'), 'utf8');
    for (const k of CLUSTER_KEYS) assert.match(doc, new RegExp(`\\| \`${k.key}\` \\|`), `${k.key} missing from docs/clusters.md`);
  });
});

describe('Cluster', () => {
  test('leases count in-flight and latency, failures eject, the breaker fails fast, status is JSON', () => {
    const clock = manualClock();
    const cluster = new Cluster(parseClusterOptions(clusterConfig({ members: '127.0.0.1:1, 127.0.0.1:2 3', breaker_min_requests: '4', eject_failures: '2' })), { clock: clock.now });
    const [a, b] = cluster.members;
    const lease = cluster.acquire(a!)!;
    assert.equal(a!.inFlight, 1);
    clock.advance(12);
    cluster.release(lease, 'success');
    assert.equal(a!.inFlight, 0);
    assert.deepEqual(a!.latency.summary(), { p50: 12, p90: 12, p99: 12, samples: 1 });
    for (let i = 0; i < 2; i++) cluster.release(cluster.acquire(b!)!, 'failure');
    assert.equal(b!.state(clock.now()), 'ejected');
    assert.deepEqual(cluster.live(), [a]);
    assert.equal(cluster.pick(new Set([a!])), b, 'panic for the last try');
    cluster.release(cluster.acquire(a!)!, 'failure'); // 3 of 4 failed: open
    assert.equal(cluster.acquire(a!), undefined);
    const status = cluster.status();
    assert.equal(status.breaker.state, 'open');
    assert.equal(status.members[1]!.state, 'ejected');
    assert.equal(status.members[1]!.ejectedForMs, 1000);
    assert.deepEqual(JSON.parse(JSON.stringify(status)), status);
    cluster.close();
  });
});

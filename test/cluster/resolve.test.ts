import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Cluster } from '../../src/cluster/cluster.js';
import type { Member } from '../../src/cluster/member.js';
import { parseClusterOptions } from '../../src/cluster/options.js';
import { dnsLookup, nextResolveDelay } from '../../src/cluster/resolve.js';
import { dnsResolver, startDns, type TestDns } from '../support/dns.js';
import { memoryLogger } from '../support/smtp.js';
import { until } from '../support/until.js';
import { clusterConfig, manualClock } from './helpers.js';

let server: TestDns;
before(async () => {
  server = await startDns();
});
after(() => server.close());

const nodes = (c: Cluster): string[] => c.members.map((m) => m.node);

function cluster(members: string, extra: Record<string, string> = {}) {
  const clock = manualClock();
  const log = memoryLogger();
  const changes: { added: string[]; removed: string[] }[] = [];
  const c = new Cluster(parseClusterOptions(clusterConfig({ members, resolve: 'yes', eject_failures: '1', eject_base: '10s', ...extra })), {
    clock: clock.now,
    lookup: dnsLookup(dnsResolver(server)),
    logger: log.logger,
  });
  c.watchMembers((added, removed) => changes.push({ added: added.map((m) => m.node), removed: removed.map((m) => m.node) }));
  return { c, clock, log, changes };
}

describe('members from DNS (resolve = yes)', () => {
  test('a name stands for its addresses: they appear and vanish, and the members that stay keep their health', async () => {
    server.records.set('api.test', ['10.0.0.1']);
    const { c, clock, changes } = cluster('api.test:8080 2, 10.9.9.9:8080');
    assert.deepEqual(nodes(c), ['api.test:8080', '10.9.9.9:8080'], 'until the first answer, the name itself');
    await c.resolveNow();
    assert.deepEqual(nodes(c), ['10.0.0.1:8080', '10.9.9.9:8080']);
    assert.equal(c.members[0]!.weight, 2, 'each address gets the weight written for the name');
    assert.equal(c.members[0]!.name, 'api.test');
    assert.deepEqual(changes, [{ added: ['10.0.0.1:8080'], removed: ['api.test:8080'] }]);

    const first: Member = c.members[0]!;
    c.release(c.acquire(first)!, 'failure'); // ejected for 10 s
    server.records.set('api.test', ['10.0.0.1', '10.0.0.2']);
    await c.resolveNow();
    assert.deepEqual(nodes(c), ['10.0.0.1:8080', '10.0.0.2:8080', '10.9.9.9:8080']);
    assert.equal(c.members[0], first, 'the same member, not a new one');
    assert.equal(first.state(clock.now()), 'ejected');
    assert.equal(first.requests, 1);
    assert.deepEqual(changes[1], { added: ['10.0.0.2:8080'], removed: [] });

    server.records.set('api.test', ['10.0.0.2']);
    await c.resolveNow();
    assert.deepEqual(nodes(c), ['10.0.0.2:8080', '10.9.9.9:8080']);
    assert.deepEqual(changes[2], { added: [], removed: ['10.0.0.1:8080'] });
    assert.ok(!c.live().includes(first));
    c.close();
  });

  test('a failed or empty lookup keeps the last good set, and says so in the log', async () => {
    server.records.set('keep.test', ['10.0.1.1', '10.0.1.2']);
    const { c, log, changes } = cluster('keep.test:80');
    await c.resolveNow();
    assert.deepEqual(nodes(c), ['10.0.1.1:80', '10.0.1.2:80']);
    server.failing = true;
    try {
      await c.resolveNow();
    } finally {
      server.failing = false;
    }
    assert.deepEqual(nodes(c), ['10.0.1.1:80', '10.0.1.2:80']);
    assert.match(log.lines.join('\n'), /cluster @c: resolving keep\.test failed \(ESERVFAIL\); keeping its 2 address\(es\) from the last good answer/);
    server.records.delete('keep.test'); // NXDOMAIN
    await c.resolveNow();
    assert.deepEqual(nodes(c), ['10.0.1.1:80', '10.0.1.2:80']);
    assert.match(log.lines.join('\n'), /resolving keep\.test failed \(ENOTFOUND\)/);
    assert.equal(changes.length, 1, 'only the first answer changed anything');
    c.close();
  });

  test('addresses that appear later warm up (slow start); the first answer does not', async () => {
    server.records.set('warm.test', ['10.0.2.1']);
    const { c, clock } = cluster('warm.test:80', { slow_start: '10s' });
    await c.resolveNow();
    assert.equal(c.status().members[0]!.share, 1);
    server.records.set('warm.test', ['10.0.2.1', '10.0.2.2']);
    await c.resolveNow();
    clock.advance(5000);
    assert.deepEqual(c.status().members.map((m) => m.share), [1, 0.5]);
    c.close();
  });

  test('the TTL of the answer shortens the wait to the next lookup, never below 1 s', () => {
    assert.equal(nextResolveDelay(30_000, []), 30_000);
    assert.equal(nextResolveDelay(30_000, [5, 60]), 5000);
    assert.equal(nextResolveDelay(30_000, [0]), 1000);
    assert.equal(nextResolveDelay(2000, [60]), 2000);
  });

  test('the lookup reads the TTL node gives', async () => {
    server.records.set('ttl.test', ['10.0.3.1']);
    server.ttl = 7;
    try {
      assert.deepEqual(await dnsLookup(dnsResolver(server))('ttl.test'), [{ address: '10.0.3.1', ttl: 7 }]);
    } finally {
      server.ttl = 30;
    }
  });

  test('looked up again every resolve_interval on the cluster\'s clock; close() leaves no timer', async () => {
    server.records.set('timed.test', ['10.0.1.1']);
    const clock = manualClock();
    const lookup = dnsLookup(dnsResolver(server));
    let lookups = 0;
    const c = new Cluster(parseClusterOptions(clusterConfig({ members: 'timed.test:80', resolve: 'yes', resolve_interval: '5s' })), {
      clock: clock.now,
      lookup: (host) => (lookups++, lookup(host)),
    });
    c.startResolving();
    await until(() => nodes(c)[0] === '10.0.1.1:80' && clock.now.pending === 1, 10_000, 'the first answer and the next round\'s timer');
    server.records.set('timed.test', ['10.0.1.2']);
    clock.advance(4999);
    assert.equal(lookups, 1, 'not before the interval');
    clock.advance(1);
    assert.equal(lookups, 2);
    await until(() => nodes(c)[0] === '10.0.1.2:80', 10_000, 'the second answer');
    c.close();
    assert.equal(clock.now.pending, 0);
  });

  test('resolve = no (the default): names are members as written', async () => {
    server.records.set('plain.test', ['10.0.4.1']);
    const c = new Cluster(parseClusterOptions(clusterConfig({ members: 'plain.test:80' })), { lookup: dnsLookup(dnsResolver(server)) });
    await c.resolveNow();
    assert.deepEqual(nodes(c), ['plain.test:80']);
    assert.equal(server.queries.get('plain.test'), undefined);
    c.close();
  });
});

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { parseConfigText } from '../../src/config/load.js';
import { Databases } from '../../src/services/databases.js';
import { maskMember, maskSecret, parseDbMembers } from '../../src/db/members.js';
import { DB_CLUSTER_KEYS, parseDbClusterOptions } from '../../src/db/options.js';
import { isSkitaiError } from '../../src/errors.js';
import { checkSite } from '../../src/site.js';

const fail = (msg: string): never => {
  throw new Error(msg);
};

function cluster(body: string) {
  const config = parseConfigText(`[server]\nport = 0\n\n[@db]\ntype = postgresql\n${body}\n`, '/etc/skitai/site.conf', '/etc/skitai');
  return config;
}

describe('PostgreSQL members', () => {
  test('host:port/dbname/user/password weight, with defaults and %-decoding', () => {
    const [a, b, c] = parseDbMembers('10.0.0.1:6432/app/alice/p%2Cw/d 3, db.local/app/bob, [::1]/x/y/z', fail);
    assert.deepEqual(a, { host: '10.0.0.1', port: 6432, weight: 3, node: '10.0.0.1:6432/app', database: 'app', user: 'alice', password: 'p,w/d' });
    assert.deepEqual(b, { host: 'db.local', port: 5432, weight: 1, node: 'db.local:5432/app', database: 'app', user: 'bob', password: undefined });
    assert.equal(c!.host, '::1');
    assert.equal(c!.node, '[::1]:5432/x');
  });

  test('two databases of one server are two members; the same db and user twice is refused', () => {
    assert.equal(parseDbMembers('h:1/a/u/p, h:1/b/u/p', fail).length, 2);
    assert.throws(() => parseDbMembers('h:1/a/u/p, h:1/a/u/q', fail), /listed twice/);
  });

  test('errors quote the item with the password masked', () => {
    for (const bad of ['h:1/db/u/Secr3t x', 'h:99999/db/u/Secr3t', 'h:1/db/u/Secr%3t', 'h:1/db']) {
      assert.throws(() => parseDbMembers(bad, fail), (err: Error) => {
        assert.doesNotMatch(err.message, /Secr/, err.message);
        return true;
      });
    }
    assert.equal(maskMember('h:1/db/u/pw/with/slash 2'), 'h:1/db/u/*** 2');
    assert.equal(maskSecret('password "a/b" or a%2Fb', 'a/b'), 'password "***" or ***');
  });
});

describe('[@name] type = postgresql', () => {
  test('defaults', () => {
    const o = parseDbClusterOptions(cluster('members = h/db/u/p').clusters.db!);
    assert.equal(o.type, 'postgresql');
    assert.deepEqual([o.maxConns, o.connectTimeout, o.idleTimeout, o.queryTimeout], [10, 5000, 60_000, 30_000]);
    assert.equal(o.strategy, 'weighted_round_robin');
    assert.equal(o.members[0]!.port, 5432);
  });

  test('options with units', () => {
    const o = parseDbClusterOptions(cluster('members = h/db/u/p\nmax_conns = 3\nconnect_timeout = 500ms\nidle_timeout = 2m\nquery_timeout = 1.5\nstrategy = least_conn').clusters.db!);
    assert.deepEqual([o.maxConns, o.connectTimeout, o.idleTimeout, o.queryTimeout, o.strategy], [3, 500, 120_000, 1500, 'least_connections']);
  });

  test('health_check turns active checks on with the shared health keys', () => {
    assert.equal(parseDbClusterOptions(cluster('members = h/db/u/p').clusters.db!).healthCheck, undefined);
    const o = parseDbClusterOptions(cluster('members = h/db/u/p\nhealth_check = yes\nhealth_check_interval = 2s').clusters.db!);
    assert.deepEqual(o.healthCheck, { intervalMs: 2000, timeoutMs: 2000, healthyThreshold: 2, unhealthyThreshold: 3 });
    assert.throws(() => parseDbClusterOptions(cluster('members = h/db/u/p\nhealth_check = maybe').clusters.db!), /line 7 \[@db\] health_check: expected yes or no/);
  });

  test('a bad value names file, line and key, and never the password', () => {
    const config = cluster('members = h:70000/db/u/TopSecret');
    assert.throws(() => parseDbClusterOptions(config.clusters.db!), (err: unknown) => {
      assert.ok(isSkitaiError(err, 'SKT_CONFIG_VALUE'));
      assert.match(err.message, /^\/etc\/skitai\/site\.conf:line 6 \[@db\] members: port 70000/);
      assert.doesNotMatch(err.message, /TopSecret/);
      return true;
    });
    assert.throws(() => parseDbClusterOptions(cluster('members = h/db/u/p\nmax_conns = 0').clusters.db!), /line 7 \[@db\] max_conns: expected a whole number from 1 to 1000/);
    assert.throws(() => parseDbClusterOptions(cluster('members = h/db/u/p\nquery-timeout = 3').clusters.db!), (err: unknown) => isSkitaiError(err, 'SKT_CONFIG_UNKNOWN_KEY') && /did you mean "query_timeout"/.test(err.message));
    assert.throws(() => parseDbClusterOptions(cluster('members = h/db/u/p\nssl = yes').clusters.db!), (err: unknown) => isSkitaiError(err, 'SKT_CONFIG_UNKNOWN_KEY'));
  });

  test('checkSite and the Databases constructor report the same errors at start', () => {
    const config = cluster('members = nohost:/db/u/pw');
    assert.throws(() => checkSite(config), (err: unknown) => isSkitaiError(err, 'SKT_CONFIG_VALUE') && !/pw/.test(err.message.replace(/\/db\/u\/\*\*\*/, '')));
    assert.throws(() => new Databases({ clusters: config.clusters }), (err: unknown) => isSkitaiError(err, 'SKT_CONFIG_VALUE'));
  });

  test('misuse throws at once: unknown cluster, an HTTP cluster, a bad server', async () => {
    const config = parseConfigText('[server]\nport = 0\n[@web]\nmembers = 127.0.0.1:1\n[@db]\ntype = postgresql\nmembers = 127.0.0.1:1/d/u/p\n', '/x/site.conf', '/x');
    const dbs = new Databases({ clusters: config.clusters });
    try {
      assert.throws(() => dbs.dlb('@nope'), (err: unknown) => isSkitaiError(err, 'SKT_CLUSTER_UNKNOWN') && /known: @db/.test(err.message));
      assert.throws(() => dbs.dmap('@web'), (err: unknown) => isSkitaiError(err, 'SKT_CLUSTER_TYPE') && /was\.map/.test(err.message));
      assert.throws(() => dbs.dmap('db'), (err: unknown) => isSkitaiError(err, 'SKT_DB_USAGE'));
      assert.throws(() => dbs.db('a b', 'd', 'u'), (err: unknown) => isSkitaiError(err, 'SKT_DB_USAGE'));
      assert.throws(() => dbs.db('h:0', 'd', 'u'), (err: unknown) => isSkitaiError(err, 'SKT_DB_USAGE'));
      assert.throws(() => dbs.db('h', '', 'u'), (err: unknown) => isSkitaiError(err, 'SKT_DB_USAGE'));
      const call = dbs.dlb('@db');
      assert.throws(() => call.execute(''), (err: unknown) => isSkitaiError(err, 'SKT_DB_USAGE'));
      assert.throws(() => call.execute('select $1', 'x' as unknown as unknown[]), (err: unknown) => isSkitaiError(err, 'SKT_DB_USAGE'));
      const unsent = await dbs.dlb('@db').getwait(1);
      assert.deepEqual([unsent.status, unsent.code], [0, 'SKT_DB_UNSENT']);
    } finally {
      await dbs.close();
    }
  });

  test('docs/db.md lists every key', () => {
    const doc = fs.readFileSync(path.resolve(import.meta.dirname, '../../docs/db.md'), 'utf8');
    for (const k of DB_CLUSTER_KEYS) assert.match(doc, new RegExp(`\\| \`${k.key}\` \\|`), `${k.key} missing from docs/db.md`);
  });
});

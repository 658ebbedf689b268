import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { Clients } from '../../src/services/clients.js';
import { dnsLookup } from '../../src/cluster/resolve.js';
import { parseConfigText } from '../../src/config/load.js';
import { Databases } from '../../src/services/databases.js';
import { makeTestCerts } from '../support/certs.js';
import { dnsResolver, startDns, type TestDns } from '../support/dns.js';
import { PASSWORD, SUPERUSER, startPostgres, type TestPostgres } from '../support/postgres.js';
import { until } from '../support/until.js';

// Members from DNS over real sockets: a DNS server of the test's own on 127.0.0.1, node's resolver
// pointed at it, real HTTP members on 127.0.0.1 and 127.0.0.2 (both loopback on Linux), and a real
// PostgreSQL server.
let dns: TestDns;
let pg: TestPostgres;
const servers: http.Server[] = [];

before(async () => {
  [dns, pg] = await Promise.all([startDns(), startPostgres()]);
});
after(async () => {
  for (const s of servers) s.closeAllConnections();
  await Promise.all([dns.close(), pg.stop(), ...servers.map((s) => new Promise((r) => s.close(r)))]);
});

/** An HTTP member on `ip:port` answering with its address and the Host header it got; `/hold` answers when `release()` is called. */
async function member(ip: string, port: number): Promise<{ port: number; release: () => void; held: () => boolean }> {
  let pending: (() => void)[] = [];
  const server = http.createServer((req, res) => {
    const reply = () => res.setHeader('content-type', 'application/json').end(JSON.stringify({ ip, host: req.headers.host }));
    if (req.url === '/hold') pending.push(reply);
    else reply();
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(port, ip, resolve));
  return {
    port: (server.address() as AddressInfo).port,
    release: () => {
      for (const r of pending) r();
      pending = [];
    },
    held: () => pending.length > 0,
  };
}

test('HTTP cluster: members follow the name\'s addresses; a vanished member finishes its calls; Host is the name', async () => {
  const a = await member('127.0.0.1', 0);
  const b = await member('127.0.0.2', a.port);
  dns.records.set('api.test', ['127.0.0.1']);
  const config = parseConfigText(`[@api]\nmembers = api.test:${a.port}\nresolve = yes\n`, '/x/site.conf', '/x');
  const clients = new Clients({ clusters: config.clusters, lookup: dnsLookup(dnsResolver(dns)) });
  const cluster = clients.upstream('api').cluster;
  const ask = async (path = '/') => {
    const r = await clients.lb(`@api${path}`, 'GET').getwait(5);
    assert.equal(r.status, 3, r.msg);
    return r.data as { ip: string; host: string };
  };
  try {
    await cluster.resolveNow();
    assert.deepEqual(cluster.members.map((m) => m.node), [`127.0.0.1:${a.port}`]);
    assert.deepEqual(await ask(), { ip: '127.0.0.1', host: `api.test:${a.port}` });

    dns.records.set('api.test', ['127.0.0.1', '127.0.0.2']); // appears
    await cluster.resolveNow();
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) seen.add((await ask()).ip);
    assert.deepEqual([...seen].sort(), ['127.0.0.1', '127.0.0.2']);

    // A call in flight on 127.0.0.1 when its address vanishes still gets its answer.
    let held = clients.lb('@api/hold', 'GET');
    await until(() => a.held() || b.held(), 5000, 'a held call');
    if (b.held()) {
      b.release();
      await held.getwait(5);
      held = clients.lb('@api/hold', 'GET');
      await until(() => a.held(), 5000, 'a held call on 127.0.0.1');
    }
    dns.records.set('api.test', ['127.0.0.2']); // vanishes
    await cluster.resolveNow();
    assert.deepEqual(cluster.members.map((m) => m.node), [`127.0.0.2:${a.port}`]);
    a.release();
    const late = await held.getwait(5);
    assert.equal(late.status, 3, late.msg);
    assert.equal((late.data as { ip: string }).ip, '127.0.0.1');
    for (let i = 0; i < 3; i++) assert.equal((await ask()).ip, '127.0.0.2');
  } finally {
    await clients.close();
  }
});

test('HTTPS: a member found in DNS is checked against the name, not its address', async () => {
  const certs = makeTestCerts('DNS:secure.test'); // no IP in it: a check against the address would fail
  const server = https.createServer({ key: certs.key, cert: certs.cert }, (req, res) => res.setHeader('content-type', 'application/json').end(JSON.stringify({ host: req.headers.host })));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  dns.records.set('secure.test', ['127.0.0.1']);
  const config = parseConfigText(`[@s]\nmembers = secure.test:${port}\nssl = yes\nca_file = ${certs.caFile}\nresolve = yes\n`, '/x/site.conf', '/x');
  const clients = new Clients({ clusters: config.clusters, lookup: dnsLookup(dnsResolver(dns)) });
  try {
    await clients.upstream('s').cluster.resolveNow();
    const r = await clients.lb('@s/', 'GET').getwait(5);
    assert.equal(r.status, 3, r.msg);
    assert.deepEqual([r.node, r.data], [`127.0.0.1:${port}`, { host: `secure.test:${port}` }]);
  } finally {
    await clients.close();
    certs.remove();
  }
});

test('database cluster: dlb follows DNS; the query running on a vanished member completes, then its pool closes', async () => {
  await pg.query('CREATE TABLE dns_lock (x int)');
  dns.records.set('db.test', ['127.0.0.1']);
  const config = parseConfigText(
    `[@db]\ntype = postgresql\nmembers = db.test:${pg.port}/postgres/${SUPERUSER}/${PASSWORD.replace(/%/g, '%25')}\nresolve = yes\nresolve_interval = 100ms\n`,
    '/x/site.conf',
    '/x',
  );
  const dbs = new Databases({ clusters: config.clusters, lookup: dnsLookup(dnsResolver(dns)) });
  const nodes = () => dbs.status().clusters.db!.members.map((m) => m.node);
  const locker = await pg.admin.connect();
  try {
    await until(() => nodes()[0] === `127.0.0.1:${pg.port}/postgres`, 5000, 'the first answer');
    const ok = await dbs.dlb('@db').execute('SELECT 1 AS one').getwait(5);
    assert.deepEqual([ok.status, ok.node], [3, `127.0.0.1:${pg.port}/postgres`]);

    await locker.query('BEGIN; LOCK TABLE dns_lock IN ACCESS EXCLUSIVE MODE');
    const running = dbs.dlb('@db').execute('SELECT count(*)::int AS n FROM dns_lock');
    await until(async () => (await pg.query("SELECT 1 FROM pg_stat_activity WHERE query LIKE '%count(*)::int AS n FROM dns_lock%' AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'")).rowCount, 5000, 'the query waiting on the lock');

    dns.records.set('db.test', ['127.0.0.2']); // nothing listens there
    await until(() => nodes()[0] === `127.0.0.2:${pg.port}/postgres`, 5000, 'the new answer');
    await locker.query('COMMIT');
    const done = await running.getwait(5);
    assert.deepEqual([done.status, done.data], [3, [{ n: 0 }]], done.msg);
    // Its pool closes once the query is done: the server sees the connection go.
    await until(async () => (await pg.query("SELECT 1 FROM pg_stat_activity WHERE query LIKE '%count(*)::int AS n FROM dns_lock%' AND pid <> pg_backend_pid()")).rowCount === 0, 5000, 'the retired pool to close');
    const moved = await dbs.dlb('@db').execute('SELECT 1').getwait(5);
    assert.equal(moved.node, `127.0.0.2:${pg.port}/postgres`);
  } finally {
    locker.release();
    await dbs.close();
  }
});

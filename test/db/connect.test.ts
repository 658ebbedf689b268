import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { Status } from '../../src/call/status.js';
import { Databases } from '../../src/services/databases.js';

// Connection failures need no PostgreSQL: a port nobody listens on, and a server that accepts
// and never speaks.
test('a refused connection and a connect timeout are NETERR SKT_DB_CONNECT naming the member, never the password', async () => {
  const silent = net.createServer(() => {});
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const port = (silent.address() as net.AddressInfo).port;
  const closed = net.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const deadPort = (closed.address() as net.AddressInfo).port;
  await new Promise<void>((r) => closed.close(() => r()));
  const dbs = new Databases({ adhoc: { connectTimeout: 300 } });
  try {
    const t0 = performance.now();
    const slow = await dbs.db(`127.0.0.1:${port}`, 'app', 'web', 'Pa55word').execute('SELECT 1').getwait(3);
    assert.deepEqual([slow.status, slow.code, slow.node], [Status.NETERR, 'SKT_DB_CONNECT', `127.0.0.1:${port}/app`]);
    assert.match(slow.msg, /^connecting to 127\.0\.0\.1:\d+\/app timed out after 0\.3 s \(connect_timeout\)$/);
    assert.ok(performance.now() - t0 < 2500, 'at connect_timeout, not at the 3 s deadline');
    const refused = await dbs.db(`127.0.0.1:${deadPort}`, 'app', 'web', 'Pa55word').execute('SELECT 1').getwait(3);
    assert.deepEqual([refused.status, refused.code], [Status.NETERR, 'SKT_DB_CONNECT']);
    assert.match(refused.msg, /^cannot connect to 127\.0\.0\.1:\d+\/app: connect ECONNREFUSED/);
    for (const r of [slow, refused]) assert.ok(!r.msg.includes('Pa55word') && !String(r.error?.message).includes('Pa55word'));
  } finally {
    await dbs.close();
    silent.close();
  }
});

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { App } from '../../src/index.js';
import { testClient } from '../../src/testing.js';
import { until } from '../support/until.js';
import { WsTestClient } from '../support/wsclient.js';

function echoApp(): App {
  const app = new App();
  app.websocket('/echo', {
    open(ws) {
      ws.join('all');
    },
    message(ws, data) {
      ws.send(data);
    },
  });
  return app;
}

test('a stop closes every socket with 1001 within the grace period, and the site stops', async () => {
  const client = await testClient(echoApp());
  const base = client.url.replace(/^http/, 'ws');
  const sockets = await Promise.all([1, 2, 3].map(() => WsTestClient.open(`${base}/echo`)));
  const t0 = Date.now();
  await client.close();
  for (const s of sockets) assert.deepEqual(await s.closed(), { code: 1001, reason: 'server going away' });
  // close() waits up to its 1 s grace for the sockets; answered closes end it well before that.
  assert.ok(Date.now() - t0 < 5000);
});

test('a reload (the old worker draining) closes its sockets with 1001 too', async () => {
  const client = await testClient(echoApp());
  const base = client.url.replace(/^http/, 'ws');
  const s = await WsTestClient.open(`${base}/echo`);
  // What process/worker.ts does to the old worker on reload.
  const draining = client.site.engine.close(5000, true);
  assert.deepEqual(await s.closed(), { code: 1001, reason: 'server going away' });
  await draining;
  await client.close();
});

test('1,000 concurrent sockets on one worker: every one echoes, and a broadcast reaches them all', async () => {
  const app = echoApp();
  const client = await testClient(app);
  const base = client.url.replace(/^http/, 'ws');
  try {
    const sockets: WsTestClient[] = [];
    // Opened in batches so the test does not measure the listen backlog.
    for (let i = 0; i < 1000; i += 100) sockets.push(...(await Promise.all(Array.from({ length: 100 }, () => WsTestClient.open(`${base}/echo`)))));
    await until(() => app.groups.size('all') === 1000, 10_000, 'every socket in the group');
    for (const [i, s] of sockets.entries()) s.send(`m${i}`);
    for (const [i, s] of sockets.entries()) assert.deepEqual(await s.next(), [`m${i}`, false]);
    assert.equal(app.broadcast('all', 'to everyone'), 1000);
    for (const s of sockets) assert.deepEqual(await s.next(), ['to everyone', false]);
    await Promise.all(sockets.map((s) => s.close()));
    await until(() => app.groups.size('all') === 0, 10_000, 'every socket left the group');
  } finally {
    await client.close();
  }
});

const python = spawnSync('python3', ['-c', 'import websockets'], { encoding: 'utf8' });
const noPython = python.status === 0 ? false : 'python3 with the websockets package is not installed (pip install websockets, or apt install python3-websockets)';

test("Python's websockets client: echo text and binary, fragments, ping, 16 MiB refused with 1009, close codes", { skip: noPython }, async () => {
  const app = echoApp();
  app.websocket('/closer', {
    message(ws, data) {
      ws.close(4000 + Number(data), 'as asked');
    },
  });
  const client = await testClient(app);
  try {
    const script = path.join(import.meta.dirname, 'client.py');
    const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      // Asynchronous: the server runs in this process.
      import('node:child_process').then(({ execFile }) =>
        execFile('python3', [script, client.url.replace(/^http/, 'ws')], { timeout: 60_000 }, (err, stdout, stderr) =>
          resolve({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
        ),
      );
    });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), [
      'text héllo',
      'binary 00ff10',
      'fragmented abcdef',
      'pong ok',
      'large closed 1009',
      'closer closed 4002 as asked',
    ]);
  } finally {
    await client.close();
  }
});

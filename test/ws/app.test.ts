import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { App } from '../../src/index.js';
import { testClient, type TestClient } from '../../src/testing.js';
import { rawRequest } from '../support/raw.js';
import { until } from '../support/until.js';
import { WsTestClient, refusedStatus as refused } from '../support/wsclient.js';

const open = WsTestClient.open;

describe('app.websocket()', () => {
  let client: TestClient;
  let base: string;
  const events: string[] = [];
  const app = new App();
  app.websocket('/echo', {
    message(ws, data) {
      ws.send(data);
    },
  });
  app.websocket('/room/<name>/<int:n>', {
    open(ws, was, { name, n }) {
      const typed: [string, number] = [name, n];
      ws.data.name = name;
      ws.join(`room:${name}`);
      ws.send(JSON.stringify({ typed, q: (was.request.query), user: was.request.user?.name ?? null }));
    },
    message(ws, data) {
      ws.was.app.broadcast(`room:${String(ws.data.name)}`, `${ws.id}: ${String(data)}`, { except: ws });
    },
    close(ws, code, reason) {
      events.push(`close ${String(ws.data.name)} ${code} ${reason}`);
    },
  });
  app.websocket('/slow', {
    async message(ws, data) {
      // Messages are handled one at a time: an async handler delays the next.
      await new Promise((r) => setImmediate(r));
      ws.send(`done ${String(data)}`);
    },
  });
  app.websocket('/boom', {
    message() {
      throw new Error('handler bug');
    },
  });
  app.websocket('/flood', {
    message(ws) {
      const chunk = Buffer.alloc(64 * 1024, 1);
      let max = 0;
      const push = (): void => {
        for (let i = 0; i < 16; i++) {
          if (!ws.send(chunk)) {
            events.push(`flood stopped max=${max} state=${ws.readyState}`);
            return;
          }
          max = Math.max(max, ws.bufferedAmount);
        }
        setImmediate(push);
      };
      push();
    },
  });
  app.websocket('/private', { open(ws) { ws.send(`hi ${ws.was.request.user?.name}`); } }, { permit: 'staff' });
  app.websocket('/proto', { open(ws) { ws.send(`proto ${ws.protocol}`); } }, { protocols: ['chat.v2', 'chat.v1'] });
  app.websocket('/hooked', { open(ws) { ws.send('in'); } });
  app.before((was) => (was.request.path.endsWith('/hooked') && was.request.query !== 'ok=1' ? new Response('no', { status: 403 }) : undefined));
  app.get('/echo', () => 'plain GET');

  before(async () => {
    client = await testClient(app, {
      config: '[server]\nmax_ws_message_size = 1M\nws_max_buffered = 256k\nws_idle_timeout = 1s\nadmin_password = s3cret-pw\n[users]\nann = ann-pw1 staff\n',
    });
    base = client.url.replace(/^http/, 'ws');
  });
  after(() => client.close());

  test('echoes text and binary messages', async () => {
    const ws = await open(`${base}/echo`);
    ws.send('héllo');
    assert.deepEqual(await ws.next(), ['héllo', false]);
    const bytes = Buffer.from([0, 1, 2, 255]);
    ws.send(bytes);
    assert.deepEqual(await ws.next(), [bytes, true]);
    ws.close(1000, 'bye');
    assert.deepEqual(await ws.closed(), { code: 1000, reason: 'bye' });
  });

  test('joins the fragments of a message', async () => {
    const ws = await open(`${base}/echo`);
    ws.send('frag', { fin: false });
    ws.send('men', { fin: false });
    ws.send('ted', { fin: true });
    assert.deepEqual(await ws.next(), ['fragmented', false]);
    ws.close();
    await ws.closed();
  });

  test('a message over max_ws_message_size closes with 1009', async () => {
    const ws = await open(`${base}/echo`);
        ws.send(Buffer.alloc(16 * 1024 * 1024));
    assert.equal((await ws.closed()).code, 1009);
  });

  test('answers pings, and pings a quiet client itself', async () => {
    const ws = await open(`${base}/echo`);
    ws.ws.ping('x');
    const [payload] = (await once(ws.ws, 'pong')) as [Buffer];
    assert.equal(payload.toString(), 'x');
    // ws_idle_timeout = 1s: the server pings after half of it.
    await once(ws.ws, 'ping');
    ws.close();
    await ws.closed();
  });

  test('a client that answers no ping is closed at ws_idle_timeout with 1001', async () => {
    const ws = await open(`${base}/echo`, { autoPong: false });
    const t0 = Date.now();
    const c = await ws.closed();
    assert.equal(c.code, 1001);
    assert.equal(c.reason, 'idle timeout');
    assert.ok(Date.now() - t0 >= 900, 'closed before the idle timeout');
  });

  test('typed path parameters, query, groups and broadcast; close codes reach the close handler', async () => {
    const a = await open(`${base}/room/lobby/7?x=1`);
    const [hello] = await a.next();
    assert.deepEqual(JSON.parse(String(hello)), { typed: ['lobby', 7], q: 'x=1', user: null });
    const b = await open(`${base}/room/lobby/8`);
    await b.next();
    const c = await open(`${base}/room/other/1`);
    await c.next();
    assert.equal(app.groups.size('room:lobby'), 2);
    b.send('hello all');
    const [got] = await a.next();
    assert.match(String(got), /: hello all$/);
    let cGot = false;
    c.ws.on('message', () => (cGot = true));
    assert.equal(app.broadcast('room:lobby', 'from a web route'), 2);
    assert.deepEqual(await a.next(), ['from a web route', false]);
    a.close(4001, 'leaving');
    await a.closed();
    await until(() => events.includes('close lobby 4001 leaving'), 5000, 'the close handler');
    await until(() => app.groups.size('room:lobby') === 1, 5000, 'a left the group');
    b.close();
    c.close();
    await Promise.all([b.closed(), c.closed()]);
    assert.equal(cGot, false, 'another room got the broadcast');
  });

  test('an async handler sees messages one at a time, in order', async () => {
    const ws = await open(`${base}/slow`);
    for (let i = 0; i < 5; i++) ws.send(String(i));
    const got: string[] = [];
    for (let i = 0; i < 5; i++) got.push(String((await ws.next())[0]));
    assert.deepEqual(got, ['done 0', 'done 1', 'done 2', 'done 3', 'done 4']);
    ws.close();
    await ws.closed();
  });

  test('a handler that throws closes the socket with 1011 and is logged', async () => {
    const ws = await open(`${base}/boom`);
    ws.send('x');
    assert.equal((await ws.closed()).code, 1011);
    assert.ok(client.log.some((l) => l.includes('handler bug')));
  });

  test('a slow reader: the server stops queueing at ws_max_buffered and closes with 1008', async () => {
    const ws = await open(`${base}/flood`);
    ws.send('go');
    ws.ws.pause();
    const line = await until(() => events.find((e) => e.startsWith('flood stopped')), 10_000, 'the flood to stop');
    const max = Number(/max=(\d+)/.exec(line)![1]);
    // At most one message past the limit (256 KiB) is queued.
    assert.ok(max <= 256 * 1024 + 64 * 1024, `buffered ${max}`);
    const done = ws.closed();
    ws.ws.resume();
    assert.equal((await done).code, 1008);
  });

  test('the handshake passes permit: 401 without credentials, the user with them', async () => {
    assert.equal(await refused(`${base}/private`), 401);
    const ws = await open(`${base}/private`, { headers: { authorization: `Basic ${Buffer.from('ann:ann-pw1').toString('base64')}` } });
    assert.deepEqual(await ws.next(), ['hi ann', false]);
    ws.close();
    await ws.closed();
  });

  test('the handshake passes before hooks: a value refuses it with that response', async () => {
    assert.equal(await refused(`${base}/hooked`), 403);
    const ws = await open(`${base}/hooked?ok=1`);
    assert.deepEqual(await ws.next(), ['in', false]);
    ws.close();
    await ws.closed();
  });

  test('subprotocols: the route picks its preferred one among those offered', async () => {
    const ws = await open(`${base}/proto`, {}, ['chat.v1', 'chat.v2']);
    assert.deepEqual(await ws.next(), ['proto chat.v2', false]);
    ws.close();
    await ws.closed();
  });

  test('a plain GET of the same path and an upgrade to a path with no socket route are ordinary requests', async () => {
    const r = await client.get('/echo');
    assert.equal(r.text, 'plain GET');
    assert.equal(await refused(`${base}/nothing`), 404);
    const port = Number(new URL(client.url).port);
    const head = (extra: string): string => `GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n${extra}\r\n`;
    const old = await rawRequest(port, head('Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 12\r\n'));
    assert.equal(old.status, 426);
    assert.equal(old.headers['sec-websocket-version'], '13');
    assert.equal((await rawRequest(port, head('Sec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n'))).status, 400);
    // Another protocol's upgrade (h2c) is served as HTTP/1.1, its body included, and the connection closes.
    const h2c = await rawRequest(port, 'POST /echo HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nConnection: Upgrade\r\nContent-Length: 3\r\n\r\nabc');
    assert.equal(h2c.status, 405);
    assert.equal(h2c.closed, true);
  });
});

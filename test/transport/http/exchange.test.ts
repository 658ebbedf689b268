import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Pool } from 'undici';
import { Deadline } from '../../../src/call/deadline.js';
import { monotonic } from '../../../src/cluster/clock.js';
import type { Outcome } from '../../../src/call/outcome.js';
import { exchange, send, type Endpoint } from '../../../src/transport/http/exchange.js';
import { CallAbort } from '../../../src/transport/http/failure.js';
import { createPool } from '../../../src/transport/http/pool.js';
import { prepare } from '../../../src/client/request.js';
import { Status } from '../../../src/call/status.js';
import { Members, type Member } from '../../support/plain-members.js';
import { until } from '../../support/until.js';

/**
 * The HTTP transport: one exchange over undici's dispatch() against real node:http members: cancelling in every phase
 * (before sending, queued for a connection, mid-body), informational responses, repeated headers.
 */

const members = new Members();
const pools: Pool[] = [];
after(async () => {
  await Promise.all(pools.map((p) => p.destroy()));
  await members.closeAll();
});

function endpointOf(m: Member, connections = 4): Endpoint {
  const origin = `http://${m.node}`;
  const dispatcher = createPool(origin, { connections, connectTimeout: 1000, keepAlive: 5000 });
  pools.push(dispatcher);
  return { dispatcher, origin, node: m.node, connectTimeout: 1000, responseTimeout: 5000, maxResponseSize: 1 << 20 };
}

const get = (path = '/') => prepare('GET', path, undefined, {});

describe('exchange', () => {
  test('aborted before sending: reported on a later tick, never from inside send(), and nothing is sent', async () => {
    const m = await members.start((_req, res) => res.end('x'));
    const ep = endpointOf(m, 1);
    const abort = new Deadline(monotonic);
    abort.cancel(new CallAbort('deadline'));
    let got: Outcome | undefined;
    send(ep, get(), abort, (a) => (got = a));
    assert.equal(got as Outcome | undefined, undefined, 'not synchronous'); // the cast: no narrowing to undefined, the callback sets it later
    await sleep(0);
    const seen = got as Outcome | undefined; // set by the callback; TypeScript cannot see that
    assert.ok(seen && seen.result.status !== Status.NORMAL);
    assert.deepEqual([seen.result.status, seen.result.code], [Status.TIMEOUT, 'SKT_CLIENT_TIMEOUT']);
    // One connection, first in first out: had the aborted request been sent, it would arrive first.
    assert.equal((await exchange(ep, get('/after'))).result.status, Status.NORMAL);
    assert.equal(m.hits, 1, 'only the request after it reached the member');
  });

  test('a deadline while queued for a connection answers at once; the queued request is never sent', async () => {
    const m = await members.start((_req, res) => void setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain' }).end('slow'), 1000));
    const ep = endpointOf(m, 1);
    const first = exchange(ep, get('/first'));
    const abort = new Deadline(monotonic);
    const second = exchange(ep, get('/second'), abort);
    await until(() => m.hits === 1, 5000, 'the first request holding the one connection');
    const t0 = performance.now();
    abort.cancel(new CallAbort('deadline'));
    const s = await second;
    // The connection frees about 1 s after the first request arrived; a loaded machine stays far below.
    assert.ok(performance.now() - t0 < 500, 'reported when aborted, not when a connection frees');
    assert.notEqual(s.result.status, Status.NORMAL);
    assert.equal(s.result.status, Status.TIMEOUT);
    const f = await first;
    assert.deepEqual([f.result.status, f.result.data], [Status.NORMAL, 'slow']);
    const third = await exchange(ep, get('/third'));
    assert.equal(third.result.status, Status.NORMAL, 'the pool still works');
    // One connection, first in first out: had the aborted request been sent, it would have come before the third.
    assert.equal(m.hits, 2, 'the aborted request never reached the member');
  });

  test('cancelled mid-body: reported at once as cancelled, and the connection is cut', async () => {
    let closed = false;
    let wrote = false;
    const m = await members.start((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('partial', () => (wrote = true));
      req.socket.on('close', () => (closed = true));
    });
    const ep = endpointOf(m);
    const abort = new Deadline(monotonic);
    const pending = exchange(ep, get(), abort);
    await until(() => wrote, 5000, 'the member to send the start of the body');
    abort.cancel(new CallAbort('cancel'));
    const a = await pending;
    assert.equal(a.health, 'cancelled');
    assert.deepEqual([a.result.status, a.result.code], [Status.NETERR, 'SKT_CLIENT_NETWORK']);
    await until(() => closed, 5000, 'undici to drop the connection');
  });

  test('a member that dies mid-body is a NETERR naming it, after the status it sent', async () => {
    const m = await members.start((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100' });
      res.write('only part of it', () => req.socket.destroy());
    });
    const a = await exchange(endpointOf(m), get());
    assert.equal(a.health, 'failure');
    assert.equal(a.result.status, Status.NETERR);
    assert.match(a.result.msg, new RegExp(m.node.replace(/\./g, '\\.')));
  });

  test('103 Early Hints first: the Result is the final response; repeated headers are arrays', async () => {
    const m = await members.start((_req, res) => {
      res.writeEarlyHints({ link: '</style.css>; rel=preload; as=style' });
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      res.setHeader('content-type', 'application/json');
      res.end('{"v":1}');
    });
    const a = await exchange(endpointOf(m), get());
    assert.equal(a.health, 'success');
    assert.deepEqual([a.result.code, a.result.msg, a.result.data], [200, 'OK', { v: 1 }]);
    assert.deepEqual(a.result.header['set-cookie'], ['a=1', 'b=2']);
    assert.equal(a.result.header.link, undefined, 'the hint headers are not the response headers');
  });
  test('each answer is read by its own Content-Type, in any order; a body in several chunks is whole', async () => {
    const bodies: Record<string, [string, Buffer | string]> = {
      '/json': ['application/json', '{"v":1}'],
      '/latin': ['text/plain; charset=ISO-8859-1', Buffer.from([0x63, 0x61, 0x66, 0xe9])],
      '/bin': ['application/octet-stream', Buffer.from([1, 2, 3])],
      '/none': ['', 'plain'],
    };
    const m = await members.start((req, res) => {
      if (req.url === '/chunks') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"a":');
        setImmediate(() => res.end('[1,2]}'));
        return;
      }
      const [type, body] = bodies[req.url!]!;
      if (type) res.setHeader('content-type', type);
      res.end(body);
    });
    const ep = endpointOf(m);
    const data = async (path: string): Promise<unknown> => (await exchange(ep, get(path))).result.data;
    for (let round = 0; round < 2; round++) {
      assert.deepEqual(await data('/json'), { v: 1 });
      assert.equal(await data('/latin'), 'café');
      assert.deepEqual(await data('/bin'), Buffer.from([1, 2, 3]));
      assert.deepEqual(await data('/json'), { v: 1 });
      assert.deepEqual(await data('/none'), Buffer.from('plain'));
      assert.deepEqual(await data('/chunks'), { a: [1, 2] });
    }
  });
});

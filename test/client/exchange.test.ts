import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Pool } from 'undici';
import { Abort } from '../../src/client/abort.js';
import { exchange, send, type Attempt, type Endpoint } from '../../src/client/exchange.js';
import { CallAbort } from '../../src/client/failure.js';
import { createPool } from '../../src/client/pool.js';
import { prepare } from '../../src/client/request.js';
import { Status } from '../../src/client/status.js';
import { Members, type Member } from '../support/plain-members.js';

/**
 * One exchange over undici's dispatch() against real node:http members: cancelling in every phase
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
    const ep = endpointOf(m);
    const abort = new Abort();
    abort.abort(new CallAbort('deadline'));
    let got: Attempt | undefined;
    send(ep, get(), abort, (a) => (got = a));
    assert.equal(got as unknown, undefined, 'not synchronous'); // a cast, so TS does not narrow `got` for good
    await sleep(0);
    assert.ok(got && !got.ok);
    assert.deepEqual([got.result.status, got.result.code], [Status.TIMEOUT, 'SKT_CLIENT_TIMEOUT']);
    await sleep(50);
    assert.equal(m.hits, 0);
  });

  test('a deadline while queued for a connection answers at once; the queued request is never sent', async () => {
    const m = await members.start((_req, res) => void setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain' }).end('slow'), 300));
    const ep = endpointOf(m, 1);
    const first = exchange(ep, get('/first'));
    const abort = new Abort();
    const second = exchange(ep, get('/second'), abort);
    await sleep(50);
    const t0 = performance.now();
    abort.abort(new CallAbort('deadline'));
    const s = await second;
    assert.ok(performance.now() - t0 < 30, 'reported when aborted, not when a connection frees');
    assert.ok(!s.ok);
    assert.equal(s.result.status, Status.TIMEOUT);
    const f = await first;
    assert.ok(f.ok && f.result.data === 'slow');
    await sleep(50);
    assert.equal(m.hits, 1, 'the aborted request never reached the member');
    const third = await exchange(ep, get('/third'));
    assert.ok(third.ok, 'the pool still works');
  });

  test('cancelled mid-body: reported at once as cancelled, and the connection is cut', async () => {
    let closed = false;
    const m = await members.start((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('partial');
      req.socket.on('close', () => (closed = true));
    });
    const ep = endpointOf(m);
    const abort = new Abort();
    const pending = exchange(ep, get(), abort);
    await sleep(100);
    abort.abort(new CallAbort('cancel'));
    const a = await pending;
    assert.ok(!a.ok && a.cancelled);
    assert.deepEqual([a.result.status, a.result.code], [Status.NETERR, 'SKT_CLIENT_NETWORK']);
    await sleep(100);
    assert.equal(closed, true, 'undici dropped the connection');
  });

  test('a member that dies mid-body is a NETERR naming it, after the status it sent', async () => {
    const m = await members.start((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100' });
      res.write('only part of it');
      setTimeout(() => req.socket.destroy(), 20);
    });
    const a = await exchange(endpointOf(m), get());
    assert.ok(!a.ok);
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
    assert.ok(a.ok);
    assert.deepEqual([a.result.code, a.result.msg, a.result.data], [200, 'OK', { v: 1 }]);
    assert.deepEqual(a.result.header['set-cookie'], ['a=1', 'b=2']);
    assert.equal(a.result.header.link, undefined, 'the hint headers are not the response headers');
  });
});

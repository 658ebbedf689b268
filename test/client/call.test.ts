import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ResultCache } from '../../src/call/cache.js';
import type { Deadline } from '../../src/call/deadline.js';
import { Call, type CallOptions, type Sender, type Sink, type Slot } from '../../src/client/call.js';
import { rpcProxy } from '../../src/client/proxy.js';
import type { Prepared } from '../../src/client/request.js';
import { Result } from '../../src/call/result.js';
import { Status } from '../../src/call/status.js';
import { isSkitaiError } from '../../src/errors.js';
import { manualClock, type ManualClock } from '../support/clock.js';

// Time is the test's clock (deadlines fire when it is advanced), so nothing here sleeps.
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** A sender whose members answer when the test says so. */
function fakeSender(nodes: string[], kind: Sender['kind'] = 'map') {
  const sent: Prepared[] = [];
  let sink: Sink | undefined;
  let abort: Deadline | undefined;
  const sender: Sender = {
    kind,
    target: '@fake/x',
    start(prepared, a, s): Slot[] {
      sent.push(prepared);
      abort = a;
      sink = s;
      return nodes.map((node) => ({ node }));
    },
  };
  const ok = (node: string, data: unknown = node): void => sink!.arrive(nodes.indexOf(node), new Result({ status: Status.NORMAL, code: 200, msg: 'OK', node, data }));
  return { sender, sent, ok, abort: () => abort };
}

let clock: ManualClock = manualClock();
const make = (sender: Sender, method = 'GET', options: CallOptions = {}, cache?: ResultCache): Call => new Call(sender, { method, path: '/x', data: undefined, options }, cache, clock);

describe('Call', () => {
  test('the deadline counts from creation; pending members get TIMEOUT and their exchange is aborted', async () => {
    clock = manualClock();
    const f = fakeSender(['a', 'b']);
    const call = make(f.sender);
    await tick(); // sent at the end of the tick it was made in
    f.ok('a');
    clock.advance(100); // time spent before the wait: it counts against the 0.25 s
    const waiting = call.getswait(0.25);
    clock.advance(149);
    assert.equal(f.abort()!.cancelled, false, '1 ms before the deadline');
    clock.advance(1);
    const results = await waiting;
    assert.deepEqual(results.map((r) => [r.node, r.status]), [['a', Status.NORMAL], ['b', Status.TIMEOUT]]);
    assert.equal(results[1]!.code, 'SKT_CLIENT_TIMEOUT');
    assert.match(results[1]!.msg, /within 0\.25 s/);
    assert.equal(f.abort()!.cancelled, true);
    f.ok('b'); // too late: the TIMEOUT stands
    assert.equal((await call.getswait(5))[1]!.status, Status.TIMEOUT);
  });

  test('returns as soon as every member answered; a deadline already past returns at once', async () => {
    clock = manualClock();
    const f = fakeSender(['a']);
    const call = make(f.sender);
    const waiting = call.getwait(5);
    clock.advance(20);
    f.ok('a'); // a member answering a little later
    assert.equal((await waiting).status, Status.NORMAL);
    assert.equal(clock.pending, 0, 'no timer left: it did not wait for the 5 s');
    const g = fakeSender(['a']);
    const late = make(g.sender);
    clock.advance(30); // past the 0.01 s deadline before anyone waits
    const r = await late.getwait(0.01);
    assert.equal(r.status, Status.TIMEOUT);
    assert.match(r.msg, /within 0\.03 s/, 'at once, when the wait began');
  });

  test('the filter runs on each result as it arrives, timeouts too, and may rewrite data', async () => {
    const f = fakeSender(['a', 'b']);
    const seen: string[] = [];
    const call = make(f.sender, 'GET', { filter: (r) => { seen.push(`${r.node}:${r.status}`); r.data = 'filtered'; } });
    await tick();
    f.ok('a');
    assert.deepEqual(seen, ['a:3'], 'ran before anyone waited');
    const waiting = call.getswait(0.05);
    clock.advance(50);
    const results = await waiting;
    assert.deepEqual(seen, ['a:3', 'b:1']);
    assert.deepEqual(results.map((r) => r.data), ['filtered', 'filtered']);
  });

  test('a filter that throws makes the wait reject with its error (a bug, not a member failure)', async () => {
    const f = fakeSender(['a']);
    const call = make(f.sender, 'GET', { filter: () => { throw new Error('filter bug'); } });
    await tick();
    f.ok('a');
    await assert.rejects(call.getwait(1), /filter bug/);
  });

  test('getwait on several results is misuse; getswait is the way', async () => {
    const f = fakeSender(['a', 'b']);
    const call = make(f.sender);
    await tick();
    f.ok('a');
    f.ok('b');
    await assert.rejects(call.getwait(1), (e: unknown) => isSkitaiError(e, 'SKT_CLIENT_USAGE'));
    assert.equal((await call.getswait(1)).length, 2);
  });

  test('a sender may report inside start() (an open breaker, closed clients): the result still arrives', async () => {
    const sender: Sender = {
      kind: 'map',
      target: '@fake/x',
      start(_prepared, _abort, sink): Slot[] {
        sink.arrive(1, new Result({ status: Status.NETERR, code: 'SKT_CLUSTER_BREAKER_OPEN', msg: 'open', node: 'b' }));
        sink.arrive(0, new Result({ status: Status.NORMAL, code: 200, msg: 'OK', node: 'a' }));
        return [{ node: 'a' }, { node: 'b' }];
      },
    };
    const results = await make(sender).getswait(1);
    assert.deepEqual(results.map((r) => [r.node, r.status]), [['a', Status.NORMAL], ['b', Status.NETERR]]);
  });

  test('concurrent waits share one outcome', async () => {
    const f = fakeSender(['a']);
    const call = make(f.sender);
    const both = Promise.all([call.getswait(0.05), call.getswait(3)]);
    clock.advance(50);
    const [x, y] = await both;
    assert.equal(x, y);
    assert.equal(x[0]!.status, Status.TIMEOUT);
  });
});

describe('RPC proxy', () => {
  test('a method call sends; dotted names; one method per call; then/toJSON are not methods', async () => {
    const f = fakeSender(['a'], 'lb');
    const s = rpcProxy(make(f.sender, 'XMLRPC'));
    assert.equal(f.sent.length, 0, 'nothing sent before a method is called');
    assert.equal(await s, s, 'awaiting the call object does not send "then"');
    JSON.stringify(s);
    String(s);
    assert.equal(f.sent.length, 0);
    const unsent = await s.getwait(1);
    assert.equal(unsent.status, Status.UNSENT);
    assert.equal(unsent.code, 'SKT_CLIENT_UNSENT');
    assert.equal(s.music.search('mozart', 3), s, 'returns the call for chaining');
    assert.throws(() => s.again(), (e: unknown) => isSkitaiError(e, 'SKT_CLIENT_USAGE'), 'a second method, even before the first is sent');
    await tick();
    assert.equal(f.sent.length, 1, 'sent at the end of the tick');
    assert.match(f.sent[0]!.body as string, /<methodName>music\.search<\/methodName>/);
    assert.throws(() => s.again(), (e: unknown) => isSkitaiError(e, 'SKT_CLIENT_USAGE'));
    f.ok('a');
    assert.equal((await s.getwait(1)).status, Status.NORMAL);
  });

  test('invoke() reaches names the call object already uses', async () => {
    const f = fakeSender(['a'], 'lb');
    const s = rpcProxy(make(f.sender, 'JSONRPC'));
    s.invoke('then', 1);
    await tick();
    assert.equal(JSON.parse(f.sent[0]!.body as string).method, 'then');
  });

  test('RPC calls take params, not data; plain calls have no RPC methods', () => {
    const f = fakeSender(['a'], 'lb');
    const s = rpcProxy(new Call(f.sender, { method: 'XMLRPC', path: '/', data: { a: 1 }, options: {} }, undefined));
    assert.throws(() => s.m(), (e: unknown) => isSkitaiError(e, 'SKT_CLIENT_USAGE'));
    const plain = make(fakeSender(['a'], 'lb').sender, 'GET');
    assert.throws(() => plain.invoke('m'), (e: unknown) => isSkitaiError(e, 'SKT_CLIENT_USAGE'));
  });
});

describe('cache through calls', () => {
  test('a hit answers at once without starting the sender', async () => {
    const cache = new ResultCache(10);
    const f = fakeSender(['a'], 'lb');
    const first = make(f.sender, 'GET', {}, cache);
    await tick();
    f.ok('a', { v: 1 });
    (await first.getwait(1)).cache(30);
    const g = fakeSender(['a'], 'lb');
    const hit = await make(g.sender, 'GET', {}, cache).getwait(1);
    assert.deepEqual([hit.fromCache, hit.data, g.sent.length], [true, { v: 1 }, 0]);
  });

  test('only NORMAL 200 results are kept', async () => {
    const cache = new ResultCache(10);
    const f = fakeSender(['a'], 'lb');
    const call = make(f.sender, 'GET', {}, cache);
    const waiting = call.getwait(0.01);
    clock.advance(10);
    (await waiting).cache(30);
    assert.equal(cache.stats().size, 0);
  });
});

describe('the travelling deadline', () => {
  test('a call waited on in the tick it was made sends its remaining budget; a parent deadline caps it and cancels it', async () => {
    clock = manualClock();
    const f = fakeSender(['a'], 'lb');
    const waiting = make(f.sender).getwait(2);
    assert.equal(f.sent[0]!.headers['x-skitai-deadline'], '2000', 'sent by the wait, with its 2 s');
    clock.advance(2000);
    assert.equal((await waiting).status, Status.TIMEOUT);
    const { Deadline } = await import('../../src/call/deadline.js');
    const request = new Deadline(clock);
    request.cap(clock() + 700);
    clock.advance(200);
    const g = fakeSender(['a'], 'lb');
    const capped = make(g.sender, 'GET', { deadline: request });
    await tick(); // not waited on in its tick: sent with what is left of the request's budget
    assert.equal(g.sent[0]!.headers['x-skitai-deadline'], '500');
    const w = capped.getwait(10);
    clock.advance(500);
    assert.equal((await w).status, Status.TIMEOUT, 'at the request\'s deadline, not its own 10 s');
    const h = fakeSender(['a'], 'lb');
    const gone = new Deadline(clock);
    const cut = make(h.sender, 'GET', { deadline: gone }).getwait(10);
    assert.equal(h.sent[0]!.headers['x-skitai-deadline'], '10000');
    gone.cancel(new (await import('../../src/call/deadline.js')).CallAbort('cancel'));
    const r = await cut;
    assert.deepEqual([r.status, h.abort()!.cancelled], [Status.NETERR, true], 'the request\'s client went away: the exchange is cancelled');
    const spent = new Deadline(clock);
    spent.cap(clock() + 100);
    clock.advance(100);
    const s = fakeSender(['a'], 'lb');
    const late = await make(s.sender, 'GET', { deadline: spent }).getwait(5);
    assert.deepEqual([late.status, s.sent.length], [Status.TIMEOUT, 0], 'a spent budget: TIMEOUT, nothing sent');
    const none = fakeSender(['a'], 'lb');
    make(none.sender);
    await tick();
    assert.equal(none.sent[0]!.headers['x-skitai-deadline'], undefined, 'no deadline known: no header');
  });
});

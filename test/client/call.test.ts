import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ResultCache } from '../../src/client/cache.js';
import type { Abort } from '../../src/client/abort.js';
import { Call, type CallOptions, type Sender, type Sink, type Slot } from '../../src/client/call.js';
import { rpcProxy } from '../../src/client/proxy.js';
import type { Prepared } from '../../src/client/request.js';
import { Result } from '../../src/client/result.js';
import { Status } from '../../src/client/status.js';
import { isSkitaiError } from '../../src/errors.js';

/** A sender whose members answer when the test says so. */
function fakeSender(nodes: string[], kind: Sender['kind'] = 'map') {
  const sent: Prepared[] = [];
  let sink: Sink | undefined;
  let abort: Abort | undefined;
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

const make = (sender: Sender, method = 'GET', options: CallOptions = {}, cache?: ResultCache): Call => new Call(sender, { method, path: '/x', data: undefined, options }, cache);

describe('Call', () => {
  test('the deadline counts from creation; pending members get TIMEOUT and their exchange is aborted', async () => {
    const f = fakeSender(['a', 'b']);
    const t0 = performance.now();
    const call = make(f.sender);
    f.ok('a');
    await sleep(100); // time spent before the wait: it counts against the 0.25 s
    const results = await call.getswait(0.25);
    const elapsed = performance.now() - t0;
    // The upper bound leaves room for a loaded CI machine; a wait that ignored the deadline would never end.
    assert.ok(elapsed >= 240 && elapsed < 1000, `${elapsed} ms`);
    assert.deepEqual(results.map((r) => [r.node, r.status]), [['a', Status.NORMAL], ['b', Status.TIMEOUT]]);
    assert.equal(results[1]!.code, 'SKT_CLIENT_TIMEOUT');
    assert.equal(f.abort()!.aborted, true);
    f.ok('b'); // too late: the TIMEOUT stands
    assert.equal((await call.getswait(5))[1]!.status, Status.TIMEOUT);
  });

  test('returns as soon as every member answered; a deadline already past returns at once', async () => {
    const f = fakeSender(['a']);
    const call = make(f.sender);
    setTimeout(() => f.ok('a'), 20); // a member answering a little later
    const t0 = performance.now();
    assert.equal((await call.getwait(5)).status, Status.NORMAL);
    // Far below the 5 s deadline, with room for a loaded machine.
    assert.ok(performance.now() - t0 < 2000);
    const g = fakeSender(['a']);
    const late = make(g.sender);
    await sleep(30); // past the 0.01 s deadline before anyone waits
    const t1 = performance.now();
    assert.equal((await late.getwait(0.01)).status, Status.TIMEOUT);
    assert.ok(performance.now() - t1 < 1000, 'at once (a loaded machine may take a while to get there)');
  });

  test('the filter runs on each result as it arrives, timeouts too, and may rewrite data', async () => {
    const f = fakeSender(['a', 'b']);
    const seen: string[] = [];
    const call = make(f.sender, 'GET', { filter: (r) => { seen.push(`${r.node}:${r.status}`); r.data = 'filtered'; } });
    f.ok('a');
    await sleep(0);
    assert.deepEqual(seen, ['a:3'], 'ran before anyone waited');
    const results = await call.getswait(0.05);
    assert.deepEqual(seen, ['a:3', 'b:1']);
    assert.deepEqual(results.map((r) => r.data), ['filtered', 'filtered']);
  });

  test('a filter that throws makes the wait reject with its error (a bug, not a member failure)', async () => {
    const f = fakeSender(['a']);
    const call = make(f.sender, 'GET', { filter: () => { throw new Error('filter bug'); } });
    f.ok('a');
    await assert.rejects(call.getwait(1), /filter bug/);
  });

  test('getwait on several results is misuse; getswait is the way', async () => {
    const f = fakeSender(['a', 'b']);
    const call = make(f.sender);
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
    const [x, y] = await Promise.all([call.getswait(0.05), call.getswait(3)]);
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
    assert.equal(f.sent.length, 1);
    assert.match(f.sent[0]!.body as string, /<methodName>music\.search<\/methodName>/);
    assert.throws(() => s.again(), (e: unknown) => isSkitaiError(e, 'SKT_CLIENT_USAGE'));
    f.ok('a');
    assert.equal((await s.getwait(1)).status, Status.NORMAL);
  });

  test('invoke() reaches names the call object already uses', () => {
    const f = fakeSender(['a'], 'lb');
    const s = rpcProxy(make(f.sender, 'JSONRPC'));
    s.invoke('then', 1);
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
    (await call.getwait(0.01)).cache(30);
    assert.equal(cache.stats().size, 0);
  });
});

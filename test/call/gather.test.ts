import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CallAbort, Deadline } from '../../src/call/deadline.js';
import { Gathering, type GatherKind } from '../../src/call/gather.js';
import { Result, type Results } from '../../src/call/result.js';
import { Status } from '../../src/call/status.js';
import { SkitaiError } from '../../src/errors.js';
import { manualClock } from '../support/clock.js';

// Time is the test's clock: deadlines fire when the test advances it, exactly, with no sleeps.

const ok = (node: string, data: unknown): Result => new Result({ status: Status.NORMAL, code: 200, data, node } as never);

function kind(abortFirst = false): GatherKind<Result, object> & { done: Results[] } {
  const done: Results[] = [];
  return {
    done,
    usage: (m: string) => new SkitaiError('SKT_CLIENT_USAGE', m),
    unsent: () => Result.failure(Status.UNSENT, 'SKT_CLIENT_UNSENT', 'unsent', 'x'),
    timedOut: (node: string, s: number) => Result.failure(Status.TIMEOUT, 'SKT_CLIENT_TIMEOUT', `no answer from ${node} within ${s} s`, node),
    cancelled: (node: string) => Result.failure(Status.NETERR, 'SKT_CLIENT_NETWORK', `cancelled ${node}`, node),
    finished: (_o: object, r: Results) => void done.push(r),
    abortFirst,
  };
}

/** Whether `p` has settled, after the microtasks already queued have run. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(() => (done = true), () => (done = true));
  await new Promise((r) => setImmediate(r));
  return done;
}

test('results that arrive before begin() are kept; the outcome is known once every slot is in', async () => {
  const k = kind();
  const g = new Gathering(k, {}, undefined, manualClock());
  g.arrive(1, ok('b', 2));
  g.begin([{ node: 'a' }, { node: 'b' }]);
  assert.equal(g.final, undefined);
  g.arrive(0, ok('a', 1));
  const all = (await g.wait(1, false)) as Results;
  assert.deepEqual(all.map((r) => r.data), [1, 2]);
  assert.equal(k.done.length, 1);
});

test('the deadline counts from creation, to the millisecond; a late result does not replace the TIMEOUT; waiters share the outcome', async () => {
  const clock = manualClock();
  const k = kind();
  const g = new Gathering(k, {}, undefined, clock);
  g.begin([{ node: 'a' }]);
  clock.advance(600); // spent before anyone waits: it counts against the second
  const one = g.wait(1, true);
  const all = g.wait(1, false);
  clock.advance(399);
  assert.equal(await settled(one), false, '1 ms before the deadline: still waiting');
  clock.advance(1);
  assert.equal(((await one) as Result).status, Status.TIMEOUT);
  assert.match(((await one) as Result).msg, /within 1 s/);
  assert.equal((await all as Results)[0], await one);
  g.arrive(0, ok('a', 'late'));
  assert.equal((g.final![0] as Result).status, Status.TIMEOUT);
  assert.equal(k.done.length, 1);
  assert.equal(g.deadline.cancelled, true, 'the senders were cancelled at the deadline');
});

test('one timer per call: a shorter wait moves it earlier, a longer one leaves it; none is left after the outcome', async () => {
  const clock = manualClock();
  const g = new Gathering(kind(), {}, undefined, clock);
  g.begin([{ node: 'a' }]);
  const long = g.wait(5, true);
  assert.equal(clock.pending, 1);
  const short = g.wait(2, true);
  const longer = g.wait(9, true);
  assert.equal(clock.pending, 1, 'still one timer');
  clock.advance(2000);
  assert.equal(((await short) as Result).status, Status.TIMEOUT);
  assert.equal(await long, await short, 'the first deadline ends the call for every waiter');
  assert.equal(await longer, await short);
  assert.equal(clock.pending, 0);
  const h = new Gathering(kind(), {}, undefined, clock);
  h.begin([{ node: 'a' }]);
  const w = h.wait(3600, true);
  h.arrive(0, ok('a', 1));
  assert.equal(((await w) as Result).data, 1);
  assert.equal(clock.pending, 0, 'an answer before the deadline clears the timer');
});

test('a parent deadline caps the call, and cancelling the parent fills the empty slots as cancelled', async () => {
  const clock = manualClock();
  const request = new Deadline(clock);
  request.cap(clock() + 1000);
  const g = new Gathering(kind(), {}, undefined, clock, request);
  g.begin([{ node: 'a' }]);
  const w = g.wait(10, true);
  clock.advance(1000);
  assert.equal(((await w) as Result).status, Status.TIMEOUT, 'at the parent\'s 1 s, not its own 10 s');
  const gone = new Deadline(clock);
  const h = new Gathering(kind(), {}, undefined, clock, gone);
  h.begin([{ node: 'a' }, { node: 'b' }]);
  h.arrive(0, ok('a', 1));
  gone.cancel(new CallAbort('cancel'));
  const r = (await h.wait(10, false)) as Results;
  assert.deepEqual(r.map((x) => [x.status, x.code]), [[Status.NORMAL, 200], [Status.NETERR, 'SKT_CLIENT_NETWORK']]);
  assert.equal(clock.pending, 0);
});

test('abortFirst: at the deadline the senders report first (what they were doing), then empty slots time out', async () => {
  const clock = manualClock();
  const g = new Gathering(kind(true), {}, undefined, clock);
  g.begin([{ node: 'a' }, { node: 'b' }]);
  g.deadline.add({ cancel: () => g.arrive(0, Result.failure(Status.TIMEOUT, 'SKT_DB_TIMEOUT', 'cancelled on the server', 'a')) });
  const w = g.wait(0.5, false);
  clock.advance(500);
  const r = (await w) as Results;
  assert.deepEqual(r.map((x) => x.msg), ['cancelled on the server', 'no answer from b within 0.5 s']);
});

test('a filter that throws, on a real or a synthesized result, rejects every waiter with its error', async () => {
  const clock = manualClock();
  const g = new Gathering(kind(), {}, (r) => {
    if (r.status === Status.TIMEOUT) throw new Error('filter bug');
  }, clock);
  g.begin([{ node: 'a' }]);
  const first = g.wait(0.02, true);
  clock.advance(20);
  await assert.rejects(first, /filter bug/);
  await assert.rejects(g.wait(5, false), /filter bug/, 'a later waiter too');
});

test('a cache hit (settle) answers every waiter at once; an unsent call answers UNSENT; bad timeouts are misuse', async () => {
  const g = new Gathering(kind(), {}, undefined, manualClock());
  assert.equal(((await g.wait(1, true)) as Result).status, Status.UNSENT);
  g.settle([ok('a', 'cached')]);
  assert.equal(((await g.wait(1, true)) as Result).data, 'cached');
  const h = new Gathering(kind(), {}, undefined, manualClock());
  h.begin([{ node: 'a' }, { node: 'b' }]);
  await assert.rejects(h.wait('3' as never, false), (e: unknown) => e instanceof SkitaiError && e.code === 'SKT_CLIENT_USAGE');
  h.arrive(0, ok('a', 1));
  h.arrive(1, ok('b', 2));
  await assert.rejects(h.wait(1, true), /2 results; use getswait/);
});

test('with the real clock, no timer outlives the outcome', async () => {
  const { monotonic } = await import('../../src/cluster/clock.js');
  const g = new Gathering(kind(), {}, undefined, monotonic);
  g.begin([{ node: 'a' }]);
  const before = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const waiting = g.wait(3600, true);
  assert.equal(process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length, before + 1);
  g.arrive(0, ok('a', 1));
  assert.equal(((await waiting) as Result).data, 1);
  assert.equal(process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length, before, 'the deadline timer was cleared');
});

test('one slot given as itself (lb, dlb): early, on-time, late and timed-out results read as with a one-slot list', async () => {
  const clock = manualClock();
  // Arrived before begin(), then a second report for the same slot is ignored.
  const early = new Gathering(kind(), {}, undefined, clock);
  early.arrive(0, ok('a', 1));
  early.begin({ node: 'a' });
  early.arrive(0, ok('a', 'again'));
  assert.deepEqual(((await early.wait(1, false)) as Results).map((r) => r.data), [1]);
  assert.equal(((await early.wait(1, true)) as Result).data, 1);
  // On time, with a filter that rewrites the data.
  const filtered = new Gathering(kind(), {}, (r: Result) => void (r.data = `seen ${String(r.data)}`), clock);
  filtered.begin({ node: 'a' });
  const w = filtered.wait(1, true);
  filtered.arrive(0, ok('a', 2));
  assert.equal(((await w) as Result).data, 'seen 2');
  // Nobody answers: the slot's node names the TIMEOUT; a late answer does not replace it.
  const late = new Gathering(kind(), {}, undefined, clock);
  late.begin({ node: 'b' });
  const t = late.wait(0.25, false);
  clock.advance(250);
  const timedOut = (await t) as Results;
  assert.equal(timedOut.length, 1);
  assert.equal(timedOut[0]!.status, Status.TIMEOUT);
  assert.match(timedOut[0]!.msg, /no answer from b within 0.25 s/);
  late.arrive(0, ok('b', 'late'));
  assert.equal(late.final![0]!.status, Status.TIMEOUT);
  assert.equal(clock.pending, 0);
});

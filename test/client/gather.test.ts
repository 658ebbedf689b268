import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SkitaiError } from '../../src/errors.js';
import { Gathering, type GatherKind } from '../../src/client/gather.js';
import { Result, type Results } from '../../src/client/result.js';
import { Status } from '../../src/client/status.js';

const ok = (node: string, data: unknown): Result => new Result({ status: Status.NORMAL, code: 200, data, node } as never);

function kind(abortFirst = false): GatherKind<Result, object> & { done: Results[] } {
  const done: Results[] = [];
  return {
    done,
    usage: (m) => new SkitaiError('SKT_CLIENT_USAGE', m),
    unsent: () => Result.failure(Status.UNSENT, 'SKT_CLIENT_UNSENT', 'unsent', 'x'),
    timedOut: (node, s) => Result.failure(Status.TIMEOUT, 'SKT_CLIENT_TIMEOUT', `no answer from ${node} within ${s} s`, node),
    finished: (_o, r) => void done.push(r),
    abortFirst,
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('results that arrive before begin() are kept; the outcome is known once every slot is in', async () => {
  const k = kind();
  const g = new Gathering(k, {}, undefined);
  g.arrive(1, ok('b', 2));
  g.begin([{ node: 'a' }, { node: 'b' }]);
  assert.equal(g.final, undefined);
  g.arrive(0, ok('a', 1));
  const all = (await g.wait(1, false)) as Results;
  assert.deepEqual(all.map((r) => r.data), [1, 2]);
  assert.equal(k.done.length, 1);
});

test('the deadline counts from creation; a late result does not replace the TIMEOUT; several waiters share the outcome', async () => {
  const k = kind();
  const g = new Gathering(k, {}, undefined);
  g.begin([{ node: 'a' }]);
  // Time passing is the behaviour under test. Counted from wait(), the answer would take the whole
  // second; from creation it comes about 0.4 s later, so only a 0.6 s stall could blur the two.
  await sleep(600);
  const started = performance.now();
  const [one, all] = await Promise.all([g.wait(1, true), g.wait(1, false)]);
  assert.ok(performance.now() - started < 1000, 'what was left of the second, not a whole one');
  assert.equal((one as Result).status, Status.TIMEOUT);
  assert.equal((all as Results)[0], one);
  g.arrive(0, ok('a', 'late'));
  assert.equal((g.final![0] as Result).status, Status.TIMEOUT);
  assert.equal(k.done.length, 1);
  assert.equal(g.abort.aborted, true);
});

test('a filter that throws, on a real or a synthesized result, rejects every waiter with its error', async () => {
  const g = new Gathering(kind(), {}, (r) => {
    if (r.status === Status.TIMEOUT) throw new Error('filter bug');
  });
  g.begin([{ node: 'a' }]);
  await assert.rejects(g.wait(0.02, true), /filter bug/);
  await assert.rejects(g.wait(5, false), /filter bug/, 'a later waiter too');
});

test('a cache hit (settle) answers every waiter at once; an unsent call answers UNSENT; bad timeouts are misuse', async () => {
  const g = new Gathering(kind(), {}, undefined);
  assert.equal(((await g.wait(1, true)) as Result).status, Status.UNSENT);
  g.settle([ok('a', 'cached')]);
  assert.equal(((await g.wait(1, true)) as Result).data, 'cached');
  const h = new Gathering(kind(), {}, undefined);
  h.begin([{ node: 'a' }, { node: 'b' }]);
  await assert.rejects(h.wait('3' as never, false), (e: unknown) => e instanceof SkitaiError && e.code === 'SKT_CLIENT_USAGE');
  h.arrive(0, ok('a', 1));
  h.arrive(1, ok('b', 2));
  await assert.rejects(h.wait(1, true), /2 results; use getswait/);
});

test('no timer outlives the outcome: a waiter answered early leaves nothing to keep the process alive', async () => {
  const g = new Gathering(kind(), {}, undefined);
  g.begin([{ node: 'a' }]);
  const waiting = g.wait(3600, true);
  const before = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  g.arrive(0, ok('a', 1));
  assert.equal(((await waiting) as Result).data, 1);
  const after = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  assert.equal(after, before - 1, 'the waiter timer was cleared');
});

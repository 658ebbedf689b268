import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Deadline } from '../../src/call/deadline.js';
import { Status } from '../../src/call/status.js';
import { DbCall, type DbSender } from '../../src/db/call.js';
import { DbResult } from '../../src/transport/pg/result.js';
import { manualClock } from '../support/clock.js';

// The DB call's time on the test's clock: one timer per call, query_timeout for calls nobody waits on.

function sender(queryTimeout = 30_000) {
  const seen: { deadline?: Deadline } = {};
  const s: DbSender = {
    kind: 'dlb', target: '@db', identity: '', queryTimeout,
    start(_q, _safe, deadline) {
      seen.deadline = deadline;
      return [{ node: 'db1' }];
    },
  };
  return { s, seen };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

test('execute(...).getwait(2): one timer for the call, at 2 s', async () => {
  const clock = manualClock();
  const { s } = sender();
  const waiting = new DbCall(s, undefined, {}, clock).execute('SELECT 1').getwait(2);
  await tick();
  assert.equal(clock.pending, 1, 'the wait\'s timer only; query_timeout is later');
  clock.advance(2000);
  const r = await waiting;
  assert.deepEqual([r.status, r.code], [Status.TIMEOUT, 'SKT_DB_TIMEOUT']);
  assert.equal(clock.pending, 0);
});

test('a call nobody waits on ends at query_timeout; a wait longer than it ends there too', async () => {
  const clock = manualClock();
  const { s, seen } = sender(1000);
  const call = new DbCall(s, undefined, {}, clock).execute('SELECT pg_sleep(10)');
  await tick();
  assert.equal(clock.pending, 1, 'query_timeout armed at the end of the tick');
  clock.advance(1000);
  assert.equal(seen.deadline!.cancelled, true, 'the attempt is cancelled at query_timeout');
  assert.equal((await call.getwait(5)).status, Status.TIMEOUT);
  const other = new DbCall(sender(1000).s, undefined, {}, clock).execute('SELECT 1');
  const long = other.getwait(5);
  clock.advance(1000);
  assert.equal((await long).status, Status.TIMEOUT, 'at query_timeout, before the 5 s wait');
  assert.equal(clock.pending, 0);
});

test('a request budget already spent: TIMEOUT at once, the statement is never sent', async () => {
  const clock = manualClock();
  const { Deadline } = await import('../../src/call/deadline.js');
  const request = new Deadline(clock);
  request.cap(clock() + 50);
  clock.advance(60);
  const { s, seen } = sender();
  const r = await new DbCall(s, undefined, { deadline: request }, clock).execute('SELECT 1').getwait(2);
  assert.deepEqual([r.status, r.code, seen.deadline], [Status.TIMEOUT, 'SKT_DB_TIMEOUT', undefined]);
});

test('an answer clears the timer', async () => {
  const clock = manualClock();
  let sink: { arrive(i: number, r: DbResult): void } | undefined;
  const s: DbSender = { kind: 'dlb', target: '@db', identity: '', queryTimeout: 30_000, start(_q, _safe, _d, k) { sink = k; return [{ node: 'db1' }]; } };
  const waiting = new DbCall(s, undefined, {}, clock).execute('SELECT 1').getwait(2);
  sink!.arrive(0, new DbResult({ status: Status.NORMAL, code: 200, msg: 'OK', node: 'db1', rows: [{ one: 1 }] }));
  assert.deepEqual((await waiting).data, [{ one: 1 }]);
  await tick();
  assert.equal(clock.pending, 0, 'no query_timeout timer for a call already answered');
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CallAbort, Deadline, deadlineFromSignal } from '../../src/call/deadline.js';
import { manualClock } from '../support/clock.js';

const target = () => {
  const got: unknown[] = [];
  return { got, cancel: (reason: unknown) => void got.push(reason) };
};

test('one timer: a limit moved earlier re-arms it, a later one does not; at the limit the targets are cancelled once', () => {
  const clock = manualClock();
  const d = new Deadline(clock);
  const t = target();
  d.add(t);
  assert.equal(clock.pending, 0, 'no limit, no timer');
  d.cap(clock() + 5000);
  d.cap(clock() + 9000);
  assert.equal(clock.pending, 1);
  d.cap(clock() + 2000);
  assert.equal(clock.pending, 1, 'still one');
  assert.equal(d.remaining(), 2000);
  clock.advance(1999);
  assert.deepEqual(t.got, []);
  clock.advance(1);
  assert.equal(t.got.length, 1);
  const first: unknown = t.got[0];
  assert.ok(first instanceof CallAbort && first.kind === 'deadline');
  d.cancel(new CallAbort('cancel'));
  assert.equal(t.got.length, 1, 'once');
  assert.equal(clock.pending, 0);
  const late = target();
  d.add(late);
  assert.equal(late.got.length, 1, 'a target added after the cancel is cancelled at once');
});

test('a child starts capped by its parent and is cancelled with it; a child of a cancelled or spent parent starts so', () => {
  const clock = manualClock();
  const parent = new Deadline(clock);
  parent.cap(clock() + 1000);
  clock.advance(400);
  const child = new Deadline(clock, undefined, parent);
  assert.equal(child.remaining(), 600);
  const t = target();
  child.add(t);
  parent.cancel(new CallAbort('cancel', 'client gone'));
  assert.equal(child.cancelled, true);
  assert.equal((t.got[0] as CallAbort).message, 'client gone');
  const orphan = new Deadline(clock, undefined, parent);
  assert.equal(orphan.cancelled, true);
  const spent = new Deadline(clock);
  spent.cap(clock() + 10);
  clock.advance(10);
  const afterSpent = new Deadline(clock, undefined, spent);
  assert.deepEqual([afterSpent.remaining(), afterSpent.cancelled], [0, true]);
});

test('disarm stops the timer but keeps the targets cancellable; a signal from a library becomes a Deadline', () => {
  const clock = manualClock();
  const d = new Deadline(clock);
  const t = target();
  d.add(t);
  d.cap(clock() + 100);
  d.disarm();
  clock.advance(1000);
  assert.deepEqual(t.got, []);
  const ac = new AbortController();
  const bridged = deadlineFromSignal(clock, ac.signal);
  const u = target();
  bridged.add(u);
  ac.abort('probe over');
  assert.deepEqual(u.got, ['probe over']);
});

test('one target, then several: every target is cancelled once, in the order added, at the limit or by cancel()', () => {
  const clock = manualClock();
  const one = new Deadline(clock);
  const a = target();
  one.add(a);
  one.cap(clock() + 100);
  clock.advance(100);
  assert.equal(a.got.length, 1, 'the one target, kept without a list');
  const order: string[] = [];
  const many = new Deadline(clock);
  for (const name of ['x', 'y', 'z']) many.add({ cancel: () => void order.push(name) });
  many.cancel(new CallAbort('cancel'));
  many.cancel(new CallAbort('cancel'));
  assert.deepEqual(order, ['x', 'y', 'z'], 'the second target turns the one into a list; each is cancelled once');
});

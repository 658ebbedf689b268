import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LoginBackoff } from '../../src/auth/backoff.js';

test('locks an address after `limit` failures, doubling to the cap; success clears it', () => {
  let now = 1_000_000;
  const b = new LoginBackoff({ limit: 3, baseLockMs: 1000, maxLockMs: 4000, clock: () => now });
  assert.equal(b.fail('1.1.1.1'), 0);
  assert.equal(b.fail('1.1.1.1'), 0);
  assert.equal(b.lockedFor('1.1.1.1'), 0);
  assert.equal(b.fail('1.1.1.1'), 1000);
  assert.equal(b.lockedFor('1.1.1.1'), 1000);
  assert.equal(b.lockedFor('2.2.2.2'), 0, 'other addresses are not affected');
  now += 1000;
  assert.equal(b.lockedFor('1.1.1.1'), 0);
  assert.equal(b.fail('1.1.1.1'), 2000);
  now += 2000;
  assert.equal(b.fail('1.1.1.1'), 4000);
  now += 4000;
  assert.equal(b.fail('1.1.1.1'), 4000, 'capped');
  assert.deepEqual(b.status(), { failures: 6, lockouts: 4, lockedNow: 1, tracked: 1 });
  now += 4000;
  b.succeed('1.1.1.1');
  assert.equal(b.fail('1.1.1.1'), 0, 'a success starts the count afresh');
});

test('old failures are forgotten; memory is bounded; limit 0 never locks', () => {
  let now = 0;
  const b = new LoginBackoff({ limit: 2, forgetMs: 10_000, maxEntries: 3, clock: () => now });
  b.fail('a');
  now += 20_000;
  assert.equal(b.fail('a'), 0, 'the first failure was forgotten');
  for (const ip of ['b', 'c', 'd']) b.fail(ip);
  assert.equal(b.status().tracked, 3);
  assert.equal(b.fail('a'), 0, "'a' was the stalest and was evicted");
  const off = new LoginBackoff({ limit: 0 });
  for (let i = 0; i < 100; i++) assert.equal(off.fail('x'), 0);
  assert.equal(off.lockedFor('x'), 0);
});

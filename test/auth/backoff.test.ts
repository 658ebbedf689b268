import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LoginBackoff, backoffKey } from '../../src/auth/backoff.js';

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

test('IPv6 failures count per /64: rotating the source address inside one prefix does not start afresh', () => {
  const b = new LoginBackoff({ limit: 3, clock: () => 0 });
  b.fail('2001:db8:1:2::1');
  b.fail('2001:db8:1:2::2');
  assert.equal(b.fail('2001:DB8:1:2:aaaa:bbbb:cccc:dddd'), 1000, 'the third failure from the same /64 locks it');
  assert.equal(b.lockedFor('2001:db8:1:2:0:0:0:99'), 1000);
  assert.equal(b.lockedFor('2001:db8:1:3::1'), 0, 'the next /64 is someone else');
  assert.equal(b.lockedFor('192.0.2.1'), 0);
  assert.equal(backoffKey('::1'), '0:0:0:0::/64');
  assert.equal(backoffKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
  assert.equal(backoffKey('2001:db8::'), '2001:db8:0:0::/64');
  assert.equal(backoffKey('192.0.2.1'), '192.0.2.1');
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { budgetOf, encodeDeadline } from '../../src/client/deadline.js';

test('the budget a request brings: X-Skitai-Deadline in ms, else grpc-timeout in its units; anything else is none', () => {
  assert.equal(budgetOf('1500', undefined), 1500);
  assert.equal(budgetOf(' 20 ', '1S'), 20, 'ours first');
  assert.equal(budgetOf(undefined, '2S'), 2000);
  assert.equal(budgetOf(undefined, '250m'), 250);
  assert.equal(budgetOf(undefined, '1M'), 60_000);
  assert.equal(budgetOf(undefined, '1H'), 3_600_000);
  assert.equal(budgetOf(undefined, '1500000u'), 1500);
  assert.equal(budgetOf(undefined, '3000000n'), 3);
  assert.equal(budgetOf(['700', '900'], undefined), 700, 'a repeated header: the first');
  for (const bad of ['soon', '-1', '1.5', '', '12345678901']) assert.equal(budgetOf(bad, undefined), undefined, bad);
  for (const bad of ['2', 'S', '123456789S', '1s']) assert.equal(budgetOf(undefined, bad), undefined, bad);
  assert.equal(budgetOf('999999999', undefined), 24 * 3600 * 1000, 'capped at a day');
});

test('what a call sends: whole milliseconds, at least 1', () => {
  assert.equal(encodeDeadline(1999.7), '1999');
  assert.equal(encodeDeadline(0.2), '1');
  assert.equal(encodeDeadline(0), '1');
});

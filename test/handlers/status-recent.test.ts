import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RecentRate } from '../../src/handlers/status/recent.js';

test('5xx in the last minute: the window slides with the 10 s samples; younger than a minute: since start', () => {
  let now = 0;
  const totals = { responses: 0, errors: 0 };
  const rate = new RecentRate(() => ({ ...totals }), () => now);
  try {
    totals.responses = 10;
    totals.errors = 4;
    now = 5_000;
    assert.deepEqual(rate.status(), { seconds: 5, responses: 10, errors5xx: 4 });
    // Seven samples 10 s apart; the 5xx of the first seconds fall out of the window.
    for (let i = 1; i <= 7; i++) {
      now = i * 10_000;
      if (i === 1) totals.responses = 20;
      rate.sample();
    }
    totals.responses = 25;
    totals.errors = 5;
    now = 75_000;
    assert.deepEqual(rate.status(), { seconds: 65, responses: 5, errors5xx: 1 });
  } finally {
    rate.stop();
  }
});

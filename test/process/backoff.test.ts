import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FRESH, RESPAWN_POLICY, respawnDelay, type BackoffState } from '../../src/process/backoff.js';

/** Delays for a worker crashing `n` times, each after `uptimeMs`. */
function crashes(n: number, uptimeMs: number, start: BackoffState = FRESH): number[] {
  const delays: number[] = [];
  let state = start;
  for (let i = 0; i < n; i++) {
    const next = respawnDelay(state, 'crash', uptimeMs);
    delays.push(next.delayMs);
    state = next.state;
  }
  return delays;
}

test('a first crash is respawned at once; a crash loop waits 5 s doubling up to 600 s', () => {
  assert.deepEqual(crashes(10, 1000).map((ms) => ms / 1000), [0, 5, 10, 20, 40, 80, 160, 320, 600, 600]);
});

test('a worker that stayed up stableMs ends the streak', () => {
  const loop = respawnDelay({ streak: 6 }, 'crash', RESPAWN_POLICY.stableMs);
  assert.deepEqual(loop, { delayMs: 0, state: { streak: 1 } });
  assert.equal(respawnDelay(loop.state, 'crash', 10).delayMs, 5000, 'and the next quick crash starts over at 5 s');
});

test('a clean exit (code 0 or a restart request) is respawned at once and does not count', () => {
  assert.deepEqual(respawnDelay({ streak: 3 }, 'clean', 100), { delayMs: 0, state: { streak: 3 } });
  assert.deepEqual(respawnDelay({ streak: 3 }, 'clean', RESPAWN_POLICY.stableMs), { delayMs: 0, state: { streak: 0 } });
});

test('a long streak neither overflows nor passes maxMs', () => {
  assert.equal(respawnDelay({ streak: 5000 }, 'crash', 0).delayMs, RESPAWN_POLICY.maxMs);
  assert.equal(respawnDelay({ streak: 2 }, 'crash', 0, { firstMs: 100, maxMs: 150, stableMs: 1 }).delayMs, 150);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { childTraceparent, traceOf } from '../../src/log/trace.js';

test('span ids stay random hex and distinct across refills of the random pool (4 KiB = 512 span ids)', () => {
  const trace = traceOf(undefined);
  assert.match(trace, /^[0-9a-f]{32}-00$/);
  const spans = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const header = childTraceparent(trace);
    assert.match(header, /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    assert.equal(header.slice(3, 35), trace.slice(0, 32));
    spans.add(header.slice(36, 52));
  }
  assert.equal(spans.size, 2000);
  // New traces draw from the same pool: no two alike either.
  assert.notEqual(traceOf(undefined), traceOf(undefined));
});

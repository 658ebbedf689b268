import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseClusterOptions } from '../../src/cluster/options.js';
import { Upstream } from '../../src/client/upstream.js';
import { clusterConfig, manualClock } from '../cluster/helpers.js';

// lend() is how the reverse proxy borrows a member; nothing is sent here (pools connect lazily).
function upstream(values: Record<string, string>): Upstream {
  return new Upstream(parseClusterOptions(clusterConfig(values)), { clock: manualClock().now });
}

test('lend: members by the strategy, skipping the tried ones, then undefined', async () => {
  const up = upstream({ members: '127.0.0.1:5001, 127.0.0.1:5002' });
  const tried = new Set<string>();
  for (let i = 0; i < 2; i++) {
    const loan = up.lend(tried);
    assert.ok(loan && loan !== 'breaker');
    assert.equal(loan.endpoint.origin, `http://${loan.node}`);
    tried.add(loan.node);
    loan.release(200);
  }
  assert.deepEqual([...tried].sort(), ['127.0.0.1:5001', '127.0.0.1:5002']);
  assert.equal(up.lend(tried), undefined);
  await up.close(0);
});

test('lend: outcomes reach health (5xx per fail_on_5xx), a second release is ignored, an open breaker says so', async () => {
  const up = upstream({ members: '127.0.0.1:5001', breaker_min_requests: '2', eject_failures: '100' });
  const first = up.lend(new Set());
  assert.ok(first && first !== 'breaker');
  first.release(503);
  first.release(200);
  const second = up.lend(new Set());
  assert.ok(second && second !== 'breaker');
  second.release('failure');
  const status = up.cluster.status();
  assert.equal(status.members[0]!.failures, 2);
  assert.equal(status.members[0]!.inFlight, 0);
  assert.equal(up.lend(new Set()), 'breaker');
  await up.close(0);
});

test('lend: a cancellation counts for nothing; a 4xx is healthy', async () => {
  const up = upstream({ members: '127.0.0.1:5001', fail_on_5xx: 'no' });
  for (const outcome of ['cancelled', 404, 500] as const) {
    const loan = up.lend(new Set());
    assert.ok(loan && loan !== 'breaker');
    loan.release(outcome);
  }
  assert.equal(up.cluster.status().members[0]!.failures, 0);
  await up.close(0);
});

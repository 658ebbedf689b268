import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Clients } from '../../src/services/clients.js';
import { parseConfigText } from '../../src/config/load.js';
import { manualClock } from '../cluster/helpers.js';
import { Members } from '../support/plain-members.js';

const members = new Members();
after(() => members.closeAll());

// Two real members; b fails once (503, a failure with fail_on_5xx) and is ejected for 1 s, then comes
// back. The cluster's clock is the test's, so "2.5 s into the slow start" is exact; the calls are real.
test('slow start over real members: a member back from an ejection gets a growing share of lb calls', async () => {
  let bFails = true;
  const a = await members.start((_req, res) => res.end('a'));
  const b = await members.start((_req, res) => {
    res.statusCode = bFails ? 503 : 200;
    res.end('b');
  });
  const config = parseConfigText(`[@c]\nmembers = ${a.node}, ${b.node}\neject_failures = 1\neject_base = 1s\nslow_start = 10s\nbreaker = no\n`, '/x/site.conf', '/x');
  const clock = manualClock();
  const clients = new Clients({ clusters: config.clusters, clock: clock.now });
  try {
    const served = async (calls: number): Promise<number> => {
      let fromB = 0;
      for (let i = 0; i < calls; i++) {
        const r = await clients.lb('@c/x', 'GET').getwait(5);
        assert.equal(r.status, 3, r.msg);
        if (r.node === b.node) fromB++;
      }
      return fromB / calls;
    };
    // Until b has been asked once and failed.
    while (b.hits === 0) await clients.lb('@c/x', 'GET').getwait(5);
    assert.equal(clients.status().clusters.c!.members[1]!.state, 'ejected');
    bFails = false;
    assert.equal(await served(20), 0, 'ejected: no calls');
    clock.advance(1000 + 2500); // ejection over, 25 % into the slow start: b's share is 0.25 / 1.25
    const early = await served(200);
    assert.ok(Math.abs(early - 0.2) < 0.03, `2.5 s in: ${early}`);
    clock.advance(5000); // 75 %: 0.75 / 1.75
    const later = await served(200);
    assert.ok(Math.abs(later - 0.75 / 1.75) < 0.03, `7.5 s in: ${later}`);
    clock.advance(2500); // full weight
    assert.equal(await served(200), 0.5);
  } finally {
    await clients.close();
  }
});

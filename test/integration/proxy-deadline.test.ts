import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { echo, Members, type Member, type MemberHandler } from '../support/plain-members.js';
import { startSite, type TestSite } from '../support/site.js';
import { until } from '../support/until.js';

// The reverse proxy in the travelling deadline (docs/clusters.md, "Deadlines across hosts"): real
// node:http members on 127.0.0.1:0 behind a real Skitai site.

const members = new Members();

interface Got {
  status: number;
  body: string;
}

function request(path: string, headers: http.OutgoingHttpHeaders = {}, method = 'GET'): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${site.base}${path}`, { agent: false, headers, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
      res.on('error', reject);
    });
    req.setTimeout(8000, () => req.destroy(new Error(`timeout: ${path}`)));
    req.on('error', reject);
    req.end();
  });
}

const seen = (got: Got): http.IncomingHttpHeaders => (JSON.parse(got.body) as { headers: http.IncomingHttpHeaders }).headers;

let site: TestSite;
let slow: Member;
/** Whether the slow member's request closed before it answered (the proxy aborted it). */
let slowAborted = false;
/** What each attempt on the failover cluster brought, in order. */
const attempts: (string | undefined)[] = [];

/** Answers after 5 s: far past every budget below. */
const late: MemberHandler = (req, res) => {
  const t = setTimeout(() => res.end('late'), 5000);
  res.on('close', () => {
    clearTimeout(t);
    if (!res.writableFinished) slowAborted = true;
  });
};

/** The first attempt (on either member) is held 300 ms and then its connection is cut; the next one echoes. */
const flaky: MemberHandler = (req, res, body) => {
  attempts.push(req.headers['x-skitai-deadline'] as string | undefined);
  if (attempts.length > 1) return echo(req, res, body);
  setTimeout(() => req.socket.destroy(), 300);
};

before(async () => {
  const api = await members.start(echo);
  slow = await members.start(late);
  const flakes = [await members.start(flaky), await members.start(flaky)];
  site = await startSite(
    `[routes:line]\n/api = @api\n/slow = @slow\n/quick = @quick\n/flaky = @flaky\n\n` +
      `[@api]\nmembers = ${api.node}\n` +
      // response_timeout far past the budgets: the budget must be what ends the request.
      `[@slow]\nmembers = ${slow.node}\nresponse_timeout = 30s\n` +
      `[@quick]\nmembers = ${slow.node}\nresponse_timeout = 300ms\n` +
      `[@flaky]\nmembers = ${flakes.map((m) => m.node).join(', ')}\n`,
  );
});

after(async () => {
  await site?.close();
  await members.closeAll();
});

describe('reverse proxy: the travelling deadline', { timeout: 60_000 }, () => {
  test('the member sees what is left of the budget, in X-Skitai-Deadline', async () => {
    const headers = seen(await request('/api/x', { 'x-skitai-deadline': '5000' }));
    const left = Number(headers['x-skitai-deadline']);
    // Whole ms, floored: any time spent in the proxy shows.
    assert.ok(left > 0 && left < 5000, `remaining budget ${headers['x-skitai-deadline']}`);
    assert.equal(headers['grpc-timeout'], undefined, 'no grpc-timeout invented');
  });

  test('grpc-timeout is a budget too: both headers carry what is left', async () => {
    const headers = seen(await request('/api/x', { 'grpc-timeout': '3S' }));
    const left = Number(headers['x-skitai-deadline']);
    assert.ok(left > 0 && left < 3000, `remaining budget ${headers['x-skitai-deadline']}`);
    assert.equal(headers['grpc-timeout'], `${left}m`);
    // Ours wins when both came, as for app routes.
    const both = seen(await request('/api/x', { 'grpc-timeout': '1H', 'x-skitai-deadline': '2000' }));
    assert.ok(Number(both['x-skitai-deadline']) < 2000);
    assert.equal(both['grpc-timeout'], `${both['x-skitai-deadline']}m`);
  });

  test('no budget: the request passes as before (a value that is not one passes untouched)', async () => {
    const none = seen(await request('/api/x'));
    assert.equal(none['x-skitai-deadline'], undefined);
    assert.equal(none['grpc-timeout'], undefined);
    const odd = seen(await request('/api/x', { 'x-skitai-deadline': 'soon', 'grpc-timeout': '5 seconds' }));
    assert.equal(odd['x-skitai-deadline'], 'soon');
    assert.equal(odd['grpc-timeout'], '5 seconds');
  });

  test('a member slower than the budget: 504 at about the budget, the member request aborted', async () => {
    slowAborted = false;
    const t0 = performance.now();
    const got = await request('/slow/x', { 'x-skitai-deadline': '400' });
    const took = performance.now() - t0;
    assert.equal(got.status, 504);
    assert.match(got.body, /SKT_PROXY_TIMEOUT/);
    assert.ok(took >= 380, `not before the budget (${took.toFixed(0)} ms)`);
    // response_timeout is 30 s and the member answers at 5 s: anything near neither is the budget's doing.
    assert.ok(took < 3000, `at the budget, not at response_timeout (${took.toFixed(0)} ms)`);
    await until(() => slowAborted, 10_000, 'the member request aborted');
  });

  test('response_timeout still wins when it is the smaller', async () => {
    const got = await request('/quick/x', { 'x-skitai-deadline': '20000' });
    assert.equal(got.status, 504);
  });

  test('a budget already spent: 504 without asking a member', async () => {
    const hits = slow.hits;
    const got = await request('/slow/x', { 'x-skitai-deadline': '0' });
    assert.equal(got.status, 504);
    assert.equal(slow.hits, hits);
  });

  test('a budget that runs out while the request body is still arriving: 504 then, nothing sent', async () => {
    const hits = slow.hits;
    const t0 = performance.now();
    const got = await new Promise<Got>((resolve, reject) => {
      const req = http.request(`${site.base}/slow/x`, { agent: false, method: 'POST', headers: { 'x-skitai-deadline': '300', 'content-length': '100' } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.on('error', reject);
      req.write('only a part of the body');
    });
    assert.equal(got.status, 504);
    assert.ok(performance.now() - t0 < 3000);
    assert.equal(slow.hits, hits);
  });

  test('failover: each attempt is sent the budget left when it is sent', async () => {
    const got = await request('/flaky/x', { 'x-skitai-deadline': '4000' });
    assert.equal(got.status, 200);
    assert.equal(attempts.length, 2);
    const [first, second] = attempts.map(Number) as [number, number];
    assert.ok(first > 0 && first < 4000, `first attempt ${first}`);
    // The first attempt was held 300 ms before it failed.
    assert.ok(second > 0 && second <= first - 290, `second attempt ${second} after ${first}`);
    assert.equal(seen(got)['x-skitai-deadline'], String(second));
  });
});

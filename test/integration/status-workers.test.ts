// The status page of a real 2-worker skitaid: one view combined over both workers by the primary,
// whichever worker takes the request; a worker that does not answer in time (status page and
// metrics); and the HTML page in
// headless Chromium (Debian's `chromium`, driven over the DevTools protocol): its summary, its width
// at 1280 px, its live refresh without a reload (values, and the new workers after a reload), and
// a screenshot. SKITAI_SCREENSHOT=docs/status.png also writes the screenshot there (the README shows it).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromiumMissing, launchChromium, type Browser } from '../support/chromium.js';
import { foreground, freePort, getFresh, reachBothWorkers, killForeground, tempSite, type Foreground } from '../support/cli.js';
import { settle, until } from '../support/until.js';

const ADMIN = 'admin-Status-secret-1';
const basic = (user: string, pw: string): Record<string, string> => ({ authorization: `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}` });
const ADMIN_AUTH = basic('admin', ADMIN);

const APP = `
import fs from 'node:fs';
import { App } from 'skitai';
export const app = new App();
app.route('/pid', () => String(process.pid));
app.route('/fail', () => { throw new Error('boom'); });
app.route('/mail', (was) => was.email('status test', 'a@example.com', 'b@example.com').addText('hello').send());
// Busy for a while, as a worker stuck in a long computation is; the marker says it has started.
app.route('/block', () => {
  fs.writeFileSync('blocked-' + process.pid, '');
  const end = Date.now() + 8000;
  while (Date.now() < end) {}
  return 'done';
});
`;

/** GET with headers on a connection of its own, so the primary hands it to the next worker. */
function getWith(url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http.get(url, { agent: false, headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

describe('the status page over two workers', () => {
  let fg: Foreground | undefined;
  let site: { dir: string; conf: string } | undefined;
  let base = '';
  let pids = new Set<string>();
  let ok = 0;
  const status = async (): Promise<any> => {
    const r = await getWith(`${base}/server-status?format=json`, ADMIN_AUTH);
    assert.equal(r.status, 200, r.body);
    return JSON.parse(r.body);
  };

  before(async () => {
    const port = await freePort();
    const dead = await freePort();
    site = tempSite(
      `[server]\nname = shop\nip = 127.0.0.1\nport = ${port}\naccess_log = off\nadmin_password = ${ADMIN}\nstatus_path = /server-status\nmetrics_path = /metrics\nmetrics_allow = 127.0.0.1\n` +
        `[users]\nalice = alice-secret-1 ops\n[routes:line]\n/ = ./app\n` +
        // The site's own /ping is the live member; nothing listens on the other.
        `[@backend]\nmembers = 127.0.0.1:${port}, 127.0.0.1:${dead}\nhealth_check_path = /ping\nhealth_check_interval = 1s\n` +
        `[smtpda]\nsmtpserver = 127.0.0.1:${dead}\nretry_base = 1h\n`,
      { 'app.ts': APP },
    );
    fg = foreground(['-c', site.conf, '-w', '2']);
    await fg.until(/2 workers listening on port \d+/);
    base = `http://127.0.0.1:${port}`;
  });
  after(() => {
    killForeground(fg);
    if (site) fs.rmSync(site.dir, { recursive: true, force: true });
  });

  test('admin only, as before: 401 without or with wrong credentials, 403 for a user outside group admin', async () => {
    assert.equal((await getFresh(`${base}/server-status`)).status, 401);
    assert.equal((await getWith(`${base}/server-status`, basic('admin', 'wrong-password'))).status, 401);
    assert.equal((await getWith(`${base}/server-status`, basic('alice', 'alice-secret-1'))).status, 403);
    assert.equal((await getWith(`${base}/server-status?format=html`, basic('alice', 'alice-secret-1'))).status, 403);
  });

  test('JSON: the sum over both workers after traffic to both, the same view whichever worker answers', async () => {
    ({ pids, ok } = await reachBothWorkers(base));
    for (let i = 0; i < 3; i++) assert.equal((await getFresh(`${base}/fail`)).status, 500);
    assert.equal((await getFresh(`${base}/mail`)).status, 200);
    // The primary's delivery agent tries the mail once (nothing listens) and keeps it queued.
    await settle(async () => (await status()).summary.mail?.lastError, (e) => typeof e === 'string', 'the mail agent\'s first failed attempt');
    // Each worker finds the dead member down with its own active checks.
    await settle(async () => (await status()).clusters[0].members[1].workers.down, (n) => n === 2, 'both workers see the dead member down');

    const servedBy = new Map<number, any>();
    for (let i = 0; servedBy.size < 2; i++) {
      const s = await status();
      servedBy.set(s.servedBy, s);
      assert.ok(i < 50, 'both workers should have answered the status page by now');
    }
    assert.deepEqual(new Set([...servedBy.keys()].map(String)), pids, 'the page was answered by each worker');
    for (const [by, s] of servedBy) {
      assert.equal(s.scope, 'site');
      assert.equal(s.name, 'shop');
      // Both workers, each with its own report, whichever worker answered: no alternating views.
      assert.deepEqual(s.workers.map((w: any) => [w.slot, w.state]), [[1, 'serving'], [2, 'serving']], `served by ${by}`);
      assert.deepEqual(new Set(s.workers.map((w: any) => String(w.pid))), pids);
      const totals = s.workers.map((w: any) => w.report.http.requests.total);
      assert.ok(totals.every((n: number) => n > 0), `both workers served traffic: ${totals}`);
      assert.equal(s.summary.http.requests, totals[0] + totals[1], 'the summary is the sum');
      assert.equal(s.summary.http.errors5xx, 3, 'the three /fail answers, wherever they went');
      assert.ok(s.summary.http.responses >= ok + 3, `responses: ${s.summary.http.responses}`);
      assert.deepEqual(s.summary.workers, { up: 2, expected: 2, answered: 2, restarts: 0, reloads: 0 });
      assert.deepEqual(s.summary.clusters, [{ name: 'backend', kind: 'http', up: 1, members: 2, breaker: 'closed', level: 'warn' }]);
      assert.deepEqual(s.clusters[0].members.map((m: any) => [m.state, m.workers]), [['healthy', { healthy: 2, ejected: 0, down: 0 }], ['down', { healthy: 0, ejected: 0, down: 2 }]]);
      assert.equal(s.summary.mail.queued, 1);
      assert.match(s.summary.mail.lastError, /ECONNREFUSED|connect/i);
      assert.ok(!Number.isNaN(Date.parse(s.summary.mail.lastErrorAt)));
      assert.equal(s.summary.http.recent.errors5xx, 3);
      assert.notEqual(s.summary.level, 'ok');
      const problems = s.summary.problems.map((p: any) => p.text).join('\n');
      assert.match(problems, /@backend: 1 of 2 members up/);
      assert.match(problems, /3 5xx answers in the last \d+ s/);
      assert.equal(s.primary.processes, 2);
      assert.equal(s.primary.state, 'running');
      assert.equal(s.auth.users, 2, 'users are not summed over workers');
    }
    const [a, b] = [...servedBy.values()];
    assert.ok(Math.abs(a.summary.http.requests - b.summary.http.requests) <= 2, 'successive answers differ only by the requests in between');
  });

  test('Chromium: the summary renders, fits 1280 px, refreshes itself without a reload; screenshot', async (t) => {
    const missing = chromiumMissing();
    if (missing) return t.skip(missing);
    const browser: Browser = await launchChromium({ width: 1280, height: 900, headers: ADMIN_AUTH });
    try {
      await browser.open(`${base}/server-status?refresh=1`);
      const banner = await browser.evaluate<string>("document.querySelector('.banner').innerText");
      assert.match(banner, /degraded|unhealthy/);
      assert.match(banner, /@backend: 1 of 2 members up/);
      const cards = await browser.evaluate<string>("document.querySelector('.cards').innerText");
      assert.match(cards, /Workers\s+2 \/ 2 up/);
      assert.match(cards, /Cluster @backend\s+1 \/ 2 up/);
      assert.match(cards, /Mail queue\s+1 queued/);
      assert.match(cards, /last error: .*(ECONNREFUSED|connect)/i);
      assert.match(cards, /\d+(\.\d)? KiB/, 'bytes in human units');
      assert.match(await browser.evaluate<string>("document.querySelector('main').innerText"), /\d+[smhd]( \d+[smh])? ago \(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\)/, 'relative and ISO times');
      const colours = await browser.evaluate<string[]>("[...document.querySelectorAll('.st-down, .st-healthy')].map((e) => getComputedStyle(e).backgroundColor)");
      assert.ok(new Set(colours).size >= 2, `down and healthy have different colours: ${colours}`);
      assert.ok(await browser.evaluate<number>('document.scrollingElement.scrollWidth') <= 1280, 'no horizontal scrolling at 1280 px');

      // The page refreshes itself from ?format=json: a counter moves, the page is not reloaded.
      await browser.evaluate('window.__samePage = true');
      const shown = async (): Promise<number> => Number((await browser.evaluate<string>("document.querySelector('[data-k=\"summary.http.requests\"]').textContent")).replace(/,/g, ''));
      const first = await shown();
      for (let i = 0; i < 12; i++) await getFresh(`${base}/pid`);
      await settle(shown, (n) => n >= first + 12, 'the request counter on the page catches up with 12 more requests');
      assert.equal(await browser.evaluate('window.__samePage'), true, 'no reload');
      assert.ok(Number(await browser.evaluate<string>("document.getElementById('live').dataset.refreshes")) >= 1);
      assert.match(await browser.evaluate<string>("document.getElementById('live').textContent"), /^live: updated/);

      const png = await browser.screenshot();
      assert.ok(png.length > 1000);
      assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG');
      assert.equal(png.readUInt32BE(16), 1280, 'PNG width');
      const save = process.env['SKITAI_SCREENSHOT'];
      if (save) fs.writeFileSync(path.resolve(save), png);

      // A reload replaces both workers: new pids, a new layout, which the page takes in place.
      fg!.child.kill('SIGHUP');
      await fg!.until(/reload: 2 workers replaced/);
      const fresh = new Set<string>();
      while (fresh.size < 2) fresh.add((await getFresh(`${base}/pid`)).body);
      const shownPids = (): Promise<string[]> => browser.evaluate<string[]>("[...document.querySelectorAll('[data-k^=\"workers.\"][data-k$=\".pid\"]')].map((e) => e.textContent)");
      await settle(shownPids, (p) => p.length === 2 && p.every((pid) => fresh.has(pid)), 'the page shows the new workers');
      assert.equal(await browser.evaluate('window.__samePage'), true, 'still no reload');
      await settle(() => browser.evaluate<string>("document.querySelector('[data-k=\"summary.workers.reloads\"]').textContent"), (t) => t === '1', 'one reload counted');
      assert.deepEqual(browser.messages.filter((m) => /Content Security Policy|exception|error/i.test(m)), [], 'no CSP violation or script error');
    } finally {
      await browser.close();
    }
  });

  test('a worker that does not answer within 1 s is shown as such; the page does not wait for it', async () => {
    let blockDone = false;
    const blocked = getFresh(`${base}/block`).then((r) => {
      blockDone = true;
      return r;
    });
    const marker = await until(() => fs.readdirSync(site!.dir).find((f) => f.startsWith('blocked-')), 10_000, 'the /block route to start');
    const busy = marker.slice('blocked-'.length);
    const s = await status();
    assert.equal(blockDone, false, 'the status page answered while the worker was still busy');
    const row = s.workers.find((w: any) => String(w.pid) === busy);
    assert.equal(row.state, 'no answer');
    assert.equal(row.report, null);
    assert.equal(s.workers.find((w: any) => String(w.pid) !== busy).state, 'serving');
    assert.equal(s.summary.workers.answered, 1);
    assert.match(s.summary.problems.map((p: any) => p.text).join('\n'), new RegExp(`worker \\d \\(pid ${busy}\\) did not answer in time`));
    assert.equal((await blocked).status, 200);
  });

  test("metrics: a worker that does not answer within 2 s still counts in the sums, with its last answer", async () => {
    await reachBothWorkers(base);
    const requests = async (): Promise<number> => {
      const r = await getFresh(`${base}/metrics`);
      assert.equal(r.status, 200, r.body);
      const lines = r.body.split('\n').filter((l) => l.startsWith('skitai_http_requests_total{'));
      assert.ok(lines.length > 0, r.body);
      return lines.reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    };
    const before = await requests();
    for (const f of fs.readdirSync(site!.dir)) if (f.startsWith('blocked-')) fs.rmSync(path.join(site!.dir, f));
    let blockDone = false;
    const blocked = getFresh(`${base}/block`).then((r) => {
      blockDone = true;
      return r;
    });
    await until(() => fs.readdirSync(site!.dir).find((f) => f.startsWith('blocked-')), 10_000, 'the /block route to start');
    const during = await requests();
    assert.equal(blockDone, false, 'the scrape answered while the worker was still busy');
    // Without the busy worker's numbers the sum would drop by every request it served: a counter reset to rate().
    assert.ok(during >= before, `requests_total fell from ${before} to ${during} while a worker was busy`);
    assert.equal((await blocked).status, 200);
    assert.ok((await requests()) > during);
  });
});

test('chromium is present where CI runs (.ci/run installs it)', { skip: process.env['CI'] ? false : 'only checked in CI' }, () => {
  assert.equal(chromiumMissing(), undefined, execFileSync('sh', ['-c', 'command -v chromium || echo missing'], { encoding: 'utf8' }));
});

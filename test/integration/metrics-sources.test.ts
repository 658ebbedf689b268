// What `/metrics` shows of the parts behind a site, in one process: a member's latency histogram
// (a real node:http member reached through was.lb), the waits for a PostgreSQL connection (a real
// server, max_conns = 1) and the mail agent's deliveries and failures (a real SMTP relay that
// refuses one recipient). The two-worker case, where the primary runs the agent, is in metrics.test.ts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { Members, type Member } from '../support/plain-members.js';
import { PASSWORD, SUPERUSER, startPostgres, type TestPostgres } from '../support/postgres.js';
import { startSite, type TestSite } from '../support/site.js';
import { TestSmtp } from '../support/smtp.js';
import { until } from '../support/until.js';

const APP = `
import { App } from 'skitai';
export const app = new App();
app.route('/call', async (was) => (await was.lb('@m/x', 'GET').getwait(2)).data);
app.route('/slow', async (was) => {
  const r = await was.dlb('@db').execute('SELECT pg_sleep(0.2) AS slept').getwait(10);
  return String(r.status);
});
app.route('/mail', async (was, { to }) => was.email('Hi', 'site@example.com', to).addText('hello').send());
`;

const members = new Members();
let member: Member;
let pg: TestPostgres;
let smtp: TestSmtp;
let site: TestSite;

before(async () => {
  member = await members.start((_req, res) => res.end('ok'));
  pg = await startPostgres();
  smtp = await TestSmtp.start({ rcpt: (address) => (address.startsWith('nobody@') ? 550 : undefined) });
  site = await startSite(
    `[server]\nmetrics_path = /metrics\nmetrics_allow = 127.0.0.1\n[routes:line]\n/ = ./app\n` +
      `[@m]\nmembers = ${member.node}\n` +
      `[@db]\ntype = postgresql\nmembers = ${pg.node}/skitai/${SUPERUSER}/${encodeURIComponent(PASSWORD)}\nmax_conns = 1\n` +
      `[smtpda]\nsmtpserver = 127.0.0.1:${smtp.port}\nscan_interval = 100ms\n`,
    { 'app.ts': APP },
  );
});

after(async () => {
  await site?.close();
  await smtp?.stop();
  await pg?.stop();
  await members.closeAll();
});

/** The value of one sample line (`name{labels} value`), or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const scrape = async (): Promise<string> => (await fetch(`${site.base}/metrics`)).text();

test("a member's latency histogram: every exchange in +Inf, cumulative buckets, the sum in seconds", async () => {
  for (let i = 0; i < 5; i++) assert.equal(await (await fetch(`${site.base}/call`)).text(), 'ok');
  const text = await scrape();
  const labels = `cluster="m",member="${member.node}"`;
  assert.equal(sample(text, `skitai_cluster_member_latency_seconds_count{${labels}}`), 5, text);
  assert.equal(sample(text, `skitai_cluster_member_latency_seconds_bucket{${labels},le="+Inf"}`), 5);
  const buckets = text.split('\n').filter((l) => l.startsWith('skitai_cluster_member_latency_seconds_bucket{') && l.includes(labels));
  assert.equal(buckets.length, 14, '13 bounds and +Inf');
  const counts = buckets.map((l) => Number(l.split(' ').at(-1)));
  assert.deepEqual(counts, [...counts].sort((a, b) => a - b), 'cumulative');
  const sum = sample(text, `skitai_cluster_member_latency_seconds_sum{${labels}}`)!;
  assert.ok(sum > 0 && sum < 10, `sum ${sum} s`);
});

test('a query that found the only connection busy counts as a wait, with its time', async () => {
  const before = await scrape();
  const labels = `cluster="db",member="${pg.node}/skitai"`;
  assert.equal(sample(before, `skitai_db_pool_waits_total{${labels}}`), 0, before);
  // Two at once on max_conns = 1: one runs, the other waits ~0.2 s for the connection.
  const answers = await Promise.all([fetch(`${site.base}/slow`), fetch(`${site.base}/slow`)].map(async (r) => (await r).text()));
  assert.deepEqual(answers, ['3', '3'], 'both NORMAL');
  const text = await scrape();
  assert.equal(sample(text, `skitai_db_pool_waits_total{${labels}}`), 1, text);
  const waited = sample(text, `skitai_db_pool_wait_seconds_total{${labels}}`)!;
  assert.ok(waited >= 0.1 && waited < 10, `waited ${waited} s`);
});

test("the mail agent's deliveries and failures: one delivered, one refused for good", async () => {
  const send = async (to: string): Promise<void> => assert.equal((await fetch(`${site.base}/mail?to=${to}`)).status, 200);
  await send('reader@example.com');
  await send('nobody@example.com');
  await smtp.waitFor(1);
  await until(async () => sample(await scrape(), 'skitai_mail_undeliverable_total') === 1, 10_000, 'the refused message given up');
  const text = await scrape();
  assert.equal(sample(text, 'skitai_mail_delivered_total'), 1, text);
  assert.equal(sample(text, 'skitai_mail_delivery_attempts_total'), 2);
  assert.equal(sample(text, 'skitai_mail_delivery_failures_total'), 1);
  assert.equal(sample(text, 'skitai_mail_spool_messages{state="undeliverable"}'), 1);
  if (spawnSync('promtool', ['--version']).status === 0) {
    const out = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(out.status, 0, `promtool check metrics: ${out.stdout}${out.stderr}`);
  }
});

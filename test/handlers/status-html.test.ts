import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import vm from 'node:vm';
import { combine } from '../../src/handlers/status/combine.js';
import { formatters } from '../../src/handlers/status/format.js';
import { lookup, statusPage } from '../../src/handlers/status/html.js';
import { PAGE_CSP, PAGE_SCRIPT } from '../../src/handlers/status/script.js';
import type { PrimaryView, WorkerPart, WorkerReport } from '../../src/handlers/status/types.js';

const NOW = Date.parse('2026-12-06T12:00:00.000Z');

function member(node: string, state: 'healthy' | 'ejected' | 'down', requests: number): any {
  return { node, weight: 1, state, inFlight: 0, requests, failures: 0, consecutiveFailures: 0, ejections: 0, ejectedForMs: 0, latency: null };
}

function cluster(name: string, states: ('healthy' | 'ejected' | 'down')[], breaker = 'closed'): any {
  return {
    name, type: 'http', ssl: false, strategy: 'weighted_round_robin', panic: false,
    breaker: { state: breaker, requests: 1, failures: 0, opens: breaker === 'open' ? 1 : 0 }, retryBudget: { requests: 2, retries: 1 },
    members: states.map((s, i) => member(`10.0.0.${i + 1}:80`, s, 10)),
  };
}

function report(pid: number, o: { total: number; s5xx: number; clusters?: any[]; dbs?: any[]; mail?: any }): WorkerReport {
  const cache = { size: 1, max: 200, hits: 2, misses: 3, stores: 1, evictions: 0 };
  return {
    server: { name: 'shop', pid, worker: 1, processes: 2, node: 'v22', memory: { rss: 50 * 1048576, heapUsed: 1536 * 1024, heapTotal: 2 * 1048576 }, generatedAt: new Date(NOW).toISOString() },
    http: {
      startedAt: new Date(NOW - 3725_000).toISOString(), uptimeSeconds: 3725,
      requests: { total: o.total, inFlight: 1, byStatus: { '1xx': 0, '2xx': o.total - o.s5xx, '3xx': 0, '4xx': 0, '5xx': o.s5xx }, aborted: 0 },
      connections: { open: 1, total: 3 }, bytes: { in: 1000, out: 3 * 1048576 },
    },
    recent: { seconds: 60, responses: o.total, errors5xx: o.s5xx },
    faults: { unhandledRejections: 0, uncaughtExceptions: 0 },
    mounts: [{ prefix: '/', handlers: ['app:./app.ts'] }],
    clusters: o.clusters ?? [],
    databases: { clusters: o.dbs ?? [], adhoc: {} },
    resultCache: { clients: cache, databases: cache },
    mail: o.mail ?? null,
    auth: { users: 2, failureLimit: 5, failures: 1, lockouts: 0, lockedNow: 0, tracked: 1 },
  };
}

const PRIMARY: PrimaryView = { pid: 100, started: NOW - 7200_000, state: 'running', processes: 2, respawns: 1, reloads: 0 };

test('combine: counters are summed over the workers, states are the worst any worker sees, the spool is counted once', () => {
  const spool = { queued: 3, sending: 0, undeliverable: 1, corrupt: 0 };
  const db = { ...cluster('db', ['healthy']), type: 'postgresql', pools: { '10.0.0.1:80': { total: 2, idle: 1, waiting: 0, running: 1 } } };
  const parts: WorkerPart[] = [
    { slot: 1, pid: 11, started: NOW - 60_000, state: 'serving', report: report(11, { total: 10, s5xx: 1, clusters: [cluster('api', ['healthy', 'healthy'])], dbs: [db], mail: spool }) },
    { slot: 2, pid: 12, started: NOW - 60_000, state: 'serving', report: report(12, { total: 30, s5xx: 0, clusters: [cluster('api', ['healthy', 'ejected'], 'half-open')], dbs: [db], mail: spool }) },
  ];
  const agent = { running: true, inFlight: 0, attempts: 4, failedAttempts: 2, delivered: 2, undelivered: 1, lastError: 'connect ECONNREFUSED', lastErrorAt: NOW - 5000 };
  const s = combine('shop', 11, parts, { ...PRIMARY, mailAgent: agent }, NOW);
  assert.equal(s.summary.http.requests, 40);
  assert.equal(s.summary.http.errors5xx, 1);
  assert.deepEqual(s.summary.http.recent, { seconds: 60, responses: 40, errors5xx: 1 });
  assert.deepEqual(s.summary.workers, { up: 2, expected: 2, answered: 2, restarts: 1, reloads: 0 });
  const api = s.clusters[0]!;
  assert.equal(api.breaker.state, 'half-open');
  assert.deepEqual(api.breaker.workers, { closed: 1, 'half-open': 1, open: 0 });
  assert.deepEqual(api.members.map((m) => [m.state, m.workers, m.requests]), [['healthy', { healthy: 2, ejected: 0, down: 0 }, 20], ['ejected', { healthy: 1, ejected: 1, down: 0 }, 20]]);
  assert.deepEqual(api.retryBudget, { requests: 4, retries: 2 });
  assert.deepEqual(s.databases.clusters[0]!.members[0]!.pool, { total: 4, idle: 2, waiting: 0, running: 2 });
  assert.deepEqual(s.summary.clusters, [
    { name: 'api', kind: 'http', up: 1, members: 2, breaker: 'half-open', level: 'warn' },
    { name: 'db', kind: 'postgresql', up: 1, members: 1, breaker: 'closed', level: 'ok' },
  ]);
  assert.deepEqual(s.summary.mail, { queued: 3, sending: 0, undeliverable: 1, corrupt: 0, delivered: 2, lastError: 'connect ECONNREFUSED', lastErrorAt: new Date(NOW - 5000).toISOString() });
  assert.equal(s.auth?.['users'], 2, 'the same users in every worker');
  assert.equal(s.auth?.['failures'], 2, "each worker's own failures, summed");
  assert.equal(s.resultCache?.clients.max, 200, 'the per-worker capacity');
  assert.equal(s.resultCache?.clients.hits, 4);
  assert.equal(s.summary.level, 'warn');
  assert.deepEqual(s.summary.problems.map((p) => p.text), [
    '@api: 1 of 2 members up, breaker half-open',
    '1 5xx answer in the last 60 s (2.5 % of 40)',
    'mail: 1 undeliverable, 0 corrupt',
  ]);
});

test('combine: a worker that did not answer, a slot waiting for its respawn, a cluster with no member up', () => {
  const parts: WorkerPart[] = [
    { slot: 2, pid: 12, started: NOW - 1000, state: 'serving' },
    { slot: 1, pid: 11, started: NOW - 9000, state: 'serving', report: report(11, { total: 5, s5xx: 0, clusters: [cluster('api', ['down', 'down'], 'open')] }) },
    { slot: 3, pid: 0, started: 0, state: 'down' },
  ];
  const s = combine('shop', 11, parts, { ...PRIMARY, processes: 3 }, NOW);
  assert.deepEqual(s.workers.map((w) => [w.slot, w.pid, w.state, w.report === null]), [[1, 11, 'serving', false], [2, 12, 'no answer', true], [3, 0, 'down', true]]);
  assert.equal(s.summary.level, 'bad');
  assert.deepEqual(s.summary.problems.map((p) => [p.level, p.text]), [
    ['warn', '1 of 3 workers serving'],
    ['warn', 'worker 2 (pid 12) did not answer in time; its numbers are missing'],
    ['bad', '@api: no member up, breaker open'],
  ]);
  assert.equal(s.layout, '1:11,2:12,3:0|api=10.0.0.1:80,10.0.0.2:80|nomail');
});

test('units: KiB/MiB, durations, percentages, relative and ISO times', () => {
  const f = formatters;
  assert.equal(f.bytes(512, NOW), '512 B');
  assert.equal(f.bytes(1536, NOW), '1.5 KiB');
  assert.equal(f.bytes(50 * 1048576, NOW), '50 MiB');
  assert.equal(f.bytes(3 * 1024 ** 3, NOW), '3.0 GiB');
  assert.equal(f.int(1234567, NOW), '1,234,567');
  assert.equal(f.dur(9, NOW), '9s');
  assert.equal(f.dur(252, NOW), '4m 12s');
  assert.equal(f.dur(3725, NOW), '1h 2m');
  assert.equal(f.dur(3 * 86400 + 4 * 3600, NOW), '3d 4h');
  assert.equal(f.ms(0.42, NOW), '0.4 ms');
  assert.equal(f.ms(2500, NOW), '2.5 s');
  assert.equal(f.pct(0.025, NOW), '2.5 %');
  assert.equal(f.share({ responses: 40, errors5xx: 1 }, NOW), '2.5 %');
  assert.equal(f.time(new Date(NOW - 252_000).toISOString(), NOW), '4m 12s ago (2026-12-06 11:55:48 UTC)');
  assert.equal(f.seen({ healthy: 1, ejected: 0, down: 1 }, NOW), '1 healthy, 1 down');
  assert.equal(f.state('warn', NOW), 'degraded');
  assert.equal(f.int(undefined, NOW), '—');
});

test('the page: every live element names a path of the JSON, values in human units, states as coloured classes', () => {
  const parts: WorkerPart[] = [{ slot: 1, pid: 11, started: NOW - 9000, state: 'serving', report: report(11, { total: 5, s5xx: 0, clusters: [cluster('api', ['healthy', 'down'])], mail: { queued: 2, sending: 0, undeliverable: 0, corrupt: 0 } }) }];
  const data = combine('shop', 11, parts, PRIMARY, NOW);
  const html = statusPage('shop status', data, 5);
  const paths = [...html.matchAll(/data-k="([^"]+)" data-f="(\w+)">([^<]*)</g)];
  assert.ok(paths.length > 50, `live values: ${paths.length}`);
  for (const [, path, f, text] of paths) {
    const value = lookup(data, path!);
    const optional = /latency|lastError|lastReload|ejectedForMs/.test(path!);
    if (!optional) assert.notEqual(value, undefined, `${path} is in the JSON`);
    assert.equal(text, escape((formatters as any)[f!](value, NOW)), path);
  }
  assert.match(html, /<span class="st st-down" data-s="clusters\.0\.members\.1\.state">down<\/span>/);
  assert.match(html, /<span class="st st-warn" data-s="summary\.level">degraded<\/span>/);
  assert.match(html, />50 MiB</);
  assert.match(html, /<li class="lv-warn">@api: 1 of 2 members up<\/li>/);
  assert.match(html, /<main data-layout="[^"]+" data-refresh="5">/);
});

test('the page escapes names and messages from config and remote servers', () => {
  const evil = '<script>alert(1)</script>';
  const parts: WorkerPart[] = [{ slot: 1, pid: 11, started: NOW, state: 'serving', report: report(11, { total: 1, s5xx: 0, clusters: [cluster(evil, ['down'])] }) }];
  const agent = { running: true, inFlight: 0, attempts: 1, failedAttempts: 1, delivered: 0, undelivered: 0, lastError: `relay said "${evil}"`, lastErrorAt: NOW };
  const withMail = { ...parts[0]!, report: { ...parts[0]!.report!, mail: { queued: 1, sending: 0, undeliverable: 0, corrupt: 0 } } };
  const html = statusPage(`s ${evil}`, combine(evil, 11, [withMail], { ...PRIMARY, mailAgent: agent }, NOW), 5);
  assert.equal(html.split('<script>').length, 2, 'only the page\'s own script');
  assert.match(html, /&#60;script&#62;alert\(1\)&#60;\/script&#62;/);
});

test('the CSP names exactly the page\'s inline script and style; the script parses; a refresh interval of 0 turns it off', () => {
  const html = statusPage('s', combine('s', 1, [], null, NOW), 0);
  const script = /<script>([\s\S]*)<\/script>/.exec(html)![1]!;
  const style = /<style>([\s\S]*)<\/style>/.exec(html)![1]!;
  const hash = (t: string): string => `'sha256-${createHash('sha256').update(t).digest('base64')}'`;
  assert.equal(script, PAGE_SCRIPT);
  assert.ok(PAGE_CSP.includes(`script-src ${hash(script)};`));
  assert.ok(PAGE_CSP.includes(`style-src ${hash(style)};`));
  assert.match(PAGE_CSP, /default-src 'none'/);
  assert.doesNotThrow(() => new vm.Script(script));
  assert.match(html, /data-refresh="0"/);
  assert.match(html, /live refresh off/);
});

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

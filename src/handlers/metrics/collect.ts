/**
 * Prometheus metrics built at scrape time from the plain numbers the engine, the clusters and the
 * pools already keep: nothing is counted through prom-client per request (see docs/operations.md
 * for the measurement). Each worker's registry is summed with the others' by the primary
 * (prom-client's `AggregatorRegistry.aggregate`); the per-process metrics (memory, event loop) carry
 * a `worker` label so they stay apart.
 */
import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';
import type { Metric, Registry } from 'prom-client';

const require = createRequire(import.meta.url);
let loaded: typeof PromClient | undefined;
/** prom-client, loaded on first use: a site without `metrics_path` never pays its start-up cost. */
function prom(): typeof PromClient {
  return (loaded ??= require('prom-client') as typeof PromClient);
}
import type { FaultStatus } from '../../http/faults.js';
import { DURATION_BUCKETS, type Durations, type RouteStats } from '../../http/traffic.js';
import type { WasServices } from '../../was/services.js';

/** What a worker's metrics are read from, at scrape time. */
export interface WorkerSources {
  readonly engine: () => {
    routes: RouteStats[];
    durations: Durations | undefined;
    bytes: { in: number; out: number; open: number; total: number };
    inFlight: number;
    aborted: number;
  };
  readonly services: WasServices;
  readonly faults: () => FaultStatus;
  /** The worker's slot (1, 2, …): the `worker` label of the per-process metrics. */
  readonly worker: number;
}

/** One metric family as prom-client's registries and aggregator pass them around (`getMetricsAsJSON`). */
export interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  aggregator: 'sum' | 'first' | 'max';
  values: { value: number; labels: Record<string, string | number>; metricName?: string }[];
}
export type Families = Family[];

type Values = Family['values'];

/** Register a family whose values are computed when the registry is read. */
function family(reg: Registry, name: string, help: string, type: Family['type'], values: () => Values, aggregator: Family['aggregator'] = 'sum'): void {
  const get = async (): Promise<Family> => ({ name, help, type, aggregator, values: values() });
  reg.registerMetric({ name, help, type, aggregator, get } as unknown as Metric);
}

const CLASSES = ['none', '1xx', '2xx', '3xx', '4xx', '5xx'];
const MEMBER_STATES = ['healthy', 'ejected', 'down'] as const;
const BREAKER_STATES = ['closed', 'open', 'half_open'] as const;

/** The registry a worker (or the single process) answers the primary's collection with. */
export function workerRegistry(src: WorkerSources): Registry {
  const reg = new (prom().Registry)();
  family(reg, 'skitai_http_requests_total', 'Requests answered, by route (mount prefix or built-in handler) and status class; status_class "none" when the client left before any answer.', 'counter', () =>
    src.engine().routes.flatMap((r) => r.byClass.flatMap((n, c) => (n > 0 ? [{ value: n, labels: { route: r.route, status_class: CLASSES[c]! } }] : []))),
  );
  family(reg, 'skitai_http_request_duration_seconds', 'Time from the request head to the end of the response.', 'histogram', () => histogram(src.engine().durations));
  family(reg, 'skitai_http_requests_in_flight', 'Requests being served now (CONNECT tunnels included).', 'gauge', () => [{ value: src.engine().inFlight, labels: {} }]);
  family(reg, 'skitai_http_aborted_requests_total', 'Requests whose response was cut or never sent because the client went away.', 'counter', () => [{ value: src.engine().aborted, labels: {} }]);
  family(reg, 'skitai_http_received_bytes_total', 'Bytes read from client connections (encrypted bytes for HTTPS).', 'counter', () => [{ value: src.engine().bytes.in, labels: {} }]);
  family(reg, 'skitai_http_sent_bytes_total', 'Bytes written to client connections (encrypted bytes for HTTPS).', 'counter', () => [{ value: src.engine().bytes.out, labels: {} }]);
  family(reg, 'skitai_http_connections_open', 'Client connections open now.', 'gauge', () => [{ value: src.engine().bytes.open, labels: {} }]);
  family(reg, 'skitai_http_connections_total', 'Client connections accepted.', 'counter', () => [{ value: src.engine().bytes.total, labels: {} }]);
  family(reg, 'skitai_app_faults_total', 'Errors app code left behind: unhandled rejections and uncaught exceptions.', 'counter', () => {
    const f = src.faults();
    return [{ value: f.unhandledRejections, labels: { kind: 'unhandled_rejection' } }, { value: f.uncaughtExceptions, labels: { kind: 'uncaught_exception' } }];
  });

  const clusters = (): ClusterView[] => {
    const all = src.services.status();
    return [...Object.values(all.clusters), ...Object.values(all.databases.clusters)];
  };
  const perMember = (read: (m: ClusterView['members'][number]) => number) => (): Values =>
    clusters().flatMap((c) => c.members.map((m) => ({ value: read(m), labels: { cluster: c.name, member: m.node } })));
  family(reg, 'skitai_cluster_member_state', 'Workers that see the member in this state (healthy, ejected by passive health, down by active checks).', 'gauge', () =>
    clusters().flatMap((c) => c.members.flatMap((m) => MEMBER_STATES.map((state) => ({ value: m.state === state ? 1 : 0, labels: { cluster: c.name, member: m.node, state } })))),
  );
  family(reg, 'skitai_cluster_member_requests_total', 'Exchanges with the member (calls, proxied requests, queries).', 'counter', perMember((m) => m.requests));
  family(reg, 'skitai_cluster_member_failures_total', 'Exchanges with the member that failed.', 'counter', perMember((m) => m.failures));
  family(reg, 'skitai_cluster_member_ejections_total', 'Times the member was ejected by passive health.', 'counter', perMember((m) => m.ejections));
  family(reg, 'skitai_cluster_member_latency_seconds', 'Time from sending to a member to its answer (failures included, cancelled hedges not).', 'histogram', () =>
    src.services.clusters().flatMap((c) =>
      c.members.flatMap((m) => latencyHistogram(m.latency, { cluster: c.name, member: m.node })),
    ),
  );
  family(reg, 'skitai_cluster_member_in_flight', 'Exchanges with the member in flight now.', 'gauge', perMember((m) => m.inFlight));
  family(reg, 'skitai_cluster_breaker_state', 'Workers whose breaker for the cluster is in this state.', 'gauge', () =>
    clusters().flatMap((c) => BREAKER_STATES.map((state) => ({ value: breakerState(c.breaker.state) === state ? 1 : 0, labels: { cluster: c.name, state } }))),
  );
  family(reg, 'skitai_cluster_breaker_opens_total', 'Times the cluster breaker opened.', 'counter', () => clusters().map((c) => ({ value: c.breaker.opens, labels: { cluster: c.name } })));
  family(reg, 'skitai_db_pool_connections', 'PostgreSQL pool connections, by state (idle, busy).', 'gauge', () =>
    Object.values(src.services.databases.status().clusters).flatMap((c) =>
      Object.entries(c.pools).flatMap(([member, p]) => [
        { value: p.idle, labels: { cluster: c.name, member, state: 'idle' } },
        { value: Math.max(0, p.total - p.idle), labels: { cluster: c.name, member, state: 'busy' } },
      ]),
    ),
  );
  const perPool = (read: (p: PoolStatus) => number) => (): Values =>
    Object.values(src.services.databases.status().clusters).flatMap((c) => Object.entries(c.pools).map(([member, p]) => ({ value: read(p), labels: { cluster: c.name, member } })));
  family(reg, 'skitai_db_pool_waiting', 'Queries waiting for a free PostgreSQL connection now.', 'gauge', perPool((p) => p.waiting));
  family(reg, 'skitai_db_pool_waits_total', 'Queries that found every connection of the member busy and waited for one.', 'counter', perPool((p) => p.waits));
  family(reg, 'skitai_db_pool_wait_seconds_total', 'Time queries spent waiting for a free connection.', 'counter', perPool((p) => p.waitedSeconds));
  const caches = (): { kind: string; hits: number; misses: number }[] => {
    const all = src.services.status();
    return [{ kind: 'clients', ...all.resultCache }, { kind: 'databases', ...all.databases.resultCache }];
  };
  family(reg, 'skitai_result_cache_hits_total', 'Result-cache lookups answered from the cache.', 'counter', () => caches().map((c) => ({ value: c.hits, labels: { cache: c.kind } })));
  family(reg, 'skitai_result_cache_misses_total', 'Result-cache lookups not in the cache.', 'counter', () => caches().map((c) => ({ value: c.misses, labels: { cache: c.kind } })));

  // Memory, CPU, event-loop lag, GC: prom-client's own, per worker (the label keeps them apart when summed).
  prom().collectDefaultMetrics({ register: reg, labels: { worker: src.worker } });
  // Gauges named `_total` fail `promtool check metrics` (a `_total` suffix promises a counter); the
  // same counts are under `nodejs_active_handles` and friends without it.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) reg.removeSingleMetric(name);
  return reg;
}

type ClusterView = ReturnType<WasServices['clients']['status']>['clusters'][string];
type PoolStatus = ReturnType<WasServices['databases']['status']>['clusters'][string]['pools'][string];

/** A member's latencies as its cluster counts them: per bucket of `bounds` (ms; the last slot is +Inf). */
interface MemberLatencies {
  readonly bounds: readonly number[];
  readonly counts: ArrayLike<number>;
  readonly sumMs: number;
  readonly count: number;
}

/** One member's latency histogram as Prometheus samples (cumulative buckets, seconds). */
function latencyHistogram(h: MemberLatencies, labels: Record<string, string>): Values {
  const name = 'skitai_cluster_member_latency_seconds';
  const values: Values = [];
  let cumulative = 0;
  for (let i = 0; i < h.bounds.length; i++) {
    cumulative += h.counts[i]!;
    values.push({ metricName: `${name}_bucket`, value: cumulative, labels: { ...labels, le: h.bounds[i]! / 1000 } });
  }
  values.push({ metricName: `${name}_bucket`, value: h.count, labels: { ...labels, le: '+Inf' } });
  values.push({ metricName: `${name}_sum`, value: h.sumMs / 1000, labels });
  values.push({ metricName: `${name}_count`, value: h.count, labels });
  return values;
}

function breakerState(state: string): string {
  return state === 'half-open' || state === 'halfOpen' ? 'half_open' : state;
}

/** Cumulative buckets as Prometheus wants them, from the per-bucket counts. */
function histogram(d: Durations | undefined): Values {
  if (!d) return [];
  const values: Values = [];
  let cumulative = 0;
  for (let i = 0; i < DURATION_BUCKETS.length; i++) {
    cumulative += d.counts[i]!;
    values.push({ metricName: 'skitai_http_request_duration_seconds_bucket', value: cumulative, labels: { le: DURATION_BUCKETS[i]! } });
  }
  values.push({ metricName: 'skitai_http_request_duration_seconds_bucket', value: d.count, labels: { le: '+Inf' } });
  values.push({ metricName: 'skitai_http_request_duration_seconds_sum', value: d.sum, labels: {} });
  values.push({ metricName: 'skitai_http_request_duration_seconds_count', value: d.count, labels: {} });
  return values;
}

/** What only the process that supervises knows: workers and their restarts, and its mail agent's counters. */
export interface SupervisorInfo {
  readonly workers: number;
  readonly restarts: number;
  readonly reloads: number;
  /** The site's delivery agent, when the supervising process runs it (the primary of a multi-worker site). */
  readonly mail?: MailCounts | undefined;
}

/** The delivery agent's counters since it started (numbers only: they cross the IPC channel). */
export interface MailCounts {
  readonly attempts: number;
  readonly failedAttempts: number;
  readonly delivered: number;
  readonly undelivered: number;
}

/** Site-wide families, computed once per scrape (not per worker): supervisor numbers and the mail spool. */
export async function siteFamilies(info: SupervisorInfo, mail: WasServices['mail']): Promise<Families> {
  const one = (name: string, help: string, type: Family['type'], value: number): Family => ({ name, help, type, aggregator: 'first', values: [{ value, labels: {} }] });
  const families: Families = [
    one('skitai_workers', 'Worker processes serving (1 for a single process).', 'gauge', info.workers),
    one('skitai_worker_restarts_total', 'Workers replaced after a crash, an uncaught exception or SIGTERM to a worker.', 'counter', info.restarts),
    one('skitai_reloads_total', 'Reloads (all workers replaced one by one).', 'counter', info.reloads),
  ];
  // The agent runs in the primary (workers under it get its counts in `info`) or in a single process.
  const agent = info.mail ?? mail?.agent?.status();
  if (agent) {
    const counter = (name: string, help: string, value: number): Family => ({ name, help, type: 'counter', aggregator: 'first', values: [{ value, labels: {} }] });
    families.push(
      counter('skitai_mail_delivery_attempts_total', 'SMTP delivery attempts by the mail agent (smtpda).', agent.attempts),
      counter('skitai_mail_delivery_failures_total', 'Delivery attempts that left a recipient not accepted (retried later or given up).', agent.failedAttempts),
      counter('skitai_mail_delivered_total', 'Messages delivered to every recipient.', agent.delivered),
      counter('skitai_mail_undeliverable_total', 'Messages given up on (moved to undeliverable).', agent.undelivered),
    );
  }
  if (mail) {
    try {
      const s = await mail.status();
      const states: [string, number][] = [['queued', s.queued], ['sending', s.sending], ['undeliverable', s.undeliverable], ['corrupt', s.corrupt]];
      families.push({ name: 'skitai_mail_spool_messages', help: 'Messages in the mail spool, by state.', type: 'gauge', aggregator: 'first', values: states.map(([state, value]) => ({ value, labels: { state } })) });
    } catch {
      // An unreadable spool is on the status page and in the log; the scrape still answers.
    }
  }
  return families;
}

/**
 * Add a departing worker's final counters and histograms to what earlier ones left (`kept`), so
 * that the site's sums do not go down when a worker is replaced. Gauges and per-worker families
 * (those with a `worker` label) are not kept: they describe live processes.
 */
export async function keepCounters(kept: Families, final: Families): Promise<Families> {
  const lasting = final
    .filter((f) => f.type === 'counter' || f.type === 'histogram')
    .filter((f) => !f.values.some((v) => 'worker' in v.labels));
  return (await prom().AggregatorRegistry.aggregate([kept, lasting]).getMetricsAsJSON()) as unknown as Families;
}

/** Sum the workers' families (each worker's `getMetricsAsJSON()`) into Prometheus text. */
export function render(parts: Families[]): Promise<string> {
  return prom().AggregatorRegistry.aggregate(parts).metrics();
}

/**
 * Every worker's report made into one site view: counters summed, member and breaker states as
 * the worst any worker sees (with how many workers see each), the mail spool counted once (the
 * workers share it), and a summary that says whether the site is healthy.
 */
import type {
  AgentView, BreakerStateName, CacheView, ClusterView, DbClusterView, MemberStateName, PoolView, PrimaryView, RecentErrors, SpoolView, WorkerPart, WorkerReport,
} from './types.js';

/** A member as the workers see it together. */
export type SiteMember = ClusterView['members'][number] & {
  /** How many answering workers see the member in each state. */
  readonly workers: Readonly<Record<MemberStateName, number>>;
  /** PostgreSQL members: the pools of every worker, summed. */
  readonly pool?: PoolView;
};

/** A cluster as the workers see it together. */
export interface SiteCluster extends Omit<ClusterView, 'members' | 'breaker'> {
  readonly breaker: ClusterView['breaker'] & { readonly workers: Readonly<Record<BreakerStateName, number>> };
  readonly members: readonly SiteMember[];
}

export type Level = 'ok' | 'warn' | 'bad';

/** One line of the summary of a cluster (HTTP or PostgreSQL). */
export interface ClusterSummary {
  readonly name: string;
  readonly kind: 'http' | 'postgresql';
  readonly up: number;
  readonly members: number;
  readonly breaker: BreakerStateName;
  readonly level: Level;
}

/** The answer to "is my site healthy?". */
export interface Summary {
  readonly level: Level;
  readonly problems: readonly { readonly level: Level; readonly text: string }[];
  readonly startedAt: string;
  readonly uptimeSeconds: number;
  readonly workers: { readonly up: number; readonly expected: number; readonly answered: number; readonly restarts: number; readonly reloads: number };
  readonly http: {
    readonly requests: number;
    readonly inFlight: number;
    readonly responses: number;
    readonly errors5xx: number;
    readonly recent: RecentErrors;
    readonly connections: number;
    readonly bytes: { readonly in: number; readonly out: number };
  };
  readonly clusters: readonly ClusterSummary[];
  readonly mail: {
    readonly queued: number; readonly sending: number; readonly undeliverable: number; readonly corrupt: number;
    readonly delivered: number | null; readonly lastError: string | null; readonly lastErrorAt: string | null;
  } | null;
  readonly faults: { readonly unhandledRejections: number; readonly uncaughtExceptions: number };
}

/** One worker in the site view. */
export interface SiteWorker {
  readonly slot: number;
  readonly pid: number;
  /** `no answer`: it did not answer within the deadline (busy, stuck, or exiting). */
  readonly state: WorkerPart['state'] | 'no answer';
  readonly startedAt: string | null;
  readonly report: WorkerReport | null;
}

/** The status page's JSON (`?format=json`). */
export interface SiteStatus {
  readonly scope: 'site';
  readonly name: string;
  readonly generatedAt: string;
  /** The pid of the worker that answered this request (any worker gives the same view). */
  readonly servedBy: number;
  /** Changes when workers, clusters or members come or go: the page then fetches its HTML again. */
  readonly layout: string;
  readonly summary: Summary;
  readonly clusters: readonly SiteCluster[];
  readonly databases: { readonly clusters: readonly SiteCluster[]; readonly adhoc: Readonly<Record<string, PoolView>> };
  readonly resultCache: { readonly clients: CacheView; readonly databases: CacheView } | null;
  readonly mail: SpoolView | { readonly error: string } | null;
  readonly auth: Readonly<Record<string, number>> | null;
  readonly mounts: WorkerReport['mounts'];
  /** The node:cluster primary; null in a single process. */
  readonly primary: (Omit<PrimaryView, 'started' | 'lastReload'> & { readonly startedAt: string; readonly lastReload: { readonly at: string; readonly ok: boolean; readonly message: string } | null }) | null;
  readonly workers: readonly SiteWorker[];
}

const MEMBER_ORDER: readonly MemberStateName[] = ['healthy', 'ejected', 'down'];
const BREAKER_ORDER: readonly BreakerStateName[] = ['closed', 'half-open', 'open'];

/**
 * Combine `parts` (every worker, answered or not) and the primary's view (null: a single process),
 * as seen by the worker with pid `servedBy`.
 */
export function combine(name: string, servedBy: number, parts: readonly WorkerPart[], primary: PrimaryView | null, now = Date.now()): SiteStatus {
  const reports = parts.flatMap((p) => (p.report ? [p.report] : []));
  const first = reports[0];
  const clusters = mergeClusters(reports.map((r) => r.clusters));
  const dbClusters = mergeClusters(reports.map((r) => r.databases.clusters));
  const mail = first?.mail ?? null;
  const agent = primary ? primary.mailAgent : mail && 'queued' in mail ? mail.agent : undefined;
  const spool = mail && 'queued' in mail ? { ...mail, ...(agent ? { agent } : {}) } : mail;
  const workers: SiteWorker[] = [...parts].sort((a, b) => a.slot - b.slot || a.started - b.started).map((p) => ({
    slot: p.slot,
    pid: p.pid,
    state: (p.state === 'serving' || p.state === 'draining') && !p.report ? 'no answer' : p.state,
    startedAt: p.started ? new Date(p.started).toISOString() : null,
    report: p.report ?? null,
  }));
  const started = primary?.started ?? (first ? Date.parse(first.http.startedAt) : now);
  const summary = summarize({ reports, workers, clusters, dbClusters, spool, primary, started, now });
  return {
    scope: 'site',
    name,
    generatedAt: new Date(now).toISOString(),
    servedBy,
    layout: [
      workers.map((w) => `${w.slot}:${w.pid}`).join(','),
      ...[...clusters, ...dbClusters].map((c) => `${c.name}=${c.members.map((m) => m.node).join(',')}`),
      spool === null ? 'nomail' : 'mail',
    ].join('|'),
    summary,
    clusters,
    databases: { clusters: dbClusters, adhoc: Object.assign({}, ...reports.map((r) => r.databases.adhoc)) as Record<string, PoolView> },
    resultCache: first ? { clients: sumCache(reports.map((r) => r.resultCache.clients)), databases: sumCache(reports.map((r) => r.resultCache.databases)) } : null,
    mail: spool,
    // The users and the limit are the same in every worker; the failures and lockouts are each worker's own.
    auth: first ? { ...sumAll(reports.map((r) => r.auth)), users: first.auth['users'] ?? 0, failureLimit: first.auth['failureLimit'] ?? 0 } : null,
    mounts: first?.mounts ?? [],
    primary: primary && {
      pid: primary.pid,
      startedAt: new Date(primary.started).toISOString(),
      state: primary.state,
      processes: primary.processes,
      respawns: primary.respawns,
      reloads: primary.reloads,
      lastReload: primary.lastReload ? { ...primary.lastReload, at: new Date(primary.lastReload.at).toISOString() } : null,
      ...(primary.mailAgent ? { mailAgent: primary.mailAgent } : {}),
    },
    workers,
  };
}

interface Inputs {
  reports: readonly WorkerReport[];
  workers: readonly SiteWorker[];
  clusters: readonly SiteCluster[];
  dbClusters: readonly SiteCluster[];
  spool: SpoolView | { error: string } | null;
  primary: PrimaryView | null;
  started: number;
  now: number;
}

function summarize(i: Inputs): Summary {
  const problems: { level: Level; text: string }[] = [];
  const http = i.reports.map((r) => r.http);
  const byStatus = sumAll(http.map((h) => h.requests.byStatus));
  const responses = Object.values(byStatus).reduce((a, b) => a + b, 0);
  const recent = i.reports.reduce<RecentErrors>(
    (a, r) => ({ seconds: Math.max(a.seconds, r.recent.seconds), responses: a.responses + r.recent.responses, errors5xx: a.errors5xx + r.recent.errors5xx }),
    { seconds: 0, responses: 0, errors5xx: 0 },
  );
  const expected = i.primary?.processes ?? 1;
  const serving = i.workers.filter((w) => w.state === 'serving').length;
  const silent = i.workers.filter((w) => w.state === 'no answer');
  if (serving < expected) problems.push({ level: serving === 0 ? 'bad' : 'warn', text: `${serving} of ${expected} workers serving` });
  for (const w of silent) problems.push({ level: 'warn', text: `worker ${w.slot} (pid ${w.pid}) did not answer in time; its numbers are missing` });
  const clusters = [...i.clusters.map((c) => clusterSummary(c, 'http')), ...i.dbClusters.map((c) => clusterSummary(c, 'postgresql'))];
  for (const c of clusters) {
    if (c.level === 'ok') continue;
    const what = c.up === 0 ? 'no member up' : `${c.up} of ${c.members} members up`;
    problems.push({ level: c.level, text: `@${c.name}: ${what}${c.breaker === 'closed' ? '' : `, breaker ${c.breaker}`}` });
  }
  if (recent.errors5xx > 0) {
    const share = recent.errors5xx / Math.max(1, recent.responses);
    problems.push({ level: share >= 0.1 ? 'bad' : 'warn', text: `${recent.errors5xx} 5xx answer${recent.errors5xx === 1 ? '' : 's'} in the last ${recent.seconds} s (${(share * 100).toFixed(1)} % of ${recent.responses})` });
  }
  const faults = sumAll(i.reports.map((r) => r.faults));
  if (faults.unhandledRejections + faults.uncaughtExceptions > 0) problems.push({ level: 'warn', text: 'app code left errors behind (faults): see the server log' });
  const spool = i.spool && 'queued' in i.spool ? i.spool : null;
  const agent: AgentView | undefined = spool?.agent;
  if (i.spool && !spool) problems.push({ level: 'warn', text: 'the mail spool cannot be read' });
  if (spool && spool.undeliverable + spool.corrupt > 0) problems.push({ level: 'warn', text: `mail: ${spool.undeliverable} undeliverable, ${spool.corrupt} corrupt` });
  const level: Level = problems.some((p) => p.level === 'bad') ? 'bad' : problems.length ? 'warn' : 'ok';
  return {
    level,
    problems,
    startedAt: new Date(i.started).toISOString(),
    uptimeSeconds: Math.max(0, Math.round((i.now - i.started) / 1000)),
    workers: { up: serving, expected, answered: i.reports.length, restarts: i.primary?.respawns ?? 0, reloads: i.primary?.reloads ?? 0 },
    http: {
      requests: sum(http.map((h) => h.requests.total)),
      inFlight: sum(http.map((h) => h.requests.inFlight)),
      responses,
      errors5xx: byStatus['5xx'] ?? 0,
      recent,
      connections: sum(http.map((h) => h.connections.open)),
      bytes: { in: sum(http.map((h) => h.bytes.in)), out: sum(http.map((h) => h.bytes.out)) },
    },
    clusters,
    mail: spool && {
      queued: spool.queued,
      sending: spool.sending,
      undeliverable: spool.undeliverable,
      corrupt: spool.corrupt,
      delivered: agent ? agent.delivered : null,
      lastError: agent?.lastError ?? null,
      lastErrorAt: agent?.lastErrorAt ? new Date(agent.lastErrorAt).toISOString() : null,
    },
    faults,
  };
}

function clusterSummary(c: SiteCluster, kind: ClusterSummary['kind']): ClusterSummary {
  const up = c.members.filter((m) => m.state === 'healthy').length;
  const level: Level = up === 0 || c.breaker.state === 'open' ? 'bad' : up < c.members.length || c.breaker.state !== 'closed' ? 'warn' : 'ok';
  return { name: c.name, kind, up, members: c.members.length, breaker: c.breaker.state, level };
}

/** The same cluster from each worker, by name, in the first worker's order. */
function mergeClusters(views: readonly (readonly (ClusterView | DbClusterView)[])[]): SiteCluster[] {
  const byName = new Map<string, (ClusterView | DbClusterView)[]>();
  for (const list of views) for (const c of list) byName.set(c.name, [...(byName.get(c.name) ?? []), c]);
  return [...byName.values()].map((same) => {
    const c = same[0]!;
    const breakers = same.map((s) => s.breaker);
    const pools = same.flatMap((s) => ('pools' in s ? [s.pools] : []));
    return {
      name: c.name,
      type: c.type,
      ssl: c.ssl,
      strategy: c.strategy,
      panic: same.some((s) => s.panic),
      breaker: {
        state: worst(BREAKER_ORDER, breakers.map((b) => b.state)),
        requests: sum(breakers.map((b) => b.requests)),
        failures: sum(breakers.map((b) => b.failures)),
        opens: sum(breakers.map((b) => b.opens)),
        workers: count(BREAKER_ORDER, breakers.map((b) => b.state)),
      },
      retryBudget: sumAll(same.map((s) => s.retryBudget)),
      // Workers look DNS names up on their own (`resolve = yes`), so one may know a member another does not yet.
      members: unionBy(same.flatMap((s) => s.members), (m) => m.node).map((m) => {
        const seen = same.flatMap((s) => s.members.filter((x) => x.node === m.node));
        const memberPools = pools.flatMap((p) => (p[m.node] ? [p[m.node]!] : []));
        const latency = seen.reduce<(typeof m)['latency']>((a, x) => (x.latency && (!a || x.latency.samples > a.samples) ? x.latency : a), null);
        return {
          node: m.node,
          weight: m.weight,
          // The least warmed-up worker's share (slow start): the one an operator waits for.
          share: Math.min(...seen.map((x) => x.share)),
          state: worst(MEMBER_ORDER, seen.map((x) => x.state)),
          workers: count(MEMBER_ORDER, seen.map((x) => x.state)),
          inFlight: sum(seen.map((x) => x.inFlight)),
          requests: sum(seen.map((x) => x.requests)),
          failures: sum(seen.map((x) => x.failures)),
          consecutiveFailures: Math.max(...seen.map((x) => x.consecutiveFailures)),
          ejections: sum(seen.map((x) => x.ejections)),
          ejectedForMs: Math.max(...seen.map((x) => x.ejectedForMs)),
          latency,
          ...(memberPools.length ? { pool: sumAll(memberPools) } : {}),
        };
      }),
    };
  });
}

/** The first of each key, in order. */
function unionBy<T>(items: readonly T[], key: (item: T) => string): T[] {
  const seen = new Set<string>();
  return items.filter((item) => (seen.has(key(item)) ? false : (seen.add(key(item)), true)));
}

function worst<S extends string>(order: readonly S[], states: readonly S[]): S {
  return states.reduce((a, s) => (order.indexOf(s) > order.indexOf(a) ? s : a), order[0]!);
}

function count<S extends string>(order: readonly S[], states: readonly S[]): Record<S, number> {
  const out = Object.fromEntries(order.map((s) => [s, 0])) as Record<S, number>;
  for (const s of states) out[s]++;
  return out;
}

/** Counters summed; `max` is the per-worker capacity from the config, not summed. */
function sumCache(caches: readonly CacheView[]): CacheView {
  return { ...sumAll(caches), max: caches[0]!.max };
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

/** Field-wise sum of objects of numbers (fields missing in some count as 0). */
function sumAll<T extends object>(items: readonly T[]): T {
  const out: Record<string, number> = {};
  for (const item of items) for (const [k, v] of Object.entries(item)) if (typeof v === 'number') out[k] = (out[k] ?? 0) + v;
  return out as T;
}

/**
 * The status page's data, as JSON: one worker's own report, what the primary adds when it gathers
 * every worker's, and the site view the page shows (docs/auth.md, "The status page").
 */
import type { FaultStatus } from '../../http/faults.js';
import type { TrafficStatus } from '../../http/traffic.js';
import type { WasServices } from '../../was/services.js';

type ClientsStatus = ReturnType<WasServices['clients']['status']>;
type DatabasesStatus = ReturnType<WasServices['databases']['status']>;
/** One HTTP cluster as a worker sees it. */
export type ClusterView = ClientsStatus['clusters'][string];
/** One PostgreSQL cluster as a worker sees it (a cluster view plus its pools). */
export type DbClusterView = DatabasesStatus['clusters'][string];
export type PoolView = DatabasesStatus['adhoc'][string];
export type CacheView = ClientsStatus['resultCache'];
export type SpoolView = Awaited<ReturnType<NonNullable<WasServices['mail']>['status']>>;
/** The delivery agent's counters (in the process that runs it: the primary with workers). */
export type AgentView = NonNullable<SpoolView['agent']>;
export type MemberStateName = ClusterView['members'][number]['state'];
export type BreakerStateName = ClusterView['breaker']['state'];

/** 5xx answers in a recent window (the last minute, or since the worker started if that is shorter). */
export interface RecentErrors {
  readonly seconds: number;
  readonly responses: number;
  readonly errors5xx: number;
}

/** One worker process's own numbers since it started. */
export interface WorkerReport {
  readonly server: {
    readonly name: string;
    readonly pid: number;
    /** node:cluster worker id; null in a single process. */
    readonly worker: number | null;
    readonly processes: number;
    readonly node: string;
    readonly memory: { readonly rss: number; readonly heapUsed: number; readonly heapTotal: number };
    readonly generatedAt: string;
  };
  readonly http: TrafficStatus;
  readonly recent: RecentErrors;
  readonly faults: FaultStatus;
  readonly mounts: readonly { readonly prefix: string; readonly handlers: readonly string[] }[];
  readonly clusters: readonly ClusterView[];
  readonly databases: { readonly clusters: readonly DbClusterView[]; readonly adhoc: Readonly<Record<string, PoolView>> };
  readonly resultCache: { readonly clients: CacheView; readonly databases: CacheView };
  readonly mail: SpoolView | { readonly error: string } | null;
  readonly auth: Readonly<Record<string, number>>;
}

/** How the primary sees a worker: `starting` (not listening yet), `serving`, `draining` (replaced), `down` (respawn pending). */
export type WorkerState = 'starting' | 'serving' | 'draining' | 'down';

/** One worker as the primary reports it, with its report when it answered in time. */
export interface WorkerPart {
  readonly slot: number;
  /** 0 when no process holds the slot (`down`). */
  readonly pid: number;
  /** Epoch ms of the fork; 0 for `down`. */
  readonly started: number;
  readonly state: WorkerState;
  /** Absent: asked but no answer within the deadline, or not asked (`starting`, `down`). */
  readonly report?: WorkerReport;
}

/** The primary's own numbers. */
export interface PrimaryView {
  readonly pid: number;
  /** Epoch ms. */
  readonly started: number;
  readonly state: string;
  /** Workers the config asks for. */
  readonly processes: number;
  /** Workers respawned after they died. */
  readonly respawns: number;
  readonly reloads: number;
  readonly lastReload?: { readonly at: number; readonly ok: boolean; readonly message: string } | undefined;
  readonly mailAgent?: AgentView | undefined;
}

/** What a worker gets back from the primary when it asks for every worker's status. */
export interface StatusParts {
  readonly workers: readonly WorkerPart[];
  readonly primary: PrimaryView;
}

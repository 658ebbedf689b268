import cluster from 'node:cluster';
import type { Authenticator } from '../auth/authenticator.js';
import { ADMIN_GROUP } from '../auth/users.js';
import type { Exchange, Handler } from '../http/handler.js';
import { sendError } from '../http/errorpage.js';
import { respond } from '../http/respond.js';
import type { FaultStatus } from '../http/faults.js';
import type { TrafficStatus } from '../http/traffic.js';
import type { Logger } from '../log/logger.js';
import type { WasServices } from '../was/services.js';
import { Guard } from './guard.js';
import { combine, type SiteStatus } from './status/combine.js';
import { statusPage } from './status/html.js';
import { RecentRate } from './status/recent.js';
import { PAGE_CSP } from './status/script.js';
import type { StatusParts, WorkerReport } from './status/types.js';

/** Where the status handler reads its numbers. */
export interface StatusSources {
  /** `[server] status_path`. */
  readonly path: string;
  /** `[server] name`. */
  readonly name: string;
  readonly processes: number;
  readonly auth: Authenticator;
  readonly services: WasServices;
  readonly traffic: () => TrafficStatus;
  /** This process's unhandled rejections and uncaught exceptions (app code that lost an error). */
  readonly faults: () => FaultStatus;
  readonly mounts: () => { prefix: string; handlers: string[] }[];
  readonly logger: Logger;
  /** This worker's slot under a primary (1…N); 1 in a single process. */
  readonly slot: number;
  /**
   * Under a primary: every worker's report (this one's included) and the primary's numbers. Without
   * it the process is the whole site.
   */
  readonly gather?: (() => Promise<StatusParts>) | undefined;
}

/** Seconds between the page's refreshes unless `?refresh=` says otherwise (0 = off). */
const REFRESH_S = 5;

/**
 * `[server] status_path`: the site's status for group `admin` — every worker's numbers combined by
 * way of the primary, a summary, per-worker detail — as JSON, or an HTML page that refreshes itself
 * from the JSON when the client prefers `text/html` (`?format=json|html` overrides). Built only
 * from `status()` views that carry no secrets: cluster members are `host:port`, database members
 * `host:port/dbname`.
 */
export class StatusHandler implements Handler {
  readonly name = 'status';
  readonly #recent: RecentRate;

  constructor(readonly sources: StatusSources) {
    this.#recent = new RecentRate(() => {
      const byStatus = sources.traffic().requests.byStatus;
      return { responses: Object.values(byStatus).reduce((a, b) => a + b, 0), errors: byStatus['5xx'] ?? 0 };
    });
  }

  declines(_method: string, path: string): boolean {
    return path !== this.sources.path;
  }

  handle(ex: Exchange, _prefix: string, path: string): boolean | Promise<boolean> {
    if (path !== this.sources.path) return false;
    if (new Guard(this.sources.auth, ex).web([ADMIN_GROUP]) === undefined) return true;
    if (ex.method !== 'GET' && ex.method !== 'HEAD') {
      sendError(ex, 405, { detail: `${ex.method} is not allowed on ${ex.path}`, headers: { allow: 'GET, HEAD' }, close: !ex.req.complete });
      return true;
    }
    return this.#answer(ex).then(() => true);
  }

  async #answer(ex: Exchange): Promise<void> {
    const report = await this.report();
    const query = new URLSearchParams(ex.query);
    const format = query.get('format');
    const html = format === 'html' || (format !== 'json' && prefersHtml(ex.req.headers.accept));
    const headers = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', vary: 'Accept' };
    if (!html) {
      respond(ex, 200, { ...headers, 'content-type': 'application/json; charset=utf-8' }, JSON.stringify(report, null, 1));
      return;
    }
    const asked = Number(query.get('refresh') ?? REFRESH_S);
    const refresh = Number.isFinite(asked) ? Math.min(3600, Math.max(0, Math.round(asked))) : REFRESH_S;
    const page = statusPage(`${this.sources.name} status`, report, refresh);
    respond(ex, 200, { ...headers, 'content-type': 'text/html; charset=utf-8', 'content-security-policy': PAGE_CSP, 'referrer-policy': 'no-referrer' }, page);
  }

  /** The site's status: every worker through the primary, or this process alone. */
  async report(): Promise<SiteStatus> {
    const gather = this.sources.gather;
    if (gather) {
      try {
        const parts = await gather();
        return combine(this.sources.name, process.pid, parts.workers, parts.primary);
      } catch (err) {
        this.sources.logger.error('status: the primary did not send the other workers\' numbers; showing this worker alone', err);
        const self = { slot: this.sources.slot, pid: process.pid, started: 0, state: 'serving' as const, report: await this.workerReport() };
        const alone = combine(this.sources.name, process.pid, [self], null);
        return { ...alone, summary: { ...alone.summary, level: 'bad', problems: [{ level: 'bad', text: 'the primary did not answer: this worker alone is shown' }, ...alone.summary.problems] } };
      }
    }
    const self = await this.workerReport();
    return combine(this.sources.name, process.pid, [{ slot: 1, pid: process.pid, started: Date.parse(self.http.startedAt), state: 'serving', report: self }], null);
  }

  /** This worker's own numbers (JSON-safe). */
  async workerReport(): Promise<WorkerReport> {
    const s = this.sources;
    const clients = s.services.status();
    const { databases } = clients;
    let mail: WorkerReport['mail'] = null;
    try {
      mail = s.services.mail ? await s.services.mail.status() : null;
    } catch (err) {
      s.logger.error('status: the mail spool cannot be read', err);
      mail = { error: 'the spool cannot be read; see the server log' };
    }
    const memory = process.memoryUsage();
    return {
      server: {
        name: s.name,
        pid: process.pid,
        worker: cluster.isWorker ? (cluster.worker?.id ?? null) : null,
        processes: s.processes,
        node: process.version,
        memory: { rss: memory.rss, heapUsed: memory.heapUsed, heapTotal: memory.heapTotal },
        generatedAt: new Date().toISOString(),
      },
      http: s.traffic(),
      recent: this.#recent.status(),
      faults: s.faults(),
      mounts: s.mounts(),
      clusters: Object.values(clients.clusters),
      databases: { clusters: Object.values(databases.clusters), adhoc: databases.adhoc },
      resultCache: { clients: clients.resultCache, databases: databases.resultCache },
      mail,
      auth: s.auth.status(),
    };
  }

  async close(): Promise<void> {
    this.#recent.stop();
  }
}

/** True when `Accept` lists text/html (as browsers do) before or without application/json. */
function prefersHtml(accept: string | undefined): boolean {
  if (!accept) return false;
  const html = accept.indexOf('text/html');
  if (html < 0) return false;
  const json = accept.indexOf('application/json');
  return json < 0 || html < json;
}

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
import { statusPage } from './status/html.js';

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
}

const NOTE =
  "Every number is this worker process's own, since it started: with processes > 1 each worker keeps its own counters, " +
  'clusters, pools and caches, and a request reaches whichever worker accepts it.';

/**
 * `[server] status_path`: this worker's numbers for group `admin` — JSON, or an HTML page when the
 * client prefers `text/html` (`?format=json|html` overrides). Built only from `status()` views that
 * carry no secrets: cluster members are `host:port`, database members `host:port/dbname`.
 */
export class StatusHandler implements Handler {
  readonly name = 'status';

  constructor(readonly sources: StatusSources) {}

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
    const format = new URLSearchParams(ex.query).get('format');
    const html = format === 'html' || (format !== 'json' && prefersHtml(ex.req.headers.accept));
    const headers = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', vary: 'Accept' };
    if (html) respond(ex, 200, { ...headers, 'content-type': 'text/html; charset=utf-8' }, statusPage(`${this.sources.name} status (pid ${process.pid})`, report));
    else respond(ex, 200, { ...headers, 'content-type': 'application/json; charset=utf-8' }, JSON.stringify(report, null, 1));
  }

  /** The report as plain data (JSON-safe). */
  async report(): Promise<Record<string, unknown>> {
    const s = this.sources;
    const clients = s.services.clients.status();
    const databases = s.services.databases.status();
    let mail: unknown = null;
    try {
      mail = s.services.mail ? await s.services.mail.status() : null;
    } catch (err) {
      s.logger.error('status: the mail spool cannot be read', err);
      mail = { error: 'the spool cannot be read; see the server log' };
    }
    const memory = process.memoryUsage();
    return {
      scope: 'worker',
      note: NOTE,
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
      faults: s.faults(),
      mounts: s.mounts(),
      clusters: Object.values(clients.clusters),
      databases: { clusters: Object.values(databases.clusters), adhoc: databases.adhoc },
      resultCache: { clients: clients.resultCache, databases: databases.resultCache },
      mail,
      auth: s.auth.status(),
    };
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

import type { Exchange, Handler } from '../http/handler.js';
import type { WasServices } from '../was/services.js';

/** What readiness depends on. */
export interface ReadySources {
  /** `[server] ready_path`. */
  readonly path: string;
  /** The engine's life: only `serving` is ready. */
  readonly state: () => 'starting' | 'serving' | 'closing';
  /** Names of the `required = yes` clusters that have no live member right now. */
  readonly deadClusters: () => string[];
}

const HEADERS = { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' };

/**
 * `[server] ready_path`: a readiness probe for load balancers and orchestrators, open to every
 * client like `/ping` (it tells nothing secret). `/ping` says the process answers; this says it
 * should be sent traffic: 200 while serving, 503 while draining for a stop or reload, and 503 while
 * a required cluster has no live member. The body names the reason.
 */
export class ReadyHandler implements Handler {
  readonly name = 'ready';

  constructor(readonly sources: ReadySources) {}

  declines(_method: string, path: string): boolean {
    return path !== this.sources.path;
  }

  handle(ex: Exchange, _prefix: string, path: string): boolean {
    if (path !== this.sources.path) return false;
    const reason = this.#notReady();
    const body = reason === undefined ? 'ready\n' : `not ready: ${reason}\n`;
    ex.res.writeHead(reason === undefined ? 200 : 503, { ...HEADERS, 'content-length': Buffer.byteLength(body) });
    ex.res.end(ex.method === 'HEAD' ? undefined : body);
    return true;
  }

  #notReady(): string | undefined {
    const state = this.sources.state();
    if (state === 'closing') return 'draining (the server is stopping or being replaced)';
    if (state === 'starting') return 'starting';
    const dead = this.sources.deadClusters();
    if (dead.length > 0) return `no live member in required cluster${dead.length > 1 ? 's' : ''} ${dead.map((n) => `@${n}`).join(', ')}`;
    return undefined;
  }
}

/** The `required` clusters (`db`: a PostgreSQL one) with no member in state `healthy` right now. */
export function deadClusters(services: WasServices, required: readonly { name: string; db: boolean }[]): string[] {
  if (required.length === 0) return [];
  const http = services.clients.status().clusters;
  const db = required.some((r) => r.db) ? services.databases.status().clusters : {};
  return required.filter((r) => !(r.db ? db : http)[r.name]?.members.some((m) => m.state === 'healthy')).map((r) => r.name);
}

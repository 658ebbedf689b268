import type { SiteConfig } from '../config/types.js';
import { SkitaiError } from '../errors.js';
import { CorsPolicy, answerPreflight, isPreflight, useCors } from '../http/cors.js';
import type { Exchange, Handler } from '../http/handler.js';
import type { RouteTable } from '../http/routes.js';
import { AppHandler } from './app.js';

/**
 * The site's CORS policy (`[server] cors_*`, docs/cors.md), asked before the route table like
 * ping: on the paths it covers it answers preflights and has every other response carry the
 * Access-Control-* headers, whichever handler takes the request (the reverse proxy, a mounted Node
 * app, static files, an app). An app's own policy (`app.cors()`, a route's `cors` option) wins for
 * the requests that app takes.
 */
export class CorsHandler implements Handler {
  readonly name = 'cors';

  constructor(
    readonly policy: CorsPolicy,
    /** Prefixes covered; empty = every path. */
    readonly paths: readonly string[],
    readonly routes: RouteTable,
  ) {}

  /** Only on paths the policy does not cover: on the others it adds headers (Vary: Origin at least) to every answer. */
  declines(_method: string, path: string): boolean {
    return this.paths.length > 0 && !this.paths.some((p) => under(path, p));
  }

  handle(ex: Exchange): boolean {
    if (this.paths.length > 0 && !this.paths.some((p) => under(ex.path, p))) return false;
    if (isPreflight(ex)) {
      // An app with a policy of its own for the route asked about answers the preflight itself.
      if (this.#appPolicy(ex) !== undefined) return false;
      answerPreflight(ex, this.policy);
      return true;
    }
    useCors(ex, this.policy);
    return false;
  }

  #appPolicy(ex: Exchange): CorsPolicy | null | undefined {
    const method = String(ex.req.headers['access-control-request-method']);
    for (const mount of this.routes.match(ex.path, ex.req.headers.host) ?? []) {
      for (const h of mount.handlers) {
        if (!(h instanceof AppHandler)) continue;
        const own = h.corsFor(ex.path.slice(mount.prefix.length), method);
        if (own !== undefined) return own;
      }
    }
    return undefined;
  }
}

/** The handler for `[server] cors_origins`, or undefined when it is empty (CORS off). */
export function siteCors(config: SiteConfig, routes: RouteTable): CorsHandler | undefined {
  const s = config.server;
  if (s.corsOrigins.length === 0) return undefined;
  try {
    const policy = new CorsPolicy({
      origins: s.corsOrigins, methods: star(s.corsMethods), headers: star(s.corsHeaders), exposeHeaders: s.corsExposeHeaders,
      credentials: s.corsCredentials, maxAge: Math.floor(s.corsMaxAge / 1000),
    }, 'cors_origins');
    return new CorsHandler(policy, s.corsPaths.map((p) => p.replace(/\/+$/, '')), routes);
  } catch (err) {
    const line = config.keyLines['server']?.['cors_origins'];
    throw new SkitaiError('SKT_CORS_POLICY', (err as Error).message, { cause: err, place: { file: config.file || undefined, line, section: 'server', key: 'cors_origins' } });
  }
}

function star(list: readonly string[]): readonly string[] | '*' {
  return list.includes('*') ? '*' : list;
}

/** `/api` covers `/api` and `/api/…`; '' (from `/`) covers everything. */
function under(path: string, prefix: string): boolean {
  return prefix === '' || (path.startsWith(prefix) && (path.length === prefix.length || path.charCodeAt(prefix.length) === 47));
}

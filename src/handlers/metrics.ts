import type { BlockList } from 'node:net';
import type { Authenticator } from '../auth/authenticator.js';
import { ADMIN_GROUP } from '../auth/users.js';
import { addressList, inList } from '../http/clientip.js';
import { sendError } from '../http/errorpage.js';
import type { Exchange, Handler } from '../http/handler.js';
import { respond } from '../http/respond.js';
import type { Logger } from '../log/logger.js';
import { Guard } from './guard.js';

/** Where the metrics handler gets its text and who may read it. */
export interface MetricsOptions {
  /** `[server] metrics_path`. */
  readonly path: string;
  /** `[server] metrics_allow`: addresses served without credentials. */
  readonly allow: readonly string[];
  readonly auth: Authenticator;
  /** The site's metrics as Prometheus text (summed over the workers when there are several). */
  readonly text: () => Promise<string>;
  readonly logger: Logger;
}

/** Prometheus' text exposition format 0.0.4. */
const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * `[server] metrics_path`: Prometheus metrics for clients in `metrics_allow` (a Prometheus server
 * does not log in) and for group admin with HTTP Basic, as the status page.
 */
export class MetricsHandler implements Handler {
  readonly name = 'metrics';
  readonly #allow: BlockList;

  constructor(readonly options: MetricsOptions) {
    this.#allow = addressList(options.allow, 'metrics_allow');
  }

  declines(_method: string, path: string): boolean {
    return path !== this.options.path;
  }

  handle(ex: Exchange, _prefix: string, path: string): boolean | Promise<boolean> {
    if (path !== this.options.path) return false;
    if (!inList(this.#allow, ex.remote) && new Guard(this.options.auth, ex).web([ADMIN_GROUP]) === undefined) return true;
    if (ex.method !== 'GET' && ex.method !== 'HEAD') {
      sendError(ex, 405, { detail: `${ex.method} is not allowed on ${ex.path}`, headers: { allow: 'GET, HEAD' }, close: !ex.req.complete });
      return true;
    }
    return this.options.text().then(
      (text) => {
        respond(ex, 200, { 'content-type': CONTENT_TYPE, 'cache-control': 'no-store' }, text);
        return true;
      },
      (err: unknown) => {
        this.options.logger.error('metrics: the scrape failed', err);
        sendError(ex, 503, { detail: 'the metrics could not be gathered; see the server log' });
        return true;
      },
    );
  }
}

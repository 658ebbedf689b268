import type { Exchange, Handler } from '../http/handler.js';

const PONG = Buffer.from('pong');
const HEADERS = { 'content-type': 'text/plain', 'content-length': '4' };

/** `/ping` answers `pong`, whatever else is mounted: a liveness probe and a benchmark baseline. */
export class PingHandler implements Handler {
  readonly name = 'ping';

  declines(_method: string, path: string): boolean {
    return path !== '/ping';
  }

  handle(ex: Exchange, _prefix: string, path: string): boolean {
    if (path !== '/ping') return false;
    ex.res.writeHead(200, HEADERS);
    ex.res.end(ex.method === 'HEAD' ? undefined : PONG);
    return true;
  }
}

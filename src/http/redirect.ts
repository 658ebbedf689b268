import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SkitaiError } from '../errors.js';

/**
 * The plain-HTTP listener of `redirect_http_port`: every request is answered with a redirect to
 * the same host and path on the HTTPS port. GET and HEAD get 301 (understood by every client);
 * other methods get 308 so a POST stays a POST.
 */
export class HttpsRedirect {
  readonly server: http.Server;

  /** `httpsPort` is read per request: the HTTPS port is known only once it listens (port 0). */
  constructor(httpsPort: () => number, keepAliveMs: number) {
    this.server = http.createServer({ keepAliveTimeout: keepAliveMs, requireHostHeader: false }, (req, res) => {
      const port = httpsPort();
      const host = hostOnly(req.headers.host) ?? localHost(req.socket.localAddress);
      const location = `https://${host}${port === 443 ? '' : `:${port}`}${req.url?.startsWith('/') ? req.url : '/'}`;
      const status = req.method === 'GET' || req.method === 'HEAD' ? 301 : 308;
      res.writeHead(status, { location, 'content-length': 0, 'cache-control': 'no-store' }).end();
    });
  }

  /** Listen on `port` (0 = any free port). */
  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void =>
        reject(new SkitaiError('SKT_SERVER_LISTEN', `cannot listen on ${host || '*'}:${port} (redirect_http_port): ${err.code ?? err.message}`, { cause: err }));
      this.server.once('error', onError);
      this.server.listen(port, host || undefined, () => {
        this.server.off('error', onError);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  /** Stop accepting and drop idle connections; redirects are instant, so nothing is in flight long. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

/** The Host header without its port; undefined when absent or not a plausible host. */
function hostOnly(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::\d+)?$/.exec(header);
  return m?.[1];
}

function localHost(address: string | undefined): string {
  if (!address) return 'localhost';
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4.includes(':') ? `[${v4}]` : v4;
}

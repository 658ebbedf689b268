import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import type { ServerConfig } from '../config/types.js';
import { applyHttp1Limits, h2Options, http1Limits, takeStreams, type FastStreams } from './h2.js';
import type { H2Sessions } from './h2sessions.js';
import { EngineResponse } from './response.js';
import { sniOption, type SniLookup } from './tls.js';

/** PEM material for HTTPS. */
export interface ServerTls {
  cert: Buffer | string;
  key: Buffer | string;
  passphrase?: string | undefined;
  /** Per-host certificates (virtual hosts), chosen by SNI. */
  sni?: SniLookup | undefined;
}

/** What the engine listens with: node:http(s), or node:http2 (h2 streams taken by h2.ts takeStreams). */
export type EngineServer = http.Server | http2.Http2SecureServer | http2.Http2Server;

/** Where every request goes: an HTTP/1 one, or an h2 stream as its request/response pair (h2.ts h2Pair). */
export type Dispatch = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/**
 * The server an engine listens with, limits from `[server]`: node:http(s) for HTTP/1, or node:http2
 * when `sessions` is given (`http2 = yes`: h2 and HTTP/1.1 on one TLS port by ALPN; `h2c`: cleartext
 * h2 only). The HTTP/1 side of an h2 server is node:http's own connection code with the same limits.
 */
export function createServer(c: ServerConfig, tls: ServerTls | undefined, sessions: H2Sessions | undefined, dispatch: Dispatch, fast?: FastStreams): EngineServer {
  // Slow clients are found by this sweep; Node's 30 s default lets a header timeout slip by that much.
  const checkEvery = Math.max(250, Math.min(1000, c.headerTimeout / 2));
  if (sessions) {
    const options = h2Options(c);
    const server = tls
      ? http2.createSecureServer({ ...options, cert: tls.cert, key: tls.key, passphrase: tls.passphrase, ...sniOption(tls.sni), allowHTTP1: true, Http1ServerResponse: EngineResponse })
      : http2.createServer(options);
    if (tls) applyHttp1Limits(server, c, checkEvery);
    // node:http2 installs its compatibility API's 'stream' listener when the first 'request' listener
    // is added (its 'newListener' hook); the engine needs 'request' for the HTTP/1.1 side only and
    // takes h2 streams itself (h2Pair). Nothing else listens for 'newListener' on a server just made.
    server.removeAllListeners('newListener');
    server.on('request', dispatch);
    takeStreams(server, dispatch, fast);
    server.on('session', (session: http2.ServerHttp2Session) => sessions.add(session));
    return server;
  }
  const serverOptions: http.ServerOptions = { ...http1Limits(c, checkEvery), ServerResponse: EngineResponse };
  const server = tls
    ? https.createServer({ ...serverOptions, cert: tls.cert, key: tls.key, passphrase: tls.passphrase, ...sniOption(tls.sni) })
    : http.createServer(serverOptions);
  if (c.maxRequestsPerSocket > 0) server.maxRequestsPerSocket = c.maxRequestsPerSocket;
  server.on('request', dispatch);
  return server;
}

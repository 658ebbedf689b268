/**
 * HTTP/2 for the engine (docs/http2.md): node:http2's server, whose streams reach the handlers as the
 * same `req`/`res` pair as a request over HTTP/1.1: a lean pair over the stream API for a stream
 * without a body (`H2Request`/`H2Response`), node:http2's compatibility API for the others.
 */
import type { EventEmitter } from 'node:events';
import http from 'node:http';
import http2 from 'node:http2';
import type { ServerConfig } from '../config/types.js';
import { H2Request } from './h2request.js';
import { H2Response } from './h2response.js';

/** True for a response of an h2 stream (H2Response or node:http2's Http2ServerResponse), false for HTTP/1.x. */
export function isH2(res: http.ServerResponse): boolean {
  // Both h2 responses have a `stream`; http.ServerResponse never does. One property read.
  return (res as { stream?: unknown }).stream !== undefined;
}

/**
 * The h2 limits from `[server]`, as nginx sets them: SETTINGS the server announces, and the
 * counts after which nghttp2/Node end a session that abuses them (GOAWAY, then close).
 */
export function h2Options(c: ServerConfig): http2.ServerOptions {
  return {
    settings: {
      maxConcurrentStreams: c.h2MaxConcurrentStreams,
      // The same bound as an HTTP/1 head (max_header_size); HPACK-decoded size, as RFC 9113 §6.5.2 counts it.
      maxHeaderListSize: c.maxHeaderSize,
    },
    // Node's own bound on our unanswered pings, and the invalid or refused
    // frames a session may send before it is destroyed (rapid reset counts here: a stream reset
    // by the client before its response is a rejected stream for nghttp2's reset rate limit).
    maxOutstandingPings: 10,
    maxSessionInvalidFrames: 100,
    maxSessionRejectedStreams: 100,
    maxHeaderListPairs: 128,
  };
}

/**
 * The HTTP/1 limits node:http reads from its server object. http.createServer() stores them from its
 * options; an http2 server with `allowHTTP1` runs the same HTTP/1 connection code but does not, so
 * they are set here (without this, Host would not be required and keep-alive would never time out).
 */
export function applyHttp1Limits(server: object, c: ServerConfig, checkEvery: number): void {
  Object.assign(server, http1Limits(c, checkEvery), c.maxRequestsPerSocket > 0 ? { maxRequestsPerSocket: c.maxRequestsPerSocket } : {});
}

/** The HTTP/1 limits from `[server]`, as node:http's server options name them. */
export function http1Limits(c: ServerConfig, checkEvery: number) {
  return {
    maxHeaderSize: c.maxHeaderSize,
    headersTimeout: c.headerTimeout,
    requestTimeout: c.requestTimeout,
    keepAliveTimeout: c.keepAlive,
    connectionsCheckingInterval: checkEvery,
    requireHostHeader: true,
    joinDuplicateHeaders: false,
  };
}

/**
 * What an h2 request needs before the handlers see it (HTTP/1 gets these from node:http and
 * EngineResponse). False when its header list is over `maxHeaderSize`: Node announces the limit
 * (SETTINGS_MAX_HEADER_LIST_SIZE) but does not enforce it on what it receives.
 */
export function prepareH2(req: http.IncomingMessage, res: http.ServerResponse, id: string, maxHeaderSize: number): boolean {
  // H2Response adds the id as it responds (from its exchange): no header stored per request.
  if (!(res instanceof H2Response)) res.setHeader('x-request-id', id);
  // RFC 9113 §6.5.2: name and value octets plus 32 per field (ASCII: characters are octets).
  const raw = req.rawHeaders;
  let size = 0;
  for (let i = 0; i < raw.length; i++) size += raw[i]!.length;
  if (size + 16 * raw.length > maxHeaderSize) return false;
  // Handlers and apps read Host; an h2 client sends :authority instead (RFC 9113 §8.3.1).
  if (req.headers.host === undefined) {
    const authority = req.headers[':authority'];
    if (typeof authority === 'string') req.headers.host = authority;
  }
  return true;
}

/** Answers some bodyless streams itself at the stream event (h2fast.ts H2FastPath); false: not this one. */
export interface FastStreams {
  answer(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, raw: string[]): boolean;
}

/**
 * Every h2 stream of `server` goes to `dispatch` as a request/response pair (h2Pair), but those `fast`
 * answers itself (a cached static file: h2fast.ts). The server must come from listener.ts, which
 * keeps node:http2 from adding its compatibility API's own listener.
 */
export function takeStreams(server: EventEmitter, dispatch: (req: http.IncomingMessage, res: http.ServerResponse) => void, fast?: FastStreams): void {
  server.on('stream', (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, _flags: number, raw: string[]) => {
    // A cached static file is answered right here (h2fast.ts); everything else becomes a request/response pair.
    if (fast !== undefined && stream.endAfterHeaders && fast.answer(stream, headers, raw)) return;
    const pair = h2Pair(stream, headers, raw);
    if (pair) dispatch(pair[0], pair[1]);
  });
  // A Node that set up its compatibility API anyway would answer every stream twice.
  if (server.listenerCount('stream') !== 1) throw new Error('node:http2 installed its compatibility listener: h2 streams would be answered twice');
}

/**
 * The request/response pair for an h2 stream, or undefined when it was answered here. A stream whose
 * HEADERS ended it (no body: most GETs) gets the lean pair over the stream API; one with a body, an
 * `Expect` or CONNECT gets node:http2's compatibility objects, as its own `'stream'` listener would
 * make them (which the engine's server does not install: listener.ts).
 */
export function h2Pair(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, rawHeaders: string[]): [http.IncomingMessage, http.ServerResponse] | undefined {
  const method = headers[':method'];
  if (stream.endAfterHeaders && method !== 'CONNECT' && headers.expect === undefined) {
    const req = new H2Request(stream, headers, rawHeaders);
    return [req as unknown as http.IncomingMessage, new H2Response(stream, req) as unknown as http.ServerResponse];
  }
  const req = new http2.Http2ServerRequest(stream, headers, undefined as never, rawHeaders);
  const res = new http2.Http2ServerResponse(stream);
  if (method === 'CONNECT') {
    refuseH2Connect(res);
    return undefined;
  }
  if (headers.expect !== undefined) {
    if (headers.expect !== '100-continue') {
      res.statusCode = 417;
      res.end();
      return undefined;
    }
    res.writeContinue();
  }
  return [req as unknown as http.IncomingMessage, res as unknown as http.ServerResponse];
}

/** An h2 CONNECT stream has no socket to hand to the forward proxy: 501 (tunnels are HTTP/1.1 only). */
function refuseH2Connect(res: http2.Http2ServerResponse): void {
  res.writeHead(501, { 'content-type': 'text/plain' }).end('SKT_METHOD_NOT_IMPLEMENTED: CONNECT is served over HTTP/1.1 only\n');
}

import type http from 'node:http';
import type { Socket } from 'node:net';
import type { AccessConnection } from '../log/access.js';
import { childTraceparent, incomingTrace, traceOf } from '../log/trace.js';
import { H2Request } from './h2request.js';
import type { Exchange } from './handler.js';
import type { InFlightEntry } from './inflight.js';
import type { RouteStats } from './traffic.js';
import type { Upgrade } from './upgrade.js';

/** One request as the engine and its handlers see it: the parsed target, the client, and per-request state. */
export class RequestExchange implements Exchange {
  readonly path: string;
  readonly query: string;
  readonly method: string;
  /** The request target as the client sent it, for the access log: a mounted Node app rewrites `req.url`. */
  readonly url: string;
  /** When the request arrived (performance.now()); measured only when the access log or the metrics are on. */
  start = 0;
  /** The route that took the request, for the metrics (set as each handler is asked). */
  stats: RouteStats | undefined = undefined;
  /** HTTP/2: the session's socket bytes written before this response, for the access log (HTTP/1.1 keeps them per connection: http/accessline.ts). */
  sentBefore = 0;
  /**
   * Kept for the access log: a handler passing `req` to undici as a body gets it destroyed, which
   * drops `req.socket`. A bodyless h2 request's socket view is made when first asked for: its request
   * never drops it, and most requests never ask.
   */
  get socket(): Socket {
    return (this.#socket ??= this.req.socket);
  }
  #socket: Socket | undefined;
  /** The counter the id was generated from (log/trace.ts `requestIdOf`), 0 when a trusted proxy named the request. */
  seq = 0;
  /** Set by the engine for a WebSocket handshake. */
  upgrade: Upgrade | undefined = undefined;
  prev: InFlightEntry | undefined = undefined;
  next: InFlightEntry | undefined = undefined;
  // The access line's facts from the response's end (http/accessline.ts): the exchange is its own
  // record until the log formats the turn's lines, so a logged request allocates nothing more.
  /** The response status, for the access line. */
  status = 0;
  /** The response's bytes on the wire, for the access line. */
  bytes = 0;
  /** ms from arrival to the response's end, for the access line. */
  ms = 0;
  /** The client left before the response was complete, for the access line. */
  aborted = false;
  /** The client's port, for the access line. */
  port = 0;
  /** The client connection's part of the access line (HTTP/1.1). */
  conn: AccessConnection | undefined = undefined;
  /** `<trace-id>-<flags>`, worked out at the first outgoing call: most requests make none. */
  #trace: string | undefined;
  #headers: http.IncomingHttpHeaders | undefined = undefined;
  constructor(
    readonly req: http.IncomingMessage,
    readonly res: http.ServerResponse,
    target: string,
    readonly remote: string,
    readonly id: string,
    public devel: boolean,
    readonly compressMin: number,
    readonly hideSecrets: (text: string) => string,
  ) {
    const q = target.indexOf('?');
    this.path = q < 0 ? target : target.slice(0, q);
    this.query = q < 0 ? '' : target.slice(q + 1);
    this.method = req.method ?? 'GET';
    this.url = req.url ?? '';
    if (!(req instanceof H2Request)) this.#socket = req.socket;
  }

  /**
   * `req.headers`, read once: node:http's is a getter whose every read costs about as much as a
   * dozen property reads (two of them megamorphic), and the engine reads the headers more than once
   * per request (the Host, the access line's User-Agent and `traceparent`).
   */
  get headers(): http.IncomingHttpHeaders {
    return (this.#headers ??= this.req.headers);
  }

  traceparent(): string {
    this.#trace ??= traceOf(this.headers.traceparent);
    return childTraceparent(this.#trace);
  }

  /** The access line's HTTP version (`1.1`, `2.0`). */
  get version(): string {
    return this.req.httpVersion;
  }

  /** The access line's trace id: {@link traceId}, read when the line is formatted. */
  get trace(): string | undefined {
    return this.traceId();
  }

  /** The access line's User-Agent. */
  get ua(): string | undefined {
    return this.headers['user-agent'];
  }

  /**
   * The W3C trace id this request belongs to, for its access line: the incoming `traceparent`'s
   * when valid, or the one started for its first outgoing call; undefined when it has neither (no
   * trace is started just to be logged).
   */
  traceId(): string | undefined {
    if (this.#trace === undefined) {
      const header = this.headers.traceparent;
      if (header === undefined) return undefined;
      this.#trace = incomingTrace(header);
      if (this.#trace === undefined) return undefined;
    }
    return this.#trace.slice(0, 32);
  }
}

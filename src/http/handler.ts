import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Upgrade } from './upgrade.js';

/**
 * What the engine knows of a request before any handler runs. Built once per request so that
 * handlers do not parse the URL again.
 */
export interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** Request path as sent (still percent-encoded), without the query. */
  readonly path: string;
  /** Query string without the leading `?` ('' when absent). */
  readonly query: string;
  /** Client address: the socket peer, or the X-Forwarded-For client when the peer is a trusted proxy. */
  readonly remote: string;
  /** Upper-case method. */
  readonly method: string;
  /**
   * True when error pages may show messages and stacks: `[server] devel`, or set by the app handler
   * that takes the request when its app has `app.devel = true` (so only that app's requests).
   */
  devel: boolean;
  /** Blanks out the site's secrets in text an error page shows; absent, only URL credentials are hidden. */
  readonly hideSecrets?: ((text: string) => string) | undefined;
  /** Smallest body worth compressing, in bytes (0 turns compression off). */
  readonly compressMin: number;
  /** When the engine received the request (performance.now() ms); 0 when the access log is off. */
  readonly start: number;
  /**
   * The request id: `X-Request-Id` from a trusted proxy when valid, else one made here. Sent back in
   * the response's `X-Request-Id`, written in its log lines, and sent on every outgoing call.
   */
  readonly id: string;
  /** A W3C `traceparent` for one outgoing hop: the request's trace id (kept from the client's header), a new span id. */
  traceparent(): string;
  /** Set when the request is a WebSocket handshake: a handler that speaks WebSocket accepts it (docs/websocket.md). */
  readonly upgrade?: Upgrade | undefined;
}

/**
 * A role the engine can hand a request to (static files, an app, RPC, proxy...). Two methods, like
 * a router: the engine asks each handler of the matching mount in order, and the first one that
 * answers true owns the response.
 */
export interface Handler {
  /** Short name for logs and status pages, e.g. `static:/srv/www`. */
  readonly name: string;
  /**
   * Take the request (resolve true, and finish the response) or decline it (resolve false without
   * touching the response) so the next handler can try. `prefix` is the mount prefix that matched
   * ('' for the root mount); `rest` is the path after it, starting with '/' or empty.
   */
  handle(ex: Exchange, prefix: string, rest: string): boolean | Promise<boolean>;
  /** Optional start-up work (load modules, start background tasks). */
  start?(): Promise<void>;
  /** Optional shutdown work; must stop every timer and background task the handler owns. */
  close?(): Promise<void>;
  /**
   * Optional: the engine begins to stop (shutdown or reload). A handler holding long-lived
   * connections (WebSockets) asks them to end now (close 1001) and resolves once they have; the
   * engine waits for it within the grace period, then destroys what is left.
   */
  goingAway?(): Promise<void>;
  /**
   * Optional, for the h2 fast path (http/h2fast.ts): true when this handler would decline a `GET` or
   * `HEAD` without a body for `rest`, whatever the request's headers, without touching the response.
   * The engine then answers such a request at the stream event when a later handler has it
   * {@link prepared}. A handler without this method is taken to answer: the request goes the full way.
   */
  declines?(method: 'GET' | 'HEAD', rest: string): boolean;
  /**
   * Optional, for the h2 fast path: this handler's whole answer to a `GET` or `HEAD` for `rest` without
   * a body, a Range or a conditional header, when it is prepared in memory and fresh (the static
   * handler's cached files). Undefined: the handler must be asked the full way (it may still take the
   * request). The answer is what {@link handle} would send, headers and bytes alike.
   */
  prepared?(rest: string, acceptEncoding: string | undefined, compressMin: number): PreparedAnswer | undefined;
}

/** A 200 answer made once (per file version and encoding) for the h2 fast path; see {@link Handler.prepared}. */
export interface PreparedAnswer {
  /**
   * The header object for node:http2's `respond()`: `:status` 200, the answer's headers in lower
   * case, and an `x-request-id` slot the engine fills right before `respond()`, which copies it.
   * Shared by every request: nothing else may be changed in it.
   */
  readonly h2Head: Record<string, string | number>;
  /** The body (a GET's; a HEAD gets the same headers and none). */
  readonly body: Buffer;
}

/**
 * A CONNECT request (RFC 9110 §9.3.6) after the engine handed its socket over: from here on the
 * socket carries whatever the tunnel relays, and the engine no longer parses it.
 */
export interface Tunnel {
  readonly req: IncomingMessage;
  /** The client connection (a TLS socket when the server speaks HTTPS). Paused until the handler reads. */
  readonly socket: Duplex;
  /** Bytes the client sent after the request head (early tunnel data); often empty. */
  readonly head: Buffer;
  /** Client address, resolved as for requests (`trusted_proxies`). */
  readonly remote: string;
  /**
   * Report the outcome once the tunnel (or its refusal) is over, for the access log: the status
   * answered (0 when the client left before anything was), bytes sent from client to target
   * (`up`) and from target to client (`down`).
   */
  done(status: number, up: number, down: number): void;
}

/** The one role that takes CONNECT requests (the forward proxy). Without one the engine answers 501. */
export interface TunnelHandler {
  readonly name: string;
  connect(tunnel: Tunnel): void;
}

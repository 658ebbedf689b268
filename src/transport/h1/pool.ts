import { performance } from 'node:perf_hooks';
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { Connection, type ConnectionOwner } from './connection.js';
import { H1Error, type H1Dispatcher, type H1Handler, type H1Request } from './types.js';

/**
 * The reverse proxy's HTTP/1.1 client for one member: at most `connections` sockets, requests past
 * that wait in a FIFO queue, idle sockets are kept for reuse (most recently used first) until the
 * keep-alive time — a shorter `Keep-Alive: timeout` from the member wins, less a 2 s margin, as
 * undici does — and never written to once the member has closed them. Plain TCP or TLS
 * (certificates always verified; `caFile` replaces the system CAs). It knows nothing of clusters
 * or retries: failures go to the request's handler, classified later by `classify()`.
 */

export interface MemberPoolOptions {
  /** `http://host:port` or `https://host:port`: the Host header and the TLS name. */
  readonly origin: string;
  /** Dial this address instead of the origin's host (a member found in DNS). */
  readonly address?: string | undefined;
  /** Connections at most. */
  readonly connections: number;
  /** ms for TCP connect and TLS handshake. */
  readonly connectTimeout: number;
  /** ms an idle connection is kept. */
  readonly keepAlive: number;
  /** PEM CA bundle to trust instead of the system's. */
  readonly caFile?: string | undefined;
  /**
   * ms of idleness after which a connection is written to only after one turn of the event loop,
   * so that a close the member sent meanwhile is seen first (default 1000; tests use 0).
   */
  readonly recheckAfter?: number | undefined;
}

/** Less than the member's announced keep-alive: a request must not cross its close on the wire. */
const KEEP_ALIVE_MARGIN = 2000;
/**
 * A connection idle longer than this may have been closed by the member a moment ago, its FIN not
 * yet read: the request waits one turn of the event loop (a `setImmediate`, as undici does for
 * every reuse) so the close is seen before anything is written. Busier connections are written at once.
 */
const RECHECK_AFTER = 1000;
/** How often idle connections past their time are closed. */
const SWEEP_MS = 1000;

/** A long-idle connection, one event-loop turn later: still good, or dropped and the request sent another way. */
function recheck(pool: MemberPool, conn: Connection, req: H1Request, handler: H1Handler): void {
  if (conn.usable) return conn.send(req, handler);
  conn.destroy();
  pool.dispatch(req, handler);
}

interface Waiting {
  readonly req: H1Request;
  readonly handler: H1Handler;
}

export class MemberPool implements H1Dispatcher, ConnectionOwner {
  readonly host: string;
  readonly #hostname: string;
  readonly #port: number;
  readonly #tls: tls.ConnectionOptions | undefined;
  readonly #max: number;
  readonly #connectTimeout: number;
  readonly #keepAlive: number;
  readonly #recheckAfter: number;
  /** Idle connections, the most recently used last. */
  readonly #idle: Connection[] = [];
  readonly #queue: Waiting[] = [];
  #queueHead = 0;
  /** Connections open or opening. */
  #count = 0;
  readonly #all = new Set<Connection>();
  #closing = false;
  #destroyed = false;
  #sweep: NodeJS.Timeout | undefined;
  #drained: (() => void) | undefined;

  constructor(options: MemberPoolOptions) {
    const url = new URL(options.origin);
    const secure = url.protocol === 'https:';
    this.host = url.host;
    const name = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    this.#hostname = options.address ?? name;
    this.#port = url.port === '' ? (secure ? 443 : 80) : Number(url.port);
    this.#max = options.connections;
    this.#connectTimeout = options.connectTimeout;
    this.#keepAlive = options.keepAlive;
    this.#recheckAfter = options.recheckAfter ?? RECHECK_AFTER;
    if (secure) {
      const ca = options.caFile ? fs.readFileSync(options.caFile, 'utf8') : undefined;
      // Certificates are always verified, against the origin's name (SNI only for names, not addresses).
      this.#tls = { rejectUnauthorized: true, ALPNProtocols: ['http/1.1'], ...(net.isIP(name) === 0 ? { servername: name } : {}), ...(ca ? { ca } : {}) };
    }
  }

  /** Connections open or opening, and idle ones among them (status, tests). */
  get stats(): { readonly connections: number; readonly idle: number; readonly queued: number } {
    return { connections: this.#count, idle: this.#idle.length, queued: this.#queue.length - this.#queueHead };
  }

  /** Send `req` on an idle connection, a new one, or when one is free (FIFO). */
  dispatch(req: H1Request, handler: H1Handler): boolean {
    if (this.#closing) {
      handler.onError(new H1Error('H1_CLOSED', 'the member pool is closed'));
      return false;
    }
    if (this.#queueHead === this.#queue.length) {
      const conn = this.#takeIdle();
      if (conn !== undefined) {
        if (performance.now() - conn.idleSince < this.#recheckAfter) conn.send(req, handler);
        else setImmediate(recheck, this, conn, req, handler);
        return true;
      }
    }
    this.#queue.push({ req, handler });
    if (this.#count < this.#max) this.#connect();
    return true;
  }

  #takeIdle(): Connection | undefined {
    const idle = this.#idle;
    const t = performance.now();
    for (let conn = idle.pop(); conn !== undefined; conn = idle.pop()) {
      // Closed by the member (its FIN was read) or past its time: never written to, so nothing is lost.
      if (conn.usable && conn.idleUntil > t) return conn;
      conn.destroy();
    }
    return undefined;
  }

  #connect(): void {
    this.#count++;
    const port = this.#port;
    const host = this.#hostname;
    const options = this.#tls;
    const socket = options === undefined ? net.connect({ host, port, noDelay: true }) : tls.connect({ ...options, host, port });
    if (options !== undefined) socket.setNoDelay(true);
    socket.setKeepAlive(true, 60_000);
    const conn = new Connection(this, socket);
    this.#all.add(conn);
    const timer = setTimeout(() => conn.destroy(new H1Error('H1_CONNECT_TIMEOUT', `no connection within ${this.#connectTimeout / 1000} s`)), this.#connectTimeout);
    socket.once(options === undefined ? 'connect' : 'secureConnect', () => {
      clearTimeout(timer);
      conn.opened();
      this.released(conn, true);
    });
    socket.once('close', () => clearTimeout(timer));
  }

  /** ConnectionOwner: a connection is free (new, or done with a request). */
  released(conn: Connection, reusable: boolean): void {
    if (!reusable || !conn.usable) {
      conn.destroy();
      return;
    }
    const next = this.#shift();
    if (next !== undefined) {
      // A handler whose client left while it waited aborts in onConnect, and the connection comes back here.
      conn.send(next.req, next.handler);
      return;
    }
    const idleMs = this.#idleMs(conn);
    if (this.#closing || idleMs <= 0) {
      conn.destroy();
      return;
    }
    const t = performance.now();
    conn.idleSince = t;
    conn.idleUntil = t + idleMs;
    this.#idle.push(conn);
    this.#sweep ??= setTimeout(() => this.#sweepIdle(), SWEEP_MS).unref();
  }

  /** ConnectionOwner: a connection closed; `err` when it never opened (the oldest waiting request gets it). */
  gone(conn: Connection, err: Error | undefined): void {
    this.#count--;
    this.#all.delete(conn);
    const i = this.#idle.lastIndexOf(conn);
    if (i >= 0) this.#idle.splice(i, 1);
    if (err !== undefined) this.#shift()?.handler.onError(err);
    // Requests still waiting and room for a connection: open one for them.
    if (this.#queueHead < this.#queue.length && this.#count < this.#max && !this.#destroyed) this.#connect();
    if (this.#count === 0 && this.#closing) this.#drained?.();
  }

  /** How long `conn` may stay idle: our keep-alive, or the member's shorter one less the margin. */
  #idleMs(conn: Connection): number {
    const announced = conn.keepAliveTimeout;
    return announced > 0 ? Math.min(this.#keepAlive, announced - KEEP_ALIVE_MARGIN) : this.#keepAlive;
  }

  /** The oldest waiting request, taken off the queue. */
  #shift(): Waiting | undefined {
    const queue = this.#queue;
    if (this.#queueHead === queue.length) return undefined;
    const next = queue[this.#queueHead]!;
    queue[this.#queueHead++] = undefined as unknown as Waiting;
    if (this.#queueHead === queue.length) {
      queue.length = 0;
      this.#queueHead = 0;
    }
    return next;
  }

  #sweepIdle(): void {
    this.#sweep = undefined;
    const t = performance.now();
    for (const conn of [...this.#idle]) if (conn.idleUntil <= t || !conn.usable) conn.destroy();
    if (this.#idle.length > 0) this.#sweep = setTimeout(() => this.#sweepIdle(), SWEEP_MS).unref();
  }

  /** Take no more requests; let those queued and running finish, then close every connection. */
  close(): Promise<void> {
    this.#closing = true;
    for (const conn of [...this.#idle]) conn.destroy();
    if (this.#count === 0) return Promise.resolve();
    return new Promise((resolve) => (this.#drained = resolve));
  }

  /** Fail what is queued and running (`H1_CLOSED`) and close every connection now. */
  destroy(): Promise<void> {
    this.#closing = true;
    this.#destroyed = true;
    const err = new H1Error('H1_CLOSED', 'the member pool was closed');
    for (let w = this.#shift(); w !== undefined; w = this.#shift()) w.handler.onError(err);
    for (const conn of [...this.#all]) conn.destroy(err);
    if (this.#count === 0) return Promise.resolve();
    return new Promise((resolve) => (this.#drained = resolve));
  }
}

import type { IncomingMessage } from 'node:http';
import type { WebSocketServer } from 'ws';
import type { App } from '../app/app.js';
import type { SocketRoute } from '../app/socket.js';
import { wsLib } from '../client/wslib.js';
import { sendError } from '../http/errorpage.js';
import type { Exchange } from '../http/handler.js';
import type { Logger } from '../log/logger.js';
import type { Was } from '../was/was.js';
import { AppSocket, type SocketHome } from './websocket/socket.js';

/** The `[server]` WebSocket settings of an app's sockets (docs/websocket.md, docs/config.md). */
export interface WsSettings {
  /** `max_ws_message_size`, bytes. */
  readonly maxMessageSize: number;
  /** `ws_idle_timeout`, ms; 0 = no pings, no idle close. */
  readonly idleTimeout: number;
  /** `ws_max_buffered`, bytes. */
  readonly maxBuffered: number;
  /** `ws_slow_client`. */
  readonly slowClient: 'close' | 'drop';
  /** `ws_compression`: offer permessage-deflate. */
  readonly compression: boolean;
}

export const DEFAULT_WS: WsSettings = { maxMessageSize: 1024 * 1024, idleTimeout: 60_000, maxBuffered: 4 * 1024 * 1024, slowClient: 'close', compression: false };

const KEY = /^[+/0-9A-Za-z]{22}==$/;

/**
 * The open sockets of one mounted app, in one worker: completes handshakes (one `ws` server per
 * route, in `noServer` mode: the engine owns the listening socket), pings and closes idle sockets
 * from one sweep timer, and closes every socket with 1001 when the worker stops or reloads.
 */
export class WsHub implements SocketHome {
  readonly maxBuffered: number;
  readonly slowClient: 'close' | 'drop';
  now = Date.now();
  readonly #settings: WsSettings;
  readonly #logger: Logger;
  readonly #servers = new Map<SocketRoute, WebSocketServer>();
  readonly #sockets = new Set<AppSocket>();
  #sweep: NodeJS.Timeout | undefined;
  #closing = false;
  #empty: (() => void) | undefined;

  constructor(settings: WsSettings, logger: Logger) {
    this.#settings = settings;
    this.#logger = logger;
    this.maxBuffered = settings.maxBuffered;
    this.slowClient = settings.slowClient;
  }

  /** Open sockets. */
  get size(): number {
    return this.#sockets.size;
  }

  /**
   * Finish a handshake that passed the route's checks: answer 101 and run `open`. A malformed
   * handshake gets 400 (426 for a version other than 13), a stopping worker 503.
   */
  accept(ex: Exchange, route: SocketRoute, was: Was<App>, args: Record<string, unknown>): void {
    const req = ex.req;
    if (this.#closing) return sendError(ex, 503, { detail: 'the server is shutting down', headers: { 'retry-after': '1' } });
    const version = req.headers['sec-websocket-version'];
    if (version !== '13' && version !== '8') return sendError(ex, 426, { detail: 'WebSocket version 13 is required', headers: { 'sec-websocket-version': '13' } });
    const key = req.headers['sec-websocket-key'];
    if (typeof key !== 'string' || !KEY.test(key.trim())) return sendError(ex, 400, { detail: 'the Sec-WebSocket-Key header is missing or malformed' });
    const socket = ex.upgrade!.accept();
    if (!socket) return;
    this.#server(route).handleUpgrade(req, socket, ex.upgrade!.head, (raw) => {
      this.now = Date.now();
      const ws = new AppSocket(raw, socket as unknown as { bytesRead: number }, was, route.handlers, this);
      this.#sockets.add(ws);
      this.#startSweep();
      if (this.#closing) ws.closeBy(1001, 'server going away');
      else ws.open(args);
    });
  }

  /** The worker stops or reloads: every socket is closed with 1001; resolves when all have closed. */
  goingAway(): Promise<void> {
    this.#closing = true;
    for (const ws of this.#sockets) ws.closeBy(1001, 'server going away');
    if (this.#sockets.size === 0) return this.#stop();
    return new Promise<void>((resolve) => (this.#empty = resolve));
  }

  /** Stop the sweep; what is still open is cut by the engine. */
  close(): Promise<void> {
    this.#closing = true;
    for (const server of this.#servers.values()) server.close();
    return this.#stop();
  }

  closed(ws: AppSocket): void {
    this.#sockets.delete(ws);
    if (this.#sockets.size > 0) return;
    if (this.#empty) {
      this.#empty();
      this.#empty = undefined;
    }
    void this.#stop();
  }

  failed(ws: AppSocket, what: string, err: unknown): void {
    this.#logger.error(`a WebSocket ${what} handler of ${ws.was.request.path} failed; the socket is closed with 1011`, err, { reqId: ws.id });
    ws.closeBy(1011, 'internal error');
    ws.raw.resume();
  }

  #stop(): Promise<void> {
    clearInterval(this.#sweep);
    this.#sweep = undefined;
    return Promise.resolve();
  }

  #server(route: SocketRoute): WebSocketServer {
    let server = this.#servers.get(route);
    if (server) return server;
    const s = this.#settings;
    const protocols = route.protocols;
    server = new (wsLib().WebSocketServer)({
      noServer: true,
      clientTracking: false,
      maxPayload: route.maxMessageSize ?? s.maxMessageSize,
      perMessageDeflate: s.compression,
      handleProtocols: protocols.length === 0 ? undefined : (offered: Set<string>, _req: IncomingMessage) => protocols.find((p) => offered.has(p)) ?? false,
    });
    this.#servers.set(route, server);
    return server;
  }

  /**
   * One timer per app: a socket that sent no byte for half the idle timeout is pinged, and closed
   * once it is quiet for all of it with the ping unanswered.
   */
  #startSweep(): void {
    const idle = this.#settings.idleTimeout;
    if (this.#sweep || idle === 0) return;
    const every = Math.max(100, Math.min(5000, Math.floor(idle / 4)));
    this.#sweep = setInterval(() => this.#tick(idle), every);
    this.#sweep.unref();
  }

  #tick(idle: number): void {
    const now = (this.now = Date.now());
    for (const ws of this.#sockets) {
      if (ws.closingSince !== 0) {
        // A peer that does not answer our close within the idle timeout is gone: cut it.
        if (now - ws.closingSince >= idle) ws.terminate();
        continue;
      }
      // Any bytes from the client since the last sweep (a message, a pong, part of a large message) count as life.
      const read = ws.socket.bytesRead;
      if (read !== ws.bytes) {
        ws.bytes = read;
        ws.seen = now;
        ws.pinged = false;
        continue;
      }
      const quiet = now - ws.seen;
      // Closed only after a ping went unanswered for a sweep at least: a sweep late after a blocked event loop pings first.
      if (quiet >= idle && ws.pinged) ws.closeBy(1001, 'idle timeout');
      else if (quiet >= idle / 2 && !ws.pinged) {
        ws.pinged = true;
        ws.ping();
      }
    }
  }
}

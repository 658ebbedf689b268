import type { WebSocket as RawSocket } from 'ws';
import type { App } from '../../app/app.js';
import type { ServerWebSocket, WebSocketHandlers, WsSendable } from '../../app/socket.js';
import type { Was } from '../../was/was.js';
import { WsFace } from '../../client/wsface.js';

/** What a socket needs of its hub: the limits, and where to report its end and its handlers' failures. */
export interface SocketHome {
  readonly maxBuffered: number;
  readonly slowClient: 'close' | 'drop';
  /** The hub's coarse clock (ms), advanced by its sweep: no clock read per message. */
  readonly now: number;
  closed(ws: AppSocket): void;
  failed(ws: AppSocket, what: string, err: unknown): void;
}

/**
 * One open socket of an `app.websocket()` route: the app's {@link ServerWebSocket} over a `ws`
 * socket. Messages go to the route's handlers one at a time (a handler's promise pauses reading),
 * sends past `ws_max_buffered` follow `ws_slow_client`, and the hub's sweep reads `seen` for the
 * idle timeout
 * (bytes read per sweep, not a clock read per message).
 */
export class AppSocket extends WsFace implements ServerWebSocket<App> {
  readonly data: Record<string, unknown> = {};
  dropped = 0;
  /** Hub clock time at which the sweep last saw bytes arrive from the client (any frame, or part of one). */
  seen: number;
  /** `socket.bytesRead` at the last sweep: growth means the client is alive, whatever it is sending. */
  bytes = 0;
  /** A ping went out for the current quiet spell. */
  pinged = false;
  /** Hub clock time the server began closing (idle, shutdown), 0 before: a peer that never answers is cut. */
  closingSince = 0;
  #groups: Set<string> | undefined;

  constructor(
    raw: RawSocket,
    /** The connection under `raw`: the sweep reads its `bytesRead`. */
    readonly socket: { readonly bytesRead: number },
    readonly was: Was<App>,
    readonly handlers: WebSocketHandlers<any, App>,
    readonly home: SocketHome,
  ) {
    super(raw);
    this.seen = home.now;
    raw.on('message', (data: Buffer, isBinary: boolean) => this.#message(data, isBinary));
    raw.on('close', (code: number, reason: Buffer) => this.#closed(code, reason));
  }

  get id(): string {
    return this.was.request.id;
  }
  get remote(): string {
    return this.was.request.remote;
  }
  get groups(): ReadonlySet<string> {
    return this.#groups ?? EMPTY;
  }

  send(data: WsSendable, options?: { binary?: boolean }): boolean {
    const raw = this.raw;
    if (raw.readyState !== 1) return false;
    const home = this.home;
    if (raw.bufferedAmount > home.maxBuffered) {
      if (home.slowClient === 'drop') {
        this.dropped++;
        return false;
      }
      // The close frame queues behind what is buffered; ws cuts the connection if it is not answered in 30 s.
      this.#closeBy(1008, 'client reads too slowly');
      return false;
    }
    if (options === undefined) raw.send(data);
    else raw.send(data, options);
    return true;
  }

  close(code?: number, reason?: string): void {
    this.#closeBy(code ?? 1000, reason);
  }

  terminate(): void {
    this.raw.terminate();
  }

  ping(data?: string | Buffer): void {
    if (this.raw.readyState === 1) this.raw.ping(data);
  }

  join(group: string): this {
    if (this.raw.readyState > 1) return this;
    (this.#groups ??= new Set()).add(group);
    this.was.app.groups.add(group, this);
    return this;
  }

  leave(group: string): this {
    if (this.#groups?.delete(group)) this.was.app.groups.remove(group, this);
    return this;
  }

  /** @internal close with a code of the server's (1001, 1008, 1011) and remember when, for the sweep. */
  closeBy(code: number, reason: string): void {
    this.#closeBy(code, reason);
  }

  #closeBy(code: number, reason: string | undefined): void {
    if (this.raw.readyState > 1) return;
    if (this.closingSince === 0) this.closingSince = this.home.now || 1;
    this.raw.close(code, reason);
  }

  /** Run the route's `open`; reading waits for it when it returns a promise. */
  open(args: Record<string, unknown>): void {
    this.#run('open', () => this.handlers.open?.(this, this.was, args));
  }

  #message(data: Buffer, isBinary: boolean): void {
    const handlers = this.handlers;
    if (!handlers.message) return;
    // No closure per message: this is the hot path.
    let result: unknown;
    try {
      result = handlers.message(this, isBinary ? data : data.toString(), isBinary);
    } catch (err) {
      this.home.failed(this, 'message', err);
      return;
    }
    if (result instanceof Promise) this.#await(result, 'message');
  }

  #run(what: string, fn: () => unknown): void {
    let result: unknown;
    try {
      result = fn();
    } catch (err) {
      this.home.failed(this, what, err);
      return;
    }
    if (result instanceof Promise) this.#await(result, what);
  }

  #await(result: Promise<unknown>, what: string): void {
    // One message at a time: no more frames are read (TCP pushes back on the client) until this settles.
    this.raw.pause();
    result.then(
      () => this.raw.resume(),
      (err: unknown) => this.home.failed(this, what, err),
    );
  }

  #closed(code: number, reason: Buffer): void {
    if (this.#groups) for (const g of this.#groups) this.was.app.groups.remove(g, this);
    this.#groups = undefined;
    this.home.closed(this);
    const handler = this.handlers.close;
    if (!handler) return;
    try {
      const r = handler.call(this.handlers, this, code, reason.toString());
      if (r instanceof Promise) r.catch((err: unknown) => this.home.failed(this, 'close', err));
    } catch (err) {
      this.home.failed(this, 'close', err);
    }
  }
}

const EMPTY: ReadonlySet<string> = new Set();

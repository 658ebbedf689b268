/**
 * The WebSocket face of an app (docs/websocket.md): the handlers a `app.websocket()` route takes,
 * the socket they are given, and the per-worker groups that `app.broadcast()` sends to. Types only,
 * plus the groups: the sockets themselves are made by the app handler (handlers/websocket.ts), over
 * the `ws` package, whose types never reach the public declarations.
 */
import type { Was } from '../was/was.js';
import type { Rule } from './rule.js';

/** A message as a handler receives it: text as a string, binary as a Buffer. */
export type WsMessage = string | Buffer;

/** What `send()` takes: a string goes as a text message, bytes as a binary one (unless `binary` says otherwise). */
export type WsSendable = string | Buffer | ArrayBuffer | ArrayBufferView;

/** The parts every Skitai WebSocket has, the server's ({@link ServerWebSocket}) and `was.ws()`'s. */
export interface WebSocketBase {
  /** 0 connecting, 1 open, 2 closing, 3 closed (the browser's numbers). */
  readonly readyState: number;
  /** Bytes queued for the peer and not yet handed to the network: what a slow reader makes grow. */
  readonly bufferedAmount: number;
  /** The subprotocol agreed at the handshake ('' for none). */
  readonly protocol: string;
  /** The extensions agreed at the handshake (`permessage-deflate` when compression is on), '' for none. */
  readonly extensions: string;
  /**
   * Queue a message. A string is a text message, anything else binary; `binary` overrides. Returns
   * false when the message was not queued: the socket is not open, or (a server socket) the peer
   * reads too slowly (`ws_slow_client`).
   */
  send(data: WsSendable, options?: { binary?: boolean }): boolean;
  /** Start the closing handshake (code 1000 unless given; the reason at most 123 bytes). */
  close(code?: number, reason?: string): void;
  /** Drop the connection without a closing handshake. */
  terminate(): void;
  /** Send a ping (the peer answers with a pong; Skitai pings idle sockets by itself). */
  ping(data?: string | Buffer): void;
}

/** An open socket of an `app.websocket()` route. */
export interface ServerWebSocket<TApp = unknown> extends WebSocketBase {
  /** The request id of the handshake, also in its access line and in `was.log` records. */
  readonly id: string;
  /** Client address (X-Forwarded-For applied for trusted proxies). */
  readonly remote: string;
  /** The `was` of the handshake: its request, user, session as read then, and the worker's services. */
  readonly was: Was<TApp>;
  /** Free for the app: whatever it wants to keep with this socket. */
  readonly data: Record<string, unknown>;
  /** Groups this socket is in (see {@link ServerWebSocket.join}). */
  readonly groups: ReadonlySet<string>;
  /** Messages `send()` dropped because the peer read too slowly (`ws_slow_client = drop`). */
  readonly dropped: number;
  /** Join a group of this worker: `app.broadcast(group, …)` then reaches this socket. Left when it closes. */
  join(group: string): this;
  leave(group: string): this;
}

/**
 * What an `app.websocket()` route does. Each may return a promise: the socket reads no further
 * message until it settles, so messages are handled one at a time, in order. A throw or rejection
 * is logged and closes the socket with 1011.
 */
export interface WebSocketHandlers<A = Record<string, any>, TApp = unknown> {
  /** The handshake succeeded; `args` are the rule's path parameters and the query, typed as for routes. */
  open?(ws: ServerWebSocket<TApp>, was: Was<TApp>, args: A): unknown;
  /** A whole message (fragments already joined). */
  message?(ws: ServerWebSocket<TApp>, data: WsMessage, isBinary: boolean): unknown;
  /** The socket closed: the peer's code and reason (1006 when the connection just ended). */
  close?(ws: ServerWebSocket<TApp>, code: number, reason: string): unknown;
}

/** Per-route WebSocket options. */
export interface WebSocketOptions {
  /** As a route's `permit`: groups allowed to open the socket (checked at the handshake). */
  permit?: string | readonly string[] | false;
  /** Largest message in bytes; default `[server] max_ws_message_size`. Larger closes with 1009. */
  maxMessageSize?: number;
  /** Subprotocols the route speaks, preferred first; the first one the client offers is chosen. */
  protocols?: readonly string[];
}

/** A registered `app.websocket()` route. */
export interface SocketRoute {
  readonly rule: Rule;
  readonly handlers: WebSocketHandlers<any, any>;
  readonly permit: readonly string[] | undefined;
  readonly maxMessageSize: number | undefined;
  readonly protocols: readonly string[];
}

/** The minimum {@link SocketGroups} needs of a socket. */
interface Member {
  send(data: WsSendable, options?: { binary?: boolean }): boolean;
}

/**
 * Named groups of this worker's sockets (Skitai's multicast): `ws.join('room:1')` in a handler,
 * `app.broadcast('room:1', text)` anywhere in the app, a web route included. A group lives in one
 * worker: with `processes > 1` each worker has its own (docs/websocket.md: reaching every worker).
 */
export class SocketGroups {
  readonly #groups = new Map<string, Set<Member>>();

  /** @internal */
  add(name: string, ws: Member): void {
    let set = this.#groups.get(name);
    if (!set) this.#groups.set(name, (set = new Set()));
    set.add(ws);
  }

  /** @internal */
  remove(name: string, ws: Member): void {
    const set = this.#groups.get(name);
    if (set?.delete(ws) && set.size === 0) this.#groups.delete(name);
  }

  /** Sockets of this worker in `name` right now. */
  size(name: string): number {
    return this.#groups.get(name)?.size ?? 0;
  }

  /** Names of this worker's groups that have sockets. */
  names(): string[] {
    return [...this.#groups.keys()];
  }

  /**
   * Send `data` to every socket of the group but `except`; returns how many queued it (a slow
   * reader may refuse: see `ws_slow_client`). Text is encoded once per socket by `ws`; for large
   * fan-outs of one message, pass a Buffer with `{ binary: false }` to encode it once.
   */
  broadcast(name: string, data: WsSendable, options?: { binary?: boolean; except?: Member }): number {
    const set = this.#groups.get(name);
    if (!set) return 0;
    let sent = 0;
    const send = options?.binary === undefined ? undefined : { binary: options.binary };
    // A send may close a slow socket, which leaves the set: a Set's iteration allows that, no copy needed.
    for (const ws of set) if (ws !== options?.except && ws.send(data, send)) sent++;
    return sent;
  }
}

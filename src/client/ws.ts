import fs from 'node:fs';
import type { WebSocket as RawSocket } from 'ws';
import { SkitaiError } from '../errors.js';
import type { RequestContext } from '../log/trace.js';
import { isClusterTarget, parseClusterTarget } from './target.js';
import type { Upstream } from './upstream.js';
import { wsLib } from './wslib.js';
import { WsFace } from './wsface.js';

/** Options of `was.ws()`. */
export interface WsOptions {
  /** Seconds the whole opening may take, failover included (the call deadline, as `getwait(timeout)`). Default 10. */
  timeout?: number;
  /** Extra request headers for the handshake (Cookie, Authorization…). */
  headers?: Record<string, string>;
  /** Subprotocols to offer. */
  protocols?: readonly string[];
  /** Largest message accepted from the server, in bytes (default 16 MiB); larger closes with 1009. */
  maxMessageSize?: number;
  /** @internal the request whose id and trace the handshake carries (`was` sets it). */
  context?: RequestContext | undefined;
}

/** A message from the server: text as a string, binary as a Buffer. */
export type WsClientMessage = string | Buffer;

/** A WebSocket opened by `was.ws()`: the same sending face as a server socket, with events. */
export interface ClientWebSocket {
  /** `host:port` of the member (or URL host) it is connected to. */
  readonly node: string;
  /** 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: number;
  /** Bytes queued for the server and not yet handed to the network. */
  readonly bufferedAmount: number;
  readonly protocol: string;
  readonly extensions: string;
  /** Queue a message (a string as text, anything else binary); false when the socket is not open. */
  send(data: string | Buffer | ArrayBuffer | ArrayBufferView, options?: { binary?: boolean }): boolean;
  close(code?: number, reason?: string): void;
  terminate(): void;
  ping(data?: string | Buffer): void;
  on(event: 'message', listener: (data: WsClientMessage, isBinary: boolean) => void): this;
  on(event: 'close', listener: (code: number, reason: string) => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  once(event: 'close', listener: (code: number, reason: string) => void): this;
}

class ClientSocket extends WsFace implements ClientWebSocket {
  constructor(
    raw: RawSocket,
    readonly node: string,
  ) {
    super(raw);
  }
  send(data: string | Buffer | ArrayBuffer | ArrayBufferView, options?: { binary?: boolean }): boolean {
    if (this.raw.readyState !== 1) return false;
    this.raw.send(data, options ?? {});
    return true;
  }
  close(code?: number, reason?: string): void {
    this.raw.close(code, reason);
  }
  terminate(): void {
    this.raw.terminate();
  }
  ping(data?: string | Buffer): void {
    if (this.raw.readyState === 1) this.raw.ping(data);
  }
  on(event: 'message' | 'close' | 'error', listener: (...args: any[]) => void): this {
    return this.#listen('on', event, listener);
  }
  once(event: 'close', listener: (code: number, reason: string) => void): this {
    return this.#listen('once', event, listener);
  }
  #listen(how: 'on' | 'once', event: string, listener: (...args: any[]) => void): this {
    if (event === 'message') this.raw[how]('message', (data: Buffer, isBinary: boolean) => listener(isBinary ? data : data.toString(), isBinary));
    else if (event === 'close') this.raw[how]('close', (code: number, reason: Buffer) => listener(code, reason.toString()));
    else this.raw[how](event, listener);
    return this;
  }
}

/** Where `@name` clusters are found (the worker's Clients). */
export interface UpstreamSource {
  upstream(name: string): Upstream;
}

/**
 * Open a client WebSocket: `ws://`/`wss://` (or `http(s)://`) URL, or `@name/uri` for a cluster
 * member chosen by its strategy and health, trying the next member when one cannot be reached or
 * refuses, within `timeout` seconds for the whole opening. Rejects with SKT_WS_CONNECT.
 */
export async function openWebSocket(source: UpstreamSource, target: string, options: WsOptions = {}): Promise<ClientWebSocket> {
  const deadline = Date.now() + (options.timeout ?? 10) * 1000;
  if (!isClusterTarget(target)) {
    let url: URL;
    try {
      url = new URL(target.replace(/^http/, 'ws'));
    } catch {
      throw new SkitaiError('SKT_WS_USAGE', `was.ws() takes a ws(s):// URL or "@name/path", got ${JSON.stringify(target)}`);
    }
    if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new SkitaiError('SKT_WS_USAGE', `was.ws() takes a ws(s):// URL or "@name/path", got ${url.protocol}`);
    const r = await attempt(url.href, url.host, deadline, options, undefined);
    if (typeof r === 'string') throw new SkitaiError('SKT_WS_CONNECT', `${url.host}: ${r}`);
    return r;
  }
  const { cluster, path } = parseClusterTarget(target);
  const up = source.upstream(cluster);
  const tried = new Set<string>();
  let last = 'no member to ask';
  for (;;) {
    const loan = up.lend(tried);
    if (loan === undefined) break;
    if (loan === 'breaker') {
      last = `the circuit breaker of @${cluster} is open`;
      break;
    }
    const origin = loan.endpoint.origin.replace(/^http/, 'ws');
    const ca = up.options.caFile ? fs.readFileSync(up.options.caFile, 'utf8') : undefined;
    const r = await attempt(origin + path, loan.node, deadline, options, ca);
    if (typeof r !== 'string') {
      loan.release(101);
      return r;
    }
    const status = r.startsWith('answered ') ? Number(r.slice(9, 12)) : 0;
    loan.release(status || 'failure');
    last = `${loan.node}: ${r}`;
    tried.add(loan.node);
    // A refusal below 500 (404, 401) is the answer of the service, not of one member: no failover.
    if ((status > 0 && status < 500) || Date.now() >= deadline || !up.cluster.tryRetry()) break;
  }
  throw new SkitaiError('SKT_WS_CONNECT', `cannot open a WebSocket to @${cluster}${path}: ${last}`);
}

/** One handshake: the open socket, or why it failed (`answered <status>` for an HTTP refusal). */
function attempt(url: string, node: string, deadline: number, options: WsOptions, ca: string | undefined): Promise<ClientSocket | string> {
  const left = deadline - Date.now();
  if (left <= 0) return Promise.resolve('the deadline passed');
  const headers: Record<string, string> = { ...options.headers };
  if (options.context) {
    headers['x-request-id'] = options.context.id;
    headers.traceparent = options.context.traceparent();
  }
  const Ws = wsLib().WebSocket;
  const raw = new Ws(url, options.protocols ? [...options.protocols] : undefined, {
    headers, handshakeTimeout: left, maxPayload: options.maxMessageSize ?? 16 * 1024 * 1024, perMessageDeflate: false, ...(ca ? { ca } : {}),
  });
  return new Promise((resolve) => {
    let done = false;
    const finish = (v: ClientSocket | string): void => {
      if (done) return;
      done = true;
      resolve(v);
    };
    raw.once('open', () => finish(new ClientSocket(raw, node)));
    raw.once('unexpected-response', (_req, res) => {
      res.resume();
      raw.terminate();
      finish(`answered ${res.statusCode} instead of 101`);
    });
    raw.once('error', (err: Error) => finish(/timed out/i.test(err.message) ? 'the handshake did not finish before the deadline' : err.message));
  });
}

/**
 * The request side of an h2 stream without a body, as the engine's handlers see it (docs/http2.md,
 * "Streams without the compatibility API"). node:http2's Http2ServerRequest hangs seven listeners on
 * every stream to feed a body; a request whose HEADERS ended the stream has none, so this one reads
 * its headers, method and target from the stream's header object, and is a Readable that ends at once
 * only for code that reads it as a stream (see {@link H2Request}).
 */
import type http from 'node:http';
import type http2 from 'node:http2';
import { Readable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { unmap } from './clientip.js';

const kPeer = Symbol('h2 peer');

/**
 * The client's address as the engine uses it (IPv4-mapped unmapped, '' when unknown), read from an
 * h2 stream's session once and kept there: no socket view is made per request for it. Takes either
 * kind of h2 request or response (ours and node's compatibility objects all have `stream`).
 */
export function h2Peer(req: { readonly stream: http2.ServerHttp2Stream }): string {
  return streamPeer(req.stream);
}

/** {@link h2Peer} for a bare stream (the fast path at the stream event has no request object). */
export function streamPeer(stream: http2.ServerHttp2Stream): string {
  const session = stream.session as (http2.ServerHttp2Session & { [kPeer]?: string }) | undefined;
  const kept = session?.[kPeer];
  if (kept !== undefined) return kept;
  const address = remoteOf(stream);
  if (address === undefined) return '';
  return (session![kPeer] = unmap(address));
}

/**
 * What `req.socket` / `res.socket` give for an h2 stream: the session's socket for reading
 * (addresses, `encrypted`, bytes written), the stream for what would end or destroy it, as Node's
 * compatibility API does (docs/http2.md: `res.socket` / `req.socket`).
 */
const kRemote = Symbol('h2 remote address');

/** The peer address of a stream's session, kept on the session: the same for each of its streams, and the session's socket is a Proxy. */
export function remoteOf(stream: http2.ServerHttp2Stream): string | undefined {
  const session = stream.session as (http2.ServerHttp2Session & { [kRemote]?: string }) | undefined;
  if (session === undefined) return undefined;
  const kept = session[kRemote];
  if (kept !== undefined) return kept;
  const address = (session.socket as Partial<TLSSocket> | undefined)?.remoteAddress;
  if (address !== undefined) session[kRemote] = address;
  return address;
}

export class H2Socket {
  readonly #stream: http2.ServerHttp2Stream;
  /**
   * The stream's session, kept: node detaches a stream from it when the stream closes, and the
   * access line reads the port and the bytes written just then (they were 0 and negative).
   */
  readonly #session: http2.Http2Session | undefined;

  constructor(stream: http2.ServerHttp2Stream) {
    this.#stream = stream;
    this.#session = stream.session;
  }

  #socket(): Partial<TLSSocket> {
    return (this.#session?.socket ?? {}) as Partial<TLSSocket>;
  }

  get remoteAddress(): string | undefined {
    return remoteOf(this.#stream);
  }
  get remotePort(): number | undefined {
    return this.#socket().remotePort;
  }
  get remoteFamily(): string | undefined {
    return this.#socket().remoteFamily;
  }
  get localAddress(): string | undefined {
    return this.#socket().localAddress;
  }
  get localPort(): number | undefined {
    return this.#socket().localPort;
  }
  get encrypted(): boolean {
    return this.#socket().encrypted === true;
  }
  get alpnProtocol(): string | false | null | undefined {
    return this.#socket().alpnProtocol;
  }
  get bytesWritten(): number {
    return this.#socket().bytesWritten ?? 0;
  }
  get bytesRead(): number {
    return this.#socket().bytesRead ?? 0;
  }
  get destroyed(): boolean {
    return this.#stream.destroyed;
  }
  get writable(): boolean {
    return this.#stream.writable;
  }
  end(): this {
    this.#stream.end();
    return this;
  }
  destroy(err?: Error): this {
    this.#stream.destroy(err);
    return this;
  }
  on(event: string, fn: (...args: unknown[]) => void): this {
    this.#stream.on(event, fn);
    return this;
  }
  once(event: string, fn: (...args: unknown[]) => void): this {
    this.#stream.once(event, fn);
    return this;
  }
  off(event: string, fn: (...args: unknown[]) => void): this {
    this.#stream.off(event, fn);
    return this;
  }
  setTimeout(ms: number, fn?: () => void): this {
    this.#stream.session?.setTimeout(ms, fn);
    return this;
  }
}

/** Readable's constructor, called on a request that already exists (see {@link H2Request}). */
const initReadable = Readable as unknown as (this: H2Request) => void;

/**
 * An h2 request whose HEADERS frame ended the stream: no body, so no listeners on the stream, and
 * no Readable state until something reads it as a stream. It is a Readable by its prototype
 * (`instanceof Readable`, every method), but Readable's constructor, which makes a ReadableState,
 * its two arrays and a listener object, runs only when Readable's own code first reads
 * `_readableState` (`on('data')`, `pipe()`, `resume()`, `readableEnded`, `for await`…): most
 * requests are answered without it, and those objects would otherwise stay alive with every stream
 * in flight (docs/performance.md, "HTTP/2"). Listeners added to the request itself before that are
 * EventEmitter's, made when the first one is added, and are kept.
 */
export class H2Request {
  readonly stream: http2.ServerHttp2Stream;
  readonly headers: http.IncomingHttpHeaders;
  readonly rawHeaders: string[];
  // The same for every request: on the prototype (below), not stored per request.
  declare readonly httpVersion: '2.0';
  declare readonly httpVersionMajor: 2;
  declare readonly httpVersionMinor: 0;
  declare readonly complete: true;
  declare readonly aborted: false;
  // EventEmitter's fields, as its constructor sets them but without the listener object: its
  // methods make that at the first listener.
  _events: object | undefined = undefined;
  _eventsCount = 0;
  _maxListeners: number | undefined = undefined;
  #socket: H2Socket | undefined;
  #trailers: Record<string, string> | undefined;
  #rawTrailers: string[] | undefined;

  constructor(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, rawHeaders: string[]) {
    this.stream = stream;
    this.headers = headers as http.IncomingHttpHeaders;
    this.rawHeaders = rawHeaders;
  }

  /** None ever arrive (the HEADERS frame ended the stream); made when asked for, as few handlers do. */
  get trailers(): Record<string, string> {
    return (this.#trailers ??= {});
  }
  get rawTrailers(): string[] {
    return (this.#rawTrailers ??= []);
  }

  _read(): void {
    this.push(null);
  }

  get method(): string {
    return (this.headers as Record<string, string>)[':method']!;
  }
  set method(method: string) {
    (this.headers as Record<string, string>)[':method'] = method;
  }

  /** The `:path` pseudo-header; a mounted Node app rewrites it, as on Node's own h2 request. */
  get url(): string {
    return (this.headers as Record<string, string>)[':path']!;
  }
  set url(url: string) {
    (this.headers as Record<string, string>)[':path'] = url;
  }

  get authority(): string | undefined {
    return (this.headers as Record<string, string | undefined>)[':authority'] ?? this.headers.host;
  }

  get scheme(): string | undefined {
    return (this.headers as Record<string, string | undefined>)[':scheme'];
  }

  get socket(): H2Socket {
    return (this.#socket ??= new H2Socket(this.stream));
  }

  get connection(): H2Socket {
    return this.socket;
  }

  /** The client's address, kept on the session (no socket view made for it). */
  get remoteAddress(): string | undefined {
    return remoteOf(this.stream);
  }

  setTimeout(ms: number, fn?: () => void): this {
    if (!this.stream.closed) this.stream.setTimeout(ms, fn);
    return this;
  }
}

// The Readable surface for the type checker; at run time it comes from the prototype set below.
export interface H2Request extends Omit<Readable, '_read' | 'setTimeout'> {}

Object.setPrototypeOf(H2Request.prototype, Readable.prototype);
// Writable, as own fields would be: an assignment gives that request its own value.
for (const [name, value] of Object.entries({ httpVersion: '2.0', httpVersionMajor: 2, httpVersionMinor: 0, complete: true, aborted: false })) {
  Object.defineProperty(H2Request.prototype, name, { value, writable: true, configurable: true });
}
/** Reading `_readableState` before it exists runs Readable's constructor on the request; its assignment lands as an own property. */
Object.defineProperty(H2Request.prototype, '_readableState', {
  configurable: true,
  get(this: H2Request) {
    initReadable.call(this);
    return (this as unknown as { _readableState: unknown })._readableState;
  },
  set(this: H2Request, state: unknown) {
    Object.defineProperty(this, '_readableState', { value: state, writable: true, enumerable: true, configurable: true });
  },
});

/**
 * The request side of an h2 stream without a body, as the engine's handlers see it (docs/http2.md,
 * "Streams without the compatibility API"). node:http2's Http2ServerRequest hangs seven listeners on
 * every stream to feed a body; a request whose HEADERS ended the stream has none, so this one is a
 * Readable that ends at once and reads its headers, method and target from the stream's header object.
 */
import type http from 'node:http';
import type http2 from 'node:http2';
import { Readable } from 'node:stream';
import type { TLSSocket } from 'node:tls';

/**
 * What `req.socket` / `res.socket` give for an h2 stream: the session's socket for reading
 * (addresses, `encrypted`, bytes written), the stream for what would end or destroy it, as Node's
 * compatibility API does (docs/http2.md: `res.socket` / `req.socket`).
 */
const kRemote = Symbol('h2 remote address');

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

  /** Kept on the session: it is the same for each of its streams, and the session's socket is a Proxy. */
  get remoteAddress(): string | undefined {
    const session = this.#stream.session as (http2.ServerHttp2Session & { [kRemote]?: string }) | undefined;
    if (session === undefined) return undefined;
    const kept = session[kRemote];
    if (kept !== undefined) return kept;
    const address = (session.socket as Partial<TLSSocket> | undefined)?.remoteAddress;
    if (address !== undefined) session[kRemote] = address;
    return address;
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

/** An h2 request whose HEADERS frame ended the stream: no body, so no listeners on the stream. */
export class H2Request extends Readable {
  readonly stream: http2.ServerHttp2Stream;
  readonly headers: http.IncomingHttpHeaders;
  readonly rawHeaders: string[];
  readonly httpVersion = '2.0';
  readonly httpVersionMajor = 2;
  readonly httpVersionMinor = 0;
  readonly complete = true;
  readonly aborted = false;
  #socket: H2Socket | undefined;
  #trailers: Record<string, string> | undefined;
  #rawTrailers: string[] | undefined;

  constructor(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, rawHeaders: string[]) {
    super();
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

  override _read(): void {
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

  setTimeout(ms: number, fn?: () => void): this {
    if (!this.stream.closed) this.stream.setTimeout(ms, fn);
    return this;
  }
}

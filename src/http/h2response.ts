/**
 * The response side of an h2 stream without a request body, written straight to node:http2's stream
 * API (`stream.respond(headers)` + `stream.end(body)`), with the surface of `http.ServerResponse` the
 * handlers use: headers, `writeHead`, `write`/`end` with backpressure (`'drain'`), `'finish'` and
 * `'close'`, so `respond()`, pipeline() and the proxy write to it as to any response. Compared with
 * node:http2's Http2ServerResponse it hangs two listeners on the stream instead of twelve, wires
 * `'drain'` only when someone listens for it, and does not ask for trailers (which made every
 * response end with an extra empty DATA frame after a `wantTrailers` round trip). docs/http2.md.
 */
import type http from 'node:http';
import type http2 from 'node:http2';
import { Stream } from 'node:stream';
import { checkHeader, lower, type HeaderValue } from './h2headers.js';
import { idNeverIndexed } from './h2id.js';
import { H2Socket, type H2Request } from './h2request.js';

type Listener = (...args: unknown[]) => void;
/** EventEmitter's own methods, which H2Response's overrides call on. */
const emitter = Stream.prototype as unknown as Record<'on' | 'addListener' | 'once' | 'prependListener', (this: unknown, event: string | symbol, fn: Listener) => unknown>;

const ID = 'x-request-id';
/** The empty header set every response starts with, shared (frozen: writes go to a set of its own). */
const NONE = Object.freeze(Object.create(null)) as Record<string, HeaderValue>;
/** respond()'s options, shared: node:http2 copies what it is given. */
const WITH_BODY = Object.freeze({ endStream: false, sendDate: true });
const END_ON_HEAD = Object.freeze({ endStream: true, sendDate: true });
function respondOptions(endStream: boolean, sendDate: boolean): http2.ServerStreamResponseOptions {
  if (!sendDate) return { endStream, sendDate } as http2.ServerStreamResponseOptions;
  return (endStream ? END_ON_HEAD : WITH_BODY) as http2.ServerStreamResponseOptions;
}
/** Shared by every stream: errors reach the response as its `'close'` (as in Node's compatibility API), never the process. */
function ignore(): void {}
/** The response of a stream, for the listeners below: shared functions, no closure per stream. */
const kResponse = Symbol('h2 response');
type Owned = http2.ServerHttp2Stream & { [kResponse]: H2Response | undefined };
function onStreamClose(this: Owned): void {
  const res = this[kResponse];
  if (res === undefined) return;
  // node keeps a closed stream object until its native handle is gone (about as long again as it
  // was open, under load): the response, its request and exchange must not stay alive with it.
  this[kResponse] = undefined;
  // emit() makes an array of its arguments even for no listener; most responses have none.
  const listened = res._events !== undefined;
  if (listened) res.emit('finish');
  res.onClosed?.();
  if (listened) res.emit('close');
}
function onStreamDrain(this: Owned): void {
  this[kResponse]?.emit('drain');
}

/**
 * A legacy `Stream` by its prototype (EventEmitter's methods, `pipe`), but without EventEmitter's
 * constructor, which makes a listener object per response: here it is made when the first listener
 * is added, and most responses get none (the engine is told of the close by {@link onClosed}).
 */
export class H2Response {
  readonly stream: http2.ServerHttp2Stream;
  readonly req: H2Request;
  /** The engine's exchange (EngineResponse's field; typed by what is read here: exchange.ts imports this layer's h2.ts). */
  exchange: { readonly id: string } | undefined = undefined;
  /**
   * Called when the stream closes, after `'finish'` and before `'close'` (the engine's own count and
   * access line, without a listener per response).
   */
  onClosed: (() => void) | undefined = undefined;
  // EventEmitter's fields, as its constructor sets them but without the listener object (see above).
  _events: object | undefined = undefined;
  _eventsCount = 0;
  _maxListeners: number | undefined = undefined;
  writable = true;
  sendDate = true;
  #status = 200;
  /** NONE until a header is stored: a prepared or plain-object answer never needs a set of its own. */
  #headers: Record<string, HeaderValue> = NONE;
  #ending = false;
  #drain = false;
  /** A header was stored with setHeader() & co. (the prepared path then declines). */
  #stored = false;
  /** Set by end() without a body around the head it writes: END_STREAM goes on the HEADERS frame. */
  #endOnHead = false;
  #socket: H2Socket | undefined;

  constructor(stream: http2.ServerHttp2Stream, req: H2Request) {
    this.stream = stream;
    this.req = req;
    (stream as Owned)[kResponse] = this;
    stream.on('error', ignore);
    stream.on('close', onStreamClose);
  }

  get statusCode(): number {
    return this.#status;
  }
  set statusCode(code: number) {
    code |= 0;
    if (code < 200 || code > 599) throw new RangeError(`invalid status code for an h2 response: ${code}`);
    this.#status = code;
  }
  get statusMessage(): string {
    return '';
  }
  set statusMessage(_: string) {
    // h2 has no reason phrase (RFC 9113 §8.3.2).
  }

  get headersSent(): boolean {
    return this.stream.headersSent;
  }
  get writableEnded(): boolean {
    return this.#ending;
  }
  get finished(): boolean {
    return this.#ending;
  }
  get writableFinished(): boolean {
    return this.stream.writableFinished;
  }
  get writableLength(): number {
    return this.stream.writableLength;
  }
  get writableHighWaterMark(): number {
    return this.stream.writableHighWaterMark;
  }
  get writableCorked(): number {
    return this.stream.writableCorked;
  }
  get destroyed(): boolean {
    return this.stream.destroyed;
  }
  get closed(): boolean {
    return this.stream.closed;
  }
  get socket(): H2Socket {
    return (this.#socket ??= new H2Socket(this.stream));
  }
  get connection(): H2Socket {
    return this.socket;
  }

  setHeader(name: string, value: HeaderValue): this {
    if (this.stream.headersSent) throw Object.assign(new Error('Cannot set headers after they are sent to the client'), { code: 'ERR_HTTP2_HEADERS_SENT' });
    this.#set(lower(name), value);
    return this;
  }

  #set(name: string, value: HeaderValue): void {
    checkHeader(name, value);
    // Connection-specific (RFC 9113 §8.2.2): Node's compatibility API drops it too.
    if (name === 'connection') return;
    this.#own()[name] = value;
    this.#stored = true;
  }

  appendHeader(name: string, value: HeaderValue): this {
    const key = name.toLowerCase();
    const there = this.getHeader(key);
    if (there === undefined) return this.setHeader(key, value);
    const list: string[] = Array.isArray(there) ? [...(there as string[])] : [String(there)];
    if (Array.isArray(value)) list.push(...(value as string[]));
    else list.push(String(value));
    return this.setHeader(key, list);
  }

  // Own properties only: after writeHead() the set can be a plain object (#respondWith).
  getHeader(name: string): HeaderValue | undefined {
    const headers = this.#headers;
    if (headers === NONE) return undefined;
    const key = lower(name);
    return Object.hasOwn(headers, key) ? headers[key] : undefined;
  }
  hasHeader(name: string): boolean {
    return this.getHeader(name) !== undefined;
  }
  getHeaderNames(): string[] {
    return Object.keys(this.#headers);
  }
  getHeaders(): Record<string, HeaderValue> {
    return Object.assign(Object.create(null) as Record<string, HeaderValue>, this.#headers);
  }
  removeHeader(name: string): void {
    const key = name.toLowerCase();
    if (key === 'date') this.sendDate = false;
    delete this.#headers[key];
  }

  /** As `http.ServerResponse#writeHead`: given headers replace the stored ones of the same name; a flat or paired list appends. */
  writeHead(status: number, reason?: string | http.OutgoingHttpHeaders | string[], headers?: http.OutgoingHttpHeaders | string[]): this {
    if (this.stream.destroyed || this.stream.closed) return this;
    if (this.stream.headersSent) throw Object.assign(new Error('Cannot write headers after they are sent to the client'), { code: 'ERR_HTTP2_HEADERS_SENT' });
    if (headers === undefined && typeof reason === 'object') headers = reason;
    if (!this.#stored && headers !== undefined && !Array.isArray(headers) && this.#respondWith(status, headers)) return this;
    if (Array.isArray(headers)) {
      const pairs = headers.length > 0 && Array.isArray(headers[0]);
      const step = pairs ? 1 : 2;
      const at = (i: number): [string, string] => (pairs ? (headers as unknown as [string, string][])[i]! : [headers[i]!, headers[i + 1]!]);
      for (let i = 0; i < headers.length; i += step) delete this.#headers[at(i)[0].toLowerCase()];
      for (let i = 0; i < headers.length; i += step) this.appendHeader(...at(i));
    } else if (headers) {
      for (const name in headers) {
        const value = headers[name];
        if (value !== undefined) this.#set(lower(name), value);
      }
    }
    this.statusCode = status;
    this.#respond();
    return this;
  }

  /**
   * writeHead() with nothing stored before (respond()'s whole bodies): the given headers go to
   * `stream.respond()` in a new plain object, which then serves getHeader() & co. The stored set is
   * a null-prototype object, which V8 keeps in dictionary mode; node:http2 walks what it is given
   * with for-in (no enum cache for a dictionary), a measurable part of a small response. False,
   * with nothing done, for a name the plain object could not hold (`__proto__`): the stored path.
   */
  #respondWith(status: number, given: http.OutgoingHttpHeaders): boolean {
    const out: Record<string, HeaderValue> = { ':status': 0 };
    for (const name in given) {
      const value = given[name];
      if (value === undefined) continue;
      const key = lower(name);
      if (key === '__proto__') return false;
      checkHeader(key, value);
      // Connection-specific (RFC 9113 §8.2.2): Node's compatibility API drops it too.
      if (key !== 'connection') out[key] = value;
    }
    this.statusCode = status;
    out[':status'] = this.#status;
    if (out[ID] === undefined && this.exchange !== undefined) out[ID] = this.exchange.id;
    idNeverIndexed(out);
    this.#headers = out;
    this.stream.respond(out as http2.OutgoingHttpHeaders, respondOptions(this.#endOnHead, this.sendDate));
    return true;
  }

  /** The stored set, made on the first write to it. */
  #own(): Record<string, HeaderValue> {
    if (this.#headers === NONE) this.#headers = Object.create(null) as Record<string, HeaderValue>;
    return this.#headers;
  }

  #respond(): void {
    const endStream = this.#endOnHead;
    const headers = this.#own();
    if (headers[ID] === undefined && this.exchange !== undefined) headers[ID] = this.exchange.id;
    headers[':status'] = this.#status;
    idNeverIndexed(headers);
    // sendDate: a Date header unless removeHeader('date') (Node's own option, missing from its types).
    this.stream.respond(headers as http2.OutgoingHttpHeaders, respondOptions(endStream, this.sendDate));
  }

  /**
   * Respond with `headers` made once per file version (the static handler's prepared files; valid,
   * lower-case names, no `:status`) and end with `body` (none: END_STREAM on HEADERS, for HEAD and
   * 304). False with the response untouched when headers were stored or a `beforeHeaders` hook
   * (cookies, CORS) waits on writeHead(): then writeHead() must merge them.
   */
  sendPrepared(status: number, headers: Readonly<Record<string, string>>, body: Uint8Array | undefined): boolean {
    const stream = this.stream;
    if (this.#stored || this.#ending || Object.hasOwn(this, 'writeHead') || stream.headersSent || stream.destroyed || stream.closed) return false;
    this.#ending = true;
    this.#status = status;
    // respond() copies what it is given: the shared object joins one made for this request.
    const out = Object.assign({ ':status': status } as Record<string, string | number>, headers);
    if (this.exchange !== undefined) out[ID] = this.exchange.id;
    idNeverIndexed(out);
    const empty = body === undefined || body.length === 0;
    stream.respond(out as http2.OutgoingHttpHeaders, respondOptions(empty, this.sendDate));
    if (!empty && !stream.writableEnded) stream.end(body);
    return true;
  }

  flushHeaders(): void {
    if (!this.stream.closed && !this.stream.headersSent) this.writeHead(this.#status);
  }

  write(chunk: string | Uint8Array, encoding?: BufferEncoding | ((err?: Error | null) => void), cb?: (err?: Error | null) => void): boolean {
    if (typeof encoding === 'function') {
      cb = encoding;
      encoding = undefined;
    }
    if (this.#ending || this.stream.closed || this.stream.destroyed) {
      const err = Object.assign(new Error(this.#ending ? 'write after end' : 'the h2 stream is closed'), { code: this.#ending ? 'ERR_STREAM_WRITE_AFTER_END' : 'ERR_HTTP2_INVALID_STREAM' });
      if (cb) process.nextTick(cb, err);
      return false;
    }
    if (!this.stream.headersSent) this.writeHead(this.#status);
    return this.stream.write(chunk, encoding ?? 'utf8', cb);
  }

  end(chunk?: string | Uint8Array | (() => void), encoding?: BufferEncoding | (() => void), cb?: () => void): this {
    if (typeof chunk === 'function') {
      cb = chunk;
      chunk = undefined;
    } else if (typeof encoding === 'function') {
      cb = encoding;
      encoding = undefined;
    }
    if (this.#ending || this.stream.closed) {
      if (cb) process.nextTick(cb);
      return this;
    }
    this.#ending = true;
    const stream = this.stream;
    if (stream.destroyed || stream.closed) return this;
    if (cb) this.once('finish', cb);
    const empty = chunk === undefined || chunk === null || chunk.length === 0;
    if (!stream.headersSent) {
      // No body: END_STREAM on the HEADERS frame itself. A beforeHeaders hook (cookies, CORS) waits
      // on writeHead(), the way Node's implicit head goes, so it is called when one is there.
      this.#endOnHead = empty;
      try {
        if (Object.hasOwn(this, 'writeHead')) this.writeHead(this.#status);
        else this.#respond();
      } finally {
        this.#endOnHead = false;
      }
      if (empty) return this;
    }
    // respond() has ended the stream for 204/304.
    if (stream.writableEnded || stream.destroyed) return this;
    if (empty) stream.end();
    else stream.end(chunk, (encoding ?? 'utf8') as BufferEncoding);
    return this;
  }

  destroy(err?: Error): this {
    if (!this.stream.destroyed) this.stream.destroy(err);
    return this;
  }

  setTimeout(ms: number, fn?: () => void): this {
    if (!this.stream.closed) this.stream.setTimeout(ms, fn);
    return this;
  }

  cork(): void {
    this.stream.cork();
  }
  uncork(): void {
    this.stream.uncork();
  }

  writeContinue(): void {
    if (!this.stream.headersSent && !this.stream.closed) this.stream.additionalHeaders({ ':status': 100 });
  }

  // 'drain' is passed on from the stream only once somebody listens for it: most responses are written whole.
  on(event: string | symbol, fn: Listener): this {
    if (event === 'drain') this.#wireDrain();
    return emitter.on.call(this, event, fn) as this;
  }
  addListener(event: string | symbol, fn: Listener): this {
    if (event === 'drain') this.#wireDrain();
    return emitter.addListener.call(this, event, fn) as this;
  }
  once(event: string | symbol, fn: Listener): this {
    if (event === 'drain') this.#wireDrain();
    return emitter.once.call(this, event, fn) as this;
  }
  prependListener(event: string | symbol, fn: Listener): this {
    if (event === 'drain') this.#wireDrain();
    return emitter.prependListener.call(this, event, fn) as this;
  }

  #wireDrain(): void {
    if (this.#drain) return;
    this.#drain = true;
    this.stream.on('drain', onStreamDrain);
  }
}

/**
 * Calls `fn` on `res` when it closes. A bodyless h2 stream's response calls it itself ({@link
 * H2Response.onClosed}): no listener per response; any other response gets a `'close'` listener.
 */
export function whenClosed<R extends Stream>(res: R, fn: (this: R) => void): void {
  if (res instanceof H2Response) res.onClosed = fn as () => void;
  else res.on('close', fn);
}

// EventEmitter's and Stream's surface for the type checker; at run time it comes from the prototype set below.
export interface H2Response extends Omit<Stream, 'on' | 'addListener' | 'once' | 'prependListener' | 'destroy'> {}
Object.setPrototypeOf(H2Response.prototype, Stream.prototype);

import { performance } from 'node:perf_hooks';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { ResponseParser, type ParserSink } from './parse.js';
import { H1Error, type H1Handler, type H1Request } from './types.js';
import { Upload, type UploadOwner } from './upload.js';

/**
 * One keep-alive connection to a member, carrying one request at a time (no pipelining). It writes
 * the request, feeds the member's bytes to the strict parser and hands the handler the head and the
 * body chunks; when the handler pushes back, the socket is paused, the rest of the chunk kept.
 * It knows its pool only through {@link ConnectionOwner}.
 */

/** The pool side of a connection. */
export interface ConnectionOwner {
  /** The Host header for the member. */
  readonly host: string;
  /** The connection finished its request; `reusable` = it may carry another. */
  released(conn: Connection, reusable: boolean): void;
  /** The connection is closed (or failed to open); called once. */
  gone(conn: Connection, err: Error | undefined): void;
}

/** Methods whose requests carry a body by their semantics: an empty one is sent as `Content-Length: 0` (as undici does). */
const PAYLOAD = new Set(['POST', 'PUT', 'PATCH', 'QUERY', 'PROPFIND', 'PROPPATCH']);
/** Bytes no request line or field may carry: a value with them would split the request. */
const UNSAFE = /[\0\r\n]/;
const UNSAFE_PATH = /[^\u0021-\u00ff]/;

const now = (): number => performance.now();

function onTimer(conn: Connection): void {
  conn.timerFired();
}

export class Connection implements ParserSink, UploadOwner {
  readonly socket: Socket;
  /** Set by the pool while the connection waits in its idle list: when it must be closed (performance.now()). */
  idleUntil = 0;
  /** Set by the pool when the connection went idle (performance.now()). */
  idleSince = 0;
  readonly #owner: ConnectionOwner;
  readonly #parser: ResponseParser;
  #handler: H1Handler | undefined;
  #request: H1Request | undefined;
  #open = false;
  #closed = false;
  /** Bytes of the request are on the wire: a failure from here on may have reached the member. */
  #written = false;
  #upload: Upload | undefined;
  #uploading = false;
  #ended = false;
  #reusable = true;
  #paused = false;
  #rest: Buffer | undefined;
  #restAt = 0;
  #eof = false;
  #error: Error | undefined;
  /** The response timer: one Timeout per connection, re-armed by moving `#due`. */
  #timer: NodeJS.Timeout | undefined;
  #timerAt = 0;
  #due = 0;
  #timeoutMs = 0;
  #timeoutCode = '';
  readonly #abort = (err?: Error): void => this.#aborted(err);
  readonly #resume = (): void => this.#resumed();

  constructor(owner: ConnectionOwner, socket: Socket) {
    this.#owner = owner;
    this.socket = socket;
    this.#parser = new ResponseParser(this);
    socket.on('data', (chunk: Buffer) => this.#data(chunk));
    socket.on('end', () => this.#end());
    socket.on('error', (err: Error) => (this.#error ??= err));
    socket.on('close', () => this.#close());
  }

  /** The socket is connected (and its TLS handshake done). */
  opened(): void {
    this.#open = true;
  }

  /** Idle, connected and not closed by the member: a request written now reaches a live socket. */
  get usable(): boolean {
    const s = this.socket;
    return this.#open && !this.#closed && !s.destroyed && !s.readableEnded && s.writable;
  }

  /** The member's `Keep-Alive: timeout=` of its latest response, in ms (0: none). */
  get keepAliveTimeout(): number {
    return this.#parser.keepAliveTimeout;
  }

  /** Close the connection (idempotent); a request on it fails with `err`. */
  destroy(err?: Error): void {
    if (this.#closed) return;
    if (err !== undefined) this.#error ??= err;
    this.socket.destroy();
    this.#close();
  }

  /**
   * Send `req` and report to `handler`. `onConnect` comes first: a handler that aborts in it (its
   * client left while it was queued) leaves the connection unused and free for the next request.
   */
  send(req: H1Request, handler: H1Handler): void {
    this.#handler = handler;
    this.#request = req;
    this.#written = false;
    handler.onConnect(this.#abort);
    if (this.#handler !== handler) return; // aborted before anything was written
    let head: string;
    try {
      head = this.#head(req);
    } catch (err) {
      this.#handler = undefined;
      this.#owner.released(this, true);
      handler.onError(err as Error);
      return;
    }
    this.#parser.reset(req.method === 'HEAD');
    this.#ended = false;
    this.#reusable = req.method !== 'HEAD'; // a HEAD answer with a stray body would poison the next exchange (undici closes too)
    this.#eof = false;
    this.#arm(req.headersTimeout ?? 0, 'H1_HEADERS_TIMEOUT');
    const socket = this.socket;
    this.#written = true;
    const body = req.body;
    if (body === null) {
      socket.write(head, 'latin1');
    } else if (Buffer.isBuffer(body)) {
      socket.cork();
      socket.write(head, 'latin1');
      socket.write(body);
      socket.uncork();
    } else {
      socket.write(head, 'latin1');
      this.#uploading = true;
      this.#upload = new Upload(body, socket, streamLength(req.headers), this);
    }
  }

  #head(req: H1Request): string {
    const { method, path, headers, body } = req;
    if (UNSAFE_PATH.test(path)) throw new H1Error('H1_INVALID_ARG', 'the request target holds a byte that cannot be sent');
    // Keep-alive said out loud, as undici does: an HTTP/1.0 member keeps the connection then too.
    let head = `${method} ${path} HTTP/1.1\r\nhost: ${this.#owner.host}\r\nconnection: keep-alive\r\n`;
    for (let i = 0; i < headers.length; i += 2) {
      const value = headers[i + 1]!;
      if (UNSAFE.test(value)) throw new H1Error('H1_INVALID_ARG', `the request header ${headers[i]} holds CR, LF or NUL`);
      head += `${headers[i]}: ${value}\r\n`;
    }
    if (body === null) {
      if (PAYLOAD.has(method)) head += 'content-length: 0\r\n';
    } else if (Buffer.isBuffer(body)) {
      if (body.length > 0 || PAYLOAD.has(method)) head += `content-length: ${body.length}\r\n`;
    } else if (body instanceof Readable && streamLength(headers) < 0) {
      head += 'transfer-encoding: chunked\r\n';
    }
    return head + '\r\n';
  }

  // ---- the parser's sink

  head(status: number, reason: string, raw: string[]): void {
    const handler = this.#handler;
    if (handler === undefined) return;
    this.#arm(this.#request!.bodyTimeout ?? 0, 'H1_BODY_TIMEOUT');
    if (!handler.onHeaders(status, raw, this.#resume, reason) && this.#handler === handler) this.#pause();
  }

  body(chunk: Buffer): boolean {
    const handler = this.#handler;
    if (handler === undefined) return false;
    if (this.#due !== 0) this.#due = now() + this.#timeoutMs;
    if (handler.onData(chunk)) return this.#handler === handler;
    if (this.#handler === handler) this.#pause();
    return false;
  }

  end(): void {
    this.#ended = true;
  }

  // ---- the upload's owner

  uploadProgress(): void {
    // A long upload is not a silent member: the wait for the head starts again with every chunk.
    if (this.#due !== 0 && this.#timeoutCode === 'H1_HEADERS_TIMEOUT') this.#due = now() + this.#timeoutMs;
  }

  uploadDone(): void {
    this.#uploading = false;
    this.#upload = undefined;
  }

  uploadFailed(err: Error): void {
    this.#upload = undefined;
    this.#uploading = false;
    this.#fail(err, true);
  }

  // ---- socket events

  #data(chunk: Buffer): void {
    if (this.#handler === undefined) {
      // Bytes nobody asked for (a stray body, an early close notice): this connection cannot be trusted.
      return this.destroy();
    }
    this.#feed(chunk, 0);
  }

  #feed(buf: Buffer, at: number): void {
    const handler = this.#handler!;
    try {
      at = this.#parser.execute(buf, at);
    } catch (err) {
      return this.#fail(err as Error, false);
    }
    if (this.#handler !== handler) return; // aborted from inside a callback
    if (this.#ended) {
      // Anything after a whole response was not asked for.
      if (at < buf.length) this.#reusable = false;
      return this.#complete(handler);
    }
    if (at < buf.length) {
      this.#rest = buf;
      this.#restAt = at;
    }
  }

  #end(): void {
    this.#eof = true;
    if (this.#handler === undefined) return this.destroy();
    if (!this.#paused) this.#atEof();
  }

  #atEof(): void {
    const handler = this.#handler!;
    try {
      this.#parser.eof();
    } catch (err) {
      return this.#fail(err as Error, false);
    }
    if (this.#ended && this.#handler === handler) {
      this.#reusable = false;
      this.#complete(handler);
    }
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#disarm();
    const handler = this.#handler;
    if (handler !== undefined) {
      const err = this.#error ?? new H1Error('H1_SOCKET', this.#parser.untouched ? 'the member closed the connection before answering' : 'the member closed the connection before the response ended');
      this.#fail(err, true);
    }
    this.#owner.gone(this, this.#open ? undefined : (this.#error ?? new H1Error('H1_SOCKET', 'the connection closed while it was being opened')));
  }

  // ---- flow

  #pause(): void {
    if (this.#paused) return;
    this.#paused = true;
    // undici's body timeout does not run while the reader pushes back; neither does ours.
    if (this.#timeoutCode === 'H1_BODY_TIMEOUT') this.#due = 0;
    this.socket.pause();
  }

  #resumed(): void {
    if (!this.#paused || this.#handler === undefined) return;
    this.#paused = false;
    if (this.#timeoutCode === 'H1_BODY_TIMEOUT') this.#arm(this.#timeoutMs, 'H1_BODY_TIMEOUT');
    const rest = this.#rest;
    if (rest !== undefined) {
      this.#rest = undefined;
      this.#feed(rest, this.#restAt);
      if (this.#paused || this.#handler === undefined) return;
    }
    if (this.#eof) this.#atEof();
    else this.socket.resume();
  }

  #complete(handler: H1Handler): void {
    this.#handler = undefined;
    this.#request = undefined;
    this.#disarm();
    const reusable = this.#reusable && this.#parser.keepAlive && !this.#uploading && !this.#eof && this.#rest === undefined;
    if (this.#uploading) {
      // The member answered before the whole body was sent: stop sending; the connection cannot carry another request.
      this.#upload?.stop(false);
      this.#upload = undefined;
      this.#uploading = false;
    }
    if (this.#paused) {
      this.#paused = false;
      this.socket.resume();
    }
    this.#owner.released(this, reusable);
    handler.onComplete(null);
  }

  /** The exchange failed: the connection is closed and the handler told once. */
  #fail(err: Error, destroyBody: boolean): void {
    const handler = this.#handler;
    if (handler === undefined) return;
    this.#handler = undefined;
    this.#request = undefined;
    this.#upload?.stop(destroyBody);
    this.#upload = undefined;
    this.#uploading = false;
    this.destroy(err);
    handler.onError(err);
  }

  #aborted(err?: Error): void {
    const handler = this.#handler;
    if (handler === undefined) return;
    const reason = err ?? new H1Error('H1_ABORTED', 'the request was aborted');
    if (!this.#written) {
      // Nothing went out: the connection stays good for the next request.
      this.#handler = undefined;
      this.#request = undefined;
      this.#owner.released(this, true);
      return handler.onError(reason);
    }
    this.#fail(reason, true);
  }

  // ---- the response timer

  #arm(ms: number, code: string): void {
    if (ms <= 0) {
      this.#due = 0;
      return;
    }
    const due = now() + ms;
    this.#due = due;
    this.#timeoutMs = ms;
    this.#timeoutCode = code;
    // A pending timer fires no later than due: it re-checks then. Otherwise start one for this due.
    if (this.#timer !== undefined && this.#timerAt <= due) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAt = due;
    this.#timer = setTimeout(onTimer, ms, this);
    this.#timer.unref();
  }

  #disarm(): void {
    this.#due = 0;
  }

  /** @internal the timer's callback. */
  timerFired(): void {
    this.#timer = undefined;
    const due = this.#due;
    if (due === 0 || this.#closed) return;
    const t = now();
    if (t < due) {
      this.#timerAt = due;
      this.#timer = setTimeout(onTimer, Math.ceil(due - t), this);
      this.#timer.unref();
      return;
    }
    const seconds = this.#timeoutMs / 1000;
    const what = this.#timeoutCode === 'H1_HEADERS_TIMEOUT' ? `no response head within ${seconds} s` : `the response body stalled for ${seconds} s`;
    this.#fail(new H1Error(this.#timeoutCode, what), true);
  }
}

/** A streamed body's Content-Length from the forwarded headers, or -1 (sent chunked). */
function streamLength(headers: readonly string[]): number {
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    if (name.length === 14 && name.toLowerCase() === 'content-length') return Number(headers[i + 1]);
  }
  return -1;
}

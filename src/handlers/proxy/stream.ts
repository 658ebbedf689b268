import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { Cancellable } from '../../call/deadline.js';
import type { Endpoint } from '../../transport/http/exchange.js';
import type { H1Dispatcher, H1Handler } from '../../transport/h1/types.js';
import { CallAbort, classify, type Failure } from '../../transport/http/failure.js';
import { isSkitaiError } from '../../errors.js';
import { relayHeaders } from './headers.js';

/**
 * The reverse proxy's transport: one attempt of one request on one member, its answer streamed
 * into the client's response as it arrives. It knows nothing of clusters, members or retries; the
 * caller picks the endpoint, and learns once, through `done`, how the attempt ended.
 *
 * Built on undici's `dispatch()` with this object as the handler, as the `was` clients are
 * (transport/http/exchange.ts): no `request()` Readable per response, no `pipeline` (whose per-call
 * AbortController made a DOMException per response), no AbortSignal per request — the client going
 * away calls {@link StreamExchange.cancel} directly. Response chunks are written as they come and
 * the member's socket is paused while the client's is full (backpressure both ways).
 */

/**
 * Where an attempt goes: an endpoint whose dispatcher is undici's (the forward proxy, h2 members)
 * or the proxy's own HTTP/1.1 member pool (transport/h1): both take the same `dispatch()`.
 */
export type StreamEndpoint = Omit<Endpoint, 'dispatcher'> & { readonly dispatcher: H1Dispatcher };

/** What a member is sent; built once per request, the same for every attempt. */
export interface Forward {
  readonly method: Dispatcher.HttpMethod;
  /** Path and query, as the member sees them. */
  readonly path: string;
  /** undici's flat `[name, value, …]` list. */
  readonly headers: string[];
  /** A buffered body (replayable), a stream (sent once), or none. */
  readonly body: Buffer | Readable | null;
  /** Our `Via` entry, joined to the answer's (the forward proxy); absent = the answer's Via passes as it is. */
  readonly via?: string | undefined;
}

/**
 * How an attempt ended:
 * - `relayed`: the answer went out whole, or the client left after it had started;
 * - `failed`: nothing reached the client; `failure` says why and whether the request may have
 *   reached the member (the caller may ask another member, or answer 502/503/504);
 * - `refused`: undici refused the request itself (not the member's fault; no member would take it);
 * - `bad-status` / `bad-headers`: the member answered something that cannot be relayed; nothing
 *   was written, so a 502 page can still go out;
 * - `too-large`: the request body passed the proxy's limit before anything was answered (413);
 * - `cut`: the attempt failed after the status line went out: the client connection was destroyed;
 * - `left`: the client went away before anything was answered.
 */
export type StreamEnd = 'relayed' | 'failed' | 'refused' | 'bad-status' | 'bad-headers' | 'too-large' | 'cut' | 'left';

/** The attempt's outcome, read by the caller in {@link StreamDone.streamDone}. */
export interface StreamOutcome {
  readonly end: StreamEnd;
  /** The member's status, 0 before its response headers came. */
  readonly status: number;
  /** What the attempt means for the member's health: its status, or `failure` / `cancelled` (not its fault). */
  readonly health: number | 'failure' | 'cancelled';
  /** Set for `failed`. */
  readonly failure: Failure | undefined;
  /** The error behind `failed`, `refused`, `bad-headers`, `too-large` and `cut`. */
  readonly error: Error | undefined;
}

/**
 * Who hears how an attempt ended: called exactly once per attempt, never from inside `start()`.
 * An object with a method rather than a callback, so the caller needs no closure per request.
 */
export interface StreamDone {
  streamDone(outcome: StreamOutcome): void;
}

/** undici refusing the request itself: not the member's fault, and no other member would take it either. */
const REFUSED_LOCALLY = new Set(['UND_ERR_INVALID_ARG', 'UND_ERR_NOT_SUPPORTED', 'H1_INVALID_ARG']);

/** Finds the exchange of a response from inside a shared 'drain' listener (`this` is the response). */
const EXCHANGE = Symbol('skitai.proxy.exchange');
type Tagged = ServerResponse & { [EXCHANGE]?: StreamExchange };

function onDrain(this: Tagged): void {
  this[EXCHANGE]?.drained();
}

/** True once the client's connection is gone (its 'close' may not have been emitted yet). */
function clientGone(res: ServerResponse): boolean {
  return res.destroyed || (res.socket !== null && res.socket.destroyed);
}

/** One attempt: `new StreamExchange(...).start()`; `cancel()` when the client goes away. */
export class StreamExchange implements Dispatcher.DispatchHandler, H1Handler, Cancellable, StreamOutcome {
  end: StreamEnd = 'failed';
  status = 0;
  health: number | 'failure' | 'cancelled' = 'cancelled';
  failure: Failure | undefined;
  error: Error | undefined;

  readonly #endpoint: StreamEndpoint;
  readonly #forward: Forward;
  readonly #res: ServerResponse;
  readonly #stallMs: number;
  readonly #done: StreamDone;
  #finished = false;
  /** True until `start()` returns: an end reported inside dispatch() is deferred, so `done` never runs re-entrantly. */
  #starting = true;
  /** The status line and headers were handed to the client's response: from here on a failure can only cut. */
  #answered = false;
  #abort: ((err?: Error) => void) | undefined;
  #resume: (() => void) | undefined;
  #cancelled: unknown;
  #waitingForDrain = false;

  constructor(endpoint: StreamEndpoint, forward: Forward, res: ServerResponse, stallMs: number, done: StreamDone) {
    this.#endpoint = endpoint;
    this.#forward = forward;
    this.#res = res;
    this.#stallMs = stallMs;
    this.#done = done;
  }

  /** Send the request. */
  start(): void {
    const endpoint = this.#endpoint;
    const forward = this.#forward;
    endpoint.dispatcher.dispatch(
      {
        origin: endpoint.origin,
        path: forward.path,
        method: forward.method,
        headers: forward.headers,
        body: forward.body,
        headersTimeout: endpoint.responseTimeout,
        bodyTimeout: endpoint.responseTimeout,
      },
      this,
    );
    this.#starting = false;
  }

  /**
   * The client went away (or, later, a deadline passed): stop the member's request. Reported at once;
   * counts for nothing in the member's health unless its answer had already started.
   */
  cancel(reason: unknown): void {
    if (this.#finished) return;
    this.#cancelled = reason;
    this.#abort?.(reason as Error);
    // Queued for a connection, undici has no abort for it yet: onConnect drops it.
    if (!this.#finished) this.#leave();
  }

  onConnect(abort: (err?: Error) => void): void {
    this.#abort = abort;
    if (this.#cancelled !== undefined) abort(this.#cancelled as Error);
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[] | string[], resume: () => void, statusText: string): boolean {
    if (this.#finished) return false;
    if (statusCode < 200 && statusCode >= 100) return true; // 1xx informational: the real response follows
    this.status = statusCode;
    if (statusCode < 100 || statusCode > 599) {
      // Node would throw ERR_HTTP_INVALID_STATUS_CODE (up to 999) or send it on; neither is an answer.
      this.#report('bad-status', 'failure');
      this.#abort?.();
      return false;
    }
    const res = this.#res;
    const headers = relayHeaders(rawHeaders, this.#forward.via);
    try {
      if (res.getHeaderNames().length === 0) {
        // The fast path: a flat list goes straight to the status line, repeated names (Set-Cookie) stay repeated.
        if (statusText) res.writeHead(statusCode, statusText, headers);
        else res.writeHead(statusCode, headers);
      } else {
        // The engine set a header already (Connection: close while draining): writeHead would
        // collapse repeated names then. The member's headers replace ours of the same name, and
        // its repeated ones stay repeated.
        for (let i = 0; i < headers.length; i += 2) res.removeHeader(headers[i]!);
        for (let i = 0; i < headers.length; i += 2) res.appendHeader(headers[i]!, headers[i + 1]!);
        if (statusText) res.writeHead(statusCode, statusText);
        else res.writeHead(statusCode);
      }
    } catch (err) {
      // Node refused a header or the reason phrase: nothing was written yet, so a page can still go out.
      if (!res.headersSent) {
        // writeHead keeps what it accepted (a bad reason phrase too) and would reuse it for the page.
        res.statusMessage = '';
        for (let i = 0; i < headers.length; i += 2) res.removeHeader(headers[i]!);
      }
      this.error = err as Error;
      this.#report('bad-headers', 'failure');
      this.#abort?.();
      return false;
    }
    this.#answered = true;
    this.#resume = resume;
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.#finished) return false;
    const res = this.#res;
    if (clientGone(res)) {
      // The client is gone; its 'close' (which cancels this) has not been emitted yet.
      this.cancel(new CallAbort('cancel'));
      return false;
    }
    if (res.write(chunk)) return true;
    // The client reads slower than the member sends: pause the member until the client drains.
    if (!this.#waitingForDrain) {
      this.#waitingForDrain = true;
      (res as Tagged)[EXCHANGE] = this;
      res.on('drain', onDrain);
      // undici's bodyTimeout does not run while paused, so a client that reads nothing would hold
      // the member connection for ever. With no 'timeout' listener Node destroys the socket after
      // stallMs without progress, and the close cancels this. After the response Node sets the
      // connection's keep-alive timeout again.
      res.setTimeout(this.#stallMs);
    }
    return false;
  }

  /** The client's response drained: let the member's body flow again. */
  drained(): void {
    if (!this.#finished) this.#resume?.();
  }

  onComplete(_trailers: string[] | null): void {
    if (this.#finished) return;
    this.#res.end();
    this.#report('relayed', this.status);
  }

  onError(err: Error): void {
    if (this.#finished) return;
    // The client went first (its upload broke, or its socket closed before its 'close' reached us): not the member's fault.
    if (this.#cancelled !== undefined || clientGone(this.#res)) return this.#leave();
    const tooLarge = isSkitaiError(err, 'SKT_BODY_TOO_LARGE');
    if (this.#answered) {
      // The status line is out: the client must see a truncated response, never a second one.
      this.error = err;
      this.#res.destroy();
      return this.#report('cut', tooLarge ? 'cancelled' : 'failure');
    }
    if (tooLarge) {
      this.error = err;
      return this.#report('too-large', 'cancelled');
    }
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && REFUSED_LOCALLY.has(code)) {
      this.error = err;
      return this.#report('refused', 'cancelled');
    }
    const failure = classify(err, this.#endpoint);
    this.failure = failure;
    this.error = err;
    this.#report('failed', failure.cancelled ? 'cancelled' : 'failure');
  }

  /** The client left: after the answer started the member did its part; before, nothing counts. */
  #leave(): void {
    if (this.#answered) this.#report('relayed', this.status);
    else this.#report('left', 'cancelled');
  }

  #report(end: StreamEnd, health: number | 'failure' | 'cancelled'): void {
    this.#finished = true;
    this.end = end;
    this.health = health;
    if (this.#waitingForDrain) this.#res.off('drain', onDrain);
    if (this.#starting) queueMicrotask(() => this.#done.streamDone(this));
    else this.#done.streamDone(this);
  }
}

import { performance } from 'node:perf_hooks';
import { STATUS_CODES } from 'node:http';
import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { undici } from './undici.js';
import type { Cancellable } from '../../call/deadline.js';
import type { CancelScope, Done, Outcome, Transport } from '../../call/outcome.js';
import { Result, type ResultHeaders } from '../../call/result.js';
import { Status } from '../../call/status.js';
import { SkitaiError, isSkitaiError } from '../../errors.js';
import type { H1Dispatcher, H1Handler, H1Request } from '../h1/types.js';
import { classify } from './failure.js';
import type { Prepared } from './prepared.js';
import { decodeContent, isEncoded, parseData } from './response.js';

/** Where and how one attempt is sent. */
export interface Endpoint {
  readonly dispatcher: Dispatcher;
  /** `http://host:port` or `https://host:port`. */
  readonly origin: string;
  /** `host:port`, for Results and messages. */
  readonly node: string;
  readonly connectTimeout: number;
  readonly responseTimeout: number;
  readonly maxResponseSize: number;
  /** A 5xx answer counts as a failure of the member (`fail_on_5xx`); it is returned either way, never retried. Default false. */
  readonly failOn5xx?: boolean;
  /**
   * Skitai's own HTTP/1.1 client to the same member (`call_client = skitai`): every request goes
   * there except a multipart (FormData) body, which undici encodes, so it goes to `dispatcher`.
   */
  readonly h1?: H1Dispatcher | undefined;
}

/**
 * Send one prepared request to one endpoint and read the whole answer into `done` as an
 * {@link Outcome}. Every failure becomes a TIMEOUT/NETERR Result. `cancel` cancels it (its reason
 * is a CallAbort). The health of an answer: a 4xx is the caller's problem and healthy; a 5xx is a
 * failure with `failOn5xx`; a broken RPC body with a 2xx is a NETERR and a failure; our own
 * cancellations count for nothing.
 *
 * The handler is undici's legacy `dispatch()` handler, which Skitai's own HTTP/1.1 client
 * (transport/h1) takes too: the body arrives as chunks into an array instead of through a Readable
 * stream, and cancelling is a direct call instead of an AbortSignal — about 10 µs less per call
 * than undici's `request()`; Skitai's own client another ~3.5 µs (`npm run bench -- clients`: 17.7 against 21.3 µs CPU per call).
 */
export function send(endpoint: Endpoint, prepared: Prepared, cancel: CancelScope | undefined, done: Done<Result>): void {
  const handler = new ExchangeHandler(endpoint, prepared, done);
  if (cancel) {
    cancel.add(handler);
    if (handler.finished) return; // cancelled before it started
  }
  const h1 = endpoint.h1;
  if (h1 !== undefined) {
    const body = h1Body(prepared.body);
    if (body !== undefined) {
      h1.dispatch({ method: prepared.method, path: prepared.path, headers: flat(prepared.headers), body, headersTimeout: endpoint.responseTimeout, bodyTimeout: endpoint.responseTimeout }, handler);
      handler.started();
      return;
    }
  }
  endpoint.dispatcher.dispatch(
    {
      origin: endpoint.origin,
      path: prepared.path,
      method: prepared.method as Dispatcher.HttpMethod,
      headers: prepared.headers,
      body: (prepared.body ?? null) as Dispatcher.DispatchOptions['body'],
      headersTimeout: endpoint.responseTimeout,
      bodyTimeout: endpoint.responseTimeout,
    },
    handler,
  );
  handler.started();
}

const EMPTY = Buffer.alloc(0);

/** A request body as transport/h1 sends it, or undefined for a FormData, which only undici encodes. */
function h1Body(body: Prepared['body']): H1Request['body'] | undefined {
  if (body === undefined) return null;
  if (typeof body === 'string') return Buffer.from(body);
  if (Buffer.isBuffer(body) || body instanceof Readable) return body;
  return undefined;
}

/** `{ name: value }` as transport/h1's `[name, value, …]`. */
function flat(headers: Record<string, string>): string[] {
  const list: string[] = [];
  for (const name in headers) list.push(name, headers[name]!);
  return list;
}

/** The HTTP transport of the call plan (`call/plan.ts`): one attempt to one member's endpoint. */
export const httpTransport: Transport<Endpoint, Prepared, Result> = { send };

/** {@link send} as a promise that never rejects (health probes). */
export function exchange(endpoint: Endpoint, prepared: Prepared, cancel?: CancelScope): Promise<Outcome> {
  return new Promise((resolve) => send(endpoint, prepared, cancel, resolve));
}

/** undici's (legacy, and native to its HTTP/1 client) handler interface, which transport/h1 speaks too, collecting one response. */
class ExchangeHandler implements Dispatcher.DispatchHandler, H1Handler, Cancellable {
  finished = false;
  readonly #endpoint: Endpoint;
  readonly #prepared: Prepared;
  readonly #done: Done<Result>;
  readonly #started = performance.now();
  /** True until `send()` returns: a failure reported inside dispatch() is deferred, so `done` never runs re-entrantly. */
  #sending = true;
  #abort: ((err?: Error) => void) | undefined;
  #cancelled: unknown;
  #code = 0;
  #headers: ResultHeaders | undefined;
  /** The body: its first chunk alone (the common case: one chunk), an array only from the second on. */
  #first: Buffer | undefined;
  #chunks: Buffer[] | undefined;
  #size = 0;

  constructor(endpoint: Endpoint, prepared: Prepared, done: Done<Result>) {
    this.#endpoint = endpoint;
    this.#prepared = prepared;
    this.#done = done;
  }

  started(): void {
    this.#sending = false;
  }

  /** The call's deadline or a lost hedge: report at once, and stop undici when it has the request. */
  cancel(reason: unknown): void {
    if (this.finished) return;
    this.#cancelled = reason;
    this.#fail(reason);
    this.#abort?.(reason as Error);
  }

  onConnect(abort: (err?: Error) => void): void {
    this.#abort = abort;
    // Cancelled while queued for a connection: it is reported already; now undici can drop it.
    if (this.#cancelled !== undefined) abort(this.#cancelled as Error);
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[] | string[], _resume: () => void, _statusText: string): boolean {
    if (statusCode < 200) return true; // 1xx informational: the real response follows
    this.#code = statusCode;
    // undici's own parse, for both clients: names lower-cased, repeats as arrays, values latin1.
    this.#headers = undici().util.parseHeaders(rawHeaders as Buffer[]) as ResultHeaders;
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.finished) return true;
    this.#size += chunk.length;
    const limit = this.#endpoint.maxResponseSize;
    if (this.#size > limit) {
      const err = new SkitaiError('SKT_CLIENT_RESPONSE', `the response from ${this.#endpoint.node} is over max_response_size (${limit} bytes)`);
      this.#fail(err);
      this.#abort?.(err);
      return false;
    }
    if (this.#first === undefined) this.#first = chunk;
    else (this.#chunks ??= [this.#first]).push(chunk);
    return true;
  }

  onComplete(_trailers: string[] | null): void {
    if (this.finished) return;
    const chunks = this.#chunks;
    const raw = chunks !== undefined ? Buffer.concat(chunks, this.#size) : (this.#first ?? EMPTY);
    const headers = this.#headers ?? {};
    if (isEncoded(headers) && raw.length > 0) {
      this.finished = true; // nothing undici does from here on changes the outcome
      decodeContent(raw, headers, this.#endpoint.maxResponseSize, this.#endpoint.node).then(
        (body) => this.#respond(headers, body),
        (err: unknown) => this.#report(this.#failure(err)),
      );
      return;
    }
    this.#respond(headers, raw);
  }

  onError(err: Error): void {
    if (!this.finished) this.#fail(err);
  }

  #respond(headers: ResultHeaders, body: Buffer): void {
    const code = this.#code;
    let outcome: Outcome;
    try {
      const parsed = parseData(this.#prepared, code, headers, body);
      const result = new Result({
        status: Status.NORMAL,
        code,
        msg: STATUS_CODES[code] ?? '',
        node: this.#endpoint.node,
        header: headers,
        data: parsed.data,
        fault: parsed.fault,
        error: parsed.error,
        elapsed: performance.now() - this.#started,
      });
      outcome = { result, sent: true, health: this.#endpoint.failOn5xx === true && code >= 500 ? 'failure' : 'success' };
    } catch (err) {
      outcome = this.#failure(err);
    }
    this.#report(outcome);
  }

  #fail(err: unknown): void {
    this.#report(this.#failure(err));
  }

  #failure(err: unknown): Outcome {
    const code = this.#code;
    const node = this.#endpoint.node;
    // A broken body after a good status: say which status came with it (an HTML page behind a 200…).
    const cause = code && isSkitaiError(err) && err.code !== 'SKT_CLIENT_RESPONSE' ? new SkitaiError(err.code, `HTTP ${code} from ${node}: ${err.message}`, { cause: err }) : err;
    const failure = classify(this.#cancelled !== undefined ? this.#cancelled : cause, this.#endpoint);
    failure.result.elapsed = performance.now() - this.#started;
    return { result: failure.result, sent: failure.sent, health: failure.cancelled ? 'cancelled' : 'failure' };
  }

  #report(outcome: Outcome): void {
    this.finished = true;
    this.#first = undefined;
    this.#chunks = undefined;
    if (this.#sending) queueMicrotask(() => this.#done(outcome));
    else this.#done(outcome);
  }
}

import type { Readable } from 'node:stream';

/**
 * What a member pool is asked to send, and who hears the answer: the subset of undici's
 * `dispatch(options, handler)` (its legacy handler interface) that the proxy's `StreamExchange`
 * uses, so one exchange runs on either client.
 */
export interface H1Request {
  /** Unused here (a pool serves one origin); undici's Agent routes by it. */
  readonly origin?: string | undefined;
  readonly method: string;
  /** Path and query (origin form). */
  readonly path: string;
  /** A flat `[name, value, …]` list, without Host (the pool writes the member's). */
  readonly headers: string[];
  /** A buffered body, a stream (sent once; Content-Length from `headers`, else chunked), or none. */
  readonly body: Buffer | Readable | null;
  /** ms until the response head must have come (from the request being written); 0 = none. */
  readonly headersTimeout?: number | undefined;
  /** ms the body may stall between chunks while it is being read; 0 = none. */
  readonly bodyTimeout?: number | undefined;
}

/** Told how one request goes, in this order: connect (once), headers, data…, then complete or error (once). */
export interface H1Handler {
  /** The request is about to be written; `abort()` stops it (the connection is closed). */
  onConnect(abort: (err?: Error) => void): void;
  /**
   * The final response head (interim 1xx heads are not reported): `[name, value, …]` as latin1
   * strings from our pool (undici hands Buffers to the same method). False pauses the body until `resume()`.
   */
  onHeaders(statusCode: number, rawHeaders: string[] | Buffer[], resume: () => void, statusText: string): boolean;
  /** A piece of the body. False pauses the member's socket until `resume()`. */
  onData(chunk: Buffer): boolean;
  onComplete(trailers: string[] | null): void;
  onError(err: Error): void;
}

/** Anything that sends an {@link H1Request}: a member pool of ours, or an undici dispatcher. */
export interface H1Dispatcher {
  dispatch(request: H1Request, handler: H1Handler): boolean;
}

/**
 * A failure of our own client, with a `code` that `classify()` (transport/http/failure.ts) reads as
 * it reads undici's: `H1_CONNECT_TIMEOUT` (not sent), `H1_HEADERS_TIMEOUT`, `H1_BODY_TIMEOUT`,
 * `H1_CLOSED` (the pool was closed: shutdown), `H1_SOCKET` (the connection broke), `H1_BODY_LENGTH`
 * (a streamed request body did not match its Content-Length).
 */
export class H1Error extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'H1Error';
  }
}

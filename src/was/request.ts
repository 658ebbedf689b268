import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { childTraceparent, nextRequestId, traceOf, type RequestContext } from '../log/trace.js';

/** The request as a handler sees it (`was.request`). */
export class WasRequest implements RequestContext {
  /** Raw body for non-form content types (XML, octet-stream...), when one was read. */
  body: Buffer | undefined;
  /**
   * The logged-in user on a protected route (`app.permitTo`, a route's `permit`): name and groups,
   * never the password. Undefined on public routes, whose credentials are not checked.
   */
  user: { readonly name: string; readonly groups: readonly string[] } | undefined;

  constructor(
    /** The underlying node:http request, for anything not wrapped here. */
    readonly raw: IncomingMessage,
    /** Upper-case method. */
    readonly method: string,
    /** Path as sent, percent-encoded, without the query. */
    readonly path: string,
    /** Query string without `?`. */
    readonly query: string,
    /** Client address (X-Forwarded-For applied for trusted proxies). */
    readonly remote: string,
    /** The app's mount prefix ('' for the root). */
    readonly prefix: string,
    /** The engine's exchange, which owns the request id and trace; absent (a request built by hand), one is made here. */
    context?: RequestContext,
  ) {
    this.#context = context;
  }

  readonly #context: RequestContext | undefined;
  #trace: string | undefined;
  #id: string | undefined;

  /**
   * The request id, also in the response's `X-Request-Id`, the access and error log lines, and
   * every outgoing `was` call and SQL statement of this request (docs/logging.md).
   */
  get id(): string {
    return this.#context?.id ?? (this.#id ??= nextRequestId());
  }

  /** A W3C `traceparent` for one outgoing call: this request's trace id, a new span id. `was` calls send it themselves. */
  traceparent(): string {
    if (this.#context) return this.#context.traceparent();
    this.#trace ??= traceOf(this.raw.headers.traceparent);
    return childTraceparent(this.#trace);
  }

  /** The raw request-target, as Skitai's `request.uri`. */
  get uri(): string {
    return this.raw.url ?? '/';
  }
  get version(): string {
    return this.raw.httpVersion;
  }
  get headers(): IncomingHttpHeaders {
    return this.raw.headers;
  }
  /** First value of a header, case-insensitive; undefined when absent. */
  getHeader(name: string): string | undefined {
    const v = this.raw.headers[name.toLowerCase()];
    return Array.isArray(v) ? v[0] : v;
  }
  /** Media type without parameters, lower-case (`application/json`). */
  get contentType(): string {
    const v = this.raw.headers['content-type'];
    if (!v) return '';
    const semi = v.indexOf(';');
    return (semi < 0 ? v : v.slice(0, semi)).trim().toLowerCase();
  }
  get userAgent(): string | undefined {
    return this.getHeader('user-agent');
  }
}

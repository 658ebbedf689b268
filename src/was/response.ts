import type { OutgoingHttpHeader, ServerResponse } from 'node:http';

/**
 * Status and header control for a handler (`was.response`). Headers go straight to the
 * node:http response; the body is what the handler returns.
 */
export class WasResponse {
  /** The status sent with a returned body (default 200). */
  status = 200;

  constructor(readonly raw: ServerResponse) {}

  /** Set (replace) a header. */
  set(name: string, value: OutgoingHttpHeader): this {
    this.raw.setHeader(name, value);
    return this;
  }
  /** Add a value to a header, keeping earlier ones (Set-Cookie, Link...). */
  append(name: string, value: string): this {
    this.raw.appendHeader(name, value);
    return this;
  }
  get(name: string): OutgoingHttpHeader | undefined {
    return this.raw.getHeader(name) as OutgoingHttpHeader | undefined;
  }
  delete(name: string): this {
    this.raw.removeHeader(name);
    return this;
  }
  has(name: string): boolean {
    return this.raw.hasHeader(name);
  }
}

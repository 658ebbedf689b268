import { Readable } from 'node:stream';
import type { WasRequest } from './request.js';
import type { WasResponse } from './response.js';

/**
 * The web application service: the context every handler receives first. Request-scoped parts
 * (`request`, `response`, `g`) sit beside the server-wide services (clusters, databases, mail)
 * that later layers add.
 */
export class Was<TApp = unknown> {
  /** Per-request scratch space shared by hooks and the handler. */
  readonly g: Record<string, unknown> = {};

  constructor(
    readonly request: WasRequest,
    readonly response: WasResponse,
    /** The app that owns the matched route. */
    readonly app: TApp,
  ) {}

  /** Stream any readable (or async iterable) as the response body, with backpressure. */
  tostream(source: NodeJS.ReadableStream | AsyncIterable<unknown>): Readable {
    return source instanceof Readable ? source : Readable.from(source as AsyncIterable<unknown>);
  }

  tojson(value: unknown): string {
    return JSON.stringify(value);
  }

  fromjson(text: string): unknown {
    return JSON.parse(text);
  }
}

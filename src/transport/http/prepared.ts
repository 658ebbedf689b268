import type { Readable } from 'node:stream';
import type { FormData } from 'undici';

/** A request body as the HTTP transport sends it. */
export type Body = string | Buffer | FormData | Readable | undefined;

/** A request ready for any member: only the origin differs between attempts (`client/request.ts` builds it). */
export interface Prepared {
  readonly kind: 'http' | 'xmlrpc' | 'jsonrpc';
  /** The HTTP method sent. */
  readonly method: string;
  /** Path and query. */
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: Body;
  /** A stream can be sent once; strings, Buffers and Blob-only forms can be sent again. */
  readonly replayable: boolean;
  /** Failover/hedging allowed (idempotent method or `safe`), before checking `replayable`. */
  readonly retryable: boolean;
  /** JSON-RPC request id, to check the answer against. */
  readonly rpcId?: number;
  /** RPC method name, for cache keys and messages. */
  readonly rpcMethod?: string;
}

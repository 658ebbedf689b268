import type { Outcome } from './outcome.js';
import type { Result } from './result.js';
import { Status } from './status.js';

/**
 * When a failed attempt may be sent to another member: one rule per protocol, side by side, so they
 * can be read against each other. The plan (`plan.ts`) asks a rule only about attempts that failed
 * on their own (not cancelled by us, not past the call's deadline) and only while the retry budget
 * allows; no member is ever tried twice by one call.
 *
 * Common ground: a request that certainly did not arrive (`sent: false`) may always go elsewhere,
 * as long as its body can be sent again.
 */

/** HTTP methods that may be sent twice (RFC 9110 §9.2.2). Shared by `was.lb`, the request builder and the reverse proxy. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/** Whether HTTP method `method` (upper case) is idempotent. */
export function isIdempotent(method: string): boolean {
  return IDEMPOTENT.has(method);
}

/** What the HTTP rule needs of a request: whether its body can be replayed and whether it may run twice. */
export interface HttpRetryFacts {
  /** A stream body can be sent once; strings, Buffers and Blob forms again. */
  readonly replayable: boolean;
  /** Idempotent method, or marked `safe`. */
  readonly retryable: boolean;
}

/**
 * `was.lb` (HTTP, RPC): a replayable request after a failure that did not arrive; a retryable one
 * after NETERR, and after TIMEOUT when `retryTimeouts` (`retry_timeouts`). Any HTTP response, 5xx
 * included, ends the call (it is not a failure of the transport).
 */
export function httpMayRetry(outcome: Outcome, req: HttpRetryFacts, retryTimeouts: boolean): boolean {
  if (!req.replayable) return false;
  if (!outcome.sent) return true;
  if (!req.retryable) return false;
  const status = outcome.result.status;
  return status === Status.NETERR || (status === Status.TIMEOUT && retryTimeouts);
}

/**
 * The reverse proxy (a streamed exchange): a buffered body after a failure that did not arrive; an
 * idempotent method after NETERR. Never after TIMEOUT: a slow member stays slow, and the client waits.
 */
export function streamMayRetry(outcome: Pick<Outcome, 'sent' | 'result'>, method: string, replayable: boolean): boolean {
  if (!replayable) return false;
  return !outcome.sent || (isIdempotent(method) && outcome.result.status === Status.NETERR);
}

/**
 * `was.dlb` (SQL): a statement that certainly did not run (no connection: refused, login refused,
 * too many connections); a `safe` one after a connection lost mid-query. A server's SQL error and a
 * TIMEOUT end the call: the statement may have run, and a slow query would only get slower elsewhere.
 */
export function pgMayRetry(outcome: Outcome<Result<unknown>>, safe: boolean): boolean {
  if (!outcome.sent) return true;
  return safe && outcome.result.status === Status.NETERR;
}

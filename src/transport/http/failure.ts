import { CallAbort } from '../../call/deadline.js';
import { Result } from '../../call/result.js';
import { Status } from '../../call/status.js';
import { isSkitaiError, type ErrorCode } from '../../errors.js';

export { CallAbort };

/**
 * Turns what undici or Node threw into a TIMEOUT/NETERR Result with a stable code and a message a
 * person can act on, and says whether the request may have reached the member (`sent`): a refused
 * connection or a failed TLS handshake never delivered the request, so even a POST may go to
 * another member.
 */

export interface Failure {
  readonly result: Result<never>;
  /** False when the request certainly did not reach the member (safe to send elsewhere). */
  readonly sent: boolean;
  /** True when we cancelled it (hedge lost, shutdown): not the member's fault. */
  readonly cancelled: boolean;
}

export interface FailureContext {
  readonly node: string;
  readonly connectTimeout: number;
  readonly responseTimeout: number;
}

const CONNECT = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL', 'EAI_NONAME', 'ENETDOWN']);
const TLS = /CERT|SELF_SIGNED|UNABLE_TO_|^ERR_TLS_|^ERR_SSL_|HOSTNAME_MISMATCH/;

const seconds = (ms: number): string => `${ms / 1000} s`;

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

/** The Result for an exchange that threw `err`. */
export function classify(err: unknown, ctx: FailureContext): Failure {
  const error = err instanceof Error ? err : new Error(String(err));
  const code = codeOf(err);
  const fail = (status: Status.TIMEOUT | Status.NETERR, reason: ErrorCode, msg: string, sent: boolean, cancelled = false): Failure => ({
    result: Result.failure(status, reason, msg, ctx.node, error),
    sent,
    cancelled,
  });
  if (err instanceof CallAbort) {
    if (err.kind === 'deadline') return fail(Status.TIMEOUT, 'SKT_CLIENT_TIMEOUT', `no answer from ${ctx.node} before the call's deadline`, true);
    if (err.kind === 'closed') return fail(Status.NETERR, 'SKT_CLIENT_CLOSED', 'the clients were closed before the answer came', true, true);
    return fail(Status.NETERR, 'SKT_CLIENT_NETWORK', `request to ${ctx.node} cancelled`, true, true);
  }
  if (isSkitaiError(err)) return fail(Status.NETERR, err.code, err.message, true);
  // H1_*: the reverse proxy's own member client (transport/h1), classified as undici's equivalents.
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'H1_CONNECT_TIMEOUT') {
    return fail(Status.NETERR, 'SKT_CLIENT_CONNECT', `connecting to ${ctx.node} timed out after ${seconds(ctx.connectTimeout)}`, false);
  }
  if (CONNECT.has(code)) return fail(Status.NETERR, 'SKT_CLIENT_CONNECT', `cannot connect to ${ctx.node}: ${error.message}`, false);
  if (TLS.test(code)) {
    return fail(Status.NETERR, 'SKT_CLIENT_TLS', `TLS handshake with ${ctx.node} failed: ${error.message} (${code})`, false);
  }
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'H1_HEADERS_TIMEOUT') {
    return fail(Status.TIMEOUT, 'SKT_CLIENT_TIMEOUT', `no response from ${ctx.node} within ${seconds(ctx.responseTimeout)} (response_timeout)`, true);
  }
  if (code === 'UND_ERR_BODY_TIMEOUT' || code === 'H1_BODY_TIMEOUT') {
    return fail(Status.TIMEOUT, 'SKT_CLIENT_TIMEOUT', `the body from ${ctx.node} stalled for ${seconds(ctx.responseTimeout)} (response_timeout)`, true);
  }
  if (code === 'UND_ERR_DESTROYED' || code === 'UND_ERR_CLOSED' || code === 'H1_CLOSED') {
    return fail(Status.NETERR, 'SKT_CLIENT_CLOSED', 'the clients were closed before the answer came', true, true);
  }
  return fail(Status.NETERR, 'SKT_CLIENT_NETWORK', `connection to ${ctx.node} failed: ${error.message}${code ? ` (${code})` : ''}`, true);
}

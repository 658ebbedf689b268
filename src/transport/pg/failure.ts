import type { Outcome } from '../../call/outcome.js';
import { Status } from '../../call/status.js';
import { DbResult, sqlstateOf } from './result.js';
import { maskSecret } from './secret.js';

/**
 * How a query attempt ended: the call layer's one {@link Outcome} shape with a DbResult. `sent`
 * false: the statement certainly did not reach the server (no connection), safe to run elsewhere.
 * Every message passes through `maskSecret`, so no password leaves this layer whatever the driver wrote.
 */
export type DbOutcome = Outcome<DbResult>;

export interface FailureContext {
  readonly node: string;
  readonly password: string | undefined;
  readonly connectTimeout: number;
}

// SQLSTATEs that mean the server, not the statement, is in trouble: they count against the member.
const SERVER_TROUBLE = /^(08|53|57P0|58|XX)/;
// The connection is gone or going: connection exceptions, and the server terminating the backend
// (admin shutdown, crash, pg_terminate_backend).
const CONNECTION_LOST = /^(08|57P0[1-3])/;

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The statement ran: rows, fields, command tag. */
export function success(ctx: FailureContext, res: { rows: Record<string, unknown>[]; fields?: { name: string; dataTypeID: number }[]; rowCount: number | null; command: string }, elapsed: number): DbOutcome {
  const result = new DbResult({
    status: Status.NORMAL, code: 200, msg: 'OK', node: ctx.node, rows: res.rows,
    fields: (res.fields ?? []).map((f) => ({ name: f.name, dataTypeID: f.dataTypeID })),
    rowCount: res.rowCount, command: res.command, elapsed,
  });
  return new Ran(result);
}

/** A statement that ran, made per query: a class, so V8 never pretenures it (docs/performance.md, "SQL", fifth pass). */
class Ran implements DbOutcome {
  readonly sent = true;
  readonly health = 'success';
  constructor(readonly result: DbResult) {}
}

/** A connection could not be had: nothing was sent. */
export function connectFailure(err: unknown, ctx: FailureContext, elapsed: number): DbOutcome {
  const error = err instanceof Error ? err : new Error(String(err));
  const state = sqlstateOf(err);
  const code = (err as { code?: unknown }).code;
  let msg: string;
  if (state?.startsWith('28')) msg = `${ctx.node} refused the login: ${messageOf(err)} (SQLSTATE ${state})`;
  else if (state) msg = `${ctx.node} refused the connection: ${messageOf(err)} (SQLSTATE ${state})`;
  else if (/timeout/i.test(messageOf(err)) || /timeout/i.test(messageOf((err as { cause?: unknown }).cause ?? ''))) msg = `connecting to ${ctx.node} timed out after ${ctx.connectTimeout / 1000} s (connect_timeout)`;
  else msg = `cannot connect to ${ctx.node}: ${messageOf(err)}${typeof code === 'string' && !messageOf(err).includes(code) ? ` (${code})` : ''}`;
  const result = DbResult.dbFailure(Status.NETERR, 'SKT_DB_CONNECT', maskSecret(msg, ctx.password), ctx.node, scrub(error, ctx.password));
  result.elapsed = elapsed;
  return { result, sent: false, health: 'failure' };
}

/** The query failed after it was sent: a server error (NORMAL, code 500) or a lost connection (NETERR). */
export function queryFailure(err: unknown, ctx: FailureContext, elapsed: number): DbOutcome {
  const error = err instanceof Error ? err : new Error(String(err));
  const state = sqlstateOf(err);
  if (state === '57014') {
    // Cancelled without our asking: the server's statement_timeout (query_timeout's backstop).
    const result = DbResult.dbFailure(Status.TIMEOUT, 'SKT_DB_TIMEOUT', maskSecret(`${ctx.node} cancelled the query: ${messageOf(err)}`, ctx.password), ctx.node, scrub(error, ctx.password));
    result.elapsed = elapsed;
    return { result, sent: true, health: 'failure' };
  }
  if (state && !CONNECTION_LOST.test(state)) {
    const severity = (err as { severity?: unknown }).severity;
    const result = new DbResult({
      status: Status.NORMAL, code: 500, node: ctx.node, elapsed,
      msg: maskSecret(`${typeof severity === 'string' ? `${severity} ` : ''}${state}: ${messageOf(err)}`, ctx.password),
      error: scrub(error, ctx.password),
    });
    return { result, sent: true, health: SERVER_TROUBLE.test(state) ? 'failure' : 'success' };
  }
  const code = state ?? (err as { code?: unknown }).code;
  const why = `${messageOf(err)}${typeof code === 'string' && !messageOf(err).includes(code) ? ` (${code})` : ''}`;
  const result = DbResult.dbFailure(Status.NETERR, 'SKT_DB_NETWORK', maskSecret(`connection to ${ctx.node} lost during the query: ${why}`, ctx.password), ctx.node, scrub(error, ctx.password));
  result.elapsed = elapsed;
  return { result, sent: true, health: 'failure' };
}

/** Whether a query error left the connection unusable (so it must not go back to the pool). */
export function isConnectionLoss(err: unknown): boolean {
  const state = sqlstateOf(err);
  return state === undefined || CONNECTION_LOST.test(state);
}

/** The error with the password masked in its message (the driver's messages should not hold it; this makes sure). */
function scrub(error: Error, password: string | undefined): Error {
  if (password && error.message.includes(password)) error.message = maskSecret(error.message, password);
  return error;
}

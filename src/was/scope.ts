import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { CallAbort, Deadline, monotonic } from '../call/deadline.js';
import { budgetOf, DEADLINE_HEADER } from '../client/deadline.js';

/**
 * A request's own Deadline: the parent of every call its handler makes. It carries the budget the
 * request arrived with (`X-Skitai-Deadline`, or `grpc-timeout`), which caps each call, and it is
 * cancelled when the request's client goes away before the response is complete — which cancels
 * the calls (HTTP aborted, SQL cancelled on the server). Made at the handler's first call, so a
 * request that makes none pays nothing but two header lookups.
 */

const SCOPE = Symbol('skitai.requestScope');

type Scoped = ServerResponse & { [SCOPE]?: Deadline };

/** When a request with a budget arrived (clock ms), or undefined: read once, when `was` is made. */
export function arrivalOf(headers: IncomingHttpHeaders): number | undefined {
  return headers[DEADLINE_HEADER] === undefined && headers['grpc-timeout'] === undefined ? undefined : monotonic();
}

/** The budget's end in clock ms, or undefined when the request brought none (or a value that is not one). */
export function limitOf(headers: IncomingHttpHeaders, arrived: number | undefined): number | undefined {
  if (arrived === undefined) return undefined;
  const budget = budgetOf(headers[DEADLINE_HEADER], headers['grpc-timeout']);
  return budget === undefined ? undefined : arrived + budget;
}

/** Milliseconds left until `limit` (clock ms), 0 once past. */
export function leftUntil(limit: number): number {
  return Math.max(0, limit - monotonic());
}

/** Make the request scope of `res`; `limit` (clock ms) is its budget's end. */
export function requestScope(res: ServerResponse, limit: number | undefined): Deadline {
  const scope = new Deadline(monotonic);
  // Its timer (cancelling what is still out when the budget ends) must not keep a process alive.
  if (limit !== undefined) scope.cap(limit, false);
  (res as Scoped)[SCOPE] = scope;
  // One shared listener, no closure per request (the request's scope hangs off the response).
  // A client already gone (a call made after it left): the scope starts cancelled.
  if (res.closed && !res.writableFinished) scope.cancel(new CallAbort('cancel', "the request's client went away"));
  else res.on('close', onClose);
  return scope;
}

function onClose(this: Scoped): void {
  const scope = this[SCOPE];
  if (!scope) return;
  this[SCOPE] = undefined;
  // Closed before the response was complete: the client went away, nobody will read the answer.
  if (!this.writableFinished) scope.cancel(new CallAbort('cancel', "the request's client went away"));
  else scope.disarm();
}

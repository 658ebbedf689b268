/**
 * Which request a stray error came from, and how many there were. App code can leave a promise
 * rejected with nobody awaiting it (`e.send()` as a bare statement) or throw from a timer; the
 * process layer logs and counts those (docs/process.md, "Faults in app code").
 *
 * To name the request, the engine runs each request's handlers inside {@link requestScope} (an
 * AsyncLocalStorage): Node carries the store through timers, promises and I/O callbacks, and
 * restores it when it reports an unhandled rejection or an uncaught exception. That is not free:
 * while any AsyncLocalStorage is in use, Node calls an init hook for every async resource and
 * promise the process creates, about 7 % of the CPU a simple app route costs (profiled with
 * bench/profile.mjs). So the scope is entered only once {@link tracking}.on is set: from the start
 * in devel mode, otherwise from a process's first fault on. A fault usually recurs along the same
 * code path, so its second report names the request, and a process that never faults pays
 * nothing but one branch per request.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** What a fault report says about the request it came from: no query string (it may hold a secret). */
export interface RequestTag {
  readonly method: string;
  readonly path: string;
  readonly remote: string;
  /** The request id, the `reqId` field of the fault's log record. */
  readonly id: string;
}

/** The request whose code is running, while {@link tracking}.on: the engine enters it per request. */
export const requestScope: AsyncLocalStorage<RequestTag> = new AsyncLocalStorage<RequestTag>();

/** Whether the engine enters {@link requestScope}; read once per request. */
export const tracking: { on: boolean } = { on: false };

/**
 * `in GET /mail3 from 127.0.0.1`; `outside any request` (start-up, a background task); or, before
 * tracking was on, `in an unknown request`.
 */
export function describeScope(): string {
  const tag = currentRequest();
  if (tag) return `in ${tag.method} ${tag.path} from ${tag.remote}`;
  return tracking.on ? 'outside any request' : 'in an unknown request';
}

/** The request whose code is running, when {@link tracking} is on and there is one. */
export function currentRequest(): RequestTag | undefined {
  return tracking.on ? requestScope.getStore() : undefined;
}

/** The counters the status page shows (`faults`). */
export interface FaultStatus {
  /** Promises rejected with no handler: logged, counted, the process kept serving. */
  readonly unhandledRejections: number;
  /** Exceptions nothing caught: each ends the process after its in-flight requests. */
  readonly uncaughtExceptions: number;
}

/** This process's fault counters, since it started. One per process: the events are per process. */
export const faults: { unhandledRejections: number; uncaughtExceptions: number; status(): FaultStatus } = {
  unhandledRejections: 0,
  uncaughtExceptions: 0,
  status() {
    return { unhandledRejections: this.unhandledRejections, uncaughtExceptions: this.uncaughtExceptions };
  },
};

/**
 * Which request a stray error came from, and how many there were. App code can leave a promise
 * rejected with nobody awaiting it (`e.send()` as a bare statement) or throw from a timer; the
 * process layer logs and counts those (docs/process.md, "Faults in app code"). To name the request,
 * the engine runs each request's handlers inside {@link requestScope}: Node carries the store
 * through timers, promises and I/O callbacks, and restores it when it reports an unhandled
 * rejection or an uncaught exception.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** What a fault report says about the request it came from: no query string (it may hold a secret). */
export interface RequestTag {
  readonly method: string;
  readonly path: string;
  readonly remote: string;
}

/** The request whose code is running; the engine enters it for each request it dispatches. */
export const requestScope: AsyncLocalStorage<RequestTag> = new AsyncLocalStorage<RequestTag>();

/** `GET /mail3 from 127.0.0.1`, or `outside any request` (start-up, a background task). */
export function describeScope(): string {
  const tag = requestScope.getStore();
  return tag ? `in ${tag.method} ${tag.path} from ${tag.remote}` : 'outside any request';
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

/**
 * What a serving process does with an error that nobody handled. The process hosts many users'
 * requests, so one request's mistake must not take the others down:
 *
 * - an **unhandled rejection** (a promise nobody awaited or caught, e.g. a bare `e.send()`) is
 *   logged with its stack and the request it came from, counted, and the process keeps serving:
 *   a rejected promise leaves no half-done synchronous state behind;
 * - an **uncaught exception** (a throw from a timer or an event callback) is logged and counted the
 *   same way, and then the process stops after its in-flight requests: the throw may have left
 *   shared state half-updated, so it is replaced rather than trusted (`fatal`).
 *
 * Decisions and their reasons: docs/process.md, "Faults in app code".
 */
import { describeError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { currentRequest, describeScope, faults, tracking } from '../site.js';

/**
 * Handle `unhandledRejection` and `uncaughtException` in this process; `fatal` runs once, on the
 * first uncaught exception, and decides how the process ends. Returns a function that removes the
 * handlers again.
 */
export function guardProcess(logger: Logger, fatal: () => void): () => void {
  let ending = false;
  const onRejection = (reason: unknown): void => {
    faults.unhandledRejections++;
    const later = tracking.on ? '' : '; from now on this process names the request of each fault';
    report(logger, `unhandled promise rejection ${describeScope()} (a promise nobody awaited or caught; the server keeps serving${later})`, reason);
  };
  const onException = (err: unknown): void => {
    faults.uncaughtExceptions++;
    const next = ending ? 'already stopping' : 'stopping after the in-flight requests, since the process state may be corrupt';
    report(logger, `uncaught exception ${describeScope()} (${next})`, err);
    if (ending) return;
    ending = true;
    fatal();
  };
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return () => {
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
  };
}

function report(logger: Logger, message: string, err: unknown): void {
  // Read before tracking is turned on: a fault before it was on has no known request.
  const request = currentRequest();
  // From the first fault on, requests are tracked, so a fault that recurs names its request.
  tracking.on = true;
  try {
    // The error's code up front (a stack starts with the class name only), then the stack; the
    // request id as a field, as in every other record about a request, so a search by it finds the fault.
    logger.error(`${message}: ${describeError(err)}`, err, request ? { reqId: request.id } : undefined);
  } catch {
    // A logger that fails here must not turn a logged fault into a crash (a throw in this handler ends the process).
    process.stderr.write(`skitai: ${message} ${String(err)}\n`);
  }
}

import { sendError } from '../../http/errorpage.js';
import type { Exchange } from '../../http/handler.js';
import type { Logger } from '../../log/logger.js';

/** An error's message with its code, for log lines. */
export function describe(err: Error): string {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? `${err.message} (${code})` : err.message;
}

/**
 * The last resort of a proxy handler: `err` is a bug of ours, not an upstream failure. Log it with
 * its stack and answer 502 if nothing went out yet; never throw into the engine.
 */
export function answerBug(ex: Exchange, handler: string, logger: Logger | undefined, err: unknown): true {
  logger?.error(`${handler}: ${ex.method} ${ex.req.url} failed`, err);
  try {
    if (!ex.res.destroyed) sendError(ex, 502, { error: err, close: !ex.req.complete });
  } catch {
    ex.res.destroy();
  }
  return true;
}

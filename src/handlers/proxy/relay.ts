import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { pipeline, type Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { sendError } from '../../http/errorpage.js';
import type { Exchange } from '../../http/handler.js';
import type { Logger } from '../../log/logger.js';
import { responseHeaders } from './headers.js';

/**
 * How relaying an upstream answer ended, for the caller to report and log:
 * - `bad-status` / `bad-headers`: nothing was written, so the caller can still answer 502;
 * - `done`: the body went out whole, or the client left (not the upstream's fault);
 * - `cut`: the upstream failed after the status line went out; the client connection was cut.
 */
export type RelayEnd =
  | { readonly kind: 'bad-status' }
  | { readonly kind: 'bad-headers'; readonly error: Error }
  | { readonly kind: 'done' }
  | { readonly kind: 'cut'; readonly error: Error };

/**
 * Stream an upstream answer (undici's `request()` result) to the client: status, reason phrase and
 * headers minus the hop-by-hop ones (plus `extra`, appended to what the upstream sent), then the body
 * through `pipeline` with backpressure; a client that reads nothing for `stallMs` is cut. The
 * forward proxy's (the reverse proxy streams through `stream.ts`, built for its request rate).
 *
 * Never throws and never writes twice: a status outside 100–599 or headers Node refuses end as
 * `bad-status`/`bad-headers` before anything was written (an invalid status would otherwise crash
 * the worker with ERR_HTTP_INVALID_STATUS_CODE); `cancelled` tells a client leaving from an upstream
 * failing mid-body.
 */
export function relayResponse(
  res: ServerResponse,
  response: Dispatcher.ResponseData,
  cancelled: AbortSignal,
  extra: OutgoingHttpHeaders | undefined,
  stallMs: number,
  done: (end: RelayEnd) => void,
): void {
  const status = response.statusCode;
  if (status < 100 || status > 599) {
    discard(response.body);
    return done({ kind: 'bad-status' });
  }
  const headers = responseHeaders(response.headers);
  if (extra) for (const name in extra) headers[name] = join(headers[name], extra[name]);
  try {
    if (response.statusText) res.writeHead(status, response.statusText, headers);
    else res.writeHead(status, headers);
  } catch (err) {
    // Node refused a header or the reason phrase: nothing was written yet, so a page can still go out.
    discard(response.body);
    if (!res.headersSent) {
      // writeHead keeps what it accepted (a bad reason phrase too) and would reuse it for the page.
      res.statusMessage = '';
      for (const name in headers) res.removeHeader(name);
    }
    return done({ kind: 'bad-headers', error: err as Error });
  }
  // A client that stops reading stalls the upstream too (backpressure), and undici's bodyTimeout
  // does not run while the body is paused: without this, such a client would hold an upstream
  // connection for ever. With no 'timeout' listener Node destroys the socket, and the close cancels
  // the upstream request. After the response Node sets the connection's keep-alive timeout again.
  res.setTimeout(stallMs);
  // Whoever broke first is to blame: the upstream (body reset or stalled) or the client (went away).
  let upstreamFault: Error | undefined;
  response.body.once('error', (err: Error) => {
    if (!cancelled.aborted) upstreamFault ??= err;
  });
  // Compressed bodies pass as they are: Content-Encoding and Content-Length came from the upstream.
  pipeline(response.body, res, (err) => {
    done(err && upstreamFault ? { kind: 'cut', error: upstreamFault } : { kind: 'done' });
  });
}

/** `a, b` for a header both the upstream and we set (Via), or whichever exists. */
function join(upstream: OutgoingHttpHeaders[string], ours: OutgoingHttpHeaders[string]): OutgoingHttpHeaders[string] {
  if (upstream === undefined) return ours;
  if (ours === undefined) return upstream;
  return `${Array.isArray(upstream) ? upstream.join(', ') : String(upstream)}, ${Array.isArray(ours) ? ours.join(', ') : String(ours)}`;
}

/** Drop an upstream body unread. undici's body emits 'error' when destroyed; unheard, that would crash the worker. */
export function discard(body: Readable): void {
  body.on('error', () => undefined);
  body.destroy();
}

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

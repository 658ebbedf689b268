import http, { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '../log/logger.js';
import { rawErrorResponse } from './errorpage.js';

/**
 * Answers node:http's `clientError`: a request that cannot be parsed (400), a head over
 * `max_header_size` (431), or one that did not arrive within `header_timeout` (408). The answer is
 * written raw, as no ServerResponse exists for it, and the connection is closed: after a parse
 * error nothing more on it can be trusted.
 *
 * Requests pipelined before the bad one were parsed and dispatched already, and may still be
 * answering (an async handler). node:http writes responses in request order, so the error waits
 * for the last of them, then goes out: every complete request before the bad one is answered, in
 * order, and then the 400 — what nginx does. A request still incomplete when the error comes (its
 * body was being read) gets the error right away, as its handler would wait for the body forever.
 */
export class ClientErrors {
  /** Sockets whose error waits for earlier responses: it is answered once. */
  readonly #waiting = new WeakSet<Socket>();

  constructor(private readonly logger: Logger) {}

  answer(err: NodeJS.ErrnoException, socket: Socket): void {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    // The parser stays in its error state, so more bytes from the client report the error again.
    if (this.#waiting.has(socket)) return;
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    this.logger.debug(`client error ${err.code ?? ''} from ${socket.remoteAddress}: ${status}`);
    const reply = rawErrorResponse(status, { text: `${status} ${STATUS_CODES[status]}\n` });
    this.#waiting.add(socket);
    // node:http hands the socket to the next queued response when one finishes, before that one's
    // 'close' event: following 'close' from response to response reaches the end of the queue.
    const next = (): void => {
      const res = currentResponse(socket);
      if (socket.destroyed) return;
      // A request whose body the error cut (bad chunking, the client ending mid-body) never completes:
      // the error is its answer, and closing releases its handler.
      if (res && res.req.complete) res.once('close', next);
      // A response sent with `Connection: close` ended the socket: no one is left to answer.
      else if (socket.writable) socket.end(reply);
      else socket.destroy();
    };
    next();
  }
}

/**
 * The response node:http is writing on a socket, if any: `socket._httpMessage`, which node:http
 * sets and clears itself (undocumented, but what its own `closeIdleConnections` reads).
 */
function currentResponse(socket: Socket): http.ServerResponse | null | undefined {
  return (socket as Socket & { _httpMessage?: http.ServerResponse | null })._httpMessage;
}

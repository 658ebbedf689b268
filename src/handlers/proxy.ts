import type { TLSSocket } from 'node:tls';
import type { Dispatcher } from 'undici';
import { CallAbort, classify, type Failure } from '../client/failure.js';
import { Status } from '../client/status.js';
import type { Loan, Upstream } from '../client/upstream.js';
import type { ErrorCode } from '../errors.js';
import { unmap } from '../http/clientip.js';
import { sendError } from '../http/errorpage.js';
import type { Exchange, Handler } from '../http/handler.js';
import type { Logger } from '../log/logger.js';
import { takeBody, type ProxyBody } from './proxy/body.js';
import { requestHeaders } from './proxy/headers.js';
import { answerBug, describe, relayResponse } from './proxy/relay.js';

/** Settings of a reverse proxy mount. */
export interface ProxyOptions {
  /** `[server] max_body_size`: request bodies up to this are buffered (replayable); larger ones stream, sent once. */
  readonly maxBody: number;
  readonly logger?: Logger | undefined;
}

/** Methods whose repetition has no further effect (RFC 9110 §9.2.2): replayed after a network error. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);

/** undici refusing the request itself: not the member's fault, and no other member would take it either. */
const REFUSED_LOCALLY = new Set(['UND_ERR_INVALID_ARG', 'UND_ERR_NOT_SUPPORTED']);

/**
 * `/prefix = @cluster`: the load-balancing reverse proxy. Every request under the prefix goes to one
 * member chosen by the cluster's strategy and health, with the prefix stripped; the answer streams
 * back with backpressure. Failover, statuses and headers are described in docs/proxy.md.
 *
 * Nothing it does can throw into the engine: every failure becomes a 502/503/504 page before the
 * response started, or a cut connection after (a second write would crash a worker with
 * ERR_HTTP_HEADERS_SENT).
 */
export class ProxyHandler implements Handler {
  readonly name: string;
  readonly #up: Upstream;
  readonly #maxBody: number;
  readonly #logger: Logger | undefined;

  constructor(upstream: Upstream, options: ProxyOptions) {
    this.#up = upstream;
    this.#maxBody = options.maxBody;
    this.#logger = options.logger;
    this.name = `proxy:@${upstream.cluster.name}`;
  }

  handle(ex: Exchange, _prefix: string, rest: string): Promise<boolean> {
    return this.#proxy(ex, rest).then(
      () => true,
      (err: unknown) => answerBug(ex, this.name, this.#logger, err),
    );
  }

  async #proxy(ex: Exchange, rest: string): Promise<void> {
    const { req, res } = ex;
    const cluster = this.#up.cluster;
    // The client leaving cancels what is in flight; a cancellation counts for nothing in health.
    const cancel = new AbortController();
    const onClose = (): void => {
      if (!res.writableFinished) cancel.abort(new CallAbort('cancel'));
    };
    res.once('close', onClose);

    let body: ProxyBody;
    try {
      body = await takeBody(req, this.#maxBody);
    } catch (err) {
      if (!res.destroyed) sendError(ex, 400, { detail: (err as Error).message, close: true });
      return;
    }
    if (cancel.signal.aborted) return;

    const peer = unmap(req.socket.remoteAddress ?? '');
    const forwarding = { peer, trustedPeer: ex.remote !== peer, proto: (req.socket as TLSSocket).encrypted ? 'https' : 'http' };
    const options = {
      path: (rest === '' ? '/' : rest) + (ex.query === '' ? '' : `?${ex.query}`),
      method: ex.method as Dispatcher.HttpMethod,
      headers: requestHeaders(req.rawHeaders, forwarding, !body.replayable && body.declaredLength),
      body: body.body,
      signal: cancel.signal,
    };
    const idempotent = IDEMPOTENT.has(ex.method);
    const tried = new Set<string>();
    let last: Failure | undefined;
    cluster.countRequest();
    for (;;) {
      const loan = this.#up.lend(tried);
      if (loan === undefined || loan === 'breaker') {
        if (last) return this.#failed(ex, last);
        return this.#unavailable(ex, loan === 'breaker');
      }
      tried.add(loan.node);
      const { endpoint } = loan;
      let response: Dispatcher.ResponseData;
      try {
        response = await endpoint.dispatcher.request({
          ...options,
          origin: endpoint.origin,
          headersTimeout: endpoint.responseTimeout,
          bodyTimeout: endpoint.responseTimeout,
        });
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        if (typeof code === 'string' && REFUSED_LOCALLY.has(code)) {
          loan.release('cancelled');
          return this.#answer(ex, 502, 'SKT_PROXY_BAD_GATEWAY', `the request cannot be forwarded to @${cluster.name}`, (err as Error).message, 'error');
        }
        const failure = classify(cancel.signal.aborted ? cancel.signal.reason : err, endpoint);
        loan.release(failure.cancelled ? 'cancelled' : 'failure');
        if (cancel.signal.aborted) return;
        last = failure;
        // Only a buffered body can be sent again; after it may have arrived, only an idempotent method.
        const again = body.replayable && !failure.cancelled && (!failure.sent || (idempotent && failure.result.status === Status.NETERR));
        if (again && cluster.tryRetry()) {
          this.#logger?.debug(`${this.name}: ${ex.method} ${ex.req.url}: ${failure.result.msg}; trying another member`);
          continue;
        }
        return this.#failed(ex, failure);
      }
      return this.#relay(ex, loan, response, cancel.signal, onClose);
    }
  }

  /** Stream the member's answer to the client. */
  #relay(ex: Exchange, loan: Loan, response: Dispatcher.ResponseData, cancelled: AbortSignal, onClose: () => void): void {
    const status = response.statusCode;
    const cluster = `@${this.#up.cluster.name}`;
    // A client that reads nothing for response_timeout is cut: it would hold a member connection for ever.
    relayResponse(ex.res, response, cancelled, undefined, loan.endpoint.responseTimeout, (end) => {
      switch (end.kind) {
        case 'bad-status':
          loan.release('failure');
          return this.#answer(ex, 502, 'SKT_PROXY_BAD_STATUS', `a member of ${cluster} answered with an invalid status`, `${loan.node} answered ${status}`);
        case 'bad-headers':
          loan.release('failure');
          return this.#answer(ex, 502, 'SKT_PROXY_BAD_GATEWAY', `a member of ${cluster} answered with headers that cannot be relayed`, `${loan.node}: ${end.error.message}`);
        case 'done':
          ex.res.off('close', onClose);
          return loan.release(status);
        case 'cut':
          ex.res.off('close', onClose);
          loan.release('failure');
          // The status line is out; pipeline has destroyed the client connection, so it sees a cut response.
          this.#logger?.warn(`${this.name}: ${ex.method} ${ex.req.url} -> ${status} cut (SKT_PROXY_ABORTED): ${loan.node}: ${describe(end.error)}`);
      }
    });
  }

  /** The last failure, as a page: a timeout is 504, the clients closing 503, anything else 502. */
  #failed(ex: Exchange, failure: Failure): void {
    const { result } = failure;
    const name = `@${this.#up.cluster.name}`;
    if (result.status === Status.TIMEOUT) {
      return this.#answer(ex, 504, 'SKT_PROXY_TIMEOUT', `${name} did not answer in time`, result.msg);
    }
    if (result.code === 'SKT_CLIENT_CLOSED') {
      return this.#answer(ex, 503, 'SKT_PROXY_UNAVAILABLE', `${name} is not available (shutting down)`, result.msg, 'debug', 1);
    }
    return this.#answer(ex, 502, 'SKT_PROXY_BAD_GATEWAY', `no member of ${name} could be reached`, result.msg);
  }

  #unavailable(ex: Exchange, breaker: boolean): void {
    const name = `@${this.#up.cluster.name}`;
    const retryAfter = breaker ? Math.max(1, Math.ceil(this.#up.options.breaker.cooldownMs / 1000)) : 1;
    const detail = breaker ? `the circuit breaker of ${name} is open` : `${name} has no member to ask`;
    this.#answer(ex, 503, 'SKT_PROXY_UNAVAILABLE', detail, undefined, 'debug', retryAfter);
  }

  /**
   * An error page, unless the client is gone. `why` names the member and what it did: always in the
   * log, on the page only in devel mode (member addresses are not the public's business).
   */
  #answer(ex: Exchange, status: number, code: ErrorCode, detail: string, why?: string, level: 'warn' | 'debug' | 'error' = 'warn', retryAfter?: number): void {
    this.#logger?.log(level, `${this.name}: ${ex.method} ${ex.req.url} -> ${status} ${code}: ${detail}${why ? ` (${why})` : ''}`);
    if (ex.res.destroyed) return;
    sendError(ex, status, {
      detail: `${code}: ${ex.devel && why ? `${detail}: ${why}` : detail}`,
      // A streamed body may be partly unread; the connection cannot carry another request then.
      close: !ex.req.complete,
      ...(retryAfter !== undefined ? { headers: { 'retry-after': String(retryAfter) } } : {}),
    });
  }
}

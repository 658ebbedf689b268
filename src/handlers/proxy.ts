import type { ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Dispatcher } from 'undici';
import type { Failure } from '../transport/http/failure.js';
import { CallAbort, Deadline, monotonic, type DeadlineOwner } from '../call/deadline.js';
import type { Sink } from '../call/gather.js';
import { failover, type Route } from '../call/plan.js';
import type { Result } from '../call/result.js';
import { Status } from '../call/status.js';
import { DEADLINE_HEADER, encodeDeadline } from '../client/deadline.js';
import type { Upstream } from '../client/upstream.js';
import type { ErrorCode } from '../errors.js';
import { peerOf } from '../http/clientip.js';
import { sendError } from '../http/errorpage.js';
import type { Exchange, Handler } from '../http/handler.js';
import type { Logger } from '../log/logger.js';
import { arrivalOf, limitOf } from '../was/scope.js';
import { declaredBody, takeBody, tooLarge, type ProxyBody } from './proxy/body.js';
import { requestHeaders } from './proxy/headers.js';
import { answerBug, describe } from './proxy/relay.js';
import { UpgradeCall } from './proxy/upgrade.js';
import type { Forward, StreamEndpoint, StreamOutcome } from './proxy/stream.js';
import { streamRule, streamTransport, type StreamRequest } from './proxy/transport.js';

/** Settings of a reverse proxy mount. */
export interface ProxyOptions {
  /** `[server] max_body_size`: request bodies up to this are buffered (replayable); larger ones stream, sent once. */
  readonly maxBody: number;
  /**
   * `[server] max_proxy_body_size` (default `max_body_size`): the largest request body forwarded at
   * all; a larger one gets 413, before any member is asked when Content-Length says so.
   */
  readonly bodyLimit?: number | undefined;
  readonly logger?: Logger | undefined;
}

/**
 * `/prefix = @cluster`: the load-balancing reverse proxy. Every request under the prefix goes to one
 * member chosen by the cluster's strategy and health, with the prefix stripped; the answer streams
 * back with backpressure. Failover, statuses and headers are described in docs/proxy.md.
 *
 * Nothing it does can throw into the engine: every failure becomes a 413/502/503/504 page before the
 * response started, or a cut connection after (a second write would crash a worker with
 * ERR_HTTP_HEADERS_SENT).
 */
export class ProxyHandler implements Handler {
  readonly name: string;
  /** @internal shared by every {@link ProxyCall} of this mount. */
  readonly up: Upstream;
  /** @internal the Upstream with the streaming transport, for failover(). */
  readonly route: Route<StreamEndpoint, StreamRequest, Result>;
  /** @internal */
  readonly maxBody: number;
  /** @internal */
  readonly bodyLimit: number;
  /** @internal */
  readonly logger: Logger | undefined;

  constructor(upstream: Upstream, options: ProxyOptions) {
    this.up = upstream;
    this.route = {
      cluster: upstream.cluster,
      clock: upstream.clock,
      transport: streamTransport,
      target: (member) => upstream.streamTarget(member),
      refused: (why, node) => upstream.refused(why, node),
    };
    this.maxBody = options.maxBody;
    this.bodyLimit = options.bodyLimit ?? options.maxBody;
    this.logger = options.logger;
    this.name = `proxy:@${upstream.cluster.name}`;
  }

  handle(ex: Exchange, _prefix: string, rest: string): true {
    try {
      if (ex.upgrade !== undefined) new UpgradeCall(this, ex, rest).start();
      else new ProxyCall(this, ex, rest).start();
    } catch (err) {
      answerBug(ex, this.name, this.logger, err);
    }
    return true;
  }
}

/** Finds the call of a response from inside the shared 'close' listener (`this` is the response). */
const CALL = Symbol('skitai.proxy.call');
type Tagged = ServerResponse & { [CALL]?: ProxyCall };

function onClientClose(this: Tagged): void {
  this[CALL]?.clientClosed();
}

/**
 * One proxied request: reads the body when there is one, then hands it to `failover()`
 * (call/plan.ts) over the proxy's streaming transport (proxy/transport.ts), which tries members one
 * at a time until one answers or the rule says stop, and reports every attempt to the cluster. One
 * object per request: it is the transport's request, `failover()`'s sink and its Deadline's owner.
 */
class ProxyCall implements StreamRequest, Sink<Result>, DeadlineOwner {
  readonly #h: ProxyHandler;
  readonly #ex: Exchange;
  readonly #rest: string;
  readonly method: string;
  readonly res: ServerResponse;
  replayable = true;
  #forward: Forward | undefined;
  /** The client leaving and the budget end cancel the attempt through it. */
  #deadline: Deadline | undefined;
  /** How the latest attempt ended, and on which member: what the answer is made of. */
  #last: StreamOutcome | undefined;
  #lastNode = '';
  /** `failover()` is running: an attempt is out (or about to be). */
  #sending = false;
  #left = false;
  /** Where each attempt's remaining budget goes in the forwarded headers (value indexes; -1: not sent). */
  #budgetAt = -1;
  #grpcAt = -1;
  /** The budget ran out before a member answered: the request ends in a 504. */
  #expired = false;

  constructor(handler: ProxyHandler, ex: Exchange, rest: string) {
    this.#h = handler;
    this.#ex = ex;
    this.#rest = rest;
    this.method = ex.method;
    this.res = ex.res;
  }

  start(): void {
    const { req, res } = this.#ex;
    // The client leaving cancels what is in flight; a cancellation counts for nothing in health.
    (res as Tagged)[CALL] = this;
    res.on('close', onClientClose);
    const deadline = new Deadline(monotonic, this);
    this.#deadline = deadline;
    // Counted from here, as was.deadline is counted from when the handler got the request.
    const limit = limitOf(req.headers, arrivalOf(req.headers));
    if (limit !== undefined) {
      // keepAlive false: a budget nobody waits on must not keep a process alive. A spent one answers now.
      deadline.cap(limit, false);
      if (this.#expired) return;
    }
    const h = this.#h;
    switch (declaredBody(req, h.maxBody, h.bodyLimit)) {
      case 'none':
        return this.#send(null, false);
      case 'too-large':
        return this.#tooLarge(tooLarge(h.bodyLimit, Number(req.headers['content-length'])));
      case 'stream':
        this.replayable = false;
        return this.#send(req, true);
      case 'read':
        takeBody(req, h.maxBody, h.bodyLimit).then(
          (body) => this.#bodyRead(body),
          (err: SkitaiErrorLike) => this.#bodyFailed(err),
        );
    }
  }

  clientClosed(): void {
    if (this.#ex.res.writableFinished || this.#left) return;
    this.#left = true;
    this.#deadline?.cancel(new CallAbort('cancel'));
  }

  /**
   * DeadlineOwner: the budget ran out. Before the member's status line the attempt is aborted (its
   * report answers 504) or, while the body is still being read, the 504 goes out now. After it the
   * response streams on: the member has answered, and a cut would only truncate it.
   */
  expire(): void {
    if (this.#left || this.#expired || this.#ex.res.headersSent) return;
    this.#expired = true;
    if (this.#sending) this.#deadline!.cancel(new CallAbort('deadline', "the request's deadline passed"));
    else this.#spent();
  }

  /** DeadlineOwner: every attempt has been cancelled already; the sink answers. */
  cancel(_reason: unknown): void {}

  #bodyRead(body: ProxyBody): void {
    if (this.#left || this.#expired) return;
    try {
      if (body.replayable) return this.#send(body.body, false);
      this.replayable = false;
      this.#send(body.body, body.declaredLength);
    } catch (err) {
      answerBug(this.#ex, this.#h.name, this.#h.logger, err);
    }
  }

  #bodyFailed(err: SkitaiErrorLike): void {
    if (this.#left || this.#expired || this.#ex.res.destroyed) return;
    if (err.code === 'SKT_BODY_TOO_LARGE') return this.#tooLarge(err);
    sendError(this.#ex, 400, { detail: err.message, close: true });
  }

  /** Build what every attempt sends and hand the request to failover(). */
  #send(body: Forward['body'], keepLength: boolean): void {
    const ex = this.#ex;
    const { req } = ex;
    const peer = peerOf(req.socket);
    const budget = this.#deadline!.at !== Infinity;
    const forwarding = {
      peer, trustedPeer: ex.remote !== peer, proto: (req.socket as TLSSocket).encrypted ? 'https' : 'http',
      trace: { id: ex.id, traceparent: ex.traceparent() },
      deadline: budget,
    };
    const headers = requestHeaders(req.rawHeaders, forwarding, keepLength);
    if (budget) {
      // Placeholders, filled by forwardNow() with what is left when each attempt is sent.
      this.#budgetAt = headers.push(DEADLINE_HEADER, '') - 1;
      if (req.headers['grpc-timeout'] !== undefined) this.#grpcAt = headers.push('grpc-timeout', '') - 1;
    }
    this.#forward = {
      path: (this.#rest === '' ? '/' : this.#rest) + (ex.query === '' ? '' : `?${ex.query}`),
      method: ex.method as Dispatcher.HttpMethod,
      headers,
      body,
    };
    this.#sending = true;
    failover(this.#h.route, streamRule, this, this.#deadline!, this);
  }

  /** StreamRequest: the forwarded request, its budget header set to what is left now. */
  forwardNow(): Forward {
    const forward = this.#forward!;
    if (this.#budgetAt >= 0) {
      // undici turns the headers into text inside dispatch(): the one array serves every attempt.
      const ms = encodeDeadline(this.#deadline!.remaining());
      forward.headers[this.#budgetAt] = ms;
      if (this.#grpcAt >= 0) forward.headers[this.#grpcAt] = `${ms}m`;
    }
    return forward;
  }

  /** StreamRequest: called from inside undici's callbacks, before failover() hears of it. */
  attemptEnded(o: StreamOutcome, node: string): void {
    this.#last = o;
    this.#lastNode = node;
    if (o.end === 'failed' && !o.failure!.cancelled && this.#h.logger?.enabled('debug')) {
      const ex = this.#ex;
      this.#h.logger.debug(`${this.#h.name}: ${ex.method} ${ex.req.url}: ${o.failure!.result.msg}`);
    }
  }

  /** Sink: failover() is over; answer from how the latest attempt ended. */
  arrive(_index: number, result: Result): void {
    // Called from inside undici's callbacks, which would swallow a bug of ours: log it and answer.
    try {
      this.#settle(result);
    } catch (err) {
      answerBug(this.#ex, this.#h.name, this.#h.logger, err);
    }
  }

  #settle(result: Result): void {
    this.#sending = false;
    this.#deadline!.disarm();
    const o = this.#last;
    if (o === undefined) return this.#unavailable(result.code === 'SKT_CLUSTER_BREAKER_OPEN');
    if (o.end === 'relayed') return;
    // Aborted by the budget (health: cancelled, not the member's fault) or by the client leaving.
    if (o.end === 'left') return this.#expired && !this.#left ? this.#spent() : undefined;
    const cluster = `@${this.#h.up.cluster.name}`;
    const node = this.#lastNode;
    switch (o.end) {
      case 'too-large':
        return this.#tooLarge(o.error!);
      case 'refused':
        return this.#answer(502, 'SKT_PROXY_BAD_GATEWAY', `the request cannot be forwarded to ${cluster}`, o.error!.message, 'error');
      case 'bad-status':
        return this.#answer(502, 'SKT_PROXY_BAD_STATUS', `a member of ${cluster} answered with an invalid status`, `${node} answered ${o.status}`);
      case 'bad-headers':
        return this.#answer(502, 'SKT_PROXY_BAD_GATEWAY', `a member of ${cluster} answered with headers that cannot be relayed`, `${node}: ${o.error!.message}`);
      case 'cut': {
        const ex = this.#ex;
        // The status line is out; the client connection is destroyed, so it sees a cut response.
        if (o.health === 'cancelled') this.#h.logger?.warn(`${this.#h.name}: ${ex.method} ${ex.req.url} -> ${o.status} cut: ${describe(o.error!)}`);
        else this.#h.logger?.warn(`${this.#h.name}: ${ex.method} ${ex.req.url} -> ${o.status} cut (SKT_PROXY_ABORTED): ${node}: ${describe(o.error!)}`);
        return;
      }
      case 'failed':
        if (this.#left) return;
        return this.#failed(o.failure!);
    }
  }

  #tooLarge(err: Error): void {
    this.#answer(413, 'SKT_BODY_TOO_LARGE', `the request body is larger than the proxy forwards (${this.#h.bodyLimit} bytes)`, err.message, 'debug');
  }

  /** The last failure, as a page: a timeout is 504, the clients closing 503, anything else 502. */
  #failed(failure: Failure): void {
    const { result } = failure;
    const name = `@${this.#h.up.cluster.name}`;
    if (result.status === Status.TIMEOUT) {
      return this.#answer(504, 'SKT_PROXY_TIMEOUT', `${name} did not answer in time`, result.msg);
    }
    if (result.code === 'SKT_CLIENT_CLOSED') {
      return this.#answer(503, 'SKT_PROXY_UNAVAILABLE', `${name} is not available (shutting down)`, result.msg, 'debug', 1);
    }
    return this.#answer(502, 'SKT_PROXY_BAD_GATEWAY', `no member of ${name} could be reached`, result.msg);
  }

  /** The request's budget ran out before a member answered. */
  #spent(): void {
    this.#expired = true;
    const name = `@${this.#h.up.cluster.name}`;
    // debug: the limit is the client's choice, and any client could fill the warning log with tiny ones.
    this.#answer(504, 'SKT_PROXY_TIMEOUT', `${name} did not answer within the request's deadline`, this.#lastNode || undefined, 'debug');
  }

  #unavailable(breaker: boolean): void {
    const up = this.#h.up;
    const name = `@${up.cluster.name}`;
    const retryAfter = breaker ? Math.max(1, Math.ceil(up.options.breaker.cooldownMs / 1000)) : 1;
    const detail = breaker ? `the circuit breaker of ${name} is open` : `${name} has no member to ask`;
    this.#answer(503, 'SKT_PROXY_UNAVAILABLE', detail, undefined, 'debug', retryAfter);
  }

  /**
   * An error page, unless the client is gone. `why` names the member and what it did: always in the
   * log, on the page only in devel mode (member addresses are not the public's business).
   */
  #answer(status: number, code: ErrorCode, detail: string, why?: string, level: 'warn' | 'debug' | 'error' = 'warn', retryAfter?: number): void {
    const ex = this.#ex;
    this.#deadline?.disarm();
    this.#h.logger?.log(level, `${this.#h.name}: ${ex.method} ${ex.req.url} -> ${status} ${code}: ${detail}${why ? ` (${why})` : ''}`);
    if (ex.res.destroyed || this.#left) return;
    sendError(ex, status, {
      detail: `${code}: ${ex.devel && why ? `${detail}: ${why}` : detail}`,
      // A streamed body may be partly unread; the connection cannot carry another request then.
      close: !ex.req.complete,
      ...(retryAfter !== undefined ? { headers: { 'retry-after': String(retryAfter) } } : {}),
    });
  }
}

/** What a body read rejects with (a SkitaiError: SKT_BODY_ABORTED or SKT_BODY_TOO_LARGE). */
type SkitaiErrorLike = Error & { readonly code?: string };

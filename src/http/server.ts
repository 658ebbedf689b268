import http from 'node:http';
import net, { type AddressInfo, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import type { ServerConfig } from '../config/types.js';
import { SkitaiError, isSkitaiError } from '../errors.js';
import type { AccessLog } from '../log/access.js';
import { AccessLine } from './accessline.js';
import type { Logger } from '../log/logger.js';
import { isValidRequestId, nextRequestId, nextRequestSeq, requestIdOf } from '../log/trace.js';
import { ClientIp, peerOf } from './clientip.js';
import { ClientErrors } from './clienterror.js';
import { requestScope, tracking } from './faults.js';
import { refuseTunnel, secretHider, sendError } from './errorpage.js';
import type { Handler, TunnelHandler } from './handler.js';
import { mountMatches, type RouteTable } from './routes.js';
import { InFlight } from './inflight.js';
import { RequestExchange } from './exchange.js';
import { EngineResponse } from './response.js';
import { isH2, prepareH2 } from './h2.js';
import { H2Sessions } from './h2sessions.js';
import { h2Peer } from './h2request.js';
import { whenClosed, type H2Response } from './h2response.js';
import { H2FastPath } from './h2fast.js';
import { createServer, type EngineServer, type ServerTls } from './listener.js';
import { takeUpgrade } from './upgrade.js';
import { originForm, refuseRequest } from './target.js';
import { Durations, RouteStats, Traffic, sentBytes, type TrafficStatus } from './traffic.js';

/** What the engine needs to run: limits from `[server]`, the route table, and where to log. */
export interface EngineOptions {
  config: ServerConfig;
  routes: RouteTable;
  /** Handlers asked before the route table, whatever the path (ping, forward proxy). */
  before?: Handler[];
  /** Takes CONNECT requests (the forward proxy); without one, CONNECT gets 501. */
  tunnel?: TunnelHandler | undefined;
  logger: Logger;
  accessLog?: AccessLog | undefined;
  /** Secret values (config passwords and keys) that an error page must never show, even in devel mode. */
  secrets?: readonly string[];
  /** PEM material for HTTPS; plain HTTP when absent. */
  tls?: ServerTls | undefined;
}

const ALLOW_ALL = 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS';

/**
 * The HTTP engine: one node:http(s) server with Skitai's limits and timeouts, dispatching every
 * request through the `before` handlers and then the route table. A handler that throws gets a
 * 500 page and a log line; the worker keeps serving.
 */
export class Engine {
  /** node:http(s), or node:http2 with `[server] http2` (whose HTTP/1 side is node:http's code). */
  readonly server: EngineServer;
  readonly #h2: H2Sessions | undefined; // with `[server] http2`
  readonly #opts: EngineOptions;
  readonly #clientIp: ClientIp;
  readonly #before: Handler[];
  readonly #inFlight = new InFlight();
  #listening = false;
  #drained: (() => void) | undefined;
  #closing = false;
  /** One close listener shared by every response (`this` is the response): no closure per request. */
  readonly #onClose: (this: EngineResponse) => void;
  #draining = false;
  /** Client sockets handed to the tunnel handler by CONNECT, until they close. */
  readonly #tunnels = new Set<Duplex>();
  readonly #traffic = new Traffic();
  /** Per-route response counts: the before handlers' (by position), unmatched (404), refused (bad request line), CONNECT. */
  readonly #beforeStats: RouteStats[];
  readonly #unmatched = new RouteStats('unmatched');
  readonly #refused = new RouteStats('refused');
  readonly #connectStats = new RouteStats('connect');
  /** Durations are measured only when someone reads them (`metrics_path`): two clock reads per request. */
  readonly #durations: Durations | undefined;
  readonly #hideSecrets: (text: string) => string;
  readonly #clientErrors: ClientErrors;
  /** `#run` bound once, for {@link requestScope}.run (no closure per request). */
  readonly #runInScope: (ex: RequestExchange) => true | Promise<void>;
  readonly #access: AccessLine | undefined;

  constructor(opts: EngineOptions) {
    this.#opts = opts;
    this.#hideSecrets = secretHider(opts.secrets ?? []);
    this.#clientErrors = new ClientErrors(opts.logger);
    this.#clientIp = new ClientIp(opts.config.trustedProxies);
    // In devel mode the first fault already names its request; the cost does not matter there.
    if (opts.config.devel) tracking.on = true;
    this.#before = opts.before ?? [];
    this.#beforeStats = this.#before.map((h) => new RouteStats(h.name));
    this.#durations = opts.config.metricsPath !== undefined ? new Durations() : undefined;
    this.#access = opts.accessLog ? new AccessLine(opts.accessLog) : undefined;
    const engine = this;
    this.#runInScope = (ex) => engine.#run(ex);
    this.#onClose = function onClose(this: EngineResponse): void {
      engine.#closed(this);
    };
    const c = opts.config;
    if (c.http2 !== 'no') this.#h2 = new H2Sessions(c.keepAlive);
    const fast = this.#h2 && H2FastPath.for({ config: c, routes: opts.routes, before: this.#before, clientIp: this.#clientIp, traffic: this.#traffic,
      inFlight: this.#inFlight, durations: this.#durations, access: this.#access, closing: () => this.#closing, settled: () => this.#inFlight.count === 0 && this.#drained?.() });
    this.server = createServer(c, opts.tls, this.#h2, (req, res) => this.#dispatch(req, res as EngineResponse), fast);
    this.server.on('connection', (socket: Socket) => this.#traffic.connection(socket));
    // Node destroys a CONNECT socket nobody listens for; listening always lets us answer 501 instead.
    this.server.on('connect', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => this.#connect(req, socket, head));
    // With a listener, node:http hands every request with an Upgrade header over here (see #upgrade).
    this.server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => this.#upgrade(req, socket, head));
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => this.#clientErrors.answer(err, socket));
  }

  /** Start every handler, then listen. Resolves with the bound address. */
  async listen(port = this.#opts.config.port, host = this.#opts.config.ip): Promise<AddressInfo> {
    for (const h of [...this.#before, ...this.#opts.routes.handlers()]) await h.start?.();
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void =>
        reject(new SkitaiError('SKT_SERVER_LISTEN', `cannot listen on ${host || '*'}:${port}: ${err.code ?? err.message}`, { cause: err }));
      this.server.once('error', onError);
      this.server.listen(port, host || undefined, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
    this.#traffic.started();
    this.#listening = true;
    return this.server.address() as AddressInfo;
  }

  /** Requests being served right now. */
  get inFlight(): number {
    return this.#inFlight.count;
  }

  /** Where the engine is in its life: readiness answers 200 only for `serving`. */
  get state(): 'starting' | 'serving' | 'closing' {
    return this.#closing ? 'closing' : this.#listening ? 'serving' : 'starting';
  }

  /** This worker's numbers for the metrics, read at scrape time: routes, durations, bytes. */
  metrics(): { routes: RouteStats[]; durations: Durations | undefined; bytes: ReturnType<Traffic['bytes']>; inFlight: number; aborted: number } {
    const routes = [...this.#beforeStats, ...this.#opts.routes.mounts.map((m) => m.stats), this.#unmatched, this.#refused, this.#connectStats];
    return { routes, durations: this.#durations, bytes: this.#traffic.bytes(), inFlight: this.#inFlight.count, aborted: this.#traffic.aborted };
  }

  /** This worker's request, connection and byte counters (the status page). */
  traffic(): TrafficStatus {
    return this.#traffic.status(this.#inFlight.count);
  }

  /**
   * Stop accepting, let in-flight requests finish within `graceMs`, close idle keep-alive
   * connections, then stop every handler's background work.
   *
   * With `drain` (a reload handing over to a new worker) idle keep-alive connections are not cut:
   * a client may be sending its next request on one right now, and would see a reset. Each
   * connection instead closes after its next response (`Connection: close`) or at its keep-alive
   * timeout, which clients know from the `Keep-Alive` header; `graceMs` bounds the wait.
   */
  async close(graceMs = 10_000, drain = false): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    this.#draining = drain;
    this.#inFlight.lastResponses();
    // WebSockets are asked to close (1001) now; what is still open after the grace period is cut below.
    const away = this.#opts.routes.goingAway(graceMs, (h, err) => this.#opts.logger.error(`handler ${h.name} failed to close its connections`, err));
    // http(s).Server#close also cuts idle connections (Node >= 19); net.Server#close only stops accepting.
    const closed = new Promise<void>((resolve) =>
      drain || this.#h2 ? net.Server.prototype.close.call(this.server, () => resolve()) : (this.server as http.Server).close(() => resolve()),
    );
    this.#h2?.goaway(); // open streams are answered; new ones go to a new connection (the new worker's)
    if (drain) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
      clearTimeout(timer);
    } else if (this.#inFlight.count > 0) {
      const drained = new Promise<void>((resolve) => (this.#drained = resolve));
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
      await Promise.race([drained, late]);
      clearTimeout(timer);
    }
    await away;
    if (this.#h2) this.#h2.destroy(this.#traffic); // an h2 server has no closeAllConnections
    else (this.server as http.Server).closeAllConnections();
    // Handed-over sockets are no longer the HTTP server's connections: closeAllConnections misses them.
    for (const socket of this.#tunnels) socket.destroy();
    await closed;
    for (const h of [...this.#before, ...this.#opts.routes.handlers()]) {
      try {
        await h.close?.();
      } catch (err) {
        this.#opts.logger.error(`handler ${h.name} failed to close`, err);
      }
    }
  }

  /** A request with an Upgrade header, its socket already out of node:http's parser (http/upgrade.ts). */
  #upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const taken = takeUpgrade(req, socket, head, (r) => new EngineResponse(r));
    if (taken) this.#dispatch(taken.req, taken.res, taken.websocket ? socket : undefined, head);
  }

  /** A handler took the WebSocket handshake: the exchange ends here as a 101, and the socket leaves HTTP. */
  #accept(ex: RequestExchange, socket: Duplex): Duplex | undefined {
    const res = ex.res as EngineResponse;
    if (socket.destroyed || res.headersSent || res.destroyed) return undefined;
    res.off('close', this.#onClose);
    res.detachSocket(socket as Socket);
    res.statusCode = 101;
    if (this.#inFlight.remove(ex) === 0 && this.#drained) this.#drained();
    this.#traffic.response(101, true, ex.stats);
    this.#durations?.add((performance.now() - ex.start) / 1000);
    this.#access?.write(ex, 101, false, 0);
    // Counted as a tunnel: cut at the very end of a stop, after the handlers' goingAway.
    this.#tunnels.add(socket);
    socket.once('close', () => this.#tunnels.delete(socket));
    return socket;
  }

  #dispatch(req: http.IncomingMessage, res: EngineResponse, upgradeSocket?: Duplex, head?: Buffer): void {
    const c = this.#opts.config;
    const url = req.url ?? '/';
    let target = url;
    if (url.charCodeAt(0) !== 47) target = originForm(url);
    const peer = isH2(res) ? h2Peer(res as unknown as H2Response) : peerOf(req.socket);
    // Only a proxy we trust may speak for the client (X-Forwarded-For) and name the request; anyone
    // else's id is replaced (it would let a client forge or collide with the ids an operator
    // follows). Without trusted proxies neither header is looked up.
    const trusted = this.#clientIp.trusts(peer);
    const remote = this.#clientIp.resolve(peer, trusted ? req.headers['x-forwarded-for'] : undefined);
    const given = trusted ? req.headers['x-request-id'] : undefined;
    const seq = typeof given === 'string' && isValidRequestId(given) ? 0 : nextRequestSeq();
    const id = seq === 0 ? (given as string) : requestIdOf(seq);
    const ex = new RequestExchange(req, res, target, remote, id, c.devel, c.compressMinSize, this.#hideSecrets);
    ex.seq = seq;
    this.#inFlight.add(ex);
    this.#traffic.requests++;
    if (this.#access || this.#durations) ex.start = performance.now();
    // The id is sent as the head is written (http/response.ts): a setHeader() here would take every
    // response off Node's fast path.
    res.exchange = ex;
    whenClosed(res, this.#onClose);
    if (upgradeSocket) ex.upgrade = { head: head!, accept: () => this.#accept(ex, upgradeSocket) };
    // One test for both refusals and h2 keeps the common case to a single branch.
    if (target === '' || req.httpVersionMajor !== 1) {
      if (this.#access && req.httpVersionMajor === 2) ex.sentBefore = sentBytes(ex.socket);
      if (req.httpVersionMajor === 2 && target !== '' && isH2(res)) {
        if (prepareH2(req, res, id, c.maxHeaderSize)) return this.#handle(ex);
        ex.stats = this.#refused;
        return sendError(ex, 431, { detail: `the request headers exceed ${c.maxHeaderSize} bytes` });
      }
      ex.stats = this.#refused;
      refuseRequest(ex); // always Connection: close
      return;
    }
    if (this.#closing) res.setHeader('connection', 'close');
    this.#handle(ex);
  }

  #handle(ex: RequestExchange): void {
    // The exchange is the scope's store: a rejection or exception the handlers leave behind names it.
    // Off until needed (see http/faults.ts): the scope makes Node hook every async resource.
    const done = tracking.on ? requestScope.run(ex, this.#runInScope, ex) : this.#run(ex);
    if (done !== true) done.catch((err) => this.#fail(ex, err));
  }

  /** Counts in-flight requests for a graceful stop, and writes the access line. */
  #closed(res: EngineResponse): void {
    const ex = res.exchange!;
    if (this.#inFlight.remove(ex) === 0 && this.#drained) this.#drained();
    const finished = res.writableFinished; // a getter that walks the stream's state: read once
    this.#traffic.response(res.headersSent ? res.statusCode : 0, finished, ex.stats); // no answer sent: status 0, not the default 200
    this.#durations?.add((performance.now() - ex.start) / 1000);
    // Draining, a response that went out as keep-alive must not be followed by a close: the client
    // may already be sending its next request, which then gets `Connection: close` instead.
    if (this.#closing && !this.#draining && !ex.socket.destroyed) ex.socket.end();
    this.#access?.write(ex, res.statusCode, !finished);
  }

  /**
   * A CONNECT request: the socket leaves HTTP here. It counts as in flight until it closes (a
   * graceful stop waits for it within the grace period), and its access line is written when the
   * handler reports the outcome.
   */
  #connect(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    // Nothing may be read before the handler decides: early tunnel bytes must wait for the target.
    socket.pause();
    const remote = this.#clientIp.resolve(req.socket.remoteAddress, req.headers['x-forwarded-for']);
    const port = req.socket.remotePort ?? 0;
    const start = this.#opts.accessLog ? performance.now() : 0;
    const id = nextRequestId();
    this.#inFlight.count++; // a tunnel counts, but has no response to mark
    this.#traffic.requests++;
    this.#tunnels.add(socket);
    // An error with no listener would end the worker; the handler adds its own, this one only closes.
    socket.on('error', () => socket.destroy());
    socket.once('close', () => {
      this.#tunnels.delete(socket);
      if (--this.#inFlight.count === 0 && this.#drained) this.#drained();
    });
    let reported = false;
    const done = (status: number, up: number, down: number): void => {
      if (reported) return;
      reported = true;
      // Status 0: the client left before the tunnel was set up, so nothing was answered.
      this.#traffic.response(status, status !== 0, this.#connectStats);
      this.#opts.accessLog?.write({
        id, remote, port, method: 'CONNECT', url: req.url ?? '', version: req.httpVersion,
        status, bytes: down, up, ms: performance.now() - start, aborted: status === 0, ua: req.headers['user-agent'],
      });
    };
    const tunnel = { req, socket, head, remote, done };
    const handler = this.#opts.tunnel;
    if (this.#closing) return refuseTunnel(tunnel, 503, 'SKT_SERVER_CLOSING: the server is shutting down');
    if (!handler) return refuseTunnel(tunnel, 501, 'SKT_METHOD_NOT_IMPLEMENTED: CONNECT is not supported: this server is not a forward proxy');
    try {
      handler.connect(tunnel);
    } catch (err) {
      this.#opts.logger.error(`CONNECT ${req.url} failed in ${handler.name}`, err);
      if (!reported) refuseTunnel(tunnel, 500, 'SKT_HANDLER_FAILED: the tunnel could not be set up');
      else socket.destroy();
    }
  }

  /** Runs the handlers; stays synchronous while every handler answers synchronously. */
  #run(ex: RequestExchange): true | Promise<void> {
    try {
      for (let i = 0; i < this.#before.length; i++) {
        ex.stats = this.#beforeStats[i];
        const taken = this.#before[i]!.handle(ex, '', ex.path);
        if (taken === true) return true;
        if (taken !== false) return this.#continueAsync(ex, taken, i + 1, 0, 0);
      }
      if (ex.path === '*') return this.#asterisk(ex);
      return this.#mounts(ex, 0, 0);
    } catch (err) {
      this.#fail(ex, err);
      return true;
    }
  }

  #mounts(ex: RequestExchange, fromMount: number, fromHandler: number): true | Promise<void> {
    // The Host's group's mounts, longest prefix first, tested in place: no array of the matching ones per request.
    const mounts = this.#opts.routes.mountsFor(ex.headers.host);
    if (mounts === undefined) {
      ex.stats = this.#unmatched;
      sendError(ex, 421, { detail: 'this server has no site for the host named in the request' });
      return true;
    }
    for (let m = fromMount; m < mounts.length; m++) {
      const mount = mounts[m]!;
      if (!mountMatches(mount.prefix, ex.path)) continue;
      const rest = ex.path.slice(mount.prefix.length);
      ex.stats = mount.stats;
      for (let h = m === fromMount ? fromHandler : 0; h < mount.handlers.length; h++) {
        const taken = mount.handlers[h]!.handle(ex, mount.prefix, rest);
        if (taken === true) return true;
        if (taken !== false) return this.#continueAsync(ex, taken, -1, m, h + 1);
      }
    }
    ex.stats = this.#unmatched;
    sendError(ex, 404, { detail: `${ex.path} was not found on this server` });
    return true;
  }

  /** Finishes dispatch after a handler answered with a promise. `nextBefore < 0` means the route table stage. */
  async #continueAsync(ex: RequestExchange, pending: Promise<boolean>, nextBefore: number, mount: number, handler: number): Promise<void> {
    if (await pending) return;
    if (nextBefore >= 0) {
      for (let i = nextBefore; i < this.#before.length; i++) {
        ex.stats = this.#beforeStats[i];
        if (await this.#before[i]!.handle(ex, '', ex.path)) return;
      }
      if (ex.path === '*') {
        this.#asterisk(ex);
        return;
      }
    }
    const rest = this.#mounts(ex, mount, handler);
    if (rest !== true) await rest;
  }

  #asterisk(ex: RequestExchange): true {
    if (ex.method === 'OPTIONS') {
      ex.res.writeHead(200, { allow: ALLOW_ALL, 'content-length': 0 }).end();
    } else sendError(ex, 400, { detail: 'the asterisk target is only valid with OPTIONS' });
    return true;
  }

  #fail(ex: RequestExchange, err: unknown): void {
    if (isSkitaiError(err) && err.status < 500) {
      // An unread body would be parsed as the next request: drop the connection instead.
      sendError(ex, err.status, { detail: err.message, close: !ex.req.complete });
      return;
    }
    this.#opts.logger.error(`${ex.method} ${ex.url} failed`, err, { reqId: ex.id });
    sendError(ex, isSkitaiError(err) ? err.status : 500, { error: err, detail: ex.devel && err instanceof Error ? err.message : undefined });
  }
}

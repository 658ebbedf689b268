import type { Agent, Dispatcher } from 'undici';
import type { Endpoint } from '../transport/http/exchange.js';
import { classify } from '../transport/http/failure.js';
import { closeDispatchers, createAgent } from '../transport/http/pool.js';
import type { ErrorCode } from '../errors.js';
import { unmap } from '../http/clientip.js';
import { hasBody } from '../http/body.js';
import { refuseTunnel, sendError } from '../http/errorpage.js';
import type { Exchange, Handler, Tunnel, TunnelHandler } from '../http/handler.js';
import { redactTarget } from '../log/access.js';
import type { Logger } from '../log/logger.js';
import { ProxyAccess } from './forward/access.js';
import { ForwardCall } from './forward/call.js';
import { SelfCheck } from './forward/self.js';
import { parseAbsolute, parseAuthority, type Target } from './forward/target.js';
import { openTunnel } from './forward/tunnel.js';
import { requestHeaders } from './proxy/headers.js';
import { answerBug, describe } from './proxy/relay.js';
import type { StreamOutcome } from './proxy/stream.js';

/** Settings of the forward proxy, from `[server]` (durations in milliseconds). */
export interface ForwardOptions {
  /** `proxy_allow`: client IPs and CIDRs. */
  readonly allow: readonly string[];
  /** `proxy_connect_ports`: ports and ranges CONNECT may reach. */
  readonly connectPorts: readonly string[];
  readonly connectTimeout: number;
  /** Response headers, and each gap in a response body. */
  readonly timeout: number;
  /** A silent CONNECT tunnel is closed after this. */
  readonly idleTimeout: number;
  /** The listening port (known after listen) and `[server] ip`: how the proxy recognises itself. */
  readonly self: { readonly port: () => number; readonly ip: string };
  readonly logger?: Logger | undefined;
}

/** What OPTIONS with `Max-Forwards: 0` lists: the methods the proxy relays, and CONNECT. */
const PROXY_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, CONNECT';

/** The hops `Max-Forwards` still allows on OPTIONS and TRACE (the only methods it applies to); undefined otherwise or when malformed. */
function maxForwards(ex: Exchange): number | undefined {
  if (ex.method !== 'OPTIONS' && ex.method !== 'TRACE') return undefined;
  const value = ex.req.headers['max-forwards'];
  return typeof value === 'string' && /^\s*\d{1,9}\s*$/.test(value) ? Number(value) : undefined;
}

/** Connections per target origin; more requests wait for one. */
const CONNECTIONS_PER_ORIGIN = 64;

/**
 * `enable_proxy = yes`: the forward proxy. Absolute-form requests (`GET http://host:port/path`) are
 * sent to that origin over one shared undici Agent and the answer streams back; CONNECT opens a raw
 * tunnel (`forward/tunnel.ts`). Only clients in `proxy_allow` are served, CONNECT reaches only
 * `proxy_connect_ports`, and the proxy never forwards to itself. Decisions: docs/forward-proxy.md.
 *
 * Asked before the route table; a request in origin form (`/path`) is declined at once, so the
 * rest of the site costs one character test.
 */
export class ForwardHandler implements Handler, TunnelHandler {
  readonly name = 'forward-proxy';
  readonly #access: ProxyAccess;
  readonly #self: SelfCheck;
  readonly #agent: Agent;
  readonly #options: ForwardOptions;
  readonly #logger: Logger | undefined;

  constructor(options: ForwardOptions) {
    this.#options = options;
    this.#logger = options.logger;
    this.#access = new ProxyAccess(options.allow, options.connectPorts);
    this.#self = new SelfCheck(options.self.port, options.self.ip);
    this.#agent = createAgent({ connections: CONNECTIONS_PER_ORIGIN, connectTimeout: options.connectTimeout, keepAlive: 30_000 });
  }

  /** An origin-form path (`/…`) is never the forward proxy's: only absolute-form targets are. */
  declines(_method: string, path: string): boolean {
    return path.charCodeAt(0) === 47;
  }

  handle(ex: Exchange): boolean {
    const url = ex.req.url;
    if (url === undefined || url.charCodeAt(0) === 47 || url === '*') return false;
    try {
      this.#forward(ex, url);
    } catch (err) {
      answerBug(ex, this.name, this.#logger, err);
    }
    return true;
  }

  /** CONNECT host:port: checks in the order a refusal reveals least (client, form, port, loop). */
  connect(tunnel: Tunnel): void {
    const url = tunnel.req.url ?? '';
    const refuse = (status: number, code: ErrorCode, detail: string): void => {
      this.#logger?.debug(`${this.name}: CONNECT ${redactTarget(url)} from ${tunnel.remote} -> ${status} ${code}`);
      refuseTunnel(tunnel, status, `${code}: ${detail}`);
    };
    if (!this.#access.allowsClient(tunnel.remote)) return refuse(403, 'SKT_FORWARD_DENIED', `${tunnel.remote} may not use this proxy`);
    const target = parseAuthority(url);
    if (!target) return refuse(400, 'SKT_FORWARD_TARGET', 'CONNECT needs a host:port target, e.g. example.com:443');
    if (!this.#access.allowsPort(target.port)) return refuse(403, 'SKT_FORWARD_PORT', `tunnels to port ${target.port} are not allowed`);
    if (this.#isLoop(target, tunnel.req.headers.via)) return refuse(508, 'SKT_FORWARD_LOOP', 'this proxy does not forward to itself');
    openTunnel(tunnel, target, { connectTimeout: this.#options.connectTimeout, idleTimeout: this.#options.idleTimeout, logger: this.#logger });
  }

  async close(): Promise<void> {
    await closeDispatchers([this.#agent], 1000);
  }

  #forward(ex: Exchange, url: string): void {
    const { req } = ex;
    if (!this.#access.allowsClient(ex.remote)) return this.#answer(ex, 403, 'SKT_FORWARD_DENIED', `${ex.remote} may not use this proxy`);
    const parsed = parseAbsolute(url);
    if (parsed.kind === 'scheme') {
      return this.#answer(ex, 501, 'SKT_FORWARD_SCHEME', `${parsed.scheme}:// targets are not forwarded${parsed.scheme === 'https' ? '; use CONNECT' : ''}`);
    }
    if (parsed.kind === 'bad') return this.#answer(ex, 400, 'SKT_FORWARD_TARGET', parsed.why);
    const { target } = parsed;
    if (this.#isLoop(target, req.headers.via)) return this.#answer(ex, 508, 'SKT_FORWARD_LOOP', 'this proxy does not forward to itself');
    const hops = maxForwards(ex);
    if (hops === 0) return this.#finalRecipient(ex);

    const withBody = hasBody(req);
    // The request id goes on, as from the reverse proxy, so the origin's logs can be joined with
    // ours; `traceparent` passes as the client sent it (this proxy records no span of its own).
    const forwarding = { peer: unmap(req.socket.remoteAddress ?? ''), trustedPeer: false, via: this.#self.via, trace: { id: ex.id } };
    const headers = requestHeaders(req.rawHeaders, forwarding, withBody && req.headers['content-length'] !== undefined);
    if (hops !== undefined) {
      for (let i = 0; i < headers.length; i += 2) if (headers[i]!.toLowerCase() === 'max-forwards') headers[i + 1] = String(hops - 1);
    }
    // proxy_timeout bounds the response headers, each gap in the body, and a client that stops
    // reading (it is cut then, so it cannot hold one of the CONNECTIONS_PER_ORIGIN for ever).
    const endpoint: Endpoint = {
      dispatcher: this.#agent, origin: parsed.origin, node: target.name,
      connectTimeout: this.#options.connectTimeout, responseTimeout: this.#options.timeout, maxResponseSize: 0,
    };
    new ForwardCall(ex, target.name, this).start(endpoint, {
      method: ex.method as Dispatcher.HttpMethod,
      path: parsed.path,
      headers,
      // Streamed as it arrives, with its Content-Length when it had one, chunked otherwise.
      body: withBody ? req : null,
      via: this.#self.via,
    });
  }

  /** @internal How the one exchange with the origin ended (called by {@link ForwardCall}). */
  forwardDone(ex: Exchange, name: string, o: StreamOutcome): void {
    // Called from inside undici's callbacks, which would swallow a bug of ours: log it and answer.
    try {
      this.#settle(ex, name, o);
    } catch (err) {
      answerBug(ex, this.name, this.#logger, err);
    }
  }

  #settle(ex: Exchange, name: string, o: StreamOutcome): void {
    const url = ex.req.url ?? '';
    switch (o.end) {
      case 'relayed':
      case 'left':
        return;
      case 'bad-status':
        return this.#answer(ex, 502, 'SKT_FORWARD_BAD_GATEWAY', `${name} answered with an invalid status (${o.status})`);
      case 'bad-headers':
        return this.#answer(ex, 502, 'SKT_FORWARD_BAD_GATEWAY', `${name} answered with headers that cannot be relayed (${o.error!.message})`);
      case 'cut':
        // The status line is out; the client connection was cut, so it sees a truncated response.
        return void this.#logger?.warn(`${this.name}: ${ex.method} ${url} -> ${o.status} cut (SKT_FORWARD_ABORTED): ${describe(o.error!)}`);
      default:
        return this.#failed(ex, name, o.error);
    }
  }

  /** A failed exchange as a page: the timeouts are 504, anything else 502. */
  #failed(ex: Exchange, target: string, err: unknown): void {
    const code = (err as { code?: unknown }).code;
    if (code === 'UND_ERR_CONNECT_TIMEOUT') {
      return this.#answer(ex, 504, 'SKT_FORWARD_TIMEOUT', `no connection to ${target} within ${this.#options.connectTimeout / 1000} s`);
    }
    if (code === 'UND_ERR_HEADERS_TIMEOUT') {
      return this.#answer(ex, 504, 'SKT_FORWARD_TIMEOUT', `no response from ${target} within ${this.#options.timeout / 1000} s`);
    }
    const failure = classify(err, { node: target, connectTimeout: this.#options.connectTimeout, responseTimeout: this.#options.timeout });
    this.#answer(ex, 502, 'SKT_FORWARD_BAD_GATEWAY', failure.result.msg);
  }

  /**
   * `Max-Forwards: 0` on OPTIONS or TRACE: the proxy must answer as if it were the origin (RFC 9110
   * §7.6.2). OPTIONS gets the methods the proxy relays; TRACE is not implemented anywhere in Skitai
   * (reflecting requests helps cross-site tracing), so it is 405.
   */
  #finalRecipient(ex: Exchange): void {
    const headers = { allow: PROXY_METHODS, via: this.#self.via };
    if (ex.method === 'OPTIONS') return void ex.res.writeHead(200, { ...headers, 'content-length': 0 }).end();
    sendError(ex, 405, { detail: 'TRACE is not supported', headers });
  }

  /** Loops: a target that is this server, or a request that already passed through it. */
  #isLoop(target: Target, via: string | string[] | undefined): boolean {
    return this.#self.isSelf(target.host, target.port) || this.#self.seenIn(via);
  }

  /**
   * An error page, unless the client is gone. The detail names only what the client itself asked
   * for (its target), so it is shown in production too.
   */
  #answer(ex: Exchange, status: number, code: ErrorCode, detail: string): void {
    const level = status >= 500 ? 'warn' : 'debug';
    this.#logger?.log(level, `${this.name}: ${ex.method} ${redactTarget(ex.req.url ?? '')} from ${ex.remote} -> ${status} ${code}: ${detail}`);
    if (ex.res.destroyed) return;
    // An unread body would be parsed as the next request: close the connection then. (`complete`
    // is still false for a body-less request answered before the parser's next turn.)
    sendError(ex, status, { detail: `${code}: ${detail}`, close: hasBody(ex.req) && !ex.req.complete });
  }
}

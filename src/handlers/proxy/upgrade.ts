import fs from 'node:fs';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { Upstream } from '../../client/upstream.js';
import { unmap } from '../../http/clientip.js';
import { sendError } from '../../http/errorpage.js';
import type { Exchange } from '../../http/handler.js';
import type { Logger } from '../../log/logger.js';
import { requestHeaders, responseHeaders } from './headers.js';

/** What a proxied upgrade needs of its mount (the reverse proxy's {@link ProxyHandler}). */
export interface UpgradeMount {
  readonly name: string;
  readonly up: Upstream;
  readonly logger: Logger | undefined;
}

/** Response headers of a 101 that stop here: they describe the member's connection, not the client's. */
const HOP = new Set(['keep-alive', 'te', 'trailer', 'transfer-encoding', 'proxy-connection']);

const cas = new Map<string, string>();

/**
 * A WebSocket handshake under `/prefix = @cluster`: sent to one member chosen as for HTTP (strategy,
 * health, breaker, retry budget; a member that cannot be reached is reported and the next one
 * tried), then, on 101, the two connections are joined byte for byte with backpressure (`pipe`)
 * until either ends, which ends the other. A member that answers anything but 101 has its answer
 * relayed as an ordinary response. Hop-by-hop headers stop here as for HTTP, except the
 * `Connection: Upgrade` and `Upgrade` pair the handshake is made of. docs/websocket.md.
 */
export class UpgradeCall {
  readonly #h: UpgradeMount;
  readonly #ex: Exchange;
  readonly #path: string;
  #tried: Set<string> | undefined;
  #req: http.ClientRequest | undefined;
  #left = false;

  constructor(mount: UpgradeMount, ex: Exchange, rest: string) {
    this.#h = mount;
    this.#ex = ex;
    this.#path = (rest === '' ? '/' : rest) + (ex.query === '' ? '' : `?${ex.query}`);
    ex.res.once('close', () => {
      // Before the 101 (after it the response is detached and never closes): the client left.
      this.#left = true;
      this.#req?.destroy();
    });
  }

  start(): void {
    this.#h.up.cluster.countRequest();
    this.#next();
  }

  #next(): void {
    const up = this.#h.up;
    const loan = up.lend(this.#tried ?? new Set());
    if (loan === undefined || loan === 'breaker') {
      const breaker = loan === 'breaker';
      return this.#answer(breaker ? 503 : 502, breaker ? `SKT_PROXY_UNAVAILABLE: the circuit breaker of @${up.cluster.name} is open` : `SKT_PROXY_BAD_GATEWAY: no member of @${up.cluster.name} could be reached`);
    }
    const ex = this.#ex;
    const peer = unmap(ex.req.socket?.remoteAddress ?? '');
    const fwd = {
      peer, trustedPeer: ex.remote !== peer, proto: (ex.req.socket as TLSSocket | undefined)?.encrypted ? 'https' : 'http',
      trace: { id: ex.id, traceparent: ex.traceparent() },
    };
    const headers = requestHeaders(ex.req.rawHeaders, fwd, false);
    headers.push('host', loan.node, 'connection', 'Upgrade', 'upgrade', 'websocket');
    const origin = new URL(loan.endpoint.origin);
    const ssl = origin.protocol === 'https:';
    const caFile = up.options.caFile;
    let ca: string | undefined;
    if (ssl && caFile) {
      ca = cas.get(caFile);
      if (ca === undefined) cas.set(caFile, (ca = fs.readFileSync(caFile, 'utf8')));
    }
    const req = (ssl ? https : http).request({
      host: origin.hostname.replace(/^\[|\]$/g, ''), port: origin.port, method: 'GET', path: this.#path, headers, agent: false, setHost: false,
      ...(ca ? { ca } : {}),
    });
    this.#req = req;
    let settled = false;
    const fail = (why: string, timeout: boolean): void => {
      if (settled) return;
      settled = true;
      req.destroy();
      loan.release(this.#left ? 'cancelled' : 'failure');
      if (this.#left) return;
      this.#h.logger?.warn(`${this.#h.name}: WebSocket ${ex.req.url}: ${loan.node}: ${why}`);
      (this.#tried ??= new Set()).add(loan.node);
      if (!timeout && up.cluster.tryRetry()) return this.#next();
      this.#answer(timeout ? 504 : 502, timeout ? `SKT_PROXY_TIMEOUT: @${up.cluster.name} did not answer in time` : `SKT_PROXY_BAD_GATEWAY: no member of @${up.cluster.name} could be reached`);
    };
    req.setTimeout(loan.endpoint.responseTimeout, () => fail('no answer to the handshake in time', true));
    req.on('error', (err) => fail(err.message, false));
    req.on('upgrade', (res: IncomingMessage, member: Duplex, head: Buffer) => {
      settled = true;
      req.setTimeout(0);
      loan.release(101);
      this.#joined(res, member as Socket, head);
    });
    req.on('response', (res: IncomingMessage) => {
      settled = true;
      req.setTimeout(0);
      loan.release(res.statusCode ?? 502);
      // Refused (404, 401, 400...): the member's answer is the client's.
      if (this.#left || ex.res.headersSent) return void res.resume();
      ex.res.writeHead(res.statusCode ?? 502, responseHeaders(res.headers));
      res.pipe(ex.res);
    });
    req.end();
  }

  /** 101 from the member: answer the client alike and join the two connections. */
  #joined(res: IncomingMessage, member: Socket, head: Buffer): void {
    const client = this.#ex.upgrade!.accept();
    if (!client) return void member.destroy();
    let text = `HTTP/1.1 101 ${res.statusMessage || 'Switching Protocols'}\r\n`;
    const raw = res.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) if (!HOP.has(raw[i]!.toLowerCase())) text += `${raw[i]}: ${raw[i + 1]}\r\n`;
    client.write(`${text}\r\n`);
    if (head.length > 0) client.write(head);
    const early = this.#ex.upgrade!.head;
    if (early.length > 0) member.write(early);
    member.setNoDelay(true);
    (client as Socket).setNoDelay?.(true);
    // Either side ending or failing ends both: the other peer sees its connection close.
    const end = (): void => {
      client.destroy();
      member.destroy();
    };
    member.on('error', end).on('close', end);
    client.on('error', end).on('close', end);
    member.pipe(client);
    client.pipe(member);
    member.resume();
  }

  #answer(status: number, detail: string): void {
    const ex = this.#ex;
    if (this.#left || ex.res.headersSent || ex.res.destroyed) return;
    sendError(ex, status, { detail, ...(status === 503 ? { headers: { 'retry-after': '1' } } : {}) });
  }
}

import net from 'node:net';
import type { Duplex } from 'node:stream';
import { refuseTunnel } from '../../http/errorpage.js';
import type { Tunnel } from '../../http/handler.js';
import type { Logger } from '../../log/logger.js';
import type { Target } from './target.js';

/** Limits of a CONNECT tunnel, in milliseconds. */
export interface TunnelOptions {
  readonly connectTimeout: number;
  readonly idleTimeout: number;
  readonly logger?: Logger | undefined;
}

const ESTABLISHED = Buffer.from('HTTP/1.1 200 Connection Established\r\n\r\n', 'latin1');

/**
 * Connect to `target` and relay raw bytes both ways (RFC 9110 §9.3.6). Until the connection stands
 * the client is answered with an error page (502 refused or unreachable, 504 connect timeout); after
 * the `200 Connection Established` line the tunnel is opaque.
 *
 * Lifetime: an end (FIN) on one side is passed on to the other (`pipe`); when either socket closes
 * the other is ended after its pending bytes and then destroyed; an error on either destroys both;
 * and when neither side has sent a byte for `idleTimeout` both are destroyed. The access line is
 * reported once both sockets are closed, with the bytes each way.
 */
export function openTunnel(tunnel: Tunnel, target: Target, options: TunnelOptions): void {
  const client = tunnel.socket;
  const upstream = net.connect({ host: target.host, port: target.port });
  let established = false;
  let settled = false;

  const refuse = (status: number, detail: string, why: string): void => {
    if (settled) return;
    settled = true;
    clearTimeout(connectTimer);
    upstream.destroy();
    options.logger?.warn(`forward-proxy: CONNECT ${target.name} from ${tunnel.remote} -> ${status} ${detail.slice(0, detail.indexOf(':'))}: ${why}`);
    refuseTunnel(tunnel, status, detail);
  };
  const connectTimer = setTimeout(() => {
    const s = options.connectTimeout / 1000;
    refuse(504, `SKT_FORWARD_TIMEOUT: no connection to ${target.name} within ${s} s`, `connect timeout after ${s} s (proxy_connect_timeout)`);
  }, options.connectTimeout);

  upstream.on('error', (err: NodeJS.ErrnoException) => {
    if (!established) {
      const why = err.code ?? err.message;
      refuse(502, `SKT_FORWARD_BAD_GATEWAY: cannot connect to ${target.name} (${why})`, err.message);
    } else destroyBoth();
  });
  // Gone before the target answered: nothing to relay, nothing left open.
  const onEarlyClose = (): void => {
    if (settled) return;
    settled = true;
    clearTimeout(connectTimer);
    upstream.destroy();
    tunnel.done(0, 0, 0);
  };
  client.once('close', onEarlyClose);

  upstream.once('connect', () => {
    clearTimeout(connectTimer);
    if (settled) return;
    settled = true;
    established = true;
    client.off('close', onEarlyClose);
    relay(tunnel, upstream, options.idleTimeout);
  });

  function destroyBoth(): void {
    client.destroy();
    upstream.destroy();
  }
}

/** The established tunnel: both directions piped, with the lifetime rules above. */
function relay(tunnel: Tunnel, upstream: net.Socket, idleTimeout: number): void {
  // node:http hands over a net.Socket (a TLSSocket under HTTPS), typed as a plain Duplex.
  const client = tunnel.socket as net.Socket;
  const destroyBoth = (): void => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', destroyBoth);
  upstream.on('error', destroyBoth);
  // A socket's timer counts reads and writes; a byte in either direction touches both sockets.
  client.setTimeout(idleTimeout);
  upstream.setTimeout(idleTimeout);
  client.on('timeout', destroyBoth);
  upstream.on('timeout', destroyBoth);

  let open = 2;
  const closed = (): void => {
    if (--open === 0) tunnel.done(200, upstream.bytesWritten, upstream.bytesRead);
  };
  client.once('close', () => {
    closed();
    finish(upstream);
  });
  upstream.once('close', () => {
    closed();
    finish(client);
  });

  client.write(ESTABLISHED);
  if (tunnel.head.length > 0) upstream.write(tunnel.head);
  client.pipe(upstream);
  upstream.pipe(client);
}

/** The other side closed: send what is still queued, then close this one too. */
function finish(socket: Duplex): void {
  if (socket.destroyed) return;
  if (socket.writableFinished) return void socket.destroy();
  socket.end();
  socket.once('finish', () => socket.destroy());
}

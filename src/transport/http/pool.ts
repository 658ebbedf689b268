import fs from 'node:fs';
import type { Agent, buildConnector, Dispatcher, Pool } from 'undici';
import { undici } from './undici.js';

/**
 * undici dispatchers: one keep-alive Pool per cluster member (its own connection cap and TLS
 * trust), one shared Agent for single URLs (a pool per origin inside). None retries on its own —
 * failover happens in one place per request path (`call/plan.ts`, the reverse proxy), under a budget.
 */

export interface PoolOptions {
  /** Connections per origin. */
  readonly connections: number;
  readonly connectTimeout: number;
  /** Idle keep-alive (ms); a shorter `Keep-Alive: timeout` from the server wins. */
  readonly keepAlive: number;
  /** PEM file of CAs to trust instead of the system's. */
  readonly caFile?: string | undefined;
  /** Offer h2 by ALPN (undici's allowH2); HTTP/1.1 when the member does not take it. */
  readonly h2?: boolean | undefined;
  /** Connect to this address instead of the origin's host, which stays the Host header and TLS name (a member found in DNS). */
  readonly address?: string | undefined;
}

function connectOptions(options: PoolOptions): { timeout: number; ca?: string; rejectUnauthorized: true } {
  // Certificates are always verified (Skitai 0.9 did not verify; that is the bug we do not copy).
  const ca = options.caFile ? fs.readFileSync(options.caFile, 'utf8') : undefined;
  return { timeout: options.connectTimeout, rejectUnauthorized: true, ...(ca ? { ca } : {}) };
}

/** A Pool for one member origin (`http://host:port` or `https://…`). */
export function createPool(origin: string, options: PoolOptions): Pool {
  const u = undici();
  const connect = connectOptions(options);
  const address = options.address;
  return new u.Pool(origin, {
    connections: options.connections,
    connect: address === undefined ? connect : pinned(u.buildConnector(connect), address),
    keepAliveTimeout: options.keepAlive,
    keepAliveMaxTimeout: options.keepAlive,
    ...(options.h2 ? { allowH2: true, factory: h2Client } : {}),
  });
}

/**
 * A member connection that multiplexes once h2 is chosen. undici gives every Client `pipelining: 1`
 * unless told otherwise, which over h2 means one stream per connection (a connection per concurrent
 * request). Unset, it follows the protocol ALPN chose: 1 for HTTP/1.1, streams up to the member's
 * SETTINGS_MAX_CONCURRENT_STREAMS for h2 (nghttp2 holds the rest until a stream ends).
 */
function h2Client(origin: string | URL, opts: object): Dispatcher {
  const client = new (undici().Client)(origin, opts);
  (client as unknown as { pipelining: number | undefined }).pipelining = undefined;
  return client;
}

/**
 * A connector that dials `address` whatever host the origin names. undici has already taken the TLS
 * server name from the origin, so SNI and the certificate check keep the name.
 */
function pinned(connector: buildConnector.connector, address: string): buildConnector.connector {
  return (options, callback) => connector({ ...options, hostname: address }, callback);
}

/** The Agent behind rest/wget and the verb helpers. */
export function createAgent(options: PoolOptions): Agent {
  return new (undici().Agent)({
    connections: options.connections,
    connect: connectOptions(options),
    keepAliveTimeout: options.keepAlive,
    keepAliveMaxTimeout: options.keepAlive,
  });
}

/** An undici dispatcher, or the reverse proxy's own member pool (transport/h1). */
export interface Closable {
  close(): Promise<void>;
  destroy(): Promise<void>;
}

/**
 * Close dispatchers, letting requests in flight finish for up to `graceMs`, then destroying what is
 * left so shutdown never hangs on a stuck member.
 */
export async function closeDispatchers(dispatchers: readonly Closable[], graceMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), graceMs);
  });
  const closed = Promise.all(dispatchers.map((d) => d.close().catch(() => undefined)));
  const outcome = await Promise.race([closed, grace]);
  clearTimeout(timer);
  if (outcome === 'late') await Promise.all(dispatchers.map((d) => d.destroy().catch(() => undefined)));
}

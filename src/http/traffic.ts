import net, { type Socket } from 'node:net';

/** This worker's HTTP numbers since it started listening (the status page's `http` part). */
export interface TrafficStatus {
  readonly startedAt: string;
  readonly uptimeSeconds: number;
  readonly requests: {
    /** Requests received (CONNECT tunnels included). */
    readonly total: number;
    readonly inFlight: number;
    /**
     * Responses by status class, `2xx` … `5xx` (those whose headers went out), and requests whose
     * response was cut or never sent (the client went away first): these count in `aborted` only.
     */
    readonly byStatus: Readonly<Record<string, number>>;
    readonly aborted: number;
  };
  readonly connections: { readonly open: number; readonly total: number };
  /** Bytes on the wire (encrypted bytes for HTTPS), both directions, closed and open connections. */
  readonly bytes: { readonly in: number; readonly out: number };
}

/**
 * Upper bounds (seconds) of the request duration histogram: explicit, from a static file served
 * from memory (< 1 ms) to a slow upstream (10 s).
 */
export const DURATION_BUCKETS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * Responses of one route (a mount prefix, or a handler asked before the route table), by status
 * class: plain integers, bumped by the engine per request, read by the metrics at scrape time.
 */
export class RouteStats {
  /** Index 1..5: `1xx`..`5xx`; index 0: no response was sent (the client left first). */
  readonly byClass = [0, 0, 0, 0, 0, 0];
  constructor(readonly route: string) {}
}

/** Request durations counted into {@link DURATION_BUCKETS} (per bucket, not cumulative; the last slot is +Inf). */
export class Durations {
  readonly counts: number[] = new Array<number>(DURATION_BUCKETS.length + 1).fill(0);
  sum = 0;
  count = 0;

  add(seconds: number): void {
    let i = 0;
    while (i < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[i]!) i++;
    this.counts[i]!++;
    this.sum += seconds;
    this.count++;
  }
}

/**
 * Counters the engine bumps: per request a few integer increments; per connection one shared close
 * listener. Bytes are read from the sockets themselves, so no per-chunk work is added.
 */
export class Traffic {
  requests = 0;
  aborted = 0;
  readonly #byClass = [0, 0, 0, 0, 0, 0];
  #connections = 0;
  readonly #open = new Set<Socket>();
  #closedIn = 0;
  #closedOut = 0;
  #startedAt = Date.now();
  readonly #onClose: (this: Socket) => void;

  constructor() {
    const traffic = this;
    this.#onClose = function onClose(this: Socket): void {
      traffic.#open.delete(this);
      traffic.#closedIn += this.bytesRead;
      traffic.#closedOut += this.bytesWritten;
    };
  }

  /** The server started listening: uptime counts from here. */
  started(): void {
    this.#startedAt = Date.now();
  }

  connection(socket: Socket): void {
    this.#connections++;
    this.#open.add(socket);
    socket.once('close', this.#onClose);
  }

  /** Cut every connection still open (the end of a stop, for servers without closeAllConnections). */
  destroyOpen(): void {
    for (const s of this.#open) s.destroy();
  }

  /** A response ended (or was cut, `complete` false); `status` 0 when none was sent at all. */
  response(status: number, complete: boolean, route?: RouteStats): void {
    if (!complete) this.aborted++;
    const c = (status / 100) | 0;
    if (c >= 1 && c <= 5) {
      this.#byClass[c]!++;
      if (route) route.byClass[c]!++;
    } else if (route) route.byClass[0]!++;
  }

  /** Bytes on the wire so far, closed and open connections (the metrics; the status page has them in {@link status}). */
  bytes(): { in: number; out: number; open: number; total: number } {
    let bytesIn = this.#closedIn;
    let bytesOut = this.#closedOut;
    for (const s of this.#open) {
      bytesIn += s.bytesRead;
      bytesOut += s.bytesWritten;
    }
    return { in: bytesIn, out: bytesOut, open: this.#open.size, total: this.#connections };
  }

  status(inFlight: number): TrafficStatus {
    const bytes = this.bytes();
    const byStatus: Record<string, number> = {};
    for (let c = 1; c <= 5; c++) byStatus[`${c}xx`] = this.#byClass[c]!;
    return {
      startedAt: new Date(this.#startedAt).toISOString(),
      uptimeSeconds: Math.round((Date.now() - this.#startedAt) / 1000),
      requests: { total: this.requests, inFlight, byStatus, aborted: this.aborted },
      connections: { open: bytes.open, total: bytes.total },
      bytes: { in: bytes.in, out: bytes.out },
    };
  }
}

/**
 * node's own key for a socket's handle (`kHandle` in its net.js), found once. `socket._handle` is a
 * getter over it that every kind of socket and server goes through, so the read inside it is
 * megamorphic (~0.2 k instructions), and `_bytesDispatched` reads it twice; read here, where only
 * client sockets pass, it is one plain property read. Undefined if a Node version names it otherwise.
 */
const kHandle = Object.getOwnPropertySymbols(new net.Socket()).find((s) => s.description === 'kHandle');

/**
 * Bytes handed to the kernel on `socket` so far: its handle's count while it has one (what node's
 * `_bytesDispatched` reads), else what node kept when the handle closed. `socket.bytesWritten` adds
 * what is still queued in the stream, which costs a copy of its write queue on every read; what was
 * dispatched is also what the access log means by "written to the socket".
 */
export function sentBytes(socket: Socket): number {
  const handle = kHandle === undefined ? undefined : (socket as unknown as Record<symbol, { bytesWritten?: unknown } | null | undefined>)[kHandle];
  const written = handle?.bytesWritten;
  if (typeof written === 'number') return written;
  const dispatched = (socket as unknown as { _bytesDispatched?: unknown })._bytesDispatched;
  return typeof dispatched === 'number' ? dispatched : socket.bytesWritten;
}

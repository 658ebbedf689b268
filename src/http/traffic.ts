import type { Socket } from 'node:net';

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

  /** A response ended (or was cut, `complete` false); `status` 0 when none was sent at all. */
  response(status: number, complete: boolean): void {
    if (!complete) this.aborted++;
    const c = (status / 100) | 0;
    if (c >= 1 && c <= 5) this.#byClass[c]!++;
  }

  status(inFlight: number): TrafficStatus {
    let bytesIn = this.#closedIn;
    let bytesOut = this.#closedOut;
    for (const s of this.#open) {
      bytesIn += s.bytesRead;
      bytesOut += s.bytesWritten;
    }
    const byStatus: Record<string, number> = {};
    for (let c = 1; c <= 5; c++) byStatus[`${c}xx`] = this.#byClass[c]!;
    return {
      startedAt: new Date(this.#startedAt).toISOString(),
      uptimeSeconds: Math.round((Date.now() - this.#startedAt) / 1000),
      requests: { total: this.requests, inFlight, byStatus, aborted: this.aborted },
      connections: { open: this.#open.size, total: this.#connections },
      bytes: { in: bytesIn, out: bytesOut },
    };
  }
}

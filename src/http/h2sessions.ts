/**
 * The open h2 sessions of one server: the idle timeout (`keep_alive`), GOAWAY at a stop or reload,
 * and the cut at the end of the grace period (docs/http2.md, "Stop and reload" and "Limits and abuse").
 */
import type http2 from 'node:http2';
import { performance } from 'node:perf_hooks';

/** What the idle sweep keeps on a session: its byte count at the last sweep, and when that count last moved. */
const kSeen = Symbol('h2 idle');
interface Seen {
  bytes: number;
  at: number;
}
type Tracked = http2.ServerHttp2Session & { [kSeen]: Seen };

/**
 * Each session closes (GOAWAY `NO_ERROR`, open streams finish) once no byte moved on its connection
 * in either direction for `idleMs`, as an HTTP/1 connection does at its keep-alive timeout. One timer
 * per server sweeps every session a few times per timeout, instead of node's timer per session, which
 * node refreshes on every frame it reads or writes (a clock read and a timer-list move, several times
 * per stream). So a session is closed between `idleMs` and `idleMs` plus one sweep step after its
 * last byte, never before.
 */
export class H2Sessions {
  readonly #open = new Set<Tracked>();
  readonly #idleMs: number;
  /** The sweep's period: a quarter of the timeout, within 100 ms … 1 s. */
  readonly step: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(idleMs: number) {
    this.#idleMs = idleMs;
    this.step = Math.max(100, Math.min(1000, Math.floor(idleMs / 4)));
  }

  get count(): number {
    return this.#open.size;
  }

  add(session: http2.ServerHttp2Session): void {
    const s = session as Tracked;
    s[kSeen] = { bytes: -1, at: performance.now() };
    this.#open.add(s);
    session.once('close', () => {
      this.#open.delete(s);
      if (this.#open.size === 0) this.#stop();
    });
    // A session error (a protocol violation, a reset socket) closes the session; without a listener it would end the worker.
    session.on('error', () => session.destroy());
    // Unref'd: an idle server does not stay up for it; it runs only while a session is open.
    this.#timer ??= setInterval(() => this.#sweep(), this.step).unref();
  }

  /** GOAWAY on every session: streams open now run to their end, new ones go to a new connection. */
  goaway(): void {
    for (const s of this.#open) if (!s.closed) s.close();
  }

  /** Cut every session (after the grace period), then the server's other (HTTP/1) connections. */
  destroy(connections: { destroyOpen(): void }): void {
    for (const s of this.#open) s.destroy();
    this.#stop();
    connections.destroyOpen();
  }

  #stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #sweep(): void {
    const now = performance.now();
    for (const s of this.#open) {
      // close() was called (idle, a stop) or the session is gone: nothing left to time.
      if (s.closed || s.destroyed) continue;
      const bytes = moved(s);
      const seen = s[kSeen];
      if (bytes !== seen.bytes) {
        seen.bytes = bytes;
        seen.at = now;
      } else if (now - seen.at >= this.#idleMs) {
        // close(), not destroy(): streams still open finish first.
        s.close();
      }
    }
  }
}

/**
 * Bytes read and written on a session's connection so far (its socket, through node's proxy of it);
 * -1 when the socket is already gone. A sweep must never throw: it runs in a timer.
 */
function moved(session: http2.ServerHttp2Session): number {
  try {
    const socket = session.socket;
    return socket.bytesRead + socket.bytesWritten;
  } catch {
    return -1;
  }
}

import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { isH2 } from './h2.js';

/** What the list needs of a request: its neighbour links (kept on the request: no allocation per request). */
export interface InFlightEntry {
  prev: InFlightEntry | undefined;
  next: InFlightEntry | undefined;
  readonly socket: Socket;
  readonly res: ServerResponse;
}

/** The requests being served right now, newest last, linked through the requests themselves. */
export class InFlight {
  count = 0;
  #newest: InFlightEntry | undefined;

  add(e: InFlightEntry): void {
    this.count++;
    if (this.#newest) {
      this.#newest.next = e;
      e.prev = this.#newest;
    }
    this.#newest = e;
  }

  /** Returns the count left. */
  remove(e: InFlightEntry): number {
    if (e.prev) e.prev.next = e.next;
    if (e.next) e.next.prev = e.prev;
    else this.#newest = e.prev;
    e.prev = e.next = undefined;
    return --this.count;
  }

  /**
   * Responses still to be written say `Connection: close`: at a stop, the client learns from the
   * response itself that the connection ends, instead of sending its next request into a closing
   * socket (a reset). Only the newest request of each connection: a response marked so ends its
   * connection, and pipelined requests behind it would lose theirs.
   */
  lastResponses(): void {
    const seen = new Set<Socket>();
    for (let e = this.#newest; e; e = e.prev) {
      // An h2 stream has no Connection header (RFC 9113 §8.2.2): its session gets GOAWAY instead.
      if (isH2(e.res) || seen.has(e.socket)) continue;
      seen.add(e.socket);
      if (!e.res.headersSent) e.res.setHeader('connection', 'close');
    }
  }
}

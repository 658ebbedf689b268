import type { ServerResponse } from 'node:http';
import { CallAbort } from '../../transport/http/failure.js';
import type { Endpoint } from '../../transport/http/exchange.js';
import type { Exchange } from '../../http/handler.js';
import { StreamExchange, type Forward, type StreamDone, type StreamOutcome } from '../proxy/stream.js';

/** How a forwarded request ended, for the handler to answer and log (`outcome.end` says which). */
export interface ForwardDone {
  forwardDone(ex: Exchange, target: string, outcome: StreamOutcome): void;
}

/** Finds the call of a response from inside the shared 'close' listener (`this` is the response). */
const CALL = Symbol('skitai.forward.call');
type Tagged = ServerResponse & { [CALL]?: ForwardCall };

function onClientClose(this: Tagged): void {
  this[CALL]?.clientClosed();
}

/**
 * One absolute-form request on its way to the origin: a single {@link StreamExchange} (the reverse
 * proxy's transport: undici `dispatch()`, chunks straight to the client's response, no Readable,
 * pipeline or AbortSignal per request). The client going away cancels it through one shared
 * 'close' listener. The origin is asked once: a forward proxy does not retry.
 */
export class ForwardCall implements StreamDone {
  readonly #ex: Exchange;
  readonly #target: string;
  readonly #done: ForwardDone;
  #attempt: StreamExchange | undefined;

  /** `target`: the origin's `host:port`, for messages. */
  constructor(ex: Exchange, target: string, done: ForwardDone) {
    this.#ex = ex;
    this.#target = target;
    this.#done = done;
  }

  start(endpoint: Endpoint, forward: Forward): void {
    const res = this.#ex.res;
    (res as Tagged)[CALL] = this;
    res.on('close', onClientClose);
    this.#attempt = new StreamExchange(endpoint, forward, res, endpoint.responseTimeout, this);
    this.#attempt.start();
  }

  clientClosed(): void {
    if (this.#ex.res.writableFinished) return;
    this.#attempt?.cancel(new CallAbort('cancel'));
  }

  streamDone(outcome: StreamOutcome): void {
    this.#attempt = undefined;
    this.#done.forwardDone(this.#ex, this.#target, outcome);
  }
}

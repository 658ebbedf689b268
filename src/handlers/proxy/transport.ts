import type { ServerResponse } from 'node:http';
import type { Health, Outcome, CancelScope, Done, Transport } from '../../call/outcome.js';
import type { Rule } from '../../call/plan.js';
import { Result } from '../../call/result.js';
import { streamMayRetry } from '../../call/retry.js';
import { Status } from '../../call/status.js';
import { StreamExchange, type Forward, type StreamDone, type StreamEndpoint, type StreamOutcome } from './stream.js';

/**
 * The reverse proxy's {@link StreamExchange} as a `Transport` of the call layer, so that
 * `failover()` (call/plan.ts) does the picking, leasing, retrying and retry budget for the proxy as
 * it does for `was.lb`. `failover()` only sees a `Result`; the proxy answers by how the relay
 * ended, which the request learns from {@link StreamRequest.attemptEnded} before `failover()` does.
 */

/** What the proxy's transport needs of one proxied request (a `ProxyCall`). */
export interface StreamRequest {
  readonly method: string;
  /** A buffered body, or none: may be sent again to another member. */
  readonly replayable: boolean;
  readonly res: ServerResponse;
  /** What to send now: the same `Forward` every attempt, its budget header rewritten to what is left. */
  forwardNow(): Forward;
  /** How an attempt ended, told before `failover()` hears it. */
  attemptEnded(outcome: StreamOutcome, node: string): void;
}

// failover() reads only a Result's status: any NORMAL ends the call, a cancelled non-NORMAL too.
// These ends are not the transport's failures to retry (the answer started, or no member would take it).
const ENDED = new Result({ status: Status.NORMAL, code: 200, msg: 'relayed', node: '' });
const LEFT = new Result({ status: Status.NETERR, code: 'SKT_CLIENT_NETWORK', msg: 'cancelled', node: '' });

/** One attempt's report: the StreamDone of its exchange and the Outcome `failover()` gets (one object). */
class StreamAttempt implements StreamDone, Outcome<Result> {
  result: Result = ENDED;
  sent = true;
  health: Health = 'cancelled';
  readonly #endpoint: StreamEndpoint;
  readonly #req: StreamRequest;
  readonly #done: Done<Result>;

  constructor(endpoint: StreamEndpoint, req: StreamRequest, done: Done<Result>) {
    this.#endpoint = endpoint;
    this.#req = req;
    this.#done = done;
  }

  streamDone(o: StreamOutcome): void {
    const h = o.health;
    this.health = typeof h === 'number' ? (this.#endpoint.failOn5xx === true && h >= 500 ? 'failure' : 'success') : h;
    if (o.end === 'failed') {
      this.result = o.failure!.result;
      this.sent = o.failure!.sent;
    } else if (o.end === 'left') {
      this.result = LEFT;
    }
    this.#req.attemptEnded(o, this.#endpoint.node);
    this.#done(this);
  }
}

/** `send(endpoint, request, cancel, done)`: one streamed attempt, registered with `cancel`. */
export const streamTransport: Transport<StreamEndpoint, StreamRequest, Result> = {
  send(endpoint: StreamEndpoint, req: StreamRequest, cancel: CancelScope, done: Done<Result>): void {
    const exchange = new StreamExchange(endpoint, req.forwardNow(), req.res, endpoint.responseTimeout, new StreamAttempt(endpoint, req, done));
    exchange.start();
    cancel.add(exchange);
  },
};

/** The proxy's rule (`streamMayRetry`, beside `was.lb`'s in call/retry.ts); never hedged. */
export const streamRule: Rule<StreamRequest, Result> = {
  mayRetry: (outcome, req) => streamMayRetry(outcome, req.method, req.replayable),
  hedgeDelay: () => 0,
};

import type { WebSocket as RawSocket } from 'ws';

/**
 * The state both socket wrappers (a `was.ws()` client and an app route's socket) read straight from
 * the ws socket under them; each subclass adds its own sending and events.
 */
export abstract class WsFace {
  constructor(readonly raw: RawSocket) {
    // An error is always followed by close (ws answers protocol errors with a close frame);
    // without a listener it would end the worker.
    raw.on('error', () => {});
  }
  get readyState(): number {
    return this.raw.readyState;
  }
  get bufferedAmount(): number {
    return this.raw.bufferedAmount;
  }
  get protocol(): string {
    return this.raw.protocol;
  }
  get extensions(): string {
    return this.raw.extensions;
  }
}

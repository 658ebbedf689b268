import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { H1Error } from './types.js';

/** Where an upload reports: progress (re-arms the response timer), its end, or its failure. */
export interface UploadOwner {
  uploadProgress(): void;
  uploadDone(): void;
  uploadFailed(err: Error): void;
}

/**
 * A streamed request body written to a member socket: with Content-Length (`length` >= 0, checked
 * against what the stream gives) or chunked (`length` < 0). Backpressure both ways: the body is
 * paused while the socket is full and resumed on its `drain`; the member not reading fills the
 * socket, which holds the client's upload back.
 */
export class Upload {
  #sent = 0;
  #over = false;
  readonly #body: Readable;
  readonly #socket: Socket;
  readonly #length: number;
  readonly #owner: UploadOwner;

  constructor(body: Readable, socket: Socket, length: number, owner: UploadOwner) {
    this.#body = body;
    this.#socket = socket;
    this.#length = length;
    this.#owner = owner;
    body.on('data', this.#onData).on('end', this.#onEnd).on('error', this.#onError).on('close', this.#onClose);
    socket.on('drain', this.#onDrain);
    if (body.readableEnded) queueMicrotask(this.#onEnd);
    else body.resume();
  }

  /** Stop writing (the response ended first, or the exchange failed); `destroy` also ends the body stream. */
  stop(destroy: boolean): void {
    if (this.#over) return;
    this.#detach();
    if (destroy) this.#body.destroy();
  }

  #detach(): void {
    this.#over = true;
    this.#body.off('data', this.#onData).off('end', this.#onEnd).off('error', this.#onError).off('close', this.#onClose);
    this.#socket.off('drain', this.#onDrain);
  }

  readonly #onData = (chunk: Buffer | string): void => {
    if (this.#over) return;
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (buf.length === 0) return;
    this.#sent += buf.length;
    const socket = this.#socket;
    let flowing: boolean;
    if (this.#length < 0) {
      socket.cork();
      socket.write(`${buf.length.toString(16)}\r\n`, 'latin1');
      socket.write(buf);
      flowing = socket.write('\r\n', 'latin1');
      socket.uncork();
    } else {
      if (this.#sent > this.#length) return this.#fail(new H1Error('H1_BODY_LENGTH', 'the request body is longer than its Content-Length'));
      flowing = socket.write(buf);
    }
    this.#owner.uploadProgress();
    if (!flowing) this.#body.pause();
  };

  readonly #onDrain = (): void => {
    if (!this.#over) this.#body.resume();
  };

  readonly #onEnd = (): void => {
    if (this.#over) return;
    if (this.#length >= 0 && this.#sent !== this.#length) return this.#fail(new H1Error('H1_BODY_LENGTH', 'the request body is shorter than its Content-Length'));
    this.#detach();
    if (this.#length < 0) this.#socket.write('0\r\n\r\n', 'latin1');
    this.#owner.uploadDone();
  };

  readonly #onError = (err: Error): void => {
    if (!this.#over) this.#fail(err);
  };

  readonly #onClose = (): void => {
    // 'close' can come before 'error' for a broken stream: give the error its turn.
    queueMicrotask(() => {
      if (!this.#over) this.#fail(new H1Error('H1_BODY_ABORTED', 'the request body ended before it was complete'));
    });
  };

  #fail(err: Error): void {
    this.#detach();
    this.#owner.uploadFailed(err);
  }
}

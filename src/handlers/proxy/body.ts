import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { SkitaiError } from '../../errors.js';

/**
 * The request body as the proxy sends it. A body of at most `max` bytes is read into memory first,
 * so it can be sent again to another member; a larger one is streamed straight through and can be
 * sent only once.
 */
export type ProxyBody =
  | { readonly replayable: true; readonly body: Buffer | null }
  | { readonly replayable: false; readonly body: Readable; readonly declaredLength: boolean };

/**
 * Buffer `req`'s body when it fits in `max` bytes, else stream it. A declared Content-Length over
 * `max` streams at once without reading; a chunked body is read until it passes `max`, and then the
 * bytes read so far are streamed ahead of the rest. Rejects with SKT_BODY_ABORTED when the client
 * goes away before the body is complete.
 */
export function takeBody(req: IncomingMessage, max: number): Promise<ProxyBody> {
  const declared = req.headers['content-length'];
  const chunked = req.headers['transfer-encoding'] !== undefined;
  if (!chunked && (declared === undefined || Number(declared) === 0)) return Promise.resolve({ replayable: true, body: null });
  if (!chunked && Number(declared) > max) return Promise.resolve({ replayable: false, body: req, declaredLength: true });
  if (req.destroyed && !req.complete) return Promise.reject(aborted());
  // Someone already read it; waiting for 'end' again would hang.
  if (req.readableEnded) return Promise.resolve({ replayable: true, body: null });

  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = (): void => {
      req.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      size += chunk.length;
      if (size <= max) return;
      // Paused before the listeners go, so no chunk is lost between here and the stream's first read.
      req.pause();
      stop();
      resolve({ replayable: false, body: Readable.from(spill(chunks, req), { objectMode: false }), declaredLength: false });
    };
    const onEnd = (): void => {
      stop();
      resolve({ replayable: true, body: size === 0 ? null : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size) });
    };
    const onError = (err: Error): void => {
      stop();
      reject(aborted(err));
    };
    const onClose = (): void => {
      if (req.complete) return;
      stop();
      reject(aborted());
    };
    req.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose);
  });
}

async function* spill(head: Buffer[], rest: IncomingMessage): AsyncGenerator<Buffer> {
  yield* head;
  for await (const chunk of rest) yield chunk as Buffer;
}

function aborted(cause?: unknown): SkitaiError {
  return new SkitaiError('SKT_BODY_ABORTED', undefined, cause === undefined ? undefined : { cause });
}

import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { SkitaiError } from '../../errors.js';
import { h2Body } from '../../http/body.js';

/**
 * The request body as the proxy sends it. A body of at most `max` bytes is read into memory first,
 * so it can be sent again to another member; a larger one (up to the proxy's `limit`) is streamed
 * straight through and can be sent only once.
 */
export type ProxyBody =
  | { readonly replayable: true; readonly body: Buffer | null }
  | { readonly replayable: false; readonly body: Readable; readonly declaredLength: boolean };

/** What the request head says of the body, decided without reading any of it. */
export type DeclaredBody =
  /** No body (no Transfer-Encoding, Content-Length absent or 0). */
  | 'none'
  /** Content-Length over the limit: refuse (413) before any member is asked. */
  | 'too-large'
  /** Content-Length over `max` but within the limit: stream `req` itself, sent once. */
  | 'stream'
  /** To be read by {@link takeBody}. */
  | 'read';

/** Classify `req`'s body by its head alone (Node's parser has checked Content-Length already). */
export function declaredBody(req: IncomingMessage, max: number, limit: number): DeclaredBody {
  if (req.headers['transfer-encoding'] !== undefined) return 'read';
  const declared = req.headers['content-length'];
  // An h2 body of unknown length is read like a chunked one (h2 has no chunked coding: RFC 9113 §8.1).
  if (declared === undefined) return req.httpVersionMajor === 2 && h2Body(req) ? 'read' : 'none';
  if (declared === '0') return 'none';
  const length = Number(declared);
  if (length > limit) return 'too-large';
  return length > max ? 'stream' : 'read';
}

/**
 * Buffer `req`'s body when it fits in `max` bytes, else stream it. A chunked body is read until it
 * passes `max`; then, when `limit` allows more, the bytes read so far are streamed ahead of the
 * rest, and the stream fails with SKT_BODY_TOO_LARGE once the body passes `limit` (which aborts
 * the member's request). With `limit <= max` a body over `limit` rejects with SKT_BODY_TOO_LARGE
 * before any member is asked. Rejects with SKT_BODY_ABORTED when the client goes away first.
 */
export function takeBody(req: IncomingMessage, max: number, limit: number): Promise<ProxyBody> {
  if (req.destroyed && !req.complete) return Promise.reject(aborted());
  // Someone already read it; waiting for 'end' again would hang.
  if (req.readableEnded) return Promise.resolve({ replayable: true, body: null });
  const buffered = Math.min(max, limit);

  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = (): void => {
      req.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      size += chunk.length;
      if (size <= buffered) return;
      // Paused before the listeners go, so no chunk is lost between here and the stream's first read.
      req.pause();
      stop();
      if (size > limit) return reject(tooLarge(limit));
      resolve({ replayable: false, body: Readable.from(spill(chunks, size, req, limit), { objectMode: false }), declaredLength: false });
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

/** The chunks read so far, then the rest of `req`, failing once the whole passes `limit`. */
async function* spill(head: Buffer[], size: number, rest: IncomingMessage, limit: number): AsyncGenerator<Buffer> {
  yield* head;
  // Not destroyed on the way out: the request must survive a cut so the client can still get its 413.
  for await (const chunk of rest.iterator({ destroyOnReturn: false })) {
    size += (chunk as Buffer).length;
    if (size > limit) throw tooLarge(limit);
    yield chunk as Buffer;
  }
}

/** The 413 for a body over the reverse proxy's limit. */
export function tooLarge(limit: number, declared?: number): SkitaiError {
  return new SkitaiError('SKT_BODY_TOO_LARGE', declared === undefined ? `the body exceeds ${limit} bytes` : `Content-Length ${declared} exceeds ${limit} bytes`);
}

function aborted(cause?: unknown): SkitaiError {
  return new SkitaiError('SKT_BODY_ABORTED', undefined, cause === undefined ? undefined : { cause });
}

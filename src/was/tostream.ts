/**
 * `was.tostream(source)`: what an app may stream as a response body, turned into one Node
 * Readable. Besides Node streams, web streams and (async) iterables it takes Skitai's contract,
 * "an object with read() and an optional close()", so a file-like object ported from the
 * original works: `read(size)` returns the next chunk (or a promise of it), and an empty chunk,
 * null or undefined is the end.
 */
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { SkitaiError } from '../errors.js';

/** Skitai's streamable object: a file-like `read(size)` and an optional `close()`. */
export interface ReadableLike {
  /** The next chunk of at most about `size` bytes; `''`, an empty Buffer, null or undefined at the end. */
  read(size: number): string | Uint8Array | null | undefined | PromiseLike<string | Uint8Array | null | undefined>;
  /** Called once: at the end, when the client leaves mid-stream, or after read() failed. */
  close?(): unknown;
}

/** What `was.tostream()` accepts. */
export type StreamSource = NodeJS.ReadableStream | WebReadableStream | AsyncIterable<unknown> | Iterable<unknown> | ReadableLike;

/** The response body for `source`; anything else is SKT_WAS_STREAM naming what was given. */
export function toStream(source: StreamSource): Readable {
  if (source instanceof Readable) return source;
  if (typeof source === 'string' || source instanceof Uint8Array) return Readable.from([source]);
  if (typeof source === 'object' && source !== null) {
    if (typeof (source as WebReadableStream).getReader === 'function') return Readable.fromWeb(source as WebReadableStream);
    // A stream of another copy of the stream module also has read(), but its null means "nothing
    // buffered yet", not the end: streams go by their iterator or events, never as file-likes.
    if (typeof (source as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') return Readable.from(source as AsyncIterable<unknown>, { objectMode: false });
    const s = source as NodeJS.ReadableStream;
    if (typeof s.pipe === 'function' && typeof s.on === 'function') return new Readable().wrap(s);
    if (typeof (source as ReadableLike).read === 'function') return fromReadableLike(source as ReadableLike);
    if (typeof (source as Iterable<unknown>)[Symbol.iterator] === 'function') return Readable.from(source as Iterable<unknown>, { objectMode: false });
  }
  throw new SkitaiError('SKT_WAS_STREAM', `was.tostream() needs a stream, an iterable or an object with read(); got ${describe(source)}${typeof source === 'object' && source !== null ? ' without read() or an iterator' : ''}`);
}

/** Bytes asked of `read()` per call: the Readable's high-water mark when it does not say. */
const DEFAULT_SIZE = 64 * 1024;

function fromReadableLike(source: ReadableLike): Readable {
  let closed = false;
  const close = (): unknown => {
    if (closed || typeof source.close !== 'function') return undefined;
    closed = true;
    return source.close();
  };
  return new Readable({
    highWaterMark: DEFAULT_SIZE,
    // Called again only after a push, so read() is never called twice at once, and not at all
    // while the client is slower than the source (backpressure).
    read(size) {
      let chunk;
      try {
        chunk = source.read(size > 0 ? size : DEFAULT_SIZE);
      } catch (err) {
        this.destroy(err as Error);
        return;
      }
      if (isThenable(chunk)) chunk.then((c) => this.destroyed || deliver(this, c), (err: unknown) => this.destroy(err instanceof Error ? err : new Error(String(err))));
      else deliver(this, chunk);
    },
    // Runs after the end (autoDestroy), on a failed read(), and when the response pipeline gives
    // up because the client left: close() is called in every case, once.
    destroy(err, callback) {
      let closing: unknown;
      try {
        closing = close();
      } catch (closeErr) {
        callback(err ?? (closeErr as Error));
        return;
      }
      if (isThenable(closing)) closing.then(() => callback(err), (closeErr: unknown) => callback(err ?? (closeErr as Error)));
      else callback(err);
    },
  });
}

function deliver(stream: Readable, chunk: unknown): void {
  if (chunk === null || chunk === undefined) {
    stream.push(null);
  } else if (typeof chunk === 'string' || chunk instanceof Uint8Array) {
    // Empty means the end, as for a Python file's read().
    stream.push(chunk.length === 0 ? null : chunk);
  } else {
    stream.destroy(new SkitaiError('SKT_WAS_STREAM', `read() of the object given to was.tostream() returned ${describe(chunk)}; expected a Buffer, a string, or null at the end`));
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as PromiseLike<unknown>).then === 'function';
}

/** A short, safe name for a value in an error (its type or class and keys, never its content). */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object' && typeof value !== 'function') return typeof value;
  if (typeof value === 'function') return 'a function';
  const name = (value as object).constructor?.name;
  const keys = Object.keys(value as object).slice(0, 5);
  return `${name && name !== 'Object' ? `a ${name}` : 'an object'}${keys.length > 0 ? ` (keys ${keys.join(', ')})` : ''}`;
}

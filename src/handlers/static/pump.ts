import fs from 'node:fs';
import type { ServerResponse } from 'node:http';
import type { OpenFile } from './openfiles.js';

/**
 * Bytes read per `fs.read` and written per `res.write`. Larger chunks mean fewer thread-pool round
 * trips and fewer writes per file (a 1 MiB file is one of each); they also bound the memory one
 * download holds, since the next read only starts once the socket took the previous chunk.
 * Measured with `npm run bench -- static` (docs/performance.md).
 */
export const CHUNK = 256 * 1024;

// Chunks the socket has finished with, for the next read. Without reuse every chunk is a fresh
// 1 MiB of external memory, and the GC runs mark-sweeps to give it back (a quarter of the CPU of a
// 1 MiB download in the profile). Bounded: under many parallel downloads extra chunks are left to the GC.
const spare: Buffer[] = [];
const MAX_SPARE = (16 * 1024 * 1024) / CHUNK;

function chunkOf(size: number): Buffer {
  return size === CHUNK ? (spare.pop() ?? Buffer.allocUnsafe(CHUNK)) : Buffer.allocUnsafe(size);
}

function keep(chunk: Buffer): void {
  if (chunk.length === CHUNK && spare.length < MAX_SPARE) spare.push(chunk);
}

/** A write callback that returns `chunk` once the socket no longer needs it (not on error: the socket may still hold it). */
function recycler(chunk: Buffer): (err?: Error | null) => void {
  return (err) => {
    if (!err) keep(chunk);
  };
}

/**
 * Write bytes `start`..`end` (inclusive) of `file` to `res` after its head, then end it; `done` is
 * called once in every case, when the descriptor is no longer read. The loop is a read into a
 * chunk, `res.write`, and on backpressure wait for 'drain': what `pipeline(createReadStream(), res)`
 * does, without two streams, their buffering and their per-chunk events. A client that leaves
 * stops the loop; a read error, or a file that shrank below the length the head promised, cuts
 * the response.
 *
 * Reads are `fs.read` on the thread pool until one download has read the whole file through this
 * descriptor; after that (within the descriptor's second, see OpenFiles) its pages were just in the
 * page cache and the reads are `fs.readSync`: a page-cache copy costs less than handing a read to
 * the pool and back (about 50 against 130 µs of CPU per MiB, docs/performance.md). nginx reads the
 * same way, blocking, unless told to use threads.
 */
export function pumpFile(res: ServerResponse, file: OpenFile, start: number, end: number, done: () => void): void {
  new Pump(res, file, start, end, done).read();
}

/** One download's state; methods rather than closures, so a download allocates one object. */
class Pump {
  readonly #res: ServerResponse;
  readonly #file: OpenFile;
  readonly #start: number;
  readonly #end: number;
  readonly #done: () => void;
  readonly #sync: boolean;
  #pos: number;
  #reading = false;
  #closed = false;
  readonly #onGone = (): void => {
    if (!this.#reading) this.#release();
  };
  readonly #onDrain = (): void => this.read();

  constructor(res: ServerResponse, file: OpenFile, start: number, end: number, done: () => void) {
    this.#res = res;
    this.#file = file;
    this.#start = start;
    this.#end = end;
    this.#done = done;
    this.#sync = file.warm;
    this.#pos = start;
    res.on('close', this.#onGone);
  }

  read(): void {
    if (this.#res.destroyed) return this.#release();
    const size = Math.min(CHUNK, this.#end + 1 - this.#pos);
    const chunk = chunkOf(size);
    if (this.#sync) {
      let bytes = 0;
      let error: Error | null = null;
      try {
        bytes = fs.readSync(this.#file.fd, chunk, 0, size, this.#pos);
      } catch (err) {
        error = err as Error;
      }
      this.#write(error, bytes, chunk, size);
      return;
    }
    this.#reading = true;
    fs.read(this.#file.fd, chunk, 0, size, this.#pos, (err, bytes) => {
      this.#reading = false;
      this.#write(err, bytes, chunk, size);
    });
  }

  #write(err: Error | null, bytes: number, chunk: Buffer, size: number): void {
    const res = this.#res;
    if (res.destroyed) {
      keep(chunk);
      return this.#release();
    }
    if (err || bytes === 0) {
      this.#release();
      res.destroy(err ?? undefined);
      return;
    }
    this.#pos += bytes;
    const data = bytes < size ? chunk.subarray(0, bytes) : chunk;
    if (this.#pos > this.#end) {
      if (this.#start === 0 && this.#end + 1 === this.#file.stat.size) this.#file.warmed();
      this.#release();
      res.end(data, recycler(chunk));
    } else if (res.write(data, recycler(chunk))) {
      this.read();
    } else {
      res.once('drain', this.#onDrain);
    }
  }

  #release(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#res.off('close', this.#onGone);
    this.#done();
  }
}

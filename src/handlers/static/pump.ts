import fs from 'node:fs';
import type { ServerResponse } from 'node:http';

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
const MAX_SPARE = 64;

function chunkOf(size: number): Buffer {
  return size === CHUNK ? (spare.pop() ?? Buffer.allocUnsafe(CHUNK)) : Buffer.allocUnsafe(size);
}

/** A write callback that returns `chunk` once the socket no longer needs it (not on error: the socket may still hold it). */
function recycler(chunk: Buffer): (err?: Error | null) => void {
  return (err) => {
    if (!err && chunk.length === CHUNK && spare.length < MAX_SPARE) spare.push(chunk);
  };
}

/**
 * Write bytes `start`..`end` (inclusive) of `fd` to `res` after its head, then end it; `done` is
 * called once in every case, when the descriptor is no longer read. The loop is `fs.read` into a fresh chunk, `res.write`, and
 * on backpressure wait for 'drain': what `pipeline(createReadStream(), res)` does, without two
 * streams, their buffering and their per-chunk events. A client that leaves stops the loop; a
 * read error, or a file that shrank below the length the head promised, cuts the response.
 */
export function pumpFile(res: ServerResponse, fd: number, start: number, end: number, done: () => void): void {
  let pos = start;
  let reading = false;
  let closed = false;
  const release = (): void => {
    if (closed) return;
    closed = true;
    res.off('close', onGone);
    done();
  };
  const onGone = (): void => {
    if (!reading) release();
  };
  const read = (): void => {
    if (res.destroyed) return release();
    const size = Math.min(CHUNK, end + 1 - pos);
    const chunk = chunkOf(size);
    reading = true;
    fs.read(fd, chunk, 0, size, pos, (err, bytes) => {
      reading = false;
      if (res.destroyed) {
        if (size === CHUNK && spare.length < MAX_SPARE) spare.push(chunk);
        return release();
      }
      if (err || bytes === 0) {
        release();
        res.destroy(err ?? undefined);
        return;
      }
      pos += bytes;
      const data = bytes < size ? chunk.subarray(0, bytes) : chunk;
      if (pos > end) {
        release();
        res.end(data, recycler(chunk));
      } else if (res.write(data, recycler(chunk))) {
        read();
      } else {
        res.once('drain', read);
      }
    });
  };
  res.on('close', onGone);
  read();
}

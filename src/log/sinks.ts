import fs from 'node:fs';
import path from 'node:path';

/** Where a logger writes: the console (stdout), a file, or nowhere. */
export type LogTarget = 'console' | 'off' | { file: string };

/** A line-oriented sink. Kept tiny so the access log costs one string concat and one write. */
export interface LogSink {
  write(line: string): void;
  /** Write text that already ends in a newline (pino's records) without another copy. */
  writeRaw?(chunk: string): void;
  /** Reopen the file (after rotation by an outside tool, on SIGUSR1). */
  reopen(): void;
  close(): Promise<void>;
  /** A file sink's batch, to compose a line in place without a string (the JSON access line). */
  readonly batch?: ByteBatch | undefined;
}

/**
 * Room to compose a line as bytes: `claim(max)` says where up to `max` bytes may be written into
 * `bytes`, `commit(end)` hands over what was written up to `end` (exclusive, the newline included).
 * Nothing else may be written to the sink between the two.
 */
export interface ByteBatch {
  /** Where to write; read it after `claim()`. */
  readonly bytes: Buffer;
  /** The most a claim may ask for. */
  readonly limit: number;
  claim(max: number): number;
  commit(end: number): void;
}

/** Server events are not errors: they go to stdout, where services and containers collect them. */
class ConsoleSink implements LogSink {
  write(line: string): void {
    process.stdout.write(line + '\n');
  }
  writeRaw(chunk: string): void {
    process.stdout.write(chunk);
  }
  reopen(): void {}
  async close(): Promise<void> {}
}

class NullSink implements LogSink {
  write(): void {}
  writeRaw(): void {}
  reopen(): void {}
  async close(): Promise<void> {}
}

/** Bytes a batching sink gathers before it writes them. */
const BATCH = 65536;

/**
 * Lines gathered into one buffer and written together: at the end of the event-loop turn, or with
 * `batchMs` every that many ms (a file's access log: 50), or at 64 KiB. Under load that is one
 * write per batch of requests instead of one per line, which is most of what an access line costs.
 * `close()` and `reopen()` flush first, so a graceful stop loses nothing; a process killed outright
 * loses at most the last batch.
 *
 * Lines are encoded into the buffer as they come, not joined into one string: a string grown by
 * `+=` is a tree of every line's pieces, kept alive until the flush (long enough to be promoted by
 * the GC) and walked again to flatten it; that was a third of a JSON access line's cost.
 */
abstract class BatchSink implements LogSink, ByteBatch {
  readonly bytes = Buffer.allocUnsafeSlow(BATCH);
  readonly limit = BATCH;
  readonly batch: ByteBatch = this;
  #used = 0;
  #scheduled = false;
  readonly #flush = (): void => {
    this.#scheduled = false;
    this.flushNow();
  };
  constructor(readonly batchMs: number) {}
  /** Where the batch goes. `bytes` is reused after the call returns. */
  protected abstract send(bytes: Buffer): void;
  abstract reopen(): void;
  abstract close(): Promise<void>;
  write(line: string): void {
    this.writeRaw(line + '\n');
  }
  writeRaw(chunk: string): void {
    // A UTF-16 code unit is at most 3 bytes of UTF-8: a chunk that might not fit goes after a flush,
    // and one larger than a whole batch is written by itself.
    if (this.#used + chunk.length * 3 > BATCH) {
      this.flushNow();
      if (chunk.length * 3 > BATCH) {
        this.send(Buffer.from(chunk));
        return;
      }
    }
    this.commit(this.#used + this.bytes.write(chunk, this.#used));
  }
  claim(max: number): number {
    if (this.#used + max > BATCH) this.flushNow();
    return this.#used;
  }
  commit(end: number): void {
    this.#used = end;
    if (!this.#scheduled) {
      this.#scheduled = true;
      if (this.batchMs > 0) setTimeout(this.#flush, this.batchMs).unref();
      else setImmediate(this.#flush);
    }
  }
  /** Write what is gathered now. */
  flushNow(): void {
    if (this.#used === 0) return;
    this.send(this.bytes.subarray(0, this.#used));
    this.#used = 0;
  }
}

/**
 * A log file, written in batches with `fs.writeSync` from the main thread, the buffer reused. A
 * write stream hands each batch to libuv's thread pool, which on a server pinned to one core runs
 * on that core anyway, plus a fresh buffer, a callback and a wake-up of the loop per batch; a 64 KiB
 * write into the page cache takes tens of microseconds, once per few hundred requests
 * (docs/performance.md, "The JSON access log").
 */
class FileSink extends BatchSink {
  #fd: number;
  /** The last write error reported, so a full disk is reported once, not once per batch. */
  #failed = '';
  constructor(
    readonly file: string,
    batchMs = 0,
  ) {
    super(batchMs);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.#fd = this.#open();
  }
  /** The file, or -1: a log that cannot be opened (permissions) must not stop the server either. */
  #open(): number {
    try {
      return fs.openSync(this.file, 'a');
    } catch (err) {
      this.#report(err);
      return -1;
    }
  }
  #report(err: unknown): void {
    const message = (err as Error).message;
    if (message !== this.#failed) process.stderr.write(`skitai: cannot write ${this.file}: ${message}\n`);
    this.#failed = message;
  }
  protected send(bytes: Buffer): void {
    if (this.#fd < 0) return;
    try {
      // A regular file takes the whole write; a pipe (access_log = /dev/stdout) may take part of it.
      for (let done = 0; done < bytes.length; ) done += fs.writeSync(this.#fd, bytes, done);
      this.#failed = '';
    } catch (err) {
      // A full disk must not kill the server: the batch is lost, and the error reported once on stderr.
      this.#report(err);
    }
  }
  reopen(): void {
    this.flushNow();
    // A file that cannot be opened again keeps the old one: the lines go to the rotated file, not nowhere.
    const fd = this.#open();
    if (fd < 0) return;
    if (this.#fd >= 0) fs.closeSync(this.#fd);
    this.#fd = fd;
  }
  close(): Promise<void> {
    this.flushNow();
    if (this.#fd >= 0) fs.closeSync(this.#fd);
    this.#fd = -1;
    return Promise.resolve();
  }
}

/** A pipe's atomic write: workers share the primary's stdout, and a longer write may interleave with theirs. */
const PIPE_BUF = 4096;

/**
 * The access log on stdout (`access_log = console`, the default in the foreground and so in a
 * container): a turn's lines written together at its end, not one `write()` system call per request.
 * Each write is at most 4 KiB and ends at a line's end, so the lines of workers sharing one pipe stay
 * whole (a longer line still goes alone). The lines still waiting are written at `close()` and when
 * the process exits.
 */
class ConsoleBatchSink extends BatchSink {
  constructor() {
    super(0);
    live.add(this);
  }
  protected send(bytes: Buffer): void {
    for (let from = 0; from < bytes.length; ) {
      let to = bytes.length;
      if (to - from > PIPE_BUF) {
        const cut = bytes.lastIndexOf(10, from + PIPE_BUF - 1);
        to = cut >= from ? cut + 1 : bytes.indexOf(10, from + PIPE_BUF) + 1 || bytes.length;
      }
      // A copy: the stream may keep the chunk after write() returns, and the batch is reused.
      process.stdout.write(Buffer.from(bytes.subarray(from, to)));
      from = to;
    }
  }
  reopen(): void {
    this.flushNow();
  }
  close(): Promise<void> {
    this.flushNow();
    live.delete(this);
    return Promise.resolve();
  }
}

/** Console batches not closed yet: written out if the process exits first (one listener for all). */
const live = new Set<ConsoleBatchSink>();
process.on('exit', () => {
  for (const sink of live) sink.flushNow();
});

/**
 * Make a sink for a target. `batchMs`: a file's lines may wait that long to be written together, and
 * a console's wait for the end of the turn (the access log); 0 for a sink that writes each line at once.
 */
export function openSink(target: LogTarget, batchMs = 0): LogSink {
  if (target === 'console') return batchMs > 0 ? new ConsoleBatchSink() : new ConsoleSink();
  if (target === 'off') return new NullSink();
  return new FileSink(target.file, batchMs);
}

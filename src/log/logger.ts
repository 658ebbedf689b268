import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';

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

let cachedSecond = -1;
let cachedStamp = '';

/** `YYYY.MM.DD HH:MM:SS` in local time, Skitai's log timestamp; formatted once per second. */
export function timestamp(now = Date.now()): string {
  const second = Math.floor(now / 1000);
  if (second !== cachedSecond) {
    const d = new Date(now);
    const p = (n: number): string => (n < 10 ? `0${n}` : String(n));
    cachedStamp = `${d.getFullYear()}.${p(d.getMonth() + 1)}.${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
    cachedSecond = second;
  }
  return cachedStamp;
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

/** Bytes a file sink gathers before it writes them. */
const BATCH = 65536;

/**
 * A log file. Lines go to the file as one write at the end of the event-loop turn, or with
 * `batchMs` every that many ms (the access log: 50), or at 64 KiB: under load that is one write per
 * batch of requests instead of one per line, which is most of what an access line costs.
 * `close()` and `reopen()` flush first, so a graceful stop loses nothing; a process killed outright
 * loses at most the last batch.
 *
 * Lines are encoded into a buffer as they come, not joined into one string: a string grown by `+=`
 * is a tree of every line's pieces, kept alive until the flush (long enough to be promoted by the
 * GC) and walked again to flatten it; that was a third of a JSON access line's cost.
 *
 * The batch is written with `fs.writeSync` from the main thread, and the buffer is reused. A write
 * stream hands each batch to libuv's thread pool, which on a server pinned to one core runs on that
 * core anyway, plus a fresh buffer, a callback and a wake-up of the loop per batch; a 64 KiB write
 * into the page cache takes tens of microseconds, once per few hundred requests
 * (docs/performance.md, "The JSON access log").
 */
class FileSink implements LogSink, ByteBatch {
  #fd: number;
  readonly bytes = Buffer.allocUnsafeSlow(BATCH);
  readonly limit = BATCH;
  readonly batch: ByteBatch = this;
  #used = 0;
  #scheduled = false;
  /** The last write error reported, so a full disk is reported once, not once per batch. */
  #failed = '';
  readonly #flush = (): void => {
    this.#scheduled = false;
    this.#flushNow();
  };
  constructor(
    readonly file: string,
    readonly batchMs = 0,
  ) {
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
  write(line: string): void {
    this.writeRaw(line + '\n');
  }
  writeRaw(chunk: string): void {
    // A UTF-16 code unit is at most 3 bytes of UTF-8: a chunk that might not fit goes after a flush,
    // and one larger than a whole batch is written by itself.
    if (this.#used + chunk.length * 3 > BATCH) {
      this.#flushNow();
      if (chunk.length * 3 > BATCH) {
        this.#writeAll(Buffer.from(chunk));
        return;
      }
    }
    this.commit(this.#used + this.bytes.write(chunk, this.#used));
  }
  claim(max: number): number {
    if (this.#used + max > BATCH) this.#flushNow();
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
  #flushNow(): void {
    if (this.#used === 0) return;
    this.#writeAll(this.bytes.subarray(0, this.#used));
    this.#used = 0;
  }
  #writeAll(bytes: Buffer): void {
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
    this.#flushNow();
    // A file that cannot be opened again keeps the old one: the lines go to the rotated file, not nowhere.
    const fd = this.#open();
    if (fd < 0) return;
    if (this.#fd >= 0) fs.closeSync(this.#fd);
    this.#fd = fd;
  }
  close(): Promise<void> {
    this.#flushNow();
    if (this.#fd >= 0) fs.closeSync(this.#fd);
    this.#fd = -1;
    return Promise.resolve();
  }
}

/** Make a sink for a target. `batchMs`: a file's lines may wait that long to be written together (the access log). */
export function openSink(target: LogTarget, batchMs = 0): LogSink {
  if (target === 'console') return new ConsoleSink();
  if (target === 'off') return new NullSink();
  return new FileSink(target.file, batchMs);
}

/** Log levels, lowest first. */
export type Level = 'debug' | 'info' | 'warn' | 'error';

/** `json`: one JSON object per line (pino's shape). `text`: Skitai's classic lines. `auto`: json unless stdout is a TTY. */
export type LogFormat = 'auto' | 'json' | 'text';

/** How a logger writes; `verbose` (skitaid -v) lowers the level to debug. */
export interface LoggerOptions {
  readonly format?: LogFormat;
  readonly level?: Level;
  readonly verbose?: boolean;
}

/** Extra fields of a log record (`reqId`, …): JSON fields, or `key=value` after a text line. */
export type LogFields = Readonly<Record<string, unknown>>;

/** pino's numeric levels, which log shippers map to severities. */
export const LEVELS: Readonly<Record<Level, number>> = { debug: 20, info: 30, warn: 40, error: 50 };

/** `auto` resolved: JSON when stdout is not a terminal (a service, a container, a pipe). */
export function resolveFormat(format: LogFormat | undefined): 'json' | 'text' {
  if (format === 'json' || format === 'text') return format;
  return process.stdout.isTTY ? 'text' : 'json';
}

/**
 * pino over a {@link LogSink}. pino's record is a complete line ending in a newline; a sink that can
 * take it as is (`writeRaw`) gets it without another copy.
 */
export function pinoOver(sink: LogSink, level: Level): pino.Logger {
  const stream = { write: sink.writeRaw ? (chunk: string) => sink.writeRaw!(chunk) : (chunk: string) => sink.write(chunk.slice(0, -1)) };
  return pino({ level, base: { pid: process.pid, hostname: os.hostname() } }, stream);
}

/**
 * Skitai's server log, behind one small interface whatever the format: JSON lines through pino
 * (`level`, `time`, `pid`, `hostname`, `msg`, fields, an error as `err` with its stack in the same
 * record) or Skitai's text `YYYY.MM.DD HH:MM:SS [level] message` (local time, stacks on the lines
 * below). Never pass a secret in `message` or a field; use {@link redact} on anything that may hold
 * one (URLs with credentials, config values).
 */
export class Logger {
  readonly sink: LogSink;
  readonly format: 'json' | 'text';
  readonly verbose: boolean;
  readonly #pino: pino.Logger | undefined;
  readonly #min: number;
  /** Text mode: the bound fields, already formatted as ` key=value…`. */
  readonly #suffix: string;

  /** `options` may be a boolean, the older `verbose` flag (text format, debug lines on). */
  constructor(sink: LogSink, options: boolean | LoggerOptions = false, parent?: { pino: pino.Logger | undefined; suffix: string; min: number }) {
    const o: LoggerOptions = typeof options === 'boolean' ? { format: 'text', verbose: options } : options;
    this.sink = sink;
    this.verbose = o.verbose === true;
    this.format = resolveFormat(o.format);
    const level: Level = this.verbose ? 'debug' : (o.level ?? 'info');
    this.#min = parent?.min ?? LEVELS[level];
    this.#pino = parent ? parent.pino : this.format === 'json' ? pinoOver(sink, level) : undefined;
    this.#suffix = parent?.suffix ?? '';
  }

  /** True when a record at `level` would be written: check before building an expensive message. */
  enabled(level: Level): boolean {
    return LEVELS[level] >= this.#min;
  }

  /**
   * A logger that adds `fields` to every record (the request's logger binds `reqId`). It shares
   * this one's sink; closing either closes both.
   */
  child(fields: LogFields): Logger {
    const options = { format: this.format, verbose: this.verbose };
    return new Logger(this.sink, options, { pino: this.#pino?.child(fields), suffix: this.#suffix + textFields(fields), min: this.#min });
  }

  log(level: Level, message: string, fields?: LogFields): void {
    if (LEVELS[level] < this.#min) return;
    const p = this.#pino;
    if (p) {
      if (fields) p[level](fields, message);
      else p[level](message);
      return;
    }
    this.sink.write(`${timestamp()} [${level}] ${message}${this.#suffix}${fields ? textFields(fields) : ''}`);
  }
  debug(message: string, fields?: LogFields): void {
    this.log('debug', message, fields);
  }
  info(message: string, fields?: LogFields): void {
    this.log('info', message, fields);
  }
  warn(message: string, fields?: LogFields): void {
    this.log('warn', message, fields);
  }
  /** An error with its stack: in JSON one record with `err: {type, message, stack}`; in text the stack on the lines below. */
  error(message: string, err?: unknown, fields?: LogFields): void {
    const p = this.#pino;
    if (p) {
      p.error(err === undefined ? (fields ?? {}) : { ...fields, err: err instanceof Error ? err : String(err) }, message);
      return;
    }
    const detail = err instanceof Error ? `\n${err.stack ?? err.message}` : err !== undefined ? ` ${String(err)}` : '';
    this.sink.write(`${timestamp()} [error] ${message}${this.#suffix}${fields ? textFields(fields) : ''}${detail}`);
  }
}

/** ` key=value` per field; values with spaces or quotes JSON-quoted. */
function textFields(fields: LogFields): string {
  let out = '';
  for (const key in fields) {
    const v = fields[key];
    if (v === undefined) continue;
    const s = typeof v === 'string' ? v : JSON.stringify(v) ?? String(v);
    out += ` ${key}=${typeof v === 'string' && /[\s"=]/.test(s) ? JSON.stringify(s) : s}`;
  }
  return out;
}

/** A logger for `target`, in the format and at the level of `[server] log_format` and `log_level`. */
export function createLogger(target: LogTarget, server: { readonly logFormat?: LogFormat; readonly logLevel?: Level }, verbose = false): Logger {
  return new Logger(openSink(target), { format: server.logFormat ?? 'auto', level: server.logLevel ?? 'info', verbose });
}

/** Hide the password of `user:password@host` URLs and member specs. */
export function redact(text: string): string {
  return text.replace(/(\/\/[^:/@\s]+:)[^@/\s]+@/g, '$1***@');
}

/** A logger that writes nothing, for library use and tests. */
export const silentLogger = new Logger(openSink('off'));

import fs from 'node:fs';
import path from 'node:path';

/** Where a logger writes: the console (stderr), a file, or nowhere. */
export type LogTarget = 'console' | 'off' | { file: string };

/** A line-oriented sink. Kept tiny so the access log costs one string concat and one write. */
export interface LogSink {
  write(line: string): void;
  /** Reopen the file (after rotation by an outside tool, on SIGUSR1). */
  reopen(): void;
  close(): Promise<void>;
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

class ConsoleSink implements LogSink {
  write(line: string): void {
    process.stderr.write(line + '\n');
  }
  reopen(): void {}
  async close(): Promise<void> {}
}

class NullSink implements LogSink {
  write(): void {}
  reopen(): void {}
  async close(): Promise<void> {}
}

class FileSink implements LogSink {
  #stream: fs.WriteStream;
  constructor(readonly file: string) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.#stream = this.#open();
  }
  #open(): fs.WriteStream {
    const stream = fs.createWriteStream(this.file, { flags: 'a' });
    // A full disk must not kill the server; the error is reported once on stderr.
    stream.on('error', (err) => process.stderr.write(`skitai: cannot write ${this.file}: ${err.message}\n`));
    return stream;
  }
  write(line: string): void {
    this.#stream.write(line + '\n');
  }
  reopen(): void {
    const old = this.#stream;
    this.#stream = this.#open();
    old.end();
  }
  close(): Promise<void> {
    return new Promise((resolve) => this.#stream.end(resolve));
  }
}

/** Make a sink for a target. */
export function openSink(target: LogTarget): LogSink {
  if (target === 'console') return new ConsoleSink();
  if (target === 'off') return new NullSink();
  return new FileSink(target.file);
}

/** Log levels, lowest first. `debug` lines are dropped unless the logger was made verbose. */
export type Level = 'debug' | 'info' | 'warn' | 'error';

/**
 * Skitai's server log: `YYYY.MM.DD HH:MM:SS [type] message`. Never pass a secret in `message`;
 * use {@link redact} on anything that may hold one (URLs with credentials, config values).
 */
export class Logger {
  constructor(
    readonly sink: LogSink,
    readonly verbose = false,
  ) {}

  log(level: Level, message: string): void {
    if (level === 'debug' && !this.verbose) return;
    this.sink.write(`${timestamp()} [${level}] ${message}`);
  }
  debug(message: string): void {
    this.log('debug', message);
  }
  info(message: string): void {
    this.log('info', message);
  }
  warn(message: string): void {
    this.log('warn', message);
  }
  /** An error with its stack, tagged `[expt]` as Skitai tags tracebacks. */
  error(message: string, err?: unknown): void {
    const detail = err instanceof Error ? `\n${err.stack ?? err.message}` : err !== undefined ? ` ${String(err)}` : '';
    this.sink.write(`${timestamp()} [error] ${message}${detail}`);
  }
}

/** Hide the password of `user:password@host` URLs and member specs. */
export function redact(text: string): string {
  return text.replace(/(\/\/[^:/@\s]+:)[^@/\s]+@/g, '$1***@');
}

/** A logger that writes nothing, for library use and tests. */
export const silentLogger = new Logger(openSink('off'));

import os from 'node:os';
import pino from 'pino';

export { type ByteBatch, type LogSink, type LogTarget, openSink } from './sinks.js';
import { type LogSink, type LogTarget, openSink } from './sinks.js';

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

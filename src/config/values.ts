/**
 * Parsers for the scalar value types of config keys. Each returns `undefined` for text it does not
 * accept, so the caller can build one error that names file, line, key and what was expected.
 */
import net from 'node:net';

const TRUE = new Set(['yes', 'true', 'on', '1']);
const FALSE = new Set(['no', 'false', 'off', '0']);

/** `yes/no/true/false/on/off/1/0`, any case. */
export function parseBool(text: string): boolean | undefined {
  const t = text.trim().toLowerCase();
  if (TRUE.has(t)) return true;
  if (FALSE.has(t)) return false;
  return undefined;
}

/** A whole decimal number (`+` and `-` allowed; range is the caller's job). */
export function parseInteger(text: string): number | undefined {
  const t = text.trim();
  if (!/^[+-]?\d+$/.test(t)) return undefined;
  const n = Number(t);
  return Number.isSafeInteger(n) ? n : undefined;
}

// Skitai's own limits are binary (its "5 MB" body limit is 5242880), so K/M/G/T are 1024-based
// whether or not the `i` is written: `5M` = `5MB` = `5MiB` = 5242880.
const SIZE = /^(\d+(?:\.\d+)?)\s*(?:([kmgt])(i)?)?(b)?$/i;
const SIZE_UNITS: Record<string, number> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };

/** Bytes from `512`, `100B`, `512k`, `64KiB`, `5MB`, `5MiB`, `1.5M`, `2G`. Fractions round down. */
export function parseSize(text: string): number | undefined {
  const m = SIZE.exec(text.trim());
  if (!m) return undefined;
  const n = Math.floor(Number(m[1]) * SIZE_UNITS[(m[2] ?? '').toLowerCase()]!);
  return Number.isSafeInteger(n) ? n : undefined;
}

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/i;
const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** MILLISECONDS from seconds (`30`, `1.5`) or a suffixed duration (`250ms`, `30s`, `5m`, `1h`). */
export function parseSeconds(text: string): number | undefined {
  const m = DURATION.exec(text.trim());
  if (!m) return undefined;
  const n = Math.round(Number(m[1]) * DURATION_UNITS[(m[2] ?? 's').toLowerCase()]!);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Items separated by commas or whitespace (continuation lines included); empty items dropped. */
export function parseList(text: string): string[] {
  return text.split(/[,\s]+/).filter((item) => item !== '');
}

/** An IP address (v4 or v6) or a CIDR block with a prefix length valid for its family. */
export function isIpOrCidr(text: string): boolean {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const family = net.isIP(addr);
  if (family === 0) return false;
  if (slash < 0) return true;
  const bits = text.slice(slash + 1);
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}

/** `443` or `8000-8099`: TCP ports 1–65535, a range written low to high. */
export function isPortOrRange(text: string): boolean {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
  if (!m) return false;
  const low = Number(m[1]);
  const high = m[2] === undefined ? low : Number(m[2]);
  return low >= 1 && high <= 65535 && low <= high;
}

const HOSTNAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/** A bind address: '' (every interface), an IP address, or a host name such as `localhost`. */
export function isBindAddress(text: string): boolean {
  return text === '' || net.isIP(text) !== 0 || HOSTNAME.test(text);
}

/** `65536` -> `64KiB`: the largest binary unit that divides evenly, for docs and messages. */
export function formatSize(bytes: number): string {
  for (const [unit, size] of [['PiB', 2 ** 50], ['TiB', 2 ** 40], ['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 2 ** 10]] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return `${bytes}`;
}

/** `300000` -> `300s`, `250` -> `250ms`: milliseconds written the way a config file would. */
export function formatSeconds(ms: number): string {
  if (ms > 0 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** A percentage from `50` or `50%` (fractions allowed; range is the caller's job). */
export function parsePercent(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*%?$/.exec(text.trim());
  return m ? Number(m[1]) : undefined;
}

const HOST_NAME = /^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?)*$/i;

/** `host:port`, `[v6]:port` or a bare host (`defaultPort`); undefined for anything else. */
export function parseHostPort(text: string, defaultPort: number): { host: string; port: number } | undefined {
  const t = text.trim();
  const m = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(t) ?? /^([^:\s]+)(?::(\d{1,5}))?$/.exec(t);
  if (!m) return undefined;
  const host = m[1]!;
  const port = m[2] === undefined ? defaultPort : Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  if (net.isIP(host) === 0 && !HOST_NAME.test(host)) return undefined;
  return { host, port };
}

/**
 * `[server]` section -> ServerConfig, driven by the SERVER_KEYS table: unknown keys, bad values and
 * inconsistent combinations are errors that name file, line and key, never a secret's value.
 */
import fs from 'node:fs';
import path from 'node:path';
import { SkitaiError, type ConfigPlace } from '../errors.js';
import type { IniEntry } from './ini.js';
import { SERVER_KEYS, findKey, type KeySpec } from './schema.js';
import { nearest } from './suggest.js';
import type { ServerConfig } from './types.js';
import { formatSeconds, formatSize, parseBool, parseInteger, parseList, parseSeconds, parseSize } from './values.js';

/** Where values come from: the file for messages, the directory relative paths resolve against. */
export interface SourceContext {
  readonly file: string;
  readonly dir: string;
}

type Values = Partial<Record<keyof ServerConfig, unknown>>;

/** Build and check ServerConfig from the `[server]` entries (none -> every default). */
export function buildServer(entries: ReadonlyMap<string, IniEntry> | undefined, ctx: SourceContext): ServerConfig {
  const values: Values = {};
  const from = new Map<keyof ServerConfig, IniEntry>();
  for (const entry of entries?.values() ?? []) {
    const place = { file: ctx.file, line: entry.line, section: 'server', key: entry.key };
    const spec = findKey(entry.key);
    if (!spec) throw new SkitaiError('SKT_CONFIG_UNKNOWN_KEY', unknownKeyMessage(entry.key), { place });
    const earlier = from.get(spec.prop);
    if (earlier) {
      throw new SkitaiError('SKT_CONFIG_SYNTAX', `duplicate key: "${entry.key}" and "${earlier.key}" (line ${earlier.line}) are the same setting`, { place });
    }
    from.set(spec.prop, entry);
    const value = convert(spec, entry.value, ctx, place, entry.written);
    if (value !== undefined) values[spec.prop] = value;
  }
  const server = withDefaults(values, ctx);
  crossCheck(server, (prop) => placeOf(prop, from, ctx));
  return server;
}

/** Every key's default, with `overrides` on top; overrides get the same range and cross checks. */
export function defaultServer(overrides: Partial<ServerConfig>, ctx: SourceContext): ServerConfig {
  for (const [prop, value] of Object.entries(overrides) as [keyof ServerConfig, unknown][]) {
    const spec = SERVER_KEYS.find((s) => s.prop === prop);
    const place = { file: ctx.file || '<defaults>', key: spec?.key ?? prop };
    if (!spec) throw new SkitaiError('SKT_CONFIG_UNKNOWN_KEY', `unknown server setting "${prop}"`, { place });
    if ((spec.type === 'int' || spec.type === 'size' || spec.type === 'seconds') && !inRange(spec, value)) {
      throw new SkitaiError('SKT_CONFIG_VALUE', `expected ${expected(spec)}, got ${String(value)}`, { place });
    }
  }
  const server = withDefaults(overrides, ctx);
  crossCheck(server, (prop) => ({ file: ctx.file || '<defaults>', key: SERVER_KEYS.find((s) => s.prop === prop)!.key }));
  return server;
}

function withDefaults(values: Values, ctx: SourceContext): ServerConfig {
  const out: Values = {};
  for (const spec of SERVER_KEYS) {
    const v = spec.prop in values ? values[spec.prop] : spec.default;
    // A copy, so freezing the config never freezes a caller's array.
    out[spec.prop] = Array.isArray(v) ? [...v] : v;
  }
  if (!('name' in values)) out.name = nameFromFile(ctx.file);
  return out as ServerConfig;
}

/** `/etc/skitaid/servers-enabled/default.conf` -> `default`, as Skitai named instances. */
function nameFromFile(file: string): string {
  if (file === '' || file.startsWith('<')) return 'skitai';
  const base = path.basename(file).replace(/\.[^.]*$/, '').replace(/[^\w.-]/g, '-');
  return base === '' ? 'skitai' : base;
}

/** `written`: the value as written when it came from the environment, quoted instead of its value. */
function convert(spec: KeySpec, raw: string, ctx: SourceContext, place: ConfigPlace, written?: string): unknown {
  const bad = (why = `expected ${expected(spec)}`): never => {
    const got = spec.secret ? 'value hidden' : written !== undefined ? `got "${written.replace(/\n/g, ' ')}", value not shown` : `got "${raw.replace(/\n/g, ' ')}"`;
    throw new SkitaiError('SKT_CONFIG_VALUE', `${why} (${got})`, { place });
  };
  // An empty optional value means "not set"; an empty number or switch is almost surely a mistake.
  if (raw === '' && spec.type !== 'string' && spec.type !== 'path' && spec.type !== 'list') bad(`expected ${expected(spec)}, got an empty value`);
  switch (spec.type) {
    case 'bool':
      return parseBool(raw) ?? bad();
    case 'int':
    case 'size':
    case 'seconds': {
      const parse = spec.type === 'int' ? parseInteger : spec.type === 'size' ? parseSize : parseSeconds;
      const n = parse(raw);
      return n !== undefined && inRange(spec, n) ? n : bad();
    }
    case 'enum': {
      const v = raw.toLowerCase();
      return spec.values.includes(v) ? v : bad();
    }
    case 'list': {
      const items = parseList(raw);
      const wrong = items.find((item) => !spec.item.test(item));
      if (wrong === undefined) return items;
      return bad(written === undefined ? `expected ${spec.item.expect}, "${wrong}" is not one` : `expected ${spec.item.expect}`);
    }
    case 'path': {
      if (raw === '') return undefined;
      const word = raw.toLowerCase();
      if (spec.keywords?.includes(word)) return word;
      return path.resolve(ctx.dir, raw);
    }
    case 'string': {
      if (raw === '') return undefined;
      if (spec.minLength !== undefined && raw.length < spec.minLength) bad(`expected at least ${spec.minLength} characters`);
      if (spec.check && !spec.check.test(raw)) bad(`expected ${spec.check.expect}`);
      return raw;
    }
  }
}

function inRange(spec: Extract<KeySpec, { type: 'int' | 'size' | 'seconds' }>, n: unknown): boolean {
  return typeof n === 'number' && Number.isInteger(n) && n >= spec.min && n <= spec.max;
}

/** What a key accepts, in words an error message and docs/config.md share. */
export function expected(spec: KeySpec): string {
  switch (spec.type) {
    case 'bool':
      return 'yes or no (also true/false, on/off, 1/0)';
    case 'int':
      return `a whole number from ${spec.min} to ${spec.max}`;
    case 'size':
      return `a size from ${formatSize(spec.min)} to ${formatSize(spec.max)} (bytes, or with K, M, G: 512K, 5MB, 2GiB)`;
    case 'seconds':
      return `a duration from ${formatSeconds(spec.min)} to ${formatSeconds(spec.max)} (seconds, or with ms, s, m, h)`;
    case 'enum':
      return `one of ${spec.values.join(', ')}`;
    case 'list':
      return `a comma-separated list of ${spec.item.expect}`;
    case 'path':
      return spec.keywords ? `${spec.keywords.join(', ')} or a file path` : 'a path';
    case 'string':
      return spec.check?.expect ?? (spec.minLength ? `at least ${spec.minLength} characters` : 'text');
  }
}

/** Rules that span keys. */
function crossCheck(s: ServerConfig, placeOf: (prop: keyof ServerConfig) => ConfigPlace): void {
  const fail = (prop: keyof ServerConfig, message: string): never => {
    throw new SkitaiError('SKT_CONFIG_VALUE', message, { place: placeOf(prop) });
  };
  if (s.ssl) {
    if (!s.certfile) fail('ssl', 'ssl = yes needs certfile (a PEM file holding the certificate, and the key unless keyfile is set)');
    if (!isFile(s.certfile!)) fail('certfile', `certfile not found: ${s.certfile}`);
    if (s.keyfile && !isFile(s.keyfile)) fail('keyfile', `keyfile not found: ${s.keyfile}`);
  }
  if (s.http2 === 'yes' && !s.ssl) fail('http2', 'http2 = yes needs ssl = yes (clients speak h2 over TLS, chosen by ALPN); http2 = h2c is cleartext h2 for use behind a TLS-terminating balancer');
  if (s.http2 === 'h2c' && s.ssl) fail('http2', 'http2 = h2c is cleartext HTTP/2: with ssl = yes, use http2 = yes');
  if (s.redirectHttpPort > 0) {
    if (!s.ssl) fail('redirectHttpPort', 'redirect_http_port redirects to HTTPS: it needs ssl = yes');
    if (s.redirectHttpPort === s.port) fail('redirectHttpPort', `redirect_http_port must differ from port (${s.port})`);
  }
  // Node refuses a head timeout longer than the whole-request timeout; say so here, with a line.
  if (s.requestTimeout > 0 && s.headerTimeout > s.requestTimeout) {
    fail('headerTimeout', `header_timeout (${formatSeconds(s.headerTimeout)}) must not exceed request_timeout (${formatSeconds(s.requestTimeout)})`);
  }
}

function placeOf(prop: keyof ServerConfig, from: ReadonlyMap<keyof ServerConfig, IniEntry>, ctx: SourceContext): ConfigPlace {
  const entry = from.get(prop);
  const key = entry?.key ?? SERVER_KEYS.find((s) => s.prop === prop)!.key;
  return entry ? { file: ctx.file, line: entry.line, section: 'server', key } : { file: ctx.file, section: 'server', key };
}

function isFile(p: string): boolean {
  return fs.statSync(p, { throwIfNoEntry: false })?.isFile() ?? false;
}

function unknownKeyMessage(key: string): string {
  const near = closest(key);
  return `unknown key "${key}"${near ? `; did you mean "${near}"?` : ''} (docs/config.md lists every key)`;
}

/** The known key within edit distance 2 of a typo, if one. */
function closest(key: string): string | undefined {
  return nearest(key, SERVER_KEYS.map((s) => s.key));
}

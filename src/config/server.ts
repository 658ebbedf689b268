/**
 * `[server]` section -> ServerConfig, driven by the SERVER_KEYS table: unknown keys, bad values and
 * inconsistent combinations are errors that name file, line and key, never a secret's value.
 */
import fs from 'node:fs';
import path from 'node:path';
import { SkitaiError, type ConfigPlace } from '../errors.js';
import type { IniEntry } from './ini.js';
import { expected } from './keys.js';
import { readSection } from './reader.js';
import { SERVER_KEYS } from './schema.js';
import type { ServerConfig } from './types.js';
import { formatSeconds } from './values.js';

export { expected } from './keys.js';

/** Where values come from: the file for messages, the directory relative paths resolve against. */
export interface SourceContext {
  readonly file: string;
  readonly dir: string;
}

type Values = Partial<Record<keyof ServerConfig, unknown>>;

/** Build and check ServerConfig from the `[server]` entries (none -> every default). */
export function buildServer(entries: ReadonlyMap<string, IniEntry> | undefined, ctx: SourceContext): ServerConfig {
  const read = readSection(SERVER_KEYS, { file: ctx.file, dir: ctx.dir, section: 'server', entries: entries ?? [] });
  const server = read.values as unknown as Record<keyof ServerConfig, unknown>;
  if (!read.given.has('name')) server.name = nameFromFile(ctx.file);
  crossCheck(server as unknown as ServerConfig, (prop) => read.place(prop));
  return server as unknown as ServerConfig;
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

function inRange(spec: { readonly min: number; readonly max: number }, n: unknown): boolean {
  return typeof n === 'number' && Number.isInteger(n) && n >= spec.min && n <= spec.max;
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

function isFile(p: string): boolean {
  return fs.statSync(p, { throwIfNoEntry: false })?.isFile() ?? false;
}

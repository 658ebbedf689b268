/**
 * `[smtpda]` section -> typed, frozen SmtpdaOptions, read by the one section reader from the
 * SMTPDA_KEYS table (`src/config/smtpda-keys.ts`): defaults, units, unknown keys and errors behave as
 * in every section. This file adds what spans keys (a password needs a user, the TLS policy).
 */
import fs from 'node:fs';
import { readSection, type ReadSection } from '../config/reader.js';
import { SMTPDA_KEYS } from '../config/smtpda-keys.js';
import type { SiteConfig } from '../config/types.js';
import { SkitaiError } from '../errors.js';
import type { SmtpServer } from './server.js';
import { isLoopback, type TlsMode, type TlsPolicy } from './tls.js';

export { SMTPDA_KEYS } from '../config/smtpda-keys.js';

/** A validated `[smtpda]` section. Durations in MILLISECONDS. */
export interface SmtpdaOptions {
  /** The delivery agent runs (`enabled = no` keeps spooling but delivers nothing: a pause). */
  readonly enabled: boolean;
  /** The relay used for messages that did not call `setSmtp()`. */
  readonly server: SmtpServer;
  /** Retries after the first attempt; then the entry goes to `undeliver/`. */
  readonly maxRetry: number;
  /** Explicit delays before retry 1, 2, … (the last repeats); empty = `retryBase × 4^(n-1)` capped at `retryMax`. */
  readonly retryDelays: readonly number[];
  readonly retryBase: number;
  readonly retryMax: number;
  /** Undeliverable entries older than this many days are deleted; 0 = kept forever. */
  readonly undeliversKeepMaxDays: number;
  readonly scanInterval: number;
  readonly concurrency: number;
  /** STARTTLS mode, when the relay's certificate is checked, and extra CAs (`tls`, `tls_verify`, `tls_ca`). */
  readonly tls: TlsPolicy;
  /** SMTP connect, greeting and inactivity limit of one attempt. */
  readonly timeout: number;
  /** Longest one attempt may take in all (a relay trickling a reply never trips `timeout`). */
  readonly attemptTimeout: number;
  /** Largest message (body + attachments, encoded) `send()` accepts, bytes. */
  readonly maxMessageSize: number;
}

/** Whether the site has an `[smtpda]` section at all (without it, `send()` refuses: nothing would deliver). */
export function hasSmtpda(config: SiteConfig): boolean {
  return config.sections['smtpda'] !== undefined;
}

/** Validate `[smtpda]`; undefined when the section is absent. Throws SkitaiError naming file, line and key. */
export function parseSmtpdaOptions(config: SiteConfig): SmtpdaOptions | undefined {
  const values = config.sections['smtpda'];
  if (values === undefined) return undefined;
  const lines = config.keyLines['smtpda'] ?? {};
  const written = config.written?.['smtpda'] ?? {};
  const read = readSection(SMTPDA_KEYS, {
    file: config.file,
    dir: config.dir,
    section: 'smtpda',
    entries: Object.entries(values).map(([key, value]) => [key, { value, line: lines[key], ...(written[key] !== undefined ? { written: written[key] } : {}) }] as const),
  });
  const v = read.values;
  const n = (key: string): number => v[key] as number;
  const user = v.user as string | undefined;
  const password = v.password as string | undefined;
  if (password !== undefined && user === undefined) {
    throw new SkitaiError('SKT_CONFIG_VALUE', 'password is set without user', { place: read.place('password') });
  }
  const hostport = v.smtpserver as { host: string; port: number };
  const server: SmtpServer = Object.freeze({ ...hostport, user, password, ssl: v.ssl as boolean });
  const tls = tlsPolicy(read, server);
  if (n('retry_max') < n('retry_base')) {
    throw new SkitaiError('SKT_CONFIG_VALUE', 'retry_max must be at least retry_base', { place: read.place('retry_max') });
  }
  return Object.freeze({
    enabled: v.enabled as boolean,
    server,
    maxRetry: n('max_retry'),
    retryDelays: Object.freeze((v.retry_delays as number[] | undefined) ?? []),
    retryBase: n('retry_base'),
    retryMax: n('retry_max'),
    undeliversKeepMaxDays: n('undelivers_keep_max_days'),
    scanInterval: n('scan_interval'),
    concurrency: n('concurrency'),
    tls,
    timeout: n('timeout'),
    attemptTimeout: n('attempt_timeout'),
    maxMessageSize: n('max_message_size'),
  });
}

/** `tls`, `tls_verify` and `tls_ca` as one policy; a login in the clear to a remote relay is refused here. */
function tlsPolicy(read: ReadSection, relay: SmtpServer): TlsPolicy {
  const old = read.values.tls_verify as boolean | undefined;
  if (read.given.has('tls') && old !== undefined) {
    throw new SkitaiError('SKT_CONFIG_VALUE', 'tls_verify is the older form of tls: set only tls (tls = verify checks every certificate; under tls = may a certificate is checked for a login)', { place: read.place('tls_verify') });
  }
  const mode = read.values.tls as TlsMode;
  if (mode === 'none' && relay.user !== undefined && !relay.ssl && !isLoopback(relay.host)) {
    throw new SkitaiError('SKT_CONFIG_VALUE', `tls = none would send the login of user ${relay.user} in the clear to ${relay.host}: use tls = may (or verify)`, { place: read.place('tls') });
  }
  const file = read.values.tls_ca as string | undefined;
  let pem: string | undefined;
  if (file !== undefined) {
    try {
      pem = fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new SkitaiError('SKT_CONFIG_VALUE', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`, { place: read.place('tls_ca'), cause: err });
    }
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new SkitaiError('SKT_CONFIG_VALUE', `${file} holds no PEM certificate`, { place: read.place('tls_ca') });
  }
  const verify = old === true ? 'always' : old === false ? 'never' : mode === 'verify' ? 'always' : 'login';
  return Object.freeze({ mode, verify, ca: pem });
}

/**
 * `[smtpda]` section -> typed, frozen SmtpdaOptions. KEYS is the one list of mail keys: parsing,
 * defaults, unknown-key errors and the docs/mail.md table come from it. Errors are SKT_CONFIG_VALUE /
 * SKT_CONFIG_UNKNOWN_KEY naming file, line and key, like every config error. A value never appears
 * in an error for the `password` key.
 */
import fs from 'node:fs';
import path from 'node:path';
import { SkitaiError, type ConfigPlace } from '../errors.js';
import type { SiteConfig } from '../config/types.js';
import { describeScalar, parseList, parseSeconds, readScalar, type ScalarRule } from '../config/values.js';
import { parseHostPort, type SmtpServer } from './server.js';
import { isLoopback, TLS_MODES, type TlsMode, type TlsPolicy } from './tls.js';

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

type KeyType = 'bool' | 'int' | 'seconds' | 'size' | 'string' | 'hostport' | 'delays' | 'tls' | 'file';

/** One `[smtpda]` key. Bounds are inclusive and in stored units (ms, bytes). */
export interface SmtpdaKey {
  readonly key: string;
  readonly type: KeyType;
  readonly default: boolean | number | string | undefined;
  readonly min?: number;
  readonly max?: number;
  readonly secret?: boolean;
  readonly doc: string;
}

const S = 1000;
const KEYS: readonly SmtpdaKey[] = [
  { key: 'enabled', type: 'bool', default: true, doc: 'Run the delivery agent. `no` keeps accepting mail into the spool but sends nothing until it is `yes` again (a pause).' },
  { key: 'smtpserver', type: 'hostport', default: '127.0.0.1:25', doc: '`host:port` of the relay for messages that did not call `setSmtp()`.' },
  { key: 'user', type: 'string', default: undefined, doc: 'SMTP AUTH user for `smtpserver` (unset: no AUTH).' },
  { key: 'password', type: 'string', default: undefined, secret: true, doc: 'SMTP AUTH password for `smtpserver`. Secret: never logged, never written to the spool.' },
  { key: 'ssl', type: 'bool', default: false, doc: 'SMTPS (TLS from the first byte, usually port 465). Without it STARTTLS is used as `tls` says. Its certificate is checked as `tls` says too.' },
  { key: 'tls', type: 'tls', default: 'may', doc: "STARTTLS, named as Postfix's `smtp_tls_security_level`: `may` uses it when the relay offers it, `encrypt` requires it, `verify` requires it and checks the certificate, `none` never starts it. Without a login the certificate is not checked under `may` and `encrypt` (opportunistic TLS, as MTAs do: a local relay's self-signed or expired certificate does not stop mail). **With a login it always is**, in every mode, and a login to a relay not on this machine requires TLS (`none` with `user` on such a relay is a config error)." },
  { key: 'tls_ca', type: 'file', default: undefined, doc: "PEM file of CA certificates (or the relay's own self-signed certificate) trusted besides the system CAs when a certificate is checked. Relative to the config file." },
  { key: 'tls_verify', type: 'bool', default: undefined, doc: 'Older form, kept for existing configs: `yes` checks the certificate on every TLS connection, `no` never (not even for a login). Cannot be combined with `tls`.' },
  { key: 'max_retry', type: 'int', default: 10, min: 0, max: 1000, doc: 'Retries after the first attempt (so `max_retry + 1` attempts); then the entry moves to `undeliver/`.' },
  { key: 'retry_delays', type: 'delays', default: undefined, doc: 'Explicit wait before retry 1, 2, 3… (`4s, 16s, 1m, 10m`); the last one repeats. Unset: `retry_base × 4^(n-1)` capped at `retry_max`.' },
  { key: 'retry_base', type: 'seconds', default: 4 * S, min: 1, max: 24 * 3600 * S, doc: 'Wait before the first retry when `retry_delays` is unset; each later wait is 4 times longer.' },
  { key: 'retry_max', type: 'seconds', default: 6 * 3600 * S, min: 1, max: 7 * 24 * 3600 * S, doc: 'Cap of the exponential wait (Skitai: 4 s, 16 s, 64 s … then 6 h).' },
  { key: 'undelivers_keep_max_days', type: 'int', default: 30, min: 0, max: 36500, doc: 'Undeliverable (and corrupt) entries older than this many days are deleted, checked hourly. 0 = keep forever.' },
  { key: 'scan_interval', type: 'seconds', default: 3 * S, min: 10, max: 3600 * S, doc: 'How often the spool is scanned for due entries (new mail is also noticed at once through a directory watch).' },
  { key: 'concurrency', type: 'int', default: 4, min: 1, max: 1000, doc: 'Deliveries in flight at once.' },
  { key: 'timeout', type: 'seconds', default: 120 * S, min: 100, max: 3600 * S, doc: 'Limit for the SMTP connect, the greeting, and every wait for the relay during one attempt.' },
  { key: 'attempt_timeout', type: 'seconds', default: 600 * S, min: 1 * S, max: 24 * 3600 * S, doc: 'Longest one attempt may take in all, whatever the relay does (one that trickles its replies never trips `timeout`); then it is cut and retried on the schedule.' },
  { key: 'max_message_size', type: 'size', default: 25 * 2 ** 20, min: 1024, max: 2 ** 30, doc: 'Largest message `send()` accepts (encoded, attachments included); more is SKT_MAIL_TOO_LARGE.' },
];

/** The `[smtpda]` key table, for docs and tests. */
export const SMTPDA_KEYS: readonly SmtpdaKey[] = KEYS;

/** Whether the site has an `[smtpda]` section at all (without it, `send()` refuses: nothing would deliver). */
export function hasSmtpda(config: SiteConfig): boolean {
  return config.sections['smtpda'] !== undefined;
}

/** Validate `[smtpda]`; undefined when the section is absent. Throws SkitaiError naming file, line and key. */
export function parseSmtpdaOptions(config: SiteConfig): SmtpdaOptions | undefined {
  const values = config.sections['smtpda'];
  if (values === undefined) return undefined;
  const lines = config.keyLines['smtpda'] ?? {};
  const place = (key: string): ConfigPlace => ({ file: config.file || undefined, line: lines[key], section: 'smtpda', key });
  for (const key of Object.keys(values)) {
    if (!KEYS.some((k) => k.key === key)) {
      const near = KEYS.find((k) => k.key.replace(/_/g, '') === key.replace(/[_-]/g, ''));
      throw new SkitaiError('SKT_CONFIG_UNKNOWN_KEY', `unknown [smtpda] key "${key}"${near ? ` (did you mean "${near.key}"?)` : ''}`, { place: place(key) });
    }
  }
  const v = (key: string): unknown => readKey(values[key], KEYS.find((k) => k.key === key)!, place(key));
  const n = (key: string): number => v(key) as number;
  const user = v('user') as string | undefined;
  const password = v('password') as string | undefined;
  if (password !== undefined && user === undefined) {
    throw new SkitaiError('SKT_CONFIG_VALUE', 'password is set without user', { place: place('password') });
  }
  const hostport = v('smtpserver') as { host: string; port: number };
  const tls = tlsPolicy(config, v, place, { ...hostport, user, ssl: v('ssl') as boolean });
  if (n('retry_max') < n('retry_base')) {
    throw new SkitaiError('SKT_CONFIG_VALUE', 'retry_max must be at least retry_base', { place: place('retry_max') });
  }
  return Object.freeze({
    enabled: v('enabled') as boolean,
    server: Object.freeze({ ...hostport, user, password, ssl: v('ssl') as boolean }),
    maxRetry: n('max_retry'),
    retryDelays: Object.freeze((v('retry_delays') as number[] | undefined) ?? []),
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
function tlsPolicy(config: SiteConfig, v: (key: string) => unknown, place: (key: string) => ConfigPlace, relay: { host: string; user: string | undefined; ssl: boolean }): TlsPolicy {
  const values = config.sections['smtpda'] ?? {};
  const given = (key: string): boolean => (values[key]?.trim() ?? '') !== '';
  const old = v('tls_verify') as boolean | undefined;
  if (given('tls') && old !== undefined) {
    throw new SkitaiError('SKT_CONFIG_VALUE', 'tls_verify is the older form of tls: set only tls (tls = verify checks every certificate; under tls = may a certificate is checked for a login)', { place: place('tls_verify') });
  }
  const mode = v('tls') as TlsMode;
  if (mode === 'none' && relay.user !== undefined && !relay.ssl && !isLoopback(relay.host)) {
    throw new SkitaiError('SKT_CONFIG_VALUE', `tls = none would send the login of user ${relay.user} in the clear to ${relay.host}: use tls = may (or verify)`, { place: place('tls') });
  }
  const ca = v('tls_ca') as string | undefined;
  let pem: string | undefined;
  if (ca !== undefined) {
    const file = path.resolve(config.dir, ca);
    try {
      pem = fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new SkitaiError('SKT_CONFIG_VALUE', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`, { place: place('tls_ca'), cause: err });
    }
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new SkitaiError('SKT_CONFIG_VALUE', `${file} holds no PEM certificate`, { place: place('tls_ca') });
  }
  const verify = old === true ? 'always' : old === false ? 'never' : mode === 'verify' ? 'always' : 'login';
  return Object.freeze({ mode, verify, ca: pem });
}

function readKey(value: string | undefined, spec: SmtpdaKey, place: ConfigPlace): unknown {
  const raw = value?.trim();
  if (raw === undefined || raw === '') {
    if (spec.type === 'hostport') return parseHostPort(String(spec.default))!;
    return spec.default;
  }
  const bad = (): never => {
    const shown = spec.secret ? '' : `, got "${raw}"`;
    throw new SkitaiError('SKT_CONFIG_VALUE', `expected ${describeSmtpdaKey(spec)}${shown}`, { place });
  };
  switch (spec.type) {
    case 'bool':
    case 'int':
    case 'seconds':
    case 'size':
      return readScalar(raw, spec as ScalarRule) ?? bad();
    case 'string':
    case 'file':
      return raw;
    case 'tls':
      return TLS_MODES.includes(raw.toLowerCase() as TlsMode) ? raw.toLowerCase() : bad();
    case 'hostport':
      return parseHostPort(raw) ?? bad();
    case 'delays': {
      const delays = parseList(raw).map((item) => parseSeconds(item));
      return delays.length > 0 && delays.every((d) => d !== undefined && d <= 7 * 24 * 3600 * S) ? delays : bad();
    }
  }
}

/** What a key accepts, in the words errors and docs/mail.md share. */
export function describeSmtpdaKey(spec: SmtpdaKey): string {
  switch (spec.type) {
    case 'bool':
    case 'int':
    case 'seconds':
    case 'size':
      return describeScalar(spec as ScalarRule);
    case 'string':
      return 'text';
    case 'file':
      return 'a file path';
    case 'tls':
      return TLS_MODES.join(', ');
    case 'hostport':
      return 'host:port';
    case 'delays':
      return 'a list of durations up to 7 days (`4s, 16s, 1m`)';
  }
}

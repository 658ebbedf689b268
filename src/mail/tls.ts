/**
 * How one delivery attempt uses TLS: the `[smtpda] tls` mode (Postfix's `smtp_tls_security_level`
 * names) and the rule that a login is only sent over a verified connection. Pure: nodemailer
 * options out, no sockets.
 */
import net from 'node:net';
import tls from 'node:tls';
import { TLS_MODES } from '../config/smtpda-keys.js';
import type { SmtpServer } from './server.js';

/**
 * `none`: never STARTTLS. `may`: STARTTLS when the relay offers it. `encrypt`: STARTTLS required.
 * `verify`: STARTTLS required and the certificate checked, login or not.
 */
export type TlsMode = (typeof TLS_MODES)[number];

export { TLS_MODES };

/** The validated TLS settings of `[smtpda]`. */
export interface TlsPolicy {
  readonly mode: TlsMode;
  /**
   * When the relay's certificate is checked: `login` (only when logging in: opportunistic TLS
   * without a login is better than none, as MTAs do it), `always`, or `never` (the old
   * `tls_verify = no`, an explicit choice of the operator).
   */
  readonly verify: 'login' | 'always' | 'never';
  /** PEM of `tls_ca`, trusted besides the system CAs. */
  readonly ca: string | undefined;
}

/** The default: opportunistic STARTTLS, checked only for a login. */
export const DEFAULT_TLS: TlsPolicy = Object.freeze({ mode: 'may', verify: 'login', ca: undefined });

/** The nodemailer transport options that carry `policy` for a connection to `server`. */
export interface TransportTls {
  readonly secure: boolean;
  readonly requireTLS: boolean;
  readonly ignoreTLS: boolean;
  readonly tls: { rejectUnauthorized: boolean; ca?: string[] };
  /** Whether the certificate is checked on this connection (for the log hint on a failure). */
  readonly verified: boolean;
}

/** Transport options for one attempt to `server` under `policy`. */
export function transportTls(server: SmtpServer, policy: TlsPolicy): TransportTls {
  const login = server.user !== undefined;
  const verified = policy.verify === 'always' || (policy.verify === 'login' && login);
  const requireTLS = !server.ssl && (policy.mode === 'encrypt' || policy.mode === 'verify' || credentialsNeedTls(server));
  return {
    secure: server.ssl,
    requireTLS,
    ignoreTLS: policy.mode === 'none' && !requireTLS,
    // Extra CAs join the system ones: `ca` alone would replace them.
    tls: { rejectUnauthorized: verified, ...(policy.ca !== undefined ? { ca: [...tls.rootCertificates, policy.ca] } : {}) },
    verified,
  };
}

/**
 * Whether a login must wait for STARTTLS. nodemailer otherwise sends AUTH in the clear when the
 * relay does not offer STARTTLS — and anyone on the way can strip that offer and read the password.
 * A relay on this machine (loopback) is exempt: no network to read it on.
 */
export function credentialsNeedTls(server: SmtpServer): boolean {
  if (server.user === undefined || server.ssl) return false;
  return !isLoopback(server.host);
}

/** `localhost`, 127.x or ::1. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  return h === 'localhost' || h === '::1' || (net.isIPv4(h) && h.startsWith('127.'));
}

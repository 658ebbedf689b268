/** The key table of `[smtpda]`, the mail delivery agent (docs/mail.md). `mail/options.ts` reads the section with it. */
import type { KeySpec } from './keys.js';

/** `[smtpda] tls` modes, named as Postfix's `smtp_tls_security_level`. */
export const TLS_MODES = ['none', 'may', 'encrypt', 'verify'] as const;

const S = 1000;

/** Every `[smtpda]` key. */
export const SMTPDA_KEYS: readonly KeySpec[] = [
  { key: 'enabled', type: 'bool', default: true, doc: 'Run the delivery agent. `no` keeps accepting mail into the spool but sends nothing until it is `yes` again (a pause).' },
  { key: 'smtpserver', type: 'hostport', default: '127.0.0.1:25', defaultPort: 25, doc: '`host:port` of the relay for messages that did not call `setSmtp()`.' },
  { key: 'user', type: 'string', default: undefined, doc: 'SMTP AUTH user for `smtpserver` (unset: no AUTH).' },
  { key: 'password', type: 'string', default: undefined, secret: true, doc: 'SMTP AUTH password for `smtpserver`; never written to the spool.' },
  { key: 'ssl', type: 'bool', default: false, doc: 'SMTPS (TLS from the first byte, usually port 465). Without it STARTTLS is used as `tls` says. Its certificate is checked as `tls` says too.' },
  { key: 'tls', type: 'enum', default: 'may', values: TLS_MODES, doc: "STARTTLS, named as Postfix's `smtp_tls_security_level`: `may` uses it when the relay offers it, `encrypt` requires it, `verify` requires it and checks the certificate, `none` never starts it. Without a login the certificate is not checked under `may` and `encrypt` (opportunistic TLS, as MTAs do: a local relay's self-signed or expired certificate does not stop mail). **With a login it always is**, in every mode, and a login to a relay not on this machine requires TLS (`none` with `user` on such a relay is a config error)." },
  { key: 'tls_ca', type: 'path', default: undefined, doc: "PEM file of CA certificates (or the relay's own self-signed certificate) trusted besides the system CAs when a certificate is checked." },
  { key: 'tls_verify', type: 'bool', default: undefined, doc: 'Older form, kept for existing configs: `yes` checks the certificate on every TLS connection, `no` never (not even for a login). Cannot be combined with `tls`.' },
  { key: 'max_retry', type: 'int', default: 10, min: 0, max: 1000, doc: 'Retries after the first attempt (so `max_retry + 1` attempts); then the entry moves to `undeliver/`.' },
  { key: 'retry_delays', type: 'durations', default: undefined, min: 0, max: 7 * 24 * 3600 * S, doc: 'Explicit wait before retry 1, 2, 3… (`4s, 16s, 1m, 10m`); the last one repeats. Unset: `retry_base × 4^(n-1)` capped at `retry_max`.' },
  { key: 'retry_base', type: 'seconds', default: 4 * S, min: 1, max: 24 * 3600 * S, doc: 'Wait before the first retry when `retry_delays` is unset; each later wait is 4 times longer.' },
  { key: 'retry_max', type: 'seconds', default: 6 * 3600 * S, min: 1, max: 7 * 24 * 3600 * S, doc: 'Cap of the exponential wait (Skitai: 4 s, 16 s, 64 s … then 6 h).' },
  { key: 'undelivers_keep_max_days', type: 'int', default: 30, min: 0, max: 36500, doc: 'Undeliverable (and corrupt) entries older than this many days are deleted, checked hourly. 0 = keep forever.' },
  { key: 'scan_interval', type: 'seconds', default: 3 * S, min: 10, max: 3600 * S, doc: 'How often the spool is scanned for due entries (new mail is also noticed at once through a directory watch).' },
  { key: 'concurrency', type: 'int', default: 4, min: 1, max: 1000, doc: 'Deliveries in flight at once.' },
  { key: 'timeout', type: 'seconds', default: 120 * S, min: 100, max: 3600 * S, doc: 'Limit for the SMTP connect, the greeting, and every wait for the relay during one attempt.' },
  { key: 'attempt_timeout', type: 'seconds', default: 600 * S, min: 1 * S, max: 24 * 3600 * S, doc: 'Longest one attempt may take in all, whatever the relay does (one that trickles its replies never trips `timeout`); then it is cut and retried on the schedule.' },
  { key: 'max_message_size', type: 'size', default: 25 * 2 ** 20, min: 1024, max: 2 ** 30, doc: 'Largest message `send()` accepts (encoded, attachments included); more is SKT_MAIL_TOO_LARGE.' },
];

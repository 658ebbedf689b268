/**
 * One delivery attempt of one spool entry to its pending recipients, through nodemailer's SMTP
 * transport (a fresh connection per attempt; nodemailer itself never retries). The outcome is
 * per recipient and says which failures are permanent: a 5xx reply is final, a 4xx reply or a
 * connection problem is worth another try.
 */
import type { SpoolEntry } from './entry.js';
import { nodemailer } from './nodemailer.js';
import type { SmtpServer } from './server.js';
import { transportTls, type TlsPolicy } from './tls.js';

export { credentialsNeedTls } from './tls.js';

/** A failure for one recipient or for the whole message. `message` holds no credential. */
export interface AttemptFailure {
  readonly message: string;
  /** The relay's reply code, when the relay answered. */
  readonly code: number | undefined;
  /** True for a 5xx reply other than an AUTH failure: trying again will not help. */
  readonly permanent: boolean;
}

/** What one attempt did. */
export interface AttemptOutcome {
  /** Recipients the relay accepted the message for. */
  readonly accepted: readonly string[];
  /** Recipients refused at RCPT TO, each with its reason. */
  readonly rejected: ReadonlyMap<string, AttemptFailure>;
  /** Set when the whole message failed (connect, AUTH, MAIL FROM, DATA): it applies to every other pending recipient. */
  readonly failure: AttemptFailure | undefined;
}

interface SmtpError extends Error {
  code?: string;
  responseCode?: number;
  response?: string;
  recipient?: string;
  rejectedErrors?: SmtpError[];
}

/** Send `entry` to `recipients` through `server`; never rejects (a failure is part of the outcome). */
export async function attempt(entry: SpoolEntry, recipients: readonly string[], server: SmtpServer, limits: { timeout: number; attemptTimeout: number; tls: TlsPolicy }, signal: AbortSignal): Promise<AttemptOutcome> {
  // nodemailer's timeouts are per wait; a relay sending one line of a reply every few seconds
  // resets them forever and held a delivery slot (and the message) for good.
  const limit = new AbortController();
  const timer = setTimeout(() => limit.abort(), limits.attemptTimeout);
  const tls = transportTls(server, limits.tls);
  const transport = nodemailer().createTransport({
    host: server.host,
    port: server.port,
    secure: tls.secure,
    requireTLS: tls.requireTLS,
    ignoreTLS: tls.ignoreTLS,
    auth: server.user !== undefined ? { user: server.user, pass: server.password ?? '' } : undefined,
    tls: tls.tls,
    connectionTimeout: limits.timeout,
    greetingTimeout: limits.timeout,
    socketTimeout: limits.timeout,
    dnsTimeout: limits.timeout,
    logger: false,
    debug: false,
  });
  try {
    const info = await transport.sendMail({
      envelope: { from: entry.from, to: [...recipients] },
      raw: Buffer.from(entry.raw, 'latin1'),
      signal: AbortSignal.any([signal, limit.signal]),
    });
    const rejected = new Map<string, AttemptFailure>();
    for (const err of ((info as { rejectedErrors?: SmtpError[] }).rejectedErrors ?? [])) {
      if (err.recipient) rejected.set(err.recipient, failureOf(err));
    }
    const accepted = (info.accepted as unknown[]).map((a) => (typeof a === 'string' ? a : String((a as { address?: string }).address)));
    return { accepted, rejected, failure: undefined };
  } catch (e) {
    const err = e as SmtpError;
    if (limit.signal.aborted && !signal.aborted) {
      return { accepted: [], rejected: new Map(), failure: { message: `the relay did not finish within attempt_timeout (${limits.attemptTimeout / 1000} s)`, code: undefined, permanent: false } };
    }
    const rejected = new Map<string, AttemptFailure>();
    // Every recipient refused: nodemailer reports them all in one EENVELOPE error.
    for (const r of err.rejectedErrors ?? []) if (r.recipient) rejected.set(r.recipient, failureOf(r));
    if (err.code === 'EENVELOPE' && rejected.size === recipients.length) return { accepted: [], rejected, failure: undefined };
    const failure = failureOf(err);
    return { accepted: [], rejected, failure: tls.verified && isCertificateError(err) ? withCertificateHint(failure, server) : failure };
  } finally {
    clearTimeout(timer);
    transport.close();
  }
}

/** A TLS failure because the relay's certificate could not be verified (expired, self-signed, unknown CA, wrong name). */
function isCertificateError(err: SmtpError): boolean {
  const cause = (err as { cause?: { code?: string } }).cause;
  const text = `${err.message} ${cause?.code ?? ''}`;
  return /certificate|CERT_|self[- ]signed|unable to verify|Hostname\/IP does not match/i.test(text);
}

/** The operator's ways out, in the failure they will read in the log and the spool entry. */
function withCertificateHint(f: AttemptFailure, server: SmtpServer): AttemptFailure {
  const why = /expired/i.test(f.message)
    ? 'an expired certificate never verifies: the relay needs a new one'
    : server.user !== undefined
    ? 'a login is only sent to a relay whose certificate verifies: give its CA in [smtpda] tls_ca'
    : 'checked because of [smtpda] tls = verify (or tls_verify = yes): give its CA in tls_ca, or use tls = may';
  return { ...f, message: `${f.message} (${why})` };
}

function failureOf(err: SmtpError): AttemptFailure {
  const code = typeof err.responseCode === 'number' ? err.responseCode : undefined;
  // A refused login, or a relay without the STARTTLS a login needs, is the operator's to fix (the
  // relay, user or password); the message is fine, so keep it.
  const permanent = code !== undefined && code >= 500 && code < 600 && err.code !== 'EAUTH' && err.code !== 'ETLS';
  const reply = err.response && !err.message.includes(err.response) ? `: ${err.response}` : '';
  const kind = err.code && !code ? ` (${err.code})` : '';
  return { message: oneLine(`${err.message}${reply}${kind}`), code, permanent };
}

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 300 ? `${flat.slice(0, 300)}…` : flat;
}

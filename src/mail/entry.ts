/**
 * One spooled message as it sits on disk: JSON (not a pickled object), the MIME text built once at
 * `send()` (so Message-ID and Date stay the same on every retry), and a state per recipient.
 */
import { randomBytes } from 'node:crypto';

/** Where one recipient stands: still to send, accepted by the relay, or refused for good. */
export type RecipientState = 'pending' | 'sent' | 'failed';

export interface RecipientEntry {
  readonly address: string;
  state: RecipientState;
  /** The relay's reply code of the last attempt for this recipient, when it gave one. */
  code?: number;
  /** The last error for this recipient (the relay's words, never a credential). */
  error?: string;
}

/** A relay a message chose with `setSmtp()`. Stored in the 0600 entry file, password included. */
export interface StoredSmtp {
  readonly host: string;
  readonly port: number;
  readonly user?: string;
  readonly password?: string;
  readonly ssl: boolean;
}

/** The JSON document of a spool, active or undeliver file. Times are epoch milliseconds. */
export interface SpoolEntry {
  readonly v: 1;
  readonly id: string;
  readonly created: number;
  /** For logs and status only; the MIME text carries the encoded header. */
  readonly subject: string;
  /** Envelope sender (MAIL FROM), the bare address. */
  readonly from: string;
  readonly recipients: RecipientEntry[];
  /** null: the `[smtpda]` relay at delivery time (no credential in the file). */
  readonly smtp: StoredSmtp | null;
  /** Attempts made so far. */
  attempts: number;
  /** Not sent before this time. */
  nextAt: number;
  lastAttempt?: number;
  lastError?: string;
  /** Set when the entry moved to undeliver/: why. */
  undeliverable?: string;
  /** The whole message, headers and body, as nodemailer built it (7-bit: non-ASCII is encoded). */
  readonly raw: string;
}

/** Spool ids sort by creation time: 11 base-36 digits of milliseconds, a dash, 12 hex digits. */
const ID = /^[0-9a-z]{11}-[0-9a-f]{12}$/;

/** A new, unique, time-ordered id. */
export function newId(now = Date.now()): string {
  return `${now.toString(36).padStart(11, '0')}-${randomBytes(6).toString('hex')}`;
}

export function isId(text: string): boolean {
  return ID.test(text);
}

/** The recipients still to send to. */
export function pending(entry: SpoolEntry): RecipientEntry[] {
  return entry.recipients.filter((r) => r.state === 'pending');
}

/**
 * Parse a spool file. Throws a plain Error saying what is wrong: the caller moves the file aside
 * rather than guess at a damaged message.
 */
export function parseEntry(text: string): SpoolEntry {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new Error(`not JSON (${(err as Error).message})`);
  }
  const e = doc as Partial<SpoolEntry> | null;
  const wrong = (what: string): never => {
    throw new Error(`bad or missing ${what}`);
  };
  if (typeof e !== 'object' || e === null || Array.isArray(e)) wrong('document');
  if (e!.v !== 1) wrong('version');
  if (typeof e!.id !== 'string' || !isId(e!.id)) wrong('id');
  for (const key of ['created', 'attempts', 'nextAt'] as const) if (!Number.isFinite(e![key])) wrong(key);
  for (const key of ['subject', 'from', 'raw'] as const) if (typeof e![key] !== 'string') wrong(key);
  const states: readonly string[] = ['pending', 'sent', 'failed'];
  if (!Array.isArray(e!.recipients) || e!.recipients.length === 0) wrong('recipients');
  for (const r of e!.recipients!) {
    if (typeof r?.address !== 'string' || !states.includes(r.state)) wrong('recipient');
  }
  const smtp = e!.smtp;
  if (smtp !== null && (typeof smtp !== 'object' || typeof smtp.host !== 'string' || !Number.isInteger(smtp.port))) wrong('smtp');
  return e as SpoolEntry;
}

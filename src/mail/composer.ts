/**
 * `was.email(subject, from, to)`: builds a message and puts it in the spool. Nothing touches the
 * network in the app: `send()` validates, builds the MIME text with nodemailer, writes one JSON
 * entry durably and resolves with its id. The delivery agent sends it later, with retries.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { SkitaiError } from '../errors.js';
import { newId, type SpoolEntry, type StoredSmtp } from './entry.js';
import { addressparser, mailComposer } from './nodemailer.js';
import { parseHostPort } from './server.js';
import type { MailSpool } from './spool.js';

interface TextPart {
  readonly content: string;
  readonly mimetype: string;
}

interface AttachmentPart {
  readonly path: string;
  readonly name: string | undefined;
  readonly cid: string | undefined;
}

const CHARSETS = new Set(['utf-8', 'utf8', 'us-ascii', 'ascii']);
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Header fields the composer writes itself from its arguments. */
const OWN_HEADERS = new Set(['from', 'to', 'subject', 'mime-version', 'content-type', 'content-transfer-encoding']);
// Deliberately plain: a local part without spaces or brackets, a host name or an [IP] literal.
const ADDRESS = /^[^\s@<>()[\],;:"]+@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\])$/i;

/**
 * One message being composed. Methods chain; `send()` may be awaited once.
 * ```ts
 * const id = await was.email('Hello', 'me@example.com', 'you@example.com').addText('Hi!').send();
 * ```
 */
export class Composer {
  readonly #spool: MailSpool | undefined;
  readonly #subject: string;
  readonly #from: string;
  readonly #to: readonly string[];
  readonly #headers: Record<string, string> = {};
  /** Cc and Bcc are recipients too: they join the envelope (Bcc never appears in the headers). */
  readonly #cc: string[] = [];
  readonly #bcc: string[] = [];
  readonly #texts: TextPart[] = [];
  readonly #attachments: AttachmentPart[] = [];
  #smtp: StoredSmtp | undefined;
  #sent = false;
  readonly #baseDir: string | undefined;

  /**
   * `to` may be one address, a comma-separated list, or an array; addresses may be `"Name" <a@b>`.
   * `baseDir` is where relative attachment paths resolve (`was.email` passes the app module's
   * folder); without it, the working directory.
   */
  constructor(spool: MailSpool | undefined, subject: string, from: string, to: string | readonly string[], baseDir?: string) {
    this.#spool = spool;
    this.#baseDir = baseDir;
    this.#subject = String(subject);
    this.#from = String(from);
    this.#to = typeof to === 'string' ? [to] : [...to].map(String);
  }

  /**
   * Send through this relay instead of the `[smtpda]` one. The password is kept in the spool
   * entry (a 0600 file) until delivery; it is never logged.
   */
  setSmtp(server: string, user?: string, password?: string, ssl = false): this {
    const hp = parseHostPort(server);
    if (!hp) throw new SkitaiError('SKT_MAIL_USAGE', `setSmtp: expected "host:port", got "${server}"`);
    if (password !== undefined && user === undefined) throw new SkitaiError('SKT_MAIL_USAGE', 'setSmtp: a password needs a user');
    this.#smtp = { ...hp, ssl: Boolean(ssl), ...(user !== undefined ? { user } : {}), ...(password !== undefined ? { password } : {}) };
    return this;
  }

  /**
   * Add or replace a header (`Reply-To`, `X-Priority`…). From, To and Subject come from `email()`.
   * `Cc` and `Bcc` add recipients (each call adds more); Bcc is not written into the message.
   */
  setHeader(name: string, value: string): this {
    if (!HEADER_NAME.test(name)) throw new SkitaiError('SKT_MAIL_USAGE', `setHeader: "${name}" is not a header name`);
    if (OWN_HEADERS.has(name.toLowerCase())) throw new SkitaiError('SKT_MAIL_USAGE', `setHeader: ${name} is set by the composer`);
    // A line break in a value would let it start new headers (header injection).
    if (/[\r\n]/.test(String(value))) throw new SkitaiError('SKT_MAIL_USAGE', `setHeader: the value of ${name} has a line break`);
    const lower = name.toLowerCase();
    if (lower === 'cc') this.#cc.push(String(value));
    else if (lower === 'bcc') this.#bcc.push(String(value));
    else this.#headers[name] = String(value);
    return this;
  }

  /** Add a body part: `text/plain` by default, `text/html`, or another `text/*` alternative. JS strings go out as UTF-8. */
  addText(text: string, mimetype = 'text/plain', charset = 'utf-8'): this {
    if (!/^text\/[a-z0-9.+-]+$/i.test(mimetype)) throw new SkitaiError('SKT_MAIL_USAGE', `addText: expected a text/* type, got "${mimetype}"`);
    if (!CHARSETS.has(charset.toLowerCase())) throw new SkitaiError('SKT_MAIL_USAGE', `addText: charset "${charset}" is not supported (JS strings are sent as utf-8)`);
    this.#texts.push({ content: String(text), mimetype: mimetype.toLowerCase() });
    return this;
  }

  /** `addText(html, 'text/html')`. */
  addHtml(html: string): this {
    return this.addText(html, 'text/html');
  }

  /**
   * Attach a file, read at `send()` (so a temp upload may be deleted once `send()` resolves).
   * With `cid` it is inline (`Content-ID: <cid>`), shown by `<img src="cid:…">` in the HTML part.
   * A relative path is relative to the app module's folder (`addAttachment('001.png')` finds the
   * file next to the module), however the server was started; errors name the resolved path.
   */
  addAttachment(filePath: string, name?: string, cid?: string): this {
    if (cid !== undefined && !/^[^\s<>]+$/.test(cid)) throw new SkitaiError('SKT_MAIL_USAGE', `addAttachment: "${cid}" is not a usable Content-ID`);
    // Resolved now: the working directory or the caller's meaning must not change by send().
    this.#attachments.push({ path: path.resolve(this.#baseDir ?? process.cwd(), String(filePath)), name, cid });
    return this;
  }

  /**
   * Validate, build and spool the message. Resolves with the spool id once the entry is on disk —
   * that means queued for delivery, not delivered (see `MailSpool.lookup`).
   */
  async send(): Promise<string> {
    if (this.#sent) throw new SkitaiError('SKT_MAIL_USAGE', 'this message was already sent');
    const spool = this.#spool;
    if (!spool) throw new SkitaiError('SKT_MAIL_DISABLED', 'no [smtpda] section in the config: nothing would deliver this mail');
    if (/[\r\n]/.test(this.#subject)) throw new SkitaiError('SKT_MAIL_USAGE', 'the subject has a line break');
    const from = addresses(this.#from, 'sender');
    if (from.length !== 1) throw new SkitaiError('SKT_MAIL_ADDRESS', `expected one sender address, got ${from.length}`);
    const to = [...this.#to, ...this.#cc, ...this.#bcc].flatMap((t) => addresses(t, 'recipient'));
    if (to.length === 0) throw new SkitaiError('SKT_MAIL_ADDRESS', 'no recipient address');
    const attachments = await readAttachments(this.#attachments, spool.maxMessageSize);
    const now = Date.now();
    const texts = this.#texts;
    const plain = texts.find((t) => t.mimetype === 'text/plain');
    const html = texts.find((t) => t.mimetype === 'text/html');
    const raw = await new (mailComposer())({
      from: this.#from,
      to: [...this.#to],
      ...(this.#cc.length > 0 ? { cc: this.#cc } : {}),
      subject: this.#subject,
      date: new Date(now),
      headers: { 'X-Mailer': 'Skitai', ...this.#headers },
      text: plain?.content ?? (html ? undefined : ''),
      html: html?.content,
      alternatives: texts.filter((t) => t !== plain && t !== html).map((t) => ({ content: t.content, contentType: `${t.mimetype}; charset=utf-8` })),
      attachments,
    }).compile().build();
    if (raw.length > spool.maxMessageSize) {
      throw new SkitaiError('SKT_MAIL_TOO_LARGE', `the message is ${raw.length} bytes; [smtpda] max_message_size is ${spool.maxMessageSize}`);
    }
    const entry: SpoolEntry = {
      v: 1,
      id: newId(now),
      created: now,
      subject: this.#subject,
      from: from[0]!,
      recipients: [...new Set(to)].map((address) => ({ address, state: 'pending' as const })),
      smtp: this.#smtp ?? null,
      attempts: 0,
      nextAt: now,
      // latin1 maps every byte to one code point, so the exact bytes come back at delivery.
      raw: raw.toString('latin1'),
    };
    this.#sent = true;
    try {
      await spool.enqueue(entry);
    } catch (err) {
      this.#sent = false;
      throw err;
    }
    return entry.id;
  }
}

/** The bare addresses in `text` (`"Name" <a@b>, c@d`); a malformed one is SKT_MAIL_ADDRESS. */
function addresses(text: string, role: string): string[] {
  if (/[\r\n]/.test(text)) throw new SkitaiError('SKT_MAIL_ADDRESS', `the ${role} address has a line break`);
  const found: string[] = [];
  for (const item of addressparser()(text, { flatten: true })) {
    const address = 'address' in item ? item.address : '';
    if (!ADDRESS.test(address)) throw new SkitaiError('SKT_MAIL_ADDRESS', `not a valid ${role} address: "${text.length > 200 ? `${text.slice(0, 200)}…` : text}"`);
    found.push(address);
  }
  return found;
}

/**
 * Every attachment's content. All sizes are checked before any file is read: files each under the
 * limit but over it together were all read into memory (at once) only to be refused afterwards.
 */
async function readAttachments(parts: readonly AttachmentPart[], maxSize: number): Promise<{ filename: string; content: Buffer; cid?: string; contentDisposition: 'inline' | 'attachment' }[]> {
  let total = 0;
  for (const part of parts) {
    const size = await attempt(part, async () => {
      const stat = await fs.stat(part.path);
      if (!stat.isFile()) throw new Error('not a regular file');
      return stat.size;
    });
    // Checked before reading: a huge file must not be loaded only to be refused.
    if (size > maxSize) throw new SkitaiError('SKT_MAIL_TOO_LARGE', `the attachment ${part.path} is ${size} bytes; [smtpda] max_message_size is ${maxSize}`);
    total += size;
  }
  if (total > maxSize) throw new SkitaiError('SKT_MAIL_TOO_LARGE', `the ${parts.length} attachments are ${total} bytes together; [smtpda] max_message_size is ${maxSize}`);
  const out = [];
  for (const part of parts) {
    const content = await attempt(part, () => fs.readFile(part.path));
    const filename = part.name ?? path.basename(part.path);
    out.push(part.cid !== undefined ? { filename, content, cid: part.cid, contentDisposition: 'inline' as const } : { filename, content, contentDisposition: 'attachment' as const });
  }
  return out;
}

/** `step` on one attachment's file, its failure as SKT_MAIL_ATTACHMENT naming the file. */
async function attempt<T>(part: AttachmentPart, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw new SkitaiError('SKT_MAIL_ATTACHMENT', `cannot attach ${part.path}: ${why}`, { cause: err });
  }
}

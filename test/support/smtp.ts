/**
 * A real SMTP server (the `smtp-server` package) on 127.0.0.1 for mail tests: it keeps every
 * message it accepted, can refuse recipients or data with a chosen reply code, can hold a message
 * before answering DATA, and can be stopped and started again on the same port.
 */
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { Logger } from '../../src/log/logger.js';
import { parseConfigText } from '../../src/config/load.js';
import type { SmtpdaOptions } from '../../src/mail/options.js';
import { parseSmtpdaOptions } from '../../src/mail/options.js';
import { UNTIL_MIN_MS } from './until.js';

export interface Received {
  readonly from: string;
  readonly to: string[];
  readonly raw: Buffer;
  readonly user: string | undefined;
  /** The message came over TLS (SMTPS or after STARTTLS). */
  readonly secure: boolean;
}

export interface SmtpBehaviour {
  /** Listen here (default 127.0.0.1). */
  host?: string;
  /** SMTPS with smtp-server's built-in self-signed certificate. */
  secure?: boolean;
  /** Offer STARTTLS with this certificate and key (PEM text). */
  starttls?: { key: string; cert: string };
  /** Accept only this login. */
  auth?: { user: string; pass: string };
  /** A reply code to refuse a recipient with (undefined: accept). */
  rcpt?: (address: string) => number | undefined;
  /** A reply code to refuse the message with after DATA, or a promise to hold the answer. */
  data?: (raw: Buffer) => number | undefined | Promise<number | undefined>;
}

function smtpError(code: number): Error {
  return Object.assign(new Error(code >= 500 ? 'No such user here' : 'Try again later'), { responseCode: code });
}

export class TestSmtp {
  readonly messages: Received[] = [];
  port = 0;
  #server: SMTPServer | undefined;
  #waiters: (() => void)[] = [];

  constructor(readonly behaviour: SmtpBehaviour = {}) {}

  static async start(behaviour: SmtpBehaviour = {}): Promise<TestSmtp> {
    const s = new TestSmtp(behaviour);
    await s.listen();
    return s;
  }

  /** Listen (again) on the same port, or a free one the first time. */
  async listen(): Promise<void> {
    const b = this.behaviour;
    const options: SMTPServerOptions = {
      secure: b.secure ?? false,
      disabledCommands: [...(b.starttls ? [] : ['STARTTLS']), ...(b.auth ? [] : ['AUTH'])],
      ...(b.starttls ? { key: b.starttls.key, cert: b.starttls.cert } : {}),
      authOptional: !b.auth,
      allowInsecureAuth: true,
      closeTimeout: 50,
      logger: false,
      onAuth: (auth, _session, cb) => {
        if (b.auth && auth.username === b.auth.user && auth.password === b.auth.pass) cb(null, { user: auth.username });
        else cb(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
      },
      onRcptTo: (address, _session, cb) => {
        const code = b.rcpt?.(address.address);
        cb(code ? smtpError(code) : null);
      },
      onData: (stream, session, cb) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks);
          void Promise.resolve(b.data?.(raw)).then((code) => {
            if (code) return cb(smtpError(code));
            this.messages.push({
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              to: session.envelope.rcptTo.map((r) => r.address),
              raw,
              user: session.user as string | undefined,
              secure: Boolean((session as { secure?: boolean }).secure),
            });
            for (const w of this.#waiters.splice(0)) w();
            cb(null);
          });
        });
      },
    };
    const server = new SMTPServer(options);
    server.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, b.host ?? '127.0.0.1', () => resolve());
    });
    this.port = (server.server.address() as { port: number }).port;
    this.#server = server;
  }

  /** Stop listening; connections are cut. */
  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Resolve once `n` messages have arrived, or reject after `ms` (at least 10 s, as until() waits). */
  async waitFor(n: number, ms = UNTIL_MIN_MS): Promise<Received[]> {
    const deadline = Date.now() + Math.max(ms, UNTIL_MIN_MS);
    while (this.messages.length < n) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`expected ${n} messages, got ${this.messages.length}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.messages;
  }
}

/**
 * `[smtpda]` options from INI lines, pointed at a test server (short scans and delays). The SMTP
 * `timeout` is 30 s: the test server shares the test's event loop, which a loaded machine can hold
 * for seconds; at 2 s an attempt could time out, and a test with `retry_delays = 10m` then waited
 * for a message that never came. A test of the timeout sets its own.
 */
export function smtpdaOptions(port: number, extra = ''): SmtpdaOptions {
  const keys = new Map<string, string>([['smtpserver', `127.0.0.1:${port}`], ['scan_interval', '50ms'], ['retry_delays', '100ms'], ['timeout', '30s']]);
  for (const line of extra.split('\n').filter((l) => l.includes('='))) keys.set(line.split('=')[0]!.trim(), line.slice(line.indexOf('=') + 1).trim());
  const text = `[smtpda]\n${[...keys].map(([k, v]) => `${k} = ${v}`).join('\n')}\n`;
  return parseSmtpdaOptions(parseConfigText(text, 'test.conf'))!;
}

/** A logger that keeps its lines. */
export function memoryLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { lines, logger: new Logger({ write: (l) => void lines.push(l), reopen() {}, async close() {} }, true) };
}

/** Poll until a condition holds (the suite's one wait helper, re-exported for the mail tests). */
export { until } from './until.js';

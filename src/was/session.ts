import { SkitaiError } from '../errors.js';
import type { CookieOptions, Cookies } from './cookie.js';
import { serializeCookie } from './cookie.js';
import type { Seal } from './seal.js';

/** How an app's session cookie is made (`app.useSession(options)`). */
export interface SessionOptions {
  /** Cookie name. Default `SESSION`, as Skitai. */
  name?: string;
  path?: string;
  domain?: string;
  /** Send only over HTTPS. Default: `[server] ssl` (set it yourself behind a TLS-terminating proxy). */
  secure?: boolean;
  sameSite?: CookieOptions['sameSite'];
}

/** A flash message (`was.mbox`). */
export interface FlashMessage {
  message: string;
  category: string;
}

/** What a session cookie holds: the data, the flash messages and when it stops being valid. */
interface SessionDoc {
  /** Expiry, ms since the epoch. Checked on the server: the cookie's Max-Age is only a hint to the client. */
  _expires: number;
  d: Record<string, unknown>;
  m?: FlashMessage[];
}

/** Browsers keep cookies up to 4096 bytes of name and value (RFC 6265 §6.1 asks for at least that). */
export const MAX_COOKIE_BYTES = 4096;
/** The most a sliding session waits before it re-sends an unchanged cookie. */
const MAX_RENEW_STEP_MS = 60_000;

/**
 * One app's session policy: the signing keys (inside the Seal), the lifetime and the cookie shape.
 * Built once per app at start; `load` and `commit` run per request.
 */
export class Sessions {
  readonly name: string;
  readonly #cookie: CookieOptions;

  constructor(
    readonly seal: Seal,
    /** Lifetime in ms (`[server] sessiontimeout`), renewed while the client keeps coming back. */
    readonly timeoutMs: number,
    options: SessionOptions = {},
    private readonly now: () => number = Date.now,
  ) {
    this.name = options.name ?? 'SESSION';
    this.#cookie = { path: options.path ?? '/', domain: options.domain, secure: options.secure, sameSite: options.sameSite, httpOnly: true };
    // A name or cookie shape the first Set-Cookie would refuse fails now, when the app starts.
    serializeCookie(this.name, '', this.#cookie);
  }

  /** True when the request carries a cookie that may be this session's (a cheap pre-check). */
  maybePresent(cookieHeader: string | undefined): boolean {
    return cookieHeader !== undefined && cookieHeader.includes(this.name + '=');
  }

  /** The request's session; a missing, tampered, expired or oversized cookie gives a fresh empty one. */
  load(cookies: Cookies): Session {
    const token = cookies.get(this.name);
    if (token === undefined) return new Session(this, {}, [], undefined, false);
    const opened = this.seal.open(this.name, token, MAX_COOKIE_BYTES);
    const doc = opened?.doc;
    if (!isDoc(doc) || doc._expires <= this.now()) return new Session(this, {}, [], undefined, true);
    return new Session(this, doc.d, doc.m ?? [], doc._expires, false, opened!.stale);
  }

  /**
   * Decide what to send back, just before the response headers go out:
   * - changed and not empty: a new cookie with a full lifetime;
   * - changed to empty, or the client sent a bad cookie: delete the cookie;
   * - signed with the previous key: re-sign with the current one;
   * - unchanged: re-send with a full lifetime only when a renewal step (a tenth of the lifetime, at
   *   most a minute) has passed since it was issued, so a busy client does not get a Set-Cookie on
   *   every response while an idle one still expires about `timeoutMs` after its last request.
   */
  commit(session: Session, cookies: Cookies): void {
    const now = this.now();
    if (session.isEmpty) {
      if ((session.changed && session.expires !== undefined) || session.rejected) cookies.delete(this.name, this.#cookie);
      return;
    }
    if (!session.changed && !session.stale && session.expires !== undefined) {
      const issued = session.expires - this.timeoutMs;
      const step = Math.min(MAX_RENEW_STEP_MS, this.timeoutMs / 10);
      // A cookie from a longer timeout than today's is re-issued at once (issued would be in the future).
      if (now - issued < step && issued <= now) return;
    }
    // maxAge first: `{ ...spread, key }` gets a new V8 hidden class per call (docs/performance.md); #cookie has no maxAge.
    cookies.set(this.name, this.#token(session, now + this.timeoutMs), { maxAge: Math.ceil(this.timeoutMs / 1000), ...this.#cookie });
  }

  /** Bytes the session's cookie (name=value) would take; throws SKT_SESSION_TOO_LARGE past the limit. */
  checkSize(session: Session): void {
    const bytes = this.name.length + 1 + this.#token(session, this.now() + this.timeoutMs).length;
    if (bytes > MAX_COOKIE_BYTES) {
      throw new SkitaiError('SKT_SESSION_TOO_LARGE', `the session would need a ${bytes}-byte cookie; browsers keep at most ${MAX_COOKIE_BYTES}: store an id in the session and the data elsewhere`);
    }
  }

  #token(session: Session, expires: number): string {
    const doc: SessionDoc = { _expires: expires, d: session.data };
    if (session.messages.length > 0) doc.m = session.messages;
    return this.seal.seal(this.name, doc);
  }
}

function isDoc(doc: unknown): doc is SessionDoc {
  if (typeof doc !== 'object' || doc === null) return false;
  const d = doc as Partial<SessionDoc>;
  return typeof d._expires === 'number' && typeof d.d === 'object' && d.d !== null && !Array.isArray(d.d) &&
    (d.m === undefined || (Array.isArray(d.m) && d.m.every((m) => typeof m?.message === 'string' && typeof m.category === 'string')));
}

/**
 * `was.session`: a small map kept in a signed cookie. Values must be JSON (they are stored as their
 * JSON copy, so a Date reads back as a string, as it will on the next request). The client can read
 * the cookie but not change it; keep secrets and large data server-side and store their id here.
 */
export class Session {
  #changed = false;
  /** @internal Set by the request's web state: throws SKT_COOKIE_LATE once the headers are out. */
  guard: (() => void) | undefined;

  /** @internal Made by {@link Sessions.load}. */
  constructor(
    readonly sessions: Sessions,
    /** @internal */ readonly data: Record<string, unknown>,
    /** @internal Flash messages, kept beside the data (see `was.mbox`). */ readonly messages: FlashMessage[],
    /** @internal Expiry of the cookie the client sent; undefined for a new session. */ readonly expires: number | undefined,
    /** @internal The client sent a cookie that failed verification or had expired. */ readonly rejected: boolean,
    /** @internal The cookie was signed with `securekey_previous`: re-sign it now. */ readonly stale = false,
  ) {}

  get(key: string): unknown {
    return Object.hasOwn(this.data, key) ? this.data[key] : undefined;
  }

  has(key: string): boolean {
    return Object.hasOwn(this.data, key);
  }

  /** Store a JSON value. Throws SKT_SESSION_VALUE for a value JSON cannot carry, SKT_SESSION_TOO_LARGE past ~4 KB. */
  set(key: string, value: unknown): this {
    let json: string | undefined;
    try {
      json = JSON.stringify(value);
    } catch (err) {
      throw new SkitaiError('SKT_SESSION_VALUE', `session key ${JSON.stringify(key)}: ${(err as Error).message}`, { cause: err });
    }
    if (json === undefined) throw new SkitaiError('SKT_SESSION_VALUE', `session key ${JSON.stringify(key)}: a ${typeof value} cannot be stored (JSON values only)`);
    this.guard?.();
    const before = this.data[key];
    const had = Object.hasOwn(this.data, key);
    Object.defineProperty(this.data, key, { value: JSON.parse(json), enumerable: true, writable: true, configurable: true });
    try {
      this.sessions.checkSize(this);
    } catch (err) {
      if (had) Object.defineProperty(this.data, key, { value: before, enumerable: true, writable: true, configurable: true });
      else delete this.data[key];
      throw err;
    }
    this.#changed = true;
    return this;
  }

  delete(key: string): boolean {
    if (!Object.hasOwn(this.data, key)) return false;
    this.guard?.();
    delete this.data[key];
    this.#changed = true;
    return true;
  }

  /** Remove every key and pending flash message (log out). The cookie is deleted on the client. */
  clear(): void {
    this.guard?.();
    for (const key of Object.keys(this.data)) delete this.data[key];
    this.messages.length = 0;
    this.#changed = true;
  }

  keys(): string[] {
    return Object.keys(this.data);
  }

  entries(): [string, unknown][] {
    return Object.entries(this.data);
  }

  get size(): number {
    return Object.keys(this.data).length;
  }

  [Symbol.iterator](): IterableIterator<[string, unknown]> {
    return this.entries()[Symbol.iterator]();
  }

  /** A plain copy of the data. */
  toJSON(): Record<string, unknown> {
    return { ...this.data };
  }

  /** True once this request changed the data or the flash messages. */
  get changed(): boolean {
    return this.#changed;
  }

  /**
   * @internal For `was.mbox`: the messages changed. Checks the size like `set`, and, for a new
   * message (`adding`), that it can still be sent.
   */
  touchMessages(adding = false): void {
    if (adding) this.guard?.();
    this.sessions.checkSize(this);
    this.#changed = true;
  }

  /** True when there is nothing to keep (no data, no pending messages). */
  get isEmpty(): boolean {
    return this.messages.length === 0 && Object.keys(this.data).length === 0;
  }
}

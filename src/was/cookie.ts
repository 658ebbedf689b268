import { SkitaiError } from '../errors.js';

/** Options of an outgoing cookie (`was.cookie.set`). */
export interface CookieOptions {
  /** Lifetime in seconds (`Max-Age`); 0 or less deletes the cookie. Unset: a browser-session cookie. */
  maxAge?: number;
  /** Absolute expiry (`Expires`), for old clients; `maxAge` wins in clients that know both. */
  expires?: Date;
  /** Default `/`, so a cookie set under `/app/login` is seen by the whole site. */
  path?: string;
  /** Unset: host-only cookie. */
  domain?: string;
  /**
   * Send only over HTTPS. Forced on for `sameSite: 'None'` and for names starting `__Secure-` or
   * `__Host-`, which browsers drop without it.
   */
  secure?: boolean;
  /** Hide from scripts. Default true: a script that needs a cookie is the exception. */
  httpOnly?: boolean;
  /** Default `Lax`. */
  sameSite?: 'Strict' | 'Lax' | 'None';
}

// RFC 6265 §4.1.1: cookie-name is an RFC 2616 token.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Path and Domain attribute values: no CTLs and no ';' (RFC 6265 §4.1.1 av-octet).
const ATTR_VALUE = /^[\x20-\x3a\x3c-\x7e]*$/;

/**
 * Parse a `Cookie` request header into name -> value (RFC 6265 §5.4 as browsers send it). Pairs
 * without `=` or with a name that is not a token are skipped, not fatal: one bad cookie set by some
 * other app on the domain must not break ours. The first occurrence of a name wins (browsers send
 * the most specific path first). Values are percent-decoded when they decode cleanly, and raw
 * non-ASCII bytes are read as UTF-8 when they are valid UTF-8.
 */
export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!header) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    if (!TOKEN.test(name) || out.has(name)) continue;
    let value = part.slice(eq + 1).trim();
    if (value.length >= 2 && value.charCodeAt(0) === 34 && value.charCodeAt(value.length - 1) === 34) value = value.slice(1, -1);
    out.set(name, decodeValue(value));
  }
  return out;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

function decodeValue(value: string): string {
  // Node reads header bytes as latin1; a browser sends a script's `document.cookie = "n=José"` as
  // raw UTF-8, which would read back as "JosÃ©". Bytes that are valid UTF-8 are taken as such.
  if (/[^\x00-\x7f]/.test(value)) {
    try {
      value = UTF8.decode(Buffer.from(value, 'latin1'));
    } catch {
      // not UTF-8: keep the bytes as sent
    }
  }
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value; // not ours, or not percent-encoded: keep the bytes as sent
  }
}

/**
 * One `Set-Cookie` header value. The value is percent-encoded (encodeURIComponent), so any string
 * survives the trip; names and attributes that would break the header are a SKT_COOKIE_INVALID error.
 *
 * Cookie prefixes (RFC 6265bis §4.1.3; browsers match them in any letter case): a `__Secure-` or
 * `__Host-` cookie is always sent Secure, since browsers silently drop one without it (a site
 * behind a TLS-terminating proxy runs with `ssl` off); a `__Host-` cookie with a Domain or a Path
 * other than `/` is an error, as browsers would drop it too.
 */
export function serializeCookie(name: string, value: string, options: CookieOptions = {}): string {
  if (!TOKEN.test(name)) throw new SkitaiError('SKT_COOKIE_INVALID', `cookie name ${JSON.stringify(name)} is not an RFC 6265 token`);
  const prefix = name.slice(0, 9).toLowerCase();
  const host = prefix.startsWith('__host-');
  if (host && (options.domain !== undefined || (options.path ?? '/') !== '/')) {
    throw new SkitaiError('SKT_COOKIE_INVALID', `cookie ${name}: a __Host- cookie must have Path=/ and no Domain (browsers drop it otherwise)`);
  }
  let line = `${name}=${encodeURIComponent(value)}`;
  if (options.maxAge !== undefined) {
    if (!Number.isFinite(options.maxAge)) throw new SkitaiError('SKT_COOKIE_INVALID', `cookie ${name}: maxAge must be a finite number of seconds`);
    line += `; Max-Age=${Math.max(0, Math.floor(options.maxAge))}`;
  }
  if (options.expires !== undefined) {
    if (Number.isNaN(options.expires.getTime())) throw new SkitaiError('SKT_COOKIE_INVALID', `cookie ${name}: expires is an invalid Date`);
    line += `; Expires=${options.expires.toUTCString()}`;
  }
  const path = options.path ?? '/';
  if (!ATTR_VALUE.test(path)) throw new SkitaiError('SKT_COOKIE_INVALID', `cookie ${name}: path contains ';' or a control character`);
  line += `; Path=${path}`;
  if (options.domain !== undefined) {
    if (!ATTR_VALUE.test(options.domain) || options.domain === '') throw new SkitaiError('SKT_COOKIE_INVALID', `cookie ${name}: domain is empty or contains ';' or a control character`);
    line += `; Domain=${options.domain}`;
  }
  const sameSite = options.sameSite ?? 'Lax';
  if (sameSite !== 'Strict' && sameSite !== 'Lax' && sameSite !== 'None') {
    throw new SkitaiError('SKT_COOKIE_INVALID', `cookie ${name}: sameSite must be Strict, Lax or None`);
  }
  if (options.secure || sameSite === 'None' || host || prefix === '__secure-') line += '; Secure';
  if (options.httpOnly ?? true) line += '; HttpOnly';
  line += `; SameSite=${sameSite}`;
  return line;
}

/**
 * `was.cookie`: the request's cookies (parsed on first read) and the cookies to send back. Outgoing
 * cookies are collected and written as `Set-Cookie` lines once, just before the response headers
 * go out, whatever path the response takes (a returned value, a redirect, an abort, an error page).
 * Setting the same name, path and domain twice sends only the last.
 */
export class Cookies {
  #incoming: Map<string, string> | undefined;
  readonly #outgoing = new Map<string, { name: string; value: string | undefined; line: string }>();

  constructor(
    private readonly header: () => string | undefined,
    /**
     * Called before every set or delete, so the owner arranges for {@link Cookies.lines} to be sent,
     * or throws (SKT_COOKIE_LATE) when that can no longer happen.
     */
    private readonly beforeWrite: () => void,
  ) {}

  #parsed(): Map<string, string> {
    this.#incoming ??= parseCookies(this.header());
    return this.#incoming;
  }

  /** The value the client sent (or this request set), or undefined. */
  get(name: string): string | undefined {
    for (const out of this.#outgoing.values()) if (out.name === name) return out.value;
    return this.#parsed().get(name);
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** Names and values the client sent, as sent (outgoing changes not applied). */
  entries(): IterableIterator<[string, string]> {
    return this.#parsed().entries();
  }

  /** Send a cookie. The value is percent-encoded; `get` on the next request returns it decoded. */
  set(name: string, value: string, options: CookieOptions = {}): this {
    const line = serializeCookie(name, String(value), options);
    const deleting = options.maxAge !== undefined && options.maxAge <= 0;
    this.#put(name, options, deleting ? undefined : String(value), line);
    return this;
  }

  /** Ask the client to drop a cookie. Give the same path and domain it was set with. */
  delete(name: string, options: Pick<CookieOptions, 'path' | 'domain' | 'secure' | 'sameSite'> = {}): this {
    const line = serializeCookie(name, '', { ...options, maxAge: 0, expires: new Date(0) });
    this.#put(name, options, undefined, line);
    return this;
  }

  #put(name: string, options: CookieOptions, value: string | undefined, line: string): void {
    this.beforeWrite();
    const key = `${name}\0${options.path ?? '/'}\0${options.domain ?? ''}`;
    this.#outgoing.delete(key); // re-insert: the last write goes last
    this.#outgoing.set(key, { name, value, line });
  }

  /** The `Set-Cookie` values to send, in the order they were last set. */
  lines(): string[] {
    return [...this.#outgoing.values()].map((o) => o.line);
  }
}

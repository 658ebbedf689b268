import { timingSafeEqual } from 'node:crypto';
import type { ErrorCode } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { LoginBackoff, backoffKey } from './backoff.js';
import { ADMIN_GROUP, digestOf, type AuthUser, type UserEntry } from './users.js';

/** Who sent a request, as far as its `Authorization` header says. */
export type AuthOutcome =
  | { readonly kind: 'user'; readonly user: AuthUser }
  | { readonly kind: 'missing' }
  | { readonly kind: 'invalid' }
  | { readonly kind: 'throttled'; readonly retryAfter: number };

/** The answer to "may this caller use something permitted to these groups?". */
export type Verdict =
  | { readonly ok: true; readonly user: AuthUser }
  | {
      readonly ok: false;
      readonly status: 401 | 403 | 429;
      readonly code: ErrorCode;
      readonly message: string;
      /** `WWW-Authenticate` or `Retry-After`, to send with the refusal (RPC faults too). */
      readonly headers: Record<string, string>;
    };

/** What an Authenticator needs from the site. */
export interface AuthenticatorOptions {
  readonly users: ReadonlyMap<string, UserEntry>;
  /** `[server] name`: the realm is `"<name> Secured"`, as in Skitai. */
  readonly name: string;
  /** `[server] auth_failure_limit`: failures per address before lockouts start; 0 = never. */
  readonly failureLimit: number;
  readonly logger?: Logger | undefined;
  readonly clock?: () => number;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
/** Invalid UTF-8 is refused, not replaced by U+FFFD: distinct byte strings must never become one password. */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
/** Compared against when the user is unknown, so a wrong name costs what a wrong password costs. */
const DUMMY = digestOf('\0no such user\0');

/**
 * HTTP Basic authentication (RFC 7617) against the site's users, with a per-address back-off.
 * Passwords are compared as SHA-256 digests with `timingSafeEqual`, so neither their length nor
 * their first differing byte shows in the time an answer takes. One per worker.
 */
export class Authenticator {
  readonly challenge: string;
  readonly #users: ReadonlyMap<string, UserEntry>;
  readonly #backoff: LoginBackoff;
  readonly #logger: Logger | undefined;

  constructor(options: AuthenticatorOptions) {
    this.#users = options.users;
    // `name` is letters, digits, ".", "_" and "-" (config check), so it needs no quoting.
    this.challenge = `Basic realm="${options.name} Secured", charset="UTF-8"`;
    this.#backoff = new LoginBackoff({ limit: options.failureLimit, clock: options.clock });
    this.#logger = options.logger;
  }

  /** True when at least one user can log in. */
  get hasUsers(): boolean {
    return this.#users.size > 0;
  }

  /**
   * Check the credentials of a request. A failure is counted against `remote` and logged with the
   * user name and address (`what` names the request); the password never is.
   */
  identify(authorization: string | undefined, remote: string, what: string): AuthOutcome {
    if (authorization === undefined || authorization === '') return { kind: 'missing' };
    const wait = this.#backoff.lockedFor(remote);
    if (wait > 0) return { kind: 'throttled', retryAfter: Math.ceil(wait / 1000) };
    const creds = decodeBasic(authorization);
    const entry = creds ? this.#users.get(creds.user.toLowerCase()) : undefined;
    // Always one comparison, user known or not.
    const supplied = digestOf(creds?.password ?? '');
    const match = timingSafeEqual(supplied, entry?.digest ?? DUMMY) && entry !== undefined;
    if (match) {
      this.#backoff.succeed(remote);
      return { kind: 'user', user: { name: entry.name, groups: entry.groups } };
    }
    const lock = this.#backoff.fail(remote);
    const who = creds ? JSON.stringify(creds.user.slice(0, 64)) : '(malformed Authorization header)';
    this.#logger?.warn(`auth: failed login for user ${who} from ${remote} (${what})${lock > 0 ? `; ${backoffKey(remote)} locked out for ${lock / 1000} s` : ''}`);
    return { kind: 'invalid' };
  }

  /** May the caller of `outcome` use something permitted to `groups`? */
  authorize(outcome: AuthOutcome, groups: readonly string[]): Verdict {
    switch (outcome.kind) {
      case 'user':
        if (permits(outcome.user, groups)) return { ok: true, user: outcome.user };
        return {
          ok: false, status: 403, code: 'SKT_AUTH_FORBIDDEN', headers: {},
          message: `user "${outcome.user.name}" is not in ${groups.length === 1 ? 'group' : 'any of the groups'} ${groups.join(', ')}`,
        };
      case 'missing':
        return { ok: false, status: 401, code: 'SKT_AUTH_REQUIRED', message: 'authentication required (HTTP Basic)', headers: { 'www-authenticate': this.challenge } };
      case 'invalid':
        return { ok: false, status: 401, code: 'SKT_AUTH_REQUIRED', message: 'wrong user name or password', headers: { 'www-authenticate': this.challenge } };
      case 'throttled':
        return {
          ok: false, status: 429, code: 'SKT_AUTH_THROTTLED', headers: { 'retry-after': String(outcome.retryAfter) },
          message: `too many failed logins from this address; try again in ${outcome.retryAfter} s`,
        };
    }
  }

  /** Failure counters for the status page. */
  status(): { users: number; failures: number; lockouts: number; lockedNow: number; tracked: number; failureLimit: number } {
    return { users: this.#users.size, failureLimit: this.#backoff.limit, ...this.#backoff.status() };
  }
}

/** A user in `admin`, or in one of `groups`. */
export function permits(user: AuthUser, groups: readonly string[]): boolean {
  for (const g of user.groups) if (g === ADMIN_GROUP || groups.includes(g)) return true;
  return false;
}

/** `Basic dXNlcjpwYXNz` -> user and password; undefined when it is not Basic or not decodable. */
export function decodeBasic(header: string): { user: string; password: string } | undefined {
  const space = header.indexOf(' ');
  if (space < 0 || header.slice(0, space).toLowerCase() !== 'basic') return undefined;
  const token = header.slice(space + 1).trim();
  if (!BASE64.test(token)) return undefined;
  let text: string;
  try {
    text = UTF8.decode(Buffer.from(token, 'base64'));
  } catch {
    return undefined; // not UTF-8 (a client sending ISO-8859-1 despite charset="UTF-8")
  }
  const colon = text.indexOf(':');
  if (colon < 0) return undefined;
  return { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

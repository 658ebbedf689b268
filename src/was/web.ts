import path from 'node:path';
import type { ServerResponse } from 'node:http';
import { SkitaiError } from '../errors.js';
import { beforeHeaders, type GivenHeaders } from '../http/onheaders.js';
import { Cookies } from './cookie.js';
import { MessageBox } from './mbox.js';
import type { Session, Sessions } from './session.js';
import { Templates } from './templates.js';

/** One app's web parts shared by its requests: session policy and templates. Built when the app starts. */
export interface WasWeb {
  /** Undefined when the app did not call `app.useSession()`. */
  readonly sessions: Sessions | undefined;
  readonly templates: Templates;
  /**
   * The app module's folder: relative paths given to `was` helpers (`addAttachment`) resolve
   * against it. Undefined: the working directory (an app mounted as an object, a bare `Was`).
   */
  readonly dir?: string;
}

let fallback: WasWeb | undefined;

/** For a `Was` made outside an app handler: no sessions, templates from `./templates`. */
export function defaultWeb(): WasWeb {
  fallback ??= { sessions: undefined, templates: new Templates(path.resolve('templates'), false) };
  return fallback;
}

/**
 * The per-request state behind `was.cookie`, `was.session` and `was.mbox`: made on first use, and
 * written out as Set-Cookie lines right before the response headers, once, on every path.
 */
export class WebState {
  #cookies: Cookies | undefined;
  #session: Session | undefined;
  #mbox: MessageBox | undefined;
  #hooked = false;

  constructor(
    readonly web: WasWeb,
    readonly res: ServerResponse,
    readonly cookieHeader: string | undefined,
  ) {
    // A sliding session must be renewed even by a handler that never reads it.
    if (web.sessions?.maybePresent(cookieHeader)) this.#hook();
  }

  get cookies(): Cookies {
    this.#cookies ??= new Cookies(() => this.cookieHeader, () => this.#beforeWrite('was.cookie'));
    return this.#cookies;
  }

  /** The session, or undefined when the app has sessions off. */
  session(): Session | undefined {
    const sessions = this.web.sessions;
    if (!sessions) return undefined;
    if (!this.#session) {
      this.#session = sessions.load(this.cookies);
      this.#session.guard = () => this.#beforeWrite('was.session');
      this.#hook();
    }
    return this.#session;
  }

  mbox(): MessageBox | undefined {
    if (this.#mbox) return this.#mbox;
    const session = this.session();
    if (session) this.#mbox = new MessageBox(session);
    return this.#mbox;
  }

  /**
   * Before a change that must reach the client: once the headers are out it cannot, and a silent
   * loss (a login that does not stick) is worse than an error naming the cause.
   */
  #beforeWrite(what: string): void {
    if (this.res.headersSent) {
      throw new SkitaiError('SKT_COOKIE_LATE', `${what} was changed after the response headers were sent (a streamed body had started): make the change before returning the stream`);
    }
    this.#hook();
  }

  #hook(): void {
    if (this.#hooked) return;
    this.#hooked = true;
    beforeHeaders(this.res, (given) => this.#commit(given));
  }

  #commit(given: GivenHeaders | undefined): GivenHeaders | undefined {
    const sessions = this.web.sessions;
    if (sessions) {
      const session = this.#session ?? (sessions.maybePresent(this.cookieHeader) ? sessions.load(this.cookies) : undefined);
      if (session) sessions.commit(session, this.cookies);
    }
    const lines = this.#cookies?.lines() ?? [];
    if (lines.length === 0) return undefined;
    const merged = withCookies(given, lines);
    if (merged === undefined) for (const line of lines) this.res.appendHeader('set-cookie', line);
    return merged;
  }
}

/**
 * Headers given to writeHead() replace those set before under the same name, in any letter case
 * (`Set-Cookie` as well as `set-cookie`), so when they carry a Set-Cookie ours must go there too: a
 * copy with both is returned (never a change in place: a handler may pass the same constant object
 * on every response, and would then send one user's session to the next). Undefined when they
 * carry none: ours are then set on the response.
 */
function withCookies(given: GivenHeaders | undefined, lines: string[]): GivenHeaders | undefined {
  if (Array.isArray(given)) {
    for (let i = 0; i < given.length; i += 2) {
      if (String(given[i]).toLowerCase() === 'set-cookie') return [...given, ...lines.flatMap((line) => ['set-cookie', line])];
    }
    return undefined;
  }
  if (!given) return undefined;
  // Node sets the names in order, so of two spellings the last one wins.
  let name: string | undefined;
  for (const n of Object.keys(given)) if (n.toLowerCase() === 'set-cookie' && given[n] !== undefined) name = n;
  if (name === undefined) return undefined;
  const there = given[name]!;
  return { ...given, [name]: [...(Array.isArray(there) ? there : [String(there)]), ...lines] };
}

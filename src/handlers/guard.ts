import type { App } from '../app/app.js';
import type { AuthOutcome, Authenticator, Verdict } from '../auth/authenticator.js';
import type { AuthUser } from '../auth/users.js';
import { SkitaiError } from '../errors.js';
import type { Exchange } from '../http/handler.js';
import { sendError } from '../http/errorpage.js';
import { RpcFault, RpcFaultCode } from '../rpc/fault.js';

/**
 * The permission check of one request. Credentials are checked at most once per request (a
 * `system.multicall` or JSON-RPC batch checks each call's groups against the same login), so one
 * wrong password counts as one failure.
 */
export class Guard {
  #outcome: AuthOutcome | undefined;

  constructor(
    readonly auth: Authenticator | undefined,
    readonly ex: Exchange,
  ) {}

  /** May the caller use something permitted to `groups` (non-empty)? */
  check(groups: readonly string[]): Verdict {
    const auth = this.auth;
    if (!auth) {
      // Start-up refuses a protected app without users (SKT_AUTH_NO_USERS); this is the safe fallback.
      return { ok: false, status: 403, code: 'SKT_AUTH_FORBIDDEN', message: 'this server has no users, so nobody is permitted', headers: {} };
    }
    const authorization = this.ex.req.headers.authorization;
    this.#outcome ??= auth.identify(authorization, this.ex.remote, `${this.ex.method} ${this.ex.path}`);
    return auth.authorize(this.#outcome, groups);
  }

  /**
   * For a web request: the user when permitted; otherwise the 401/403/429 page is sent and
   * undefined returned.
   */
  web(groups: readonly string[]): AuthUser | undefined {
    const verdict = this.check(groups);
    if (verdict.ok) return verdict.user;
    // An unread body would be taken for the next request: close the connection then. A GET keeps it,
    // so a browser answering the challenge reuses the connection.
    const h = this.ex.req.headers;
    const body = h['transfer-encoding'] !== undefined || (h['content-length'] !== undefined && h['content-length'] !== '0');
    sendError(this.ex, verdict.status, { detail: verdict.message, headers: verdict.headers, close: body && !this.ex.req.complete });
    return undefined;
  }

  /**
   * For an RPC call: the user when permitted; otherwise throws the -32001 fault. The challenge
   * (`WWW-Authenticate`) or `Retry-After` still rides on the HTTP response, which RFC 9110 §11.6.1
   * allows on any status, so clients that answer challenges can retry with credentials.
   */
  rpc(groups: readonly string[], method: string): AuthUser {
    const verdict = this.check(groups);
    if (verdict.ok) return verdict.user;
    const res = this.ex.res;
    if (!res.headersSent) for (const [name, value] of Object.entries(verdict.headers)) res.setHeader(name, value);
    throw new RpcFault(RpcFaultCode.PERMISSION_DENIED, `${method}: ${verdict.message}`, { status: verdict.status, code: verdict.code });
  }
}

/** A protected app on a site without users is a start-up error, not a route that answers 403 forever. */
export function checkProtection(app: App, auth: Authenticator | undefined, name: string): void {
  if (!app.protects || auth?.hasUsers) return;
  throw new SkitaiError(
    'SKT_AUTH_NO_USERS',
    `${name} protects routes (permitTo or a route permit), but no user can log in: set [server] admin_password or add a [users] section`,
  );
}

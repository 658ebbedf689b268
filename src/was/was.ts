import { Readable } from 'node:stream';
import type { Deadline } from '../call/deadline.js';
import type { Call, CallOptions } from '../client/call.js';
import type { ClientWebSocket, WsOptions } from '../client/ws.js';
import type { RpcCall, RpcClient } from '../client/proxy.js';
import { Composer } from '../mail/composer.js';
import type { DbCall, DbCallOptions } from '../db/call.js';
import type { ServicesStatus } from '../services/services.js';
import type { WasRequest } from './request.js';
import type { WasResponse } from './response.js';
import type { WasServices } from './services.js';
import { SkitaiError } from '../errors.js';
import { createLogger, type Logger } from '../log/logger.js';
import type { Cookies } from './cookie.js';
import type { MessageBox } from './mbox.js';
import type { Session } from './session.js';
import { arrivalOf, leftUntil, limitOf, requestScope } from './scope.js';
import { toStream, type StreamSource } from './tostream.js';
import { defaultWeb, WebState, type WasWeb } from './web.js';

/** The RPC protocols a call object speaks when `method` names one. */
export type RpcVerb = 'XMLRPC' | 'JSONRPC';

/**
 * The options of a call made in a request without options of its own. A class, not a literal: an
 * HTTP call keeps its options for its lifetime, and V8 may allocate a literal's objects in old
 * space once it judges them long-lived (allocation-site pretenuring), where every finished call
 * then waits for a full GC (docs/performance.md, "SQL", fifth pass).
 */
class CallScope {
  constructor(
    readonly context: WasRequest,
    readonly deadline: Deadline,
  ) {}
}

/**
 * The web application service: the context every handler receives first. Request-scoped parts
 * (`request`, `response`, `g`) sit beside the server-wide services (clusters, databases, mail)
 * that later layers add.
 */
export class Was<TApp = unknown> {
  /** Per-request scratch space shared by hooks and the handler (made at first use: most requests have none). */
  get g(): Record<string, unknown> {
    return (this.#g ??= {});
  }
  #g: Record<string, unknown> | undefined;
  #webState: WebState | undefined;
  /** When the request arrived, if it brought a deadline header (the budget counts from then). */
  readonly #arrived: number | undefined;
  /** The request's deadline and cancel scope: made at the first outgoing call. */
  #scope: Deadline | undefined;

  constructor(
    readonly request: WasRequest,
    readonly response: WasResponse,
    /** The app that owns the matched route. */
    readonly app: TApp,
    /** The worker's shared services; the methods below are the way to use them. */
    readonly services: WasServices,
    /** The app's session policy and templates. */
    readonly web: WasWeb = defaultWeb(),
  ) {
    // Sliding sessions renew on every request, so a session app needs its state from the start.
    if (web.sessions) this.#webState = new WebState(web, response.raw, request.raw.headers.cookie);
    this.#arrived = arrivalOf(request.raw.headers);
  }

  /**
   * Milliseconds left of the budget this request arrived with — `X-Skitai-Deadline: <ms>` (what a
   * Skitai call sends), or gRPC's `grpc-timeout` — counted from its arrival; 0 once spent.
   * Undefined when the request brought none. Every `was.map/lb/rest/dmap/dlb/db` call of this
   * request ends by then whatever its own timeout, and passes the rest on (docs/clusters.md).
   */
  get deadline(): number | undefined {
    const limit = limitOf(this.request.raw.headers, this.#arrived);
    return limit === undefined ? undefined : leftUntil(limit);
  }

  /** The parent of this request's calls: its budget caps them; the client going away cancels them. */
  #callScope(): Deadline {
    this.#scope ??= requestScope(this.response.raw, limitOf(this.request.raw.headers, this.#arrived));
    return this.#scope;
  }

  /**
   * A logger bound to this request: every record carries `reqId` (`was.log.info('paid', { order })`).
   * Made on first use, so requests that do not log pay nothing. It writes where the server log
   * does, in its format and at its level.
   */
  get log(): Logger {
    this.#log ??= (this.services.logger ?? fallbackLogger()).child({ reqId: this.request.id });
    return this.#log;
  }
  #log: Logger | undefined;

  /** Outgoing call options carrying this request's id and trace (X-Request-Id, traceparent) and its deadline. */
  #out(options: CallOptions | undefined): CallOptions {
    return options === undefined ? new CallScope(this.request, this.#callScope()) : { ...options, context: this.request, deadline: this.#callScope() };
  }

  /** SQL statements of this request start with a `/* reqId=… *\/` comment (docs/logging.md); its deadline caps them. */
  #dbOut(options: DbCallOptions | undefined): DbCallOptions {
    return options === undefined ? new CallScope(this.request, this.#callScope()) : { ...options, context: this.request, deadline: this.#callScope() };
  }

  #state(): WebState {
    this.#webState ??= new WebState(this.web, this.response.raw, this.request.raw.headers.cookie);
    return this.#webState;
  }

  /** Request cookies (`get`, `has`) and cookies to send (`set`, `delete`); see docs/sessions.md. */
  get cookie(): Cookies {
    return this.#state().cookies;
  }

  /**
   * The signed-cookie session of an app that called `app.useSession()`; SKT_SESSION_OFF otherwise.
   * Changes are sent with the response, whatever path it takes.
   */
  get session(): Session {
    const session = this.#state().session();
    if (!session) throw new SkitaiError('SKT_SESSION_OFF', 'was.session needs sessions: call app.useSession() where the app is made');
    return session;
  }

  /** True when the app has sessions on (`was.session` can be used). */
  get hasSession(): boolean {
    return this.web.sessions !== undefined;
  }

  /** Flash messages kept in the session until read (`push`, `get`). Needs sessions, as `was.session`. */
  get mbox(): MessageBox {
    const mbox = this.#state().mbox();
    if (!mbox) throw new SkitaiError('SKT_SESSION_OFF', 'was.mbox keeps messages in the session: call app.useSession() where the app is made');
    return mbox;
  }

  /**
   * Render a template of the app (Jinja2 syntax, nunjucks) to an HTML string, autoescaped. The
   * template also sees `was`, `request`, `g`, and with sessions on `session` and `mbox`
   * (`{% for m in mbox.get() %}`); `vars` win over these names.
   */
  render(template: string, vars: Record<string, unknown> = {}): string {
    const state = this.#state();
    const context: Record<string, unknown> = { was: this, request: this.request, g: this.g };
    if (this.web.sessions) {
      context.session = state.session();
      context.mbox = state.mbox();
    }
    return this.web.templates.render(template, Object.assign(context, vars));
  }

  /**
   * Send one request to every live member of a cluster (`'@name/uri'`) and gather every answer:
   * `await s.getswait(2)`. XML-RPC by default: call the method on the result (`s.search(kw)`).
   * A member's failure is a Result (TIMEOUT, NETERR), never a rejection. Typed with an interface of
   * the remote methods, `was.map<SearchApi>('@mypypi/pypi').search(kw)` checks the method and its
   * arguments and `getswait()` gives `Results<ReturnType>` (docs/typescript.md).
   */
  map(target: string, method?: RpcVerb, data?: undefined, options?: CallOptions): RpcCall;
  map<Api extends object>(target: string, method?: RpcVerb, data?: undefined, options?: CallOptions): RpcClient<Api>;
  map(target: string, method: string, data?: unknown, options?: CallOptions): Call;
  map(target: string, method: string = 'XMLRPC', data?: unknown, options?: CallOptions): Call | RpcCall {
    return this.services.clients.map(target, method, data, this.#out(options));
  }

  /**
   * Send to one healthy member chosen by the cluster's strategy, failing over on network errors:
   * `await s.getwait(2)`. `was.lb<Api>(…)` types the RPC methods, as {@link Was.map}.
   */
  lb(target: string, method?: RpcVerb, data?: undefined, options?: CallOptions): RpcCall;
  lb<Api extends object>(target: string, method?: RpcVerb, data?: undefined, options?: CallOptions): RpcClient<Api>;
  lb(target: string, method: string, data?: unknown, options?: CallOptions): Call;
  lb(target: string, method: string = 'XMLRPC', data?: unknown, options?: CallOptions): Call | RpcCall {
    return this.services.clients.lb(target, method, data, this.#out(options));
  }

  /** One call to a URL (or `'@name/uri'`, as `lb`), any method or RPC protocol; `was.rest<Api>(url)` types the RPC methods. */
  rest(url: string, method?: RpcVerb, data?: undefined, options?: CallOptions): RpcCall;
  rest<Api extends object>(url: string, method?: RpcVerb, data?: undefined, options?: CallOptions): RpcClient<Api>;
  rest(url: string, method: string, data?: unknown, options?: CallOptions): Call;
  rest(url: string, method: string = 'XMLRPC', data?: unknown, options?: CallOptions): Call | RpcCall {
    return this.services.clients.rest(url, method, data, this.#out(options));
  }

  /**
   * Open a client WebSocket: `await was.ws('@chat/feed')` (a member chosen by the cluster's strategy
   * and health, the next one tried if one cannot be reached) or `was.ws('wss://host/path')`.
   * `timeout` (seconds, default 10) bounds the whole opening; the handshake carries this request's
   * id and trace. Rejects with SKT_WS_CONNECT. The socket outlives the request: close it.
   */
  ws(target: string, options?: WsOptions): Promise<ClientWebSocket> {
    return this.services.clients.ws(target, { ...options, context: this.request });
  }

  /** GET a URL, or POST `data` as a form. */
  wget(url: string, data?: unknown, options?: CallOptions): Call {
    return this.services.clients.wget(url, data, this.#out(options));
  }

  get(url: string, data?: Record<string, unknown>, options?: CallOptions): Call {
    return this.services.clients.get(url, data, this.#out(options));
  }

  post(url: string, data?: unknown, options?: CallOptions): Call {
    return this.services.clients.post(url, data, this.#out(options));
  }

  put(url: string, data?: unknown, options?: CallOptions): Call {
    return this.services.clients.put(url, data, this.#out(options));
  }

  patch(url: string, data?: unknown, options?: CallOptions): Call {
    return this.services.clients.patch(url, data, this.#out(options));
  }

  delete(url: string, data?: Record<string, unknown>, options?: CallOptions): Call {
    return this.services.clients.delete(url, data, this.#out(options));
  }

  /**
   * Run one statement on every live member of a PostgreSQL cluster (`'@name'`):
   * `const s = was.dmap('@db').execute('SELECT …', [params]); const results = await s.getswait(2)`.
   * A member's failure is a Result (TIMEOUT, NETERR), never a rejection.
   */
  dmap(target: string, options?: DbCallOptions): DbCall {
    return this.services.databases.dmap(target, this.#dbOut(options));
  }

  /** Run one statement on one member of a PostgreSQL cluster, failing over when it certainly did not run: `await s.getwait(2)`. */
  dlb(target: string, options?: DbCallOptions): DbCall {
    return this.services.databases.dlb(target, this.#dbOut(options));
  }

  /** A PostgreSQL server without a config section (`'host:port'`, port 5432 by default); pools are shared per server/db/user. */
  db(server: string, dbname: string, user: string, password?: string, options?: DbCallOptions): DbCall {
    return this.services.databases.db(server, dbname, user, password, this.#dbOut(options));
  }

  /** This worker's view of its clusters (members, state, in-flight, latency, ejections), result cache, and databases. */
  status(): ServicesStatus {
    return this.services.status();
  }

  /**
   * Compose an e-mail: `await was.email(subject, from, to).addText(text).addAttachment(path).send()`.
   * `send()` resolves with a spool id once the message is safely on disk; the site's delivery
   * agent (smtpda) sends it with retries. `to` may be a list. A relative `addAttachment()` path is
   * relative to the app module's folder. See docs/mail.md.
   */
  email(subject: string, from: string, to: string | readonly string[]): Composer {
    return new Composer(this.services.mail, subject, from, to, this.web.dir);
  }

  /**
   * A response body streamed with backpressure from a Node or web stream, an (async) iterable, or
   * an object with `read(size)` and an optional `close()` (Skitai's file-like contract: chunks as
   * Buffer or string, sync or a promise, empty/null at the end; `close()` is called at the end or
   * when the client leaves). Anything else throws SKT_WAS_STREAM here, at the call.
   */
  tostream(source: StreamSource): Readable {
    return toStream(source);
  }

  tojson(value: unknown): string {
    return JSON.stringify(value);
  }

  fromjson(text: string): unknown {
    return JSON.parse(text);
  }
}

let fallback: Logger | undefined;

/** `was.log` of an app mounted without a site: the console, as `[server] log_format = auto` would. */
function fallbackLogger(): Logger {
  fallback ??= createLogger('console', {});
  return fallback;
}

import path from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { App, type Args, type Route } from '../app/app.js';
import { invokeRoute } from '../app/invoke.js';
import { fileStamp, loadAppModule } from '../app/loader.js';
import { buildWeb } from '../app/web.js';
import type { Authenticator } from '../auth/authenticator.js';
import type { AuthUser } from '../auth/users.js';
import { SkitaiError } from '../errors.js';
import { cleanupFiles, h2Body, queryArgs, readBody, type BodyLimits, type UploadedFile } from '../http/body.js';
import type { Exchange, Handler } from '../http/handler.js';
import { answerPreflight, isPreflight, useCors, type CorsPolicy } from '../http/cors.js';
import { sendError } from '../http/errorpage.js';
import { respond, type Body } from '../http/respond.js';
import type { Logger } from '../log/logger.js';
import { WasRequest } from '../was/request.js';
import { WasResponse } from '../was/response.js';
import { standaloneServices, type WasServices } from '../was/services.js';
import { Was } from '../was/was.js';
import type { WasWeb } from '../was/web.js';
import { Guard, checkProtection } from './guard.js';
import { DEFAULT_WS, WsHub, type WsSettings } from './websocket.js';
import type { SocketRoute } from '../app/socket.js';

/** How an app is mounted. */
export interface AppHandlerOptions {
  /**
   * `[server] devel`; an app can also set `app.devel = true` itself, which turns on reloading and
   * error-page stacks for its own requests.
   */
  devel: boolean;
  limits: BodyLimits;
  logger: Logger;
  /** The worker's `was` services; an app mounted without a site gets {@link standaloneServices}. */
  services?: WasServices;
  /** `[server] securekey`, signing session cookies; sessions cannot start without it. */
  securekey?: string;
  /** `[server] securekey_previous`: still verifies session cookies during a key rotation. */
  securekeyPrevious?: string;
  /** `[server] sessiontimeout` in ms (default 1200 s). */
  sessionTimeout?: number;
  /** `[server] ssl`: session cookies are Secure by default. */
  ssl?: boolean;
  /** The site's users, for `app.permitTo` and route `permit`; a protected app cannot start without. */
  auth?: Authenticator | undefined;
  /** `[server]` WebSocket settings for `app.websocket()` routes; defaults as in docs/config.md. */
  websocket?: WsSettings | undefined;
}

/** An extra role that can claim a request for an app before its web routes (RPC endpoints). */
export interface AppEndpoint {
  /** True when the request is for this endpoint (cheap: method, headers and the route table only). */
  accepts(ex: Exchange, app: App, rest: string): boolean;
  /** True when {@link accepts} is false for every request with `method`, whatever else it carries (the h2 fast path asks). */
  declines?(method: string): boolean;
  serve(ex: Exchange, app: App, prefix: string, was: Was<App>, guard: Guard): Promise<void>;
}

const RELOAD_CHECK_MS = 500;

/** Serves one app module mounted on a prefix: binds arguments, runs hooks, sends the result. */
export class AppHandler implements Handler {
  readonly name: string;
  #app: App | undefined;
  #web: WasWeb | undefined;
  #generation = 0;
  #stamp = '';
  #checkedAt = 0;
  #reloading: Promise<void> | undefined;
  readonly #endpoints: AppEndpoint[] = [];
  readonly #services: WasServices;
  #hub: WsHub | undefined;
  #stopping = false;

  /** `source` is a module path exporting `app`, or an App instance (for embedding and tests). */
  constructor(
    readonly source: string | App,
    readonly options: AppHandlerOptions,
  ) {
    this.name = typeof source === 'string' ? `app:${source}` : 'app:<inline>';
    this.#services = options.services ?? standaloneServices();
    if (source instanceof App) this.#app = source;
  }

  /** The mounted app (after start()). */
  get app(): App {
    if (!this.#app) throw new SkitaiError('SKT_APP_LOAD', `${this.name} is not started`);
    return this.#app;
  }

  /** Let an endpoint (XML-RPC, JSON-RPC) claim requests before the web routes. */
  addEndpoint(endpoint: AppEndpoint): this {
    this.#endpoints.push(endpoint);
    return this;
  }

  async start(): Promise<void> {
    if (typeof this.source === 'string') {
      this.#stamp = fileStamp(this.source);
      this.#app = await loadAppModule(this.source);
    }
    checkProtection(this.app, this.options.auth, this.name);
    await runLifecycle(this.app, 'startup', this.options.logger);
    this.#web = this.#buildWeb(this.app);
  }

  /**
   * What {@link start} checks, without running startup hooks (`skitaid --check`): the module loads
   * and exports `app`, protected routes have users, sessions have a key, a named template folder exists.
   */
  async check(): Promise<void> {
    const app = typeof this.source === 'string' ? await loadAppModule(this.source) : this.source;
    checkProtection(app, this.options.auth, this.name);
    this.#buildWeb(app);
  }

  #buildWeb(app: App): WasWeb {
    return buildWeb(app, this.name, {
      dir: typeof this.source === 'string' ? path.dirname(this.source) : process.cwd(),
      devel: this.options.devel,
      securekey: this.options.securekey,
      securekeyPrevious: this.options.securekeyPrevious,
      sessionTimeout: this.options.sessionTimeout ?? 1_200_000,
      ssl: this.options.ssl ?? false,
    });
  }

  /** Close this app's WebSockets with 1001 (a stop or reload began). */
  async goingAway(): Promise<void> {
    this.#stopping = true;
    await this.#hub?.goingAway();
  }

  async close(): Promise<void> {
    await this.#hub?.close();
    if (this.#app) await runLifecycle(this.#app, 'shutdown', this.options.logger);
  }

  handle(ex: Exchange, prefix: string, rest: string): boolean | Promise<boolean> {
    if (this.#isDevel()) return this.#reloadIfChanged().then(() => this.#handle(ex, prefix, rest));
    return this.#handle(ex, prefix, rest);
  }

  /**
   * For the h2 fast path: no web route of a started app matches `rest` for `method`, and nothing
   * else could claim the request (devel mode reloads first; an endpoint must decline the method).
   */
  declines(method: 'GET' | 'HEAD', rest: string): boolean {
    const app = this.#app;
    if (app === undefined || this.#isDevel() || app.match(rest, method).kind !== 'none') return false;
    for (const endpoint of this.#endpoints) if (endpoint.declines?.(method) !== true) return false;
    return true;
  }

  #handle(ex: Exchange, prefix: string, rest: string): boolean | Promise<boolean> {
    const app = this.app;
    if (ex.upgrade !== undefined && app.hasSockets) {
      const s = app.matchSocket(rest);
      if (s) return this.#socket(ex, app, prefix, s.route, s.params);
    }
    for (const endpoint of this.#endpoints) {
      if (endpoint.accepts(ex, app, rest)) {
        if (app.devel) ex.devel = true;
        return endpoint.serve(ex, app, prefix, this.#was(ex, app, prefix), new Guard(this.options.auth, ex)).then(() => true);
      }
    }
    if (ex.method === 'OPTIONS' && isPreflight(ex)) {
      const policy = this.corsFor(rest, String(ex.req.headers['access-control-request-method']));
      if (policy) {
        answerPreflight(ex, policy);
        return true;
      }
    }
    const m = app.match(rest, ex.method);
    if (m.kind === 'none') return false;
    // `app.devel` shows stacks for this app's requests only: one it declines reaches the next
    // handler with the server's setting.
    if (app.devel) ex.devel = true;
    switch (m.kind) {
      case 'slash':
        respond(ex, 301, { location: prefix + m.location + (ex.query ? `?${ex.query}` : '') }, undefined);
        return true;
      case 'method':
        if (ex.method === 'OPTIONS') respond(ex, 204, { allow: m.allow.join(', ') }, undefined);
        else sendError(ex, 405, { detail: `${ex.method} is not allowed on ${ex.path}`, headers: { allow: m.allow.join(', ') } });
        return true;
      case 'route':
        if (ex.method === 'OPTIONS' && !m.route.methods?.has('OPTIONS')) {
          respond(ex, 204, { allow: (app.allowed(rest) ?? []).join(', ') }, undefined);
          return true;
        }
        return this.#guarded(ex, app, prefix, m.route, m.params);
    }
  }

  /**
   * The CORS policy of the route a request for `rest` with `method` would reach (its own, else
   * the app's); null = none at all; undefined = no such route, or no policy (the site's applies).
   */
  corsFor(rest: string, method: string): CorsPolicy | null | undefined {
    const app = this.#app;
    if (!app) return undefined;
    const m = app.match(rest, method);
    if (m.kind === 'route') return app.corsOf(m.route);
    // The app's path, another method: the app's policy. Not the app's path at all (a static file
    // beside it, an RPC endpoint): undefined, the site's policy applies.
    return m.kind === 'method' ? app.corsPolicy : undefined;
  }

  /** Every web route passes here: the permission check comes before hooks, body and handler. */
  #guarded(ex: Exchange, app: App, prefix: string, route: Route, params: Record<string, string | number>): boolean | Promise<boolean> {
    // Before the permission check: a browser reads a cross-origin 401 only with CORS headers.
    const cors = app.corsOf(route);
    if (cors !== undefined) useCors(ex, cors);
    const groups = app.permitOf(route);
    if (groups.length === 0) return this.#call(ex, app, prefix, route, params);
    const user = new Guard(this.options.auth, ex).web(groups);
    if (user === undefined) return true;
    return this.#call(ex, app, prefix, route, params, user);
  }

  /** A WebSocket handshake: the route's permission and the before hooks as for a web route, then the hub's 101. */
  #socket(ex: Exchange, app: App, prefix: string, route: SocketRoute, params: Record<string, string | number>): boolean | Promise<boolean> {
    if (app.devel) ex.devel = true;
    const groups = app.socketPermit(route);
    const user = groups.length === 0 ? undefined : new Guard(this.options.auth, ex).web(groups);
    if (groups.length > 0 && user === undefined) return true;
    const was = this.#was(ex, app, prefix);
    if (user) was.request.user = user;
    const args: Args = ex.query ? { ...queryArgs(ex.query), ...params } : { ...params };
    if (this.#stopping && !this.#hub) {
      sendError(ex, 503, { detail: 'the server is shutting down', headers: { 'retry-after': '1' } });
      return true;
    }
    const hub = (this.#hub ??= new WsHub(this.options.websocket ?? DEFAULT_WS, this.options.logger));
    if (app.hooks.before.length === 0) {
      hub.accept(ex, route, was, args);
      return true;
    }
    return (async () => {
      for (const hook of app.hooks.before) {
        const answer = await hook(was);
        // A before hook that answers refuses the socket: its value is the HTTP response, as for a web route.
        if (answer !== undefined) return (this.#finish(ex, was, answer), true);
      }
      hub.accept(ex, route, was, args);
      return true;
    })();
  }

  #was(ex: Exchange, app: App, prefix: string): Was<App> {
    const request = new WasRequest(ex.req, ex.method, ex.path, ex.query, ex.remote, prefix, ex);
    return new Was(request, new WasResponse(ex.res), app, this.#services, this.#web);
  }

  /** Stays synchronous for body-less requests to hook-less apps with synchronous handlers. */
  #call(ex: Exchange, app: App, prefix: string, route: Route, params: Record<string, string | number>, user?: AuthUser): boolean | Promise<boolean> {
    const was = this.#was(ex, app, prefix);
    if (user) was.request.user = user;
    const headers = ex.req.headers;
    const length = headers['content-length'];
    const hasBody = headers['transfer-encoding'] !== undefined || (length !== undefined ? length !== '0' : ex.req.httpVersionMajor === 2 && h2Body(ex.req));
    if (!hasBody && app.hooks.before.length === 0 && app.hooks.after.length === 0 && app.hooks.teardown.length === 0) {
      const args: Args = ex.query ? { ...queryArgs(ex.query), ...params } : params;
      const result = route.handler(was, args);
      if (!(result instanceof Promise)) {
        this.#finish(ex, was, result);
        return true;
      }
      return result.then((value) => {
        this.#finish(ex, was, value);
        return true;
      });
    }
    return this.#callAsync(ex, was, app, route, params, hasBody);
  }

  async #callAsync(ex: Exchange, was: Was<App>, app: App, route: Route, params: Record<string, string | number>, hasBody: boolean): Promise<boolean> {
    let files: UploadedFile[] = [];
    try {
      let args: Args = ex.query ? queryArgs(ex.query) : {};
      if (hasBody) {
        const body = await readBody(ex.req, this.options.limits);
        files = body.files;
        was.request.body = body.raw;
        args = { ...args, ...body.args };
      }
      // After a body, args is this request's own plain object: path params go into it, as
      // `{ ...args, ...params }` got a new V8 hidden class per request, in old space (docs/performance.md).
      // Without one it may be queryArgs()' prototype-less object, which the handler must not get.
      const result = await invokeRoute(app, route, was, hasBody ? Object.assign(args, params) : { ...args, ...params }, (err) =>
        this.options.logger.error(`a teardown hook of ${this.name} threw`, err),
      );
      this.#finish(ex, was, result);
    } finally {
      if (files.length > 0) {
        // Streamed results may still read the files: remove them once the response is gone.
        const remove = (): void => void cleanupFiles(files);
        if (ex.res.closed) remove();
        else ex.res.once('close', remove);
      }
    }
    return true;
  }

  /**
   * Send the result; a streamed body that fails once the headers are out (a generator that throws,
   * SKT_COOKIE_LATE) can only be cut, and no error page will name it, so the log does.
   */
  #finish(ex: Exchange, was: Was<App>, result: unknown): void {
    finish(ex, was, result);
    if (ex.res.writableEnded) return;
    ex.res.once('close', () => {
      const err = ex.res.errored;
      if (err) this.options.logger.error(`${this.name}: the streamed body of ${ex.method} ${ex.path} failed after the headers were sent; the response was cut`, err, { reqId: ex.id });
    });
  }

  #isDevel(): boolean {
    return typeof this.source === 'string' && (this.options.devel || this.#app?.devel === true);
  }

  /** Devel mode: re-import the module when its mtime or size changed (checked at most every 500 ms). */
  async #reloadIfChanged(): Promise<void> {
    if (this.#reloading) return this.#reloading;
    const now = Date.now();
    if (now - this.#checkedAt < RELOAD_CHECK_MS) return;
    this.#checkedAt = now;
    const file = this.source as string;
    let stamp: string;
    try {
      stamp = fileStamp(file);
    } catch {
      return; // mid-save by an editor: keep serving the loaded version
    }
    if (stamp === this.#stamp) return;
    this.#reloading = (async () => {
      try {
        const next = await loadAppModule(file, ++this.#generation);
        checkProtection(next, this.options.auth, file);
        const old = this.#app;
        if (old) await runLifecycle(old, 'shutdown', this.options.logger);
        await runLifecycle(next, 'startup', this.options.logger);
        const web = this.#buildWeb(next);
        this.#app = next;
        this.#web = web;
        this.#stamp = stamp;
        this.options.logger.info(`reloaded ${file}`);
      } catch (err) {
        // A syntax error while editing must not take the site down: keep the old app.
        this.#stamp = stamp;
        this.options.logger.error(`reload of ${file} failed; still serving the previous version`, err);
      } finally {
        this.#reloading = undefined;
      }
    })();
    return this.#reloading;
  }
}

async function runLifecycle(app: App, phase: 'startup' | 'shutdown', logger: Logger): Promise<void> {
  for (const hook of app.hooks[phase]) {
    try {
      await hook(app);
    } catch (err) {
      if (phase === 'startup') throw new SkitaiError('SKT_APP_HOOK', `a startup hook threw: ${(err as Error).message}`, { cause: err });
      logger.error('a shutdown hook threw', err);
    }
  }
}

/** Send a handler's result: a WHATWG Response as it is, anything else through respond(). */
function finish(ex: Exchange, was: Was<App>, result: unknown): void {
  if (typeof result === 'string') {
    respond(ex, was.response.status, undefined, result);
    return;
  }
  if (result instanceof Response) {
    const headers: Record<string, string | string[]> = {};
    result.headers.forEach((value, name) => (headers[name] = value));
    // Several Set-Cookie headers must stay several: Headers joins every other name with commas.
    const cookies = result.headers.getSetCookie();
    if (cookies.length > 0) headers['set-cookie'] = cookies;
    const body = result.body ? Readable.fromWeb(result.body as WebReadableStream<Uint8Array>) : undefined;
    respond(ex, result.status, headers, body);
    return;
  }
  const type = typeof result;
  if (type === 'function' || type === 'symbol' || type === 'bigint') {
    throw new SkitaiError('SKT_APP_RETURN', `a handler for ${ex.path} returned a ${type}`);
  }
  const body = type === 'number' || type === 'boolean' ? JSON.stringify(result) : (result as Body);
  if ((type === 'number' || type === 'boolean') && !ex.res.hasHeader('content-type')) ex.res.setHeader('content-type', 'application/json; charset=utf-8');
  respond(ex, was.response.status, undefined, body);
}

import { SkitaiError } from '../errors.js';
import { CorsPolicy, type CorsOptions } from '../http/cors.js';
import type { SessionOptions } from '../was/session.js';
import type { TemplateSetup } from '../was/templates.js';
import type { Was } from '../was/was.js';
import type { RouteArgs, RuleCheck } from './params.js';
import { compileRule, type Rule } from './rule.js';
import { RuleTree } from './tree.js';
import { SocketGroups, type SocketRoute, type WebSocketHandlers, type WebSocketOptions, type WsSendable } from './socket.js';

/**
 * Arguments bound to a handler at run time: path params, query, form, JSON body members and
 * uploads. Handlers see them typed from the rule ({@link RouteArgs}); this is the untyped whole.
 */
export type Args = Record<string, any>;

/** A route handler. Its return value is the response body (see the README for the types). */
export type RouteHandler<A = Args> = (was: Was<App>, args: A) => unknown;

/** Per-route options. */
export interface RouteOptions<P extends readonly string[] = readonly string[]> {
  /** Methods this route answers (upper-case). Default: every method. HEAD follows GET. */
  methods?: readonly string[];
  /**
   * Positional RPC parameter names, in order (`system.add(1, 2)` -> `{ a: 1, b: 2 }`). They are in
   * the handler's `args` type as `unknown` (a web request gives strings, an RPC call any value).
   */
  params?: P;
  /** `false` hides the route from RPC; `'only'` serves it to RPC calls only. Default true. */
  rpc?: boolean | 'only';
  /** Help text for `system.methodHelp`. */
  doc?: string;
  /**
   * Groups allowed to call this route (HTTP Basic; group `admin` is always allowed), for web and RPC
   * calls alike. Replaces the app's {@link App.permitTo} for this route; `false` makes the route
   * public inside a protected app. Default: the app's setting.
   */
  permit?: string | readonly string[] | false;
  /**
   * This route's CORS policy (docs/cors.md), replacing the app's ({@link App.cors}) and the site's
   * (`[server] cors_origins`); `false` sends no CORS headers for it at all.
   */
  cors?: CorsOptions | false;
}

/** A registered route. */
export interface Route {
  readonly rule: Rule;
  readonly handler: RouteHandler;
  readonly methods: ReadonlySet<string> | undefined;
  readonly params: readonly string[];
  readonly rpc: boolean | 'only';
  readonly doc: string;
  /** Groups from the route's `permit` option: `[]` = public, undefined = the app's setting. */
  readonly permit: readonly string[] | undefined;
  /** From the route's `cors` option: null = none at all, undefined = the app's setting. */
  readonly cors: CorsPolicy | null | undefined;
}

/** The outcome of matching a path against an app. */
export type Match =
  | { kind: 'route'; route: Route; params: Record<string, string | number> }
  | { kind: 'method'; allow: string[] }
  | { kind: 'slash'; location: string }
  | { kind: 'none' };

/** Hook signatures. `before` may return a value to answer the request without the handler. */
export type LifecycleHook = (app: App) => unknown;
export type BeforeHook = (was: Was<App>) => unknown;
export type AfterHook = (was: Was<App>, result: unknown) => unknown;
export type TeardownHook = (was: Was<App>, error: unknown) => unknown;

const ALL_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/**
 * A Skitai app: routes and lifecycle hooks. A module mounted in `[routes:line]` exports one as
 * `app`. Routes are relative to the mount prefix.
 */
export class App {
  /** Reload the module when its file changes, and show stacks on error pages. */
  devel = false;
  #templateDir: string | undefined;
  /**
   * Where `was.render` finds templates: relative to the app module's directory (to the working
   * directory for an app mounted as an object). Default `templates`, as Skitai. Once set (or once
   * {@link App.setupTemplates} is called) the directory must exist when the app starts.
   */
  get templateDir(): string {
    return this.#templateDir ?? 'templates';
  }
  set templateDir(dir: string) {
    this.#templateDir = dir;
  }
  /** Whether the app chose a template directory or set templates up: its folder is then checked at start. */
  get usesTemplates(): boolean {
    return this.#templateDir !== undefined || this.templateSetup !== undefined;
  }
  /** The session cookie settings, once {@link App.useSession} turned sessions on. */
  sessionOptions: SessionOptions | undefined;
  /** Run on the app's nunjucks environment when it is made (filters, globals, extensions). */
  templateSetup: TemplateSetup | undefined;
  readonly hooks = {
    startup: [] as LifecycleHook[],
    shutdown: [] as LifecycleHook[],
    before: [] as BeforeHook[],
    after: [] as AfterHook[],
    teardown: [] as TeardownHook[],
  };
  #permit: readonly string[] = [];
  #cors: CorsPolicy | null | undefined;
  readonly #static = new Map<string, Route[]>();
  readonly #dynamic = new RuleTree<Route>();
  readonly #all: Route[] = [];
  readonly #sockets: SocketRoute[] = [];
  /** This worker's groups of open sockets (`ws.join()`); see {@link App.broadcast}. */
  readonly groups = new SocketGroups();

  /**
   * Route `rule` (e.g. `/item/<int:id>`) to `handler`. `args` is typed from the rule (`{ id: number }`)
   * and the `params` option; annotate it to declare query, form or JSON fields as well:
   * `(was, { id, q }: { id: number; q?: string }) => …` (see docs/typescript.md).
   */
  route<const R extends string, const P extends readonly string[] = [], A extends object = RouteArgs<R, P>>(
    rule: R & RuleCheck<R, A>,
    handler: RouteHandler<A>,
    options: RouteOptions<P> = {},
  ): this {
    const compiled = compileRule(rule);
    let methods: Set<string> | undefined;
    if (options.methods) {
      methods = new Set(options.methods.map((m) => m.toUpperCase()));
      if (methods.has('GET')) methods.add('HEAD');
    }
    const params = options.params ?? compiled.names;
    const permit = options.permit === undefined ? undefined : options.permit === false ? [] : groupList(options.permit, `the permit option of ${rule}`);
    const cors = options.cors === undefined ? undefined : options.cors === false ? null : new CorsPolicy(options.cors, `the cors option of ${rule}`);
    const route: Route = { rule: compiled, handler: handler as RouteHandler, methods, params, rpc: options.rpc ?? true, doc: options.doc ?? '', permit, cors };
    if (compiled.isStatic) {
      const list = this.#static.get(rule) ?? [];
      list.push(route);
      this.#static.set(rule, list);
    } else this.#dynamic.add(compiled, route);
    this.#all.push(route);
    return this;
  }

  /** Shorthands for a route limited to one method. */
  get<const R extends string, const P extends readonly string[] = [], A extends object = RouteArgs<R, P>>(rule: R & RuleCheck<R, A>, handler: RouteHandler<A>, options: RouteOptions<P> = {}): this {
    return this.route<R, P, A>(rule, handler, { ...options, methods: ['GET'] });
  }
  post<const R extends string, const P extends readonly string[] = [], A extends object = RouteArgs<R, P>>(rule: R & RuleCheck<R, A>, handler: RouteHandler<A>, options: RouteOptions<P> = {}): this {
    return this.route<R, P, A>(rule, handler, { ...options, methods: ['POST'] });
  }
  put<const R extends string, const P extends readonly string[] = [], A extends object = RouteArgs<R, P>>(rule: R & RuleCheck<R, A>, handler: RouteHandler<A>, options: RouteOptions<P> = {}): this {
    return this.route<R, P, A>(rule, handler, { ...options, methods: ['PUT'] });
  }
  patch<const R extends string, const P extends readonly string[] = [], A extends object = RouteArgs<R, P>>(rule: R & RuleCheck<R, A>, handler: RouteHandler<A>, options: RouteOptions<P> = {}): this {
    return this.route<R, P, A>(rule, handler, { ...options, methods: ['PATCH'] });
  }
  delete<const R extends string, const P extends readonly string[] = [], A extends object = RouteArgs<R, P>>(rule: R & RuleCheck<R, A>, handler: RouteHandler<A>, options: RouteOptions<P> = {}): this {
    return this.route<R, P, A>(rule, handler, { ...options, methods: ['DELETE'] });
  }

  /**
   * Accept WebSockets at `rule` (`/chat/<room>`): `open(ws, was, args)` after the handshake,
   * `message(ws, data, isBinary)` per message, `close(ws, code, reason)` at the end. `args` is typed
   * from the rule as for {@link App.route}. The handshake passes the same `permit` and `before` hooks
   * as a web route (a refusal is an ordinary error page). See docs/websocket.md.
   */
  websocket<const R extends string, A extends object = RouteArgs<R>>(
    rule: R & RuleCheck<R, A>,
    handlers: WebSocketHandlers<A, App>,
    options: WebSocketOptions = {},
  ): this {
    const permit = options.permit === undefined ? undefined : options.permit === false ? [] : groupList(options.permit, `the permit option of ${rule}`);
    const max = options.maxMessageSize;
    if (max !== undefined && !(Number.isSafeInteger(max) && max > 0)) throw new SkitaiError('SKT_WS_USAGE', `the maxMessageSize of ${rule} must be a positive integer`);
    this.#sockets.push({ rule: compileRule(rule), handlers, permit, maxMessageSize: max, protocols: [...(options.protocols ?? [])] });
    return this;
  }

  /** The WebSocket route for `path` (relative to the mount) and its parameters. */
  matchSocket(path: string): { route: SocketRoute; params: Record<string, string | number> } | undefined {
    for (const route of this.#sockets) {
      const params = route.rule.match(path);
      if (params) return { route, params };
    }
    return undefined;
  }

  /** True when the app has WebSocket routes. */
  get hasSockets(): boolean {
    return this.#sockets.length > 0;
  }

  /**
   * Send to every socket of this worker in `group` (`ws.join(group)`), but `except`; returns how
   * many queued the message. One worker only: docs/websocket.md says how to reach the others.
   */
  broadcast(group: string, data: WsSendable, options?: { binary?: boolean; except?: { send(data: WsSendable): boolean } }): number {
    return this.groups.broadcast(group, data, options);
  }

  /** Groups allowed to open a socket of `route` ([] = everyone). */
  socketPermit(route: SocketRoute): readonly string[] {
    return route.permit ?? this.#permit;
  }

  /**
   * Let only users of these groups (HTTP Basic, `[server] admin_password` or `[users]`) call this
   * app's routes, on the web and over RPC; group `admin` is always let in. A route's own `permit`
   * option overrides this. Calling it again replaces the list.
   */
  permitTo(...groups: string[]): this {
    this.#permit = groupList(groups, 'permitTo()');
    return this;
  }

  /**
   * Let pages of other origins call this app's routes (CORS, docs/cors.md): preflights are answered
   * and answers carry the Access-Control-* headers. Replaces the site's `[server] cors_*` policy for
   * the app's routes; a route's own `cors` option replaces this one. `false`: no CORS headers at all.
   */
  cors(options: CorsOptions | false): this {
    this.#cors = options === false ? null : new CorsPolicy(options, 'app.cors()');
    return this;
  }

  /** The CORS policy of `route`: its own, else the app's; null = none at all, undefined = not set (the site's applies). */
  corsOf(route: Route): CorsPolicy | null | undefined {
    return route.cors !== undefined ? route.cors : this.#cors;
  }

  /** The app's own CORS policy ({@link App.cors}): null = none at all, undefined = not set. */
  get corsPolicy(): CorsPolicy | null | undefined {
    return this.#cors;
  }

  /** Groups the app is permitted to ([] = public). */
  get permitted(): readonly string[] {
    return this.#permit;
  }

  /** Groups allowed to call `route` ([] = everyone). */
  permitOf(route: Route): readonly string[] {
    return route.permit ?? this.#permit;
  }

  /** True when some route needs a login (the site then needs users). */
  get protects(): boolean {
    const routePermit = (r: { permit: readonly string[] | undefined }): boolean => r.permit !== undefined && r.permit.length > 0;
    return this.#permit.length > 0 || this.#all.some(routePermit) || this.#sockets.some(routePermit);
  }

  /**
   * Turn on `was.session` and `was.mbox`: a signed cookie (`[server] securekey`, which must be set)
   * living `[server] sessiontimeout`, renewed while the client keeps coming. `false` turns them off.
   */
  useSession(options: SessionOptions | boolean = true): this {
    this.sessionOptions = options === false ? undefined : options === true ? {} : { ...options };
    return this;
  }

  /**
   * Customise the template environment: `app.setupTemplates((env) => env.addFilter('upper', (s) => s.toUpperCase()))`.
   * Runs once per environment (again after a devel-mode reload).
   */
  setupTemplates(setup: TemplateSetup): this {
    this.templateSetup = setup;
    return this;
  }

  /** Run once when the server starts (or the module is reloaded in devel mode). */
  startup(hook: LifecycleHook): this {
    this.hooks.startup.push(hook);
    return this;
  }
  /** Run once when the server stops (or before a devel reload replaces the module). */
  shutdown(hook: LifecycleHook): this {
    this.hooks.shutdown.push(hook);
    return this;
  }
  /** Run before every handler; a returned value other than undefined is sent instead. */
  before(hook: BeforeHook): this {
    this.hooks.before.push(hook);
    return this;
  }
  /** Run after every successful handler; a returned value other than undefined replaces the result. */
  after(hook: AfterHook): this {
    this.hooks.after.push(hook);
    return this;
  }
  /** Run when a handler or hook throws; a returned value other than undefined is sent instead of a 500. */
  teardown(hook: TeardownHook): this {
    this.hooks.teardown.push(hook);
    return this;
  }

  /** Every route, in registration order. */
  get routes(): readonly Route[] {
    return this.#all;
  }

  /**
   * Find the route for `path` (relative to the mount, percent-encoded) and `method`. `rpc` selects
   * RPC-visible routes instead of web-visible ones.
   */
  match(path: string, method: string, rpc = false): Match {
    // First pass returns the first route that takes the method, allocating nothing on the hot path.
    let seen = false;
    const exact = this.#static.get(path);
    if (exact) {
      for (const route of exact) {
        if (!isVisible(route, rpc)) continue;
        seen = true;
        if (rpc || !route.methods || route.methods.has(method)) return { kind: 'route', route, params: {} };
      }
    }
    const found = this.#dynamic.find(path, (route) => (isVisible(route, rpc) ? rpc || !route.methods || route.methods.has(method) : undefined));
    if (found.item) return { kind: 'route', route: found.item, params: found.params };
    if (found.seen) seen = true;
    if (seen) return { kind: 'method', allow: this.#allow(path, exact) };
    if (!rpc && path !== '' && !path.endsWith('/') && this.#static.has(path + '/')) return { kind: 'slash', location: path + '/' };
    if (!rpc && path === '' && this.#static.has('/')) return { kind: 'slash', location: '/' };
    return { kind: 'none' };
  }

  /** Methods the web-visible routes of `path` take, OPTIONS included, in a stable order. */
  #allow(path: string, exact: Route[] | undefined): string[] {
    const allow = new Set<string>(['OPTIONS']);
    const add = (route: Route): void => {
      for (const m of route.methods ?? ALL_METHODS) allow.add(m);
    };
    for (const route of exact ?? []) if (isVisible(route, false)) add(route);
    this.#dynamic.find(path, (route) => {
      if (!isVisible(route, false)) return undefined;
      add(route);
      return false;
    });
    return ALL_METHODS.filter((m) => allow.has(m));
  }

  /** Methods a path answers, for OPTIONS; undefined when no route matches. */
  allowed(path: string): string[] | undefined {
    const m = this.match(path, '\0');
    if (m.kind === 'method') return m.allow;
    if (m.kind === 'route') return ALL_METHODS;
    return undefined;
  }
}

function groupList(groups: string | readonly string[], what: string): readonly string[] {
  const list = typeof groups === 'string' ? [groups] : [...groups];
  if (list.length === 0) throw new SkitaiError('SKT_AUTH_USAGE', `${what} needs at least one group (use permit: false for a public route)`);
  for (const g of list) {
    if (typeof g !== 'string' || !/^[A-Za-z0-9][\w.-]*$/.test(g)) {
      throw new SkitaiError('SKT_AUTH_USAGE', `${what}: a group name is letters, digits, ".", "_" or "-"; got ${JSON.stringify(g)}`);
    }
  }
  return Object.freeze([...new Set(list)]);
}

function isVisible(route: Route, rpc: boolean): boolean {
  return rpc ? route.rpc !== false : route.rpc !== 'only';
}

/** Throw from a handler or hook to answer with an HTTP error status and a short message. */
export function abort(status: number, message?: string): never {
  throw new SkitaiError('SKT_HTTP_ABORT', message ?? `HTTP ${status}`, { status });
}

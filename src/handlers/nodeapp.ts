import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { isApp, loadExport } from '../app/loader.js';
import { SkitaiError } from '../errors.js';
import type { BodyLimits } from '../http/body.js';
import { sendError } from '../http/errorpage.js';
import type { Exchange, Handler } from '../http/handler.js';
import type { Logger } from '../log/logger.js';
import { WasScope, endScope, runInScope } from '../was/current.js';
import { WasRequest } from '../was/request.js';
import { WasResponse } from '../was/response.js';
import { standaloneServices, type WasServices } from '../was/services.js';
import { Templates } from '../was/templates.js';
import { Was } from '../was/was.js';
import type { WasWeb } from '../was/web.js';
import { limitChunkedBody } from './nodeapp/limit.js';
import { sendResponse, toRequest } from './nodeapp/fetch.js';

/** How a Node app is mounted. */
export interface NodeAppOptions {
  logger: Logger;
  /** The worker's `was` services; standalone ones when absent. */
  services?: WasServices | undefined;
  /** `max_body_size` for any body, `max_upload_size` for multipart/form-data: as for a Skitai app. */
  limits: BodyLimits;
  /** `[server] devel`: templates read again on every render. */
  devel?: boolean;
}

type Listener = (req: IncomingMessage, res: ServerResponse) => unknown;
type FetchHandler = (request: Request, env: { incoming: IncomingMessage; outgoing: ServerResponse }) => unknown;

/** What a Fastify instance offers for embedding (docs: Server `routing`, `ready`, `close`). */
interface FastifyLike {
  ready(): PromiseLike<unknown>;
  routing: Listener;
  close(): PromiseLike<unknown>;
}

/** The export, by the shape it was recognised as. */
type Mounted =
  | { readonly kind: 'listener'; readonly listener: Listener }
  | { readonly kind: 'fastify'; readonly fastify: FastifyLike }
  | { readonly kind: 'fetch'; readonly fetch: FetchHandler };

/**
 * A Node app mounted on a prefix (`/legacy = ./server.js:app`): an export that is a `(req, res)`
 * listener (Express, Koa's `callback()`, a Koa instance), a Fastify instance, or an object with
 * `fetch(request)` (Hono, WinterCG). It owns everything under its prefix: its own 404 is final.
 * The prefix is stripped from `req.url`; the engine's limits, access log, request id, client
 * address and graceful stop apply; inside it the package's `was` export is the request's `was`.
 */
export class NodeAppHandler implements Handler {
  readonly name: string;
  #mounted: Mounted | undefined;
  #value: unknown;
  readonly #services: WasServices;
  readonly #web: WasWeb;

  constructor(
    /** The module's absolute path. */
    readonly file: string,
    /** The export's name (`default` for the default export). */
    readonly exportName: string,
    readonly options: NodeAppOptions,
  ) {
    this.name = `node:${file}:${exportName}`;
    this.#services = options.services ?? standaloneServices();
    const dir = path.dirname(file);
    this.#web = { sessions: undefined, templates: new Templates(path.join(dir, 'templates'), options.devel ?? false), dir };
  }

  async start(): Promise<void> {
    this.#value = await loadExport(this.file, this.exportName);
    const mounted = recognise(this.#value, this.name);
    if (mounted.kind === 'fastify') await mounted.fastify.ready();
    this.#mounted = mounted;
  }

  /** `skitaid --check`: the module loads and the export is something Skitai can mount. */
  async check(): Promise<void> {
    recognise(await loadExport(this.file, this.exportName), this.name);
  }

  async close(): Promise<void> {
    // Fastify runs its onClose hooks (pools, plugins); the others have no close of their own.
    if (this.#mounted?.kind === 'fastify') await this.#mounted.fastify.close();
  }

  handle(ex: Exchange, prefix: string, rest: string): boolean | Promise<boolean> {
    const mounted = this.#started();
    const { req, res } = ex;
    const limit = isMultipart(req) ? this.options.limits.maxUpload : this.options.limits.maxBody;
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > limit) {
      sendError(ex, 413, { detail: `SKT_BODY_TOO_LARGE: Content-Length ${declared} exceeds ${limit} bytes`, close: true });
      return true;
    }
    if (req.headers['transfer-encoding'] !== undefined) {
      limitChunkedBody(ex, limit, (err) => this.options.logger.warn(`${this.name}: ${ex.method} ${ex.path}: ${err.message}; the connection is cut`, { reqId: ex.id }));
    }
    const url = (rest === '' ? '/' : rest) + (ex.query === '' ? '' : `?${ex.query}`);
    // As Express names them for a sub-app: the app routes on `url`, and can still see where it is.
    (req as { originalUrl?: string }).originalUrl = req.url;
    (req as { baseUrl?: string }).baseUrl = prefix;
    req.url = url;
    // An own property: it hides Express's `req.ip` getter, whose `trust proxy` setting Skitai's
    // `trusted_proxies` replaces here.
    Object.defineProperty(req, 'ip', { value: ex.remote, writable: true, enumerable: true, configurable: true });
    req.headers['x-request-id'] = ex.id;
    // Set now, not by the engine's writeHead: Express swaps the response's prototype for its own.
    res.setHeader('x-request-id', ex.id);
    const scope = new WasScope(() => this.#was(ex, prefix), () => `${ex.method} ${ex.path}`);
    res.once('close', () => endScope(scope));
    if (mounted.kind === 'fetch') return runInScope(scope, () => this.#fetch(mounted.fetch, ex, prefix, url));
    const listener = mounted.kind === 'listener' ? mounted.listener : mounted.fastify.routing;
    const result = runInScope(scope, () => listener(req, res));
    // Koa's callback() answers with a promise (it handles its own errors); a rejection here is a
    // listener's own failure, which the engine turns into a 500 page or a cut response.
    if (isThenable(result)) return Promise.resolve(result).then(() => true);
    return true;
  }

  async #fetch(fetch: FetchHandler, ex: Exchange, prefix: string, url: string): Promise<boolean> {
    const { req, res } = ex;
    const aborted = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) aborted.abort(new SkitaiError('SKT_BODY_ABORTED', 'the client closed the connection'));
    });
    const request = toRequest(req, url, prefix, ex.id, aborted.signal);
    const answer = await fetch(request, { incoming: req, outgoing: res });
    await sendResponse(res, answer, this.name, ex.method);
    return true;
  }

  #was(ex: Exchange, prefix: string): Was {
    const request = new WasRequest(ex.req, ex.method, ex.path, ex.query, ex.remote, prefix, ex);
    return new Was(request, new WasResponse(ex.res), this.#value, this.#services, this.#web);
  }

  #started(): Mounted {
    if (!this.#mounted) throw new SkitaiError('SKT_APP_LOAD', `${this.name} is not started`);
    return this.#mounted;
  }
}

/**
 * Which kind of Node app `value` is. Fastify first (an object with `routing` and `ready`), then a
 * fetch handler (an object or function with `fetch`), a Koa instance (`callback()` gives its
 * listener), and any other function is a listener. A Skitai `App` is refused: it mounts without `:app`.
 */
function recognise(value: unknown, name: string): Mounted {
  const v = value as Record<string, unknown>;
  if (isApp(value)) {
    throw new SkitaiError('SKT_APP_LOAD', `${name} is a Skitai App: mount its module without ":export" (/prefix = ./webapp)`);
  }
  if ((typeof value === 'object' || typeof value === 'function') && value !== null) {
    if (typeof v.routing === 'function' && typeof v.ready === 'function' && typeof v.close === 'function') {
      return { kind: 'fastify', fastify: value as FastifyLike };
    }
    if (typeof v.fetch === 'function') {
      const fetch = v.fetch as FetchHandler;
      return { kind: 'fetch', fetch: (request, env) => fetch.call(value, request, env) };
    }
    if (typeof value === 'object' && typeof v.callback === 'function' && typeof v.use === 'function') {
      return { kind: 'listener', listener: (v.callback as () => Listener).call(value) };
    }
    if (typeof value === 'function') return { kind: 'listener', listener: value as Listener };
  }
  throw new SkitaiError('SKT_APP_LOAD', `${name} is ${typeof value === 'object' ? 'an object' : `a ${typeof value}`}, not a Node app: export a (req, res) listener (Express, Koa's callback()), a Fastify instance, or an object with fetch(request) (Hono)`);
}

function isMultipart(req: IncomingMessage): boolean {
  const type = req.headers['content-type'];
  return type !== undefined && type.slice(0, 20).toLowerCase().startsWith('multipart/form-data');
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as PromiseLike<unknown>).then === 'function';
}

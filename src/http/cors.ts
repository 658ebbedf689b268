/**
 * CORS, the Fetch standard's protocol for cross-origin requests (fetch.spec.whatwg.org, "CORS
 * protocol"): a policy says which origins may read a route's answers, and with which methods,
 * request headers and credentials. A preflight (OPTIONS with Origin and
 * Access-Control-Request-Method) is answered here; other requests get their Access-Control-*
 * headers added as the response head is written, whatever handler writes it (an app, the reverse
 * proxy, a mounted Node app, static files), replacing any the handler set itself.
 */
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { SkitaiError } from '../errors.js';
import { beforeHeaders, type GivenHeaders } from './onheaders.js';
import type { Exchange } from './handler.js';

/** A CORS policy as written in code (`app.cors()`, a route's `cors` option) or built from `[server] cors_*`. */
export interface CorsOptions {
  /**
   * Origins that may read answers: `https://app.example.com` (scheme, host and port as a browser
   * sends them), `https://*.example.com` for every subdomain (not the domain itself), or `'*'`
   * for any origin (refused together with `credentials`: every site could then act as the user).
   */
  readonly origins: readonly string[] | '*';
  /** Methods a preflight allows. Default GET, HEAD, POST; `'*'` allows whatever is asked. */
  readonly methods?: readonly string[] | '*';
  /** Request headers a preflight allows besides the CORS-safelisted ones; `'*'` allows whatever is asked. Default none. */
  readonly headers?: readonly string[] | '*';
  /** Response headers the page may read besides the safelisted ones (`X-Request-Id`…). */
  readonly exposeHeaders?: readonly string[];
  /** Cookies and HTTP auth go with the request and the page may read the answer. Default false. */
  readonly credentials?: boolean;
  /** Seconds a browser may keep a preflight's answer (`Access-Control-Max-Age`); 0 or unset: not sent. */
  readonly maxAge?: number;
}

const SAFELISTED_HEADERS = new Set(['accept', 'accept-language', 'content-language', 'content-type', 'range']);
const ORIGIN = /^(https?):\/\/(\*\.)?([a-z0-9.-]+|\[[0-9a-f:.]+\])(:\d{1,5})?$/i;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** A checked {@link CorsOptions}, ready to answer requests. */
export class CorsPolicy {
  readonly #exact = new Set<string>();
  /** `['https:', '.example.com']` for `https://*.example.com`. */
  readonly #suffixes: [string, string][] = [];
  readonly #any: boolean;
  readonly #methods: Set<string> | undefined;
  readonly #allowMethods: string;
  readonly #headers: Set<string> | undefined;
  readonly #expose: string;
  readonly credentials: boolean;
  readonly maxAge: number;
  /** True when `Access-Control-Allow-Origin` depends on the request's Origin: every answer then says `Vary: Origin`. */
  readonly varies: boolean;

  /** Throws SKT_CORS_POLICY, naming `where`, for a policy that cannot work or would be unsafe. */
  constructor(options: CorsOptions, where = 'a CORS policy') {
    const fail = (why: string): never => {
      throw new SkitaiError('SKT_CORS_POLICY', `${where}: ${why}`);
    };
    this.credentials = options.credentials === true;
    this.#any = options.origins === '*' || (options.origins as readonly string[]).includes('*');
    if (this.#any && this.credentials) fail('any origin ("*") together with credentials would let every site act as the user: list the origins');
    if (!this.#any) {
      if ((options.origins as readonly string[]).length === 0) fail('no origins: name at least one, or "*"');
      for (const origin of options.origins as readonly string[]) {
        const m = ORIGIN.exec(origin);
        if (!m) fail(`"${origin}" is not an origin (scheme://host[:port], no path; "https://*.example.com" for subdomains)`);
        if (m![2]) this.#suffixes.push([`${m![1]!.toLowerCase()}://`, `.${m![3]!.toLowerCase()}${m![4] ?? ''}`]);
        else this.#exact.add(origin.toLowerCase());
      }
    }
    this.varies = !this.#any || this.credentials;
    const methods = options.methods ?? ['GET', 'HEAD', 'POST'];
    this.#methods = methods === '*' ? undefined : new Set(methods.map((m) => checkToken(m, 'method', fail)));
    this.#allowMethods = this.#methods ? [...this.#methods].join(', ') : '';
    const headers = options.headers ?? [];
    this.#headers = headers === '*' ? undefined : new Set(headers.map((h) => checkToken(h, 'header', fail).toLowerCase()));
    this.#expose = (options.exposeHeaders ?? []).map((h) => checkToken(h, 'header', fail)).join(', ');
    const maxAge = options.maxAge ?? 0;
    if (!(Number.isInteger(maxAge) && maxAge >= 0)) fail(`maxAge must be whole seconds, got ${maxAge}`);
    this.maxAge = maxAge;
  }

  /** True when `origin` (the request's Origin header) may read answers. */
  allows(origin: string): boolean {
    if (this.#any) return true;
    const o = origin.toLowerCase();
    if (this.#exact.has(o)) return true;
    for (const [scheme, suffix] of this.#suffixes) {
      if (o.startsWith(scheme) && o.endsWith(suffix) && o.length > scheme.length + suffix.length) return true;
    }
    return false;
  }

  /** `Access-Control-Allow-Origin` for an allowed origin. */
  allowOrigin(origin: string): string {
    return this.#any && !this.credentials ? '*' : origin;
  }

  /**
   * The headers of a preflight's answer, or undefined when the policy refuses it (origin, method or
   * a requested header not allowed).
   */
  preflight(origin: string, method: string, requested: string | undefined): OutgoingHttpHeaders | undefined {
    if (!this.allows(origin)) return undefined;
    if (this.#methods && !this.#methods.has(method)) return undefined;
    const asked = requested ? requested.split(',').map((h) => h.trim().toLowerCase()).filter((h) => h !== '') : [];
    if (this.#headers) for (const h of asked) if (!this.#headers.has(h) && !SAFELISTED_HEADERS.has(h)) return undefined;
    const out: OutgoingHttpHeaders = {
      'access-control-allow-origin': this.allowOrigin(origin),
      'access-control-allow-methods': this.#methods ? this.#allowMethods : method,
    };
    if (asked.length > 0) out['access-control-allow-headers'] = asked.join(', ');
    if (this.credentials) out['access-control-allow-credentials'] = 'true';
    if (this.maxAge > 0) out['access-control-max-age'] = String(this.maxAge);
    return out;
  }

  /** The headers an answer to an allowed origin carries (preflights aside). */
  actual(origin: string): OutgoingHttpHeaders {
    const out: OutgoingHttpHeaders = { 'access-control-allow-origin': this.allowOrigin(origin) };
    if (this.credentials) out['access-control-allow-credentials'] = 'true';
    if (this.#expose !== '') out['access-control-expose-headers'] = this.#expose;
    return out;
  }
}

function checkToken(value: string, what: string, fail: (why: string) => never): string {
  if (value !== '*' && !TOKEN.test(value)) fail(`"${value}" is not a ${what} name`);
  return value;
}

/** True for a CORS preflight: OPTIONS with Origin and Access-Control-Request-Method. */
export function isPreflight(ex: Exchange): boolean {
  return ex.method === 'OPTIONS' && ex.req.headers.origin !== undefined && ex.req.headers['access-control-request-method'] !== undefined;
}

/**
 * Answer the preflight `ex` (see {@link isPreflight}) under `policy`: 204 with the allowing
 * headers, or 403 without any when the policy refuses (the browser then refuses the request).
 */
export function answerPreflight(ex: Exchange, policy: CorsPolicy): void {
  const h = ex.req.headers;
  const allowed = policy.preflight(h.origin!, String(h['access-control-request-method']), h['access-control-request-headers']);
  const vary = `${policy.varies ? 'Origin, ' : ''}Access-Control-Request-Method, Access-Control-Request-Headers`;
  const res = ex.res;
  if (res.headersSent) return;
  res.writeHead(allowed ? 204 : 403, { ...allowed, vary, 'content-length': '0' }).end();
}

/** The policy each response answers under, replaceable until its head is written (an app's own replaces the site's). */
const policies = new WeakMap<ServerResponse, CorsPolicy | null>();

/**
 * Make `ex`'s response follow `policy` (null: no CORS headers at all, e.g. a route that opted
 * out). The headers go in as the head is written: Access-Control-* the handler set are replaced,
 * and `Origin` joins any Vary it set.
 */
export function useCors(ex: Exchange, policy: CorsPolicy | null): void {
  const res = ex.res;
  const had = policies.has(res);
  policies.set(res, policy);
  if (had || res.headersSent) return;
  const origin = ex.req.headers.origin;
  beforeHeaders(res, (given) => {
    const p = policies.get(res);
    if (!p) return undefined;
    const add: OutgoingHttpHeaders = origin !== undefined && p.allows(origin) ? p.actual(origin) : {};
    return merge(res, given, add, p.varies);
  });
}

/** Put `add` (and `Vary: Origin`) into the head being written, dropping Access-Control-* set before. */
function merge(res: ServerResponse, given: GivenHeaders | undefined, add: OutgoingHttpHeaders, vary: boolean): GivenHeaders | undefined {
  for (const name of res.getHeaderNames()) if (name.startsWith('access-control-')) res.removeHeader(name);
  if (given === undefined) {
    for (const name in add) res.setHeader(name, add[name]!);
    if (vary) res.setHeader('vary', varyOrigin(res.getHeader('vary') as OutgoingHttpHeaders[string]));
    return undefined;
  }
  // A copy: the given headers may be the handler's constant (onheaders.ts).
  const out: OutgoingHttpHeaders = {};
  let varied: OutgoingHttpHeaders[string];
  const entries: [string, OutgoingHttpHeaders[string]][] = Array.isArray(given)
    ? Array.from({ length: given.length >> 1 }, (_, i) => [String(given[2 * i]), given[2 * i + 1]])
    : Object.entries(given);
  for (const [name, value] of entries) {
    const lower = name.toLowerCase();
    if (lower.startsWith('access-control-')) continue;
    if (lower === 'vary') varied = value;
    else if (out[lower] !== undefined) out[lower] = [out[lower], value].flat().map(String);
    else out[lower] = value;
  }
  Object.assign(out, add);
  if (vary) out.vary = varyOrigin(varied ?? (res.getHeader('vary') as OutgoingHttpHeaders[string]));
  else if (varied !== undefined) out['vary'] = varied as string;
  return out;
}

/** Add `Origin` to a Vary value without repeating it (`*` already covers it). */
function varyOrigin(current: OutgoingHttpHeaders[string]): string {
  const text = current === undefined ? '' : Array.isArray(current) ? current.join(', ') : String(current);
  if (text.trim() === '') return 'Origin';
  if (text.split(',').some((v) => ['origin', '*'].includes(v.trim().toLowerCase()))) return text;
  return `${text}, Origin`;
}

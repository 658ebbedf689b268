/**
 * The test client (`skitai/testing`): send requests to an {@link App}, or to a whole site from its
 * config, in process, without a config file or a fixed port. It starts a real {@link Site} on
 * 127.0.0.1 and an ephemeral port and talks HTTP to it over a real socket, so a test sees exactly
 * what a browser would: the engine, error pages, compression, cookies and `was` services
 * (clusters, databases, mail) wired as in `skitaid`. Decisions in docs/typescript.md.
 * @packageDocumentation
 */
import { randomBytes } from 'node:crypto';
import { Pool } from 'undici';
import type { App } from './app/app.js';
import { defaultConfig, parseConfigText } from './config/load.js';
import type { SiteConfig } from './config/types.js';
import { Logger } from './log/logger.js';
import { Site } from './site.js';

/** How {@link testClient} builds the site around the app. */
export interface TestClientOptions {
  /**
   * The site: INI text as in a site.conf (`[server]`, `[@cluster]` sections, `[routes:line]`…) or a
   * SiteConfig from `parseConfigText`/`loadConfig`. Its `ip` and `port` are replaced by 127.0.0.1
   * and an ephemeral port. Default: every `[server]` default, with a random `securekey` so an app
   * with sessions starts (given a config, the config's own key is used, or none, as in skitaid).
   */
  config?: string | SiteConfig;
  /** Where relative paths in INI `config` text resolve (route modules, static dirs). Default: the working directory. */
  dir?: string;
  /** The mount prefix of the app. Default `/`. */
  prefix?: string;
  /** Keep cookies from responses and send them back, as a browser does. Default true. */
  cookies?: boolean;
  /** Called with each server log line (errors with their stack); they are also kept in {@link TestClient.log}. */
  onLog?: (line: string) => void;
}

/** One request of the test client. The body is one of `json`, `form` or `body`. */
export interface TestRequest {
  /** Default GET (the shorthands set it). */
  method?: string;
  headers?: Record<string, string | readonly string[]>;
  /** Appended to the path's query string. */
  query?: Record<string, string | number | boolean | readonly (string | number)[]>;
  /** Sent as `application/json`. */
  json?: unknown;
  /** Sent as `application/x-www-form-urlencoded`; an array repeats the name. */
  form?: Record<string, string | number | readonly (string | number)[]>;
  /** Sent as it is (set `content-type` yourself); a FormData goes as multipart/form-data. */
  body?: string | Uint8Array | FormData;
}

/** What the server answered. Redirects are not followed. */
export interface TestResponse {
  readonly status: number;
  /** Lower-case names; a repeated header (`set-cookie`) is an array. */
  readonly headers: Readonly<Record<string, string | string[]>>;
  /** The body bytes as sent (a compressed body stays compressed). */
  readonly body: Buffer;
  /** The body as UTF-8 text. */
  readonly text: string;
  /** The body parsed as JSON; throws a SyntaxError when it is not JSON. */
  json<T = unknown>(): T;
}

/**
 * A running site and an HTTP client for it. Make one per test file (or per test) with
 * {@link testClient} and `close()` it when done.
 */
export class TestClient {
  /** Server log lines (errors, warnings), oldest first. */
  readonly log: string[];
  /** The cookie jar: name -> value. Paths, domains and Secure are ignored (there is one host). */
  readonly cookies = new Map<string, string>();
  readonly #pool: Pool;
  readonly #keepCookies: boolean;

  /** Use {@link testClient}. */
  constructor(
    /** The site under test, for what HTTP does not show (`site.services`, `site.routes`). */
    readonly site: Site,
    /** `http://127.0.0.1:<port>` (https with `ssl = yes`): for curl, fetch or any other client. */
    readonly url: string,
    log: string[],
    keepCookies: boolean,
  ) {
    this.log = log;
    this.#keepCookies = keepCookies;
    // A site with ssl = yes serves the certificate of its config, usually self-signed in tests.
    this.#pool = new Pool(url, { connect: { rejectUnauthorized: false } });
  }

  /** Send a request; `path` is from the site's root (include the app's prefix) and may carry a query. */
  async request(path: string, init: TestRequest = {}): Promise<TestResponse> {
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(init.headers ?? {})) headers[name.toLowerCase()] = typeof value === 'string' ? value : [...value];
    let body: string | Uint8Array | undefined;
    if (init.body instanceof FormData) {
      // The global FormData is Node's bundled undici's, which the undici package does not take as
      // a body: a Response encodes it (boundary and all), as fetch would.
      const encoded = new Response(init.body);
      body = new Uint8Array(await encoded.arrayBuffer());
      headers['content-type'] ??= encoded.headers.get('content-type') ?? 'multipart/form-data';
    } else body = init.body;
    if (init.json !== undefined) {
      body = JSON.stringify(init.json);
      headers['content-type'] ??= 'application/json';
    } else if (init.form !== undefined) {
      body = encode(init.form);
      headers['content-type'] ??= 'application/x-www-form-urlencoded';
    }
    if (this.#keepCookies && this.cookies.size > 0 && headers['cookie'] === undefined) {
      headers['cookie'] = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    }
    const query = init.query ? encode(init.query) : '';
    const target = query ? `${path}${path.includes('?') ? '&' : '?'}${query}` : path;
    const res = await this.#pool.request({ path: target, method: (init.method ?? 'GET').toUpperCase(), headers, body: body ?? null });
    const bytes = Buffer.from(await res.body.arrayBuffer());
    const out: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(res.headers)) if (value !== undefined) out[name] = value;
    if (this.#keepCookies) this.#store(out['set-cookie']);
    return new Answer(res.statusCode, out, bytes);
  }

  get(path: string, init: Omit<TestRequest, 'method'> = {}): Promise<TestResponse> {
    return this.request(path, { ...init, method: 'GET' });
  }
  head(path: string, init: Omit<TestRequest, 'method'> = {}): Promise<TestResponse> {
    return this.request(path, { ...init, method: 'HEAD' });
  }
  post(path: string, init: Omit<TestRequest, 'method'> = {}): Promise<TestResponse> {
    return this.request(path, { ...init, method: 'POST' });
  }
  put(path: string, init: Omit<TestRequest, 'method'> = {}): Promise<TestResponse> {
    return this.request(path, { ...init, method: 'PUT' });
  }
  patch(path: string, init: Omit<TestRequest, 'method'> = {}): Promise<TestResponse> {
    return this.request(path, { ...init, method: 'PATCH' });
  }
  delete(path: string, init: Omit<TestRequest, 'method'> = {}): Promise<TestResponse> {
    return this.request(path, { ...init, method: 'DELETE' });
  }
  options(path: string, init: Omit<TestRequest, 'method'> = {}): Promise<TestResponse> {
    return this.request(path, { ...init, method: 'OPTIONS' });
  }

  /** Stop the site (apps' shutdown hooks run, pools close) and the client's connections. */
  async close(): Promise<void> {
    await this.#pool.close();
    await this.site.close(1000);
  }

  #store(setCookie: string | string[] | undefined): void {
    for (const line of typeof setCookie === 'string' ? [setCookie] : (setCookie ?? [])) {
      const [pair = '', ...attrs] = line.split(/;\s*/);
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      if (attrs.some(expired)) this.cookies.delete(name);
      else this.cookies.set(name, pair.slice(eq + 1));
    }
  }
}

class Answer implements TestResponse {
  constructor(
    readonly status: number,
    readonly headers: Readonly<Record<string, string | string[]>>,
    readonly body: Buffer,
  ) {}
  get text(): string {
    return this.body.toString('utf8');
  }
  json<T = unknown>(): T {
    return JSON.parse(this.text) as T;
  }
}

/**
 * Start `app` (mounted on `/`, or `options.prefix`) in a site on 127.0.0.1 and return a client for
 * it. Without `options.config` the site has every `[server]` default and a random `securekey`.
 *
 * ```ts
 * const client = await testClient(app);
 * const res = await client.get('/item/3');
 * assert.equal(res.status, 200);
 * await client.close();
 * ```
 */
export async function testClient(app: App, options?: TestClientOptions): Promise<TestClient>;
/** Start the site of `options.config` alone (its `[routes:line]` apps, static dirs, proxies). */
export async function testClient(options: TestClientOptions & { config: string | SiteConfig }): Promise<TestClient>;
export async function testClient(first: App | (TestClientOptions & { config: string | SiteConfig }), second: TestClientOptions = {}): Promise<TestClient> {
  const app = isOptions(first) ? undefined : first;
  const options = isOptions(first) ? first : second;
  const base = siteConfig(options);
  // Always loopback and a free port: the config's own address is for production.
  const config: SiteConfig = { ...base, server: { ...base.server, ip: '127.0.0.1', port: 0, redirectHttpPort: 0 } };
  const log: string[] = [];
  const onLog = options.onLog;
  const logger = new Logger({ write: (line) => (log.push(line), onLog?.(line)), reopen() {}, async close() {} }, false);
  const site = new Site(config, { logger, accessLog: 'off', ...(app ? { apps: { [options.prefix ?? '/']: app } } : {}) });
  let port: number;
  try {
    port = (await site.listen(0)).port;
  } catch (err) {
    await site.close(0);
    throw err;
  }
  return new TestClient(site, `${config.server.ssl ? 'https' : 'http'}://127.0.0.1:${port}`, log, options.cookies ?? true);
}

function isOptions(value: App | TestClientOptions): value is TestClientOptions & { config: string | SiteConfig } {
  return typeof (value as App).route !== 'function';
}

function siteConfig(options: TestClientOptions): SiteConfig {
  const { config } = options;
  if (config === undefined) return defaultConfig({ securekey: randomBytes(18).toString('base64url') });
  if (typeof config === 'string') return parseConfigText(config, '<testClient config>', options.dir ?? process.cwd());
  return config;
}

function encode(fields: Record<string, string | number | boolean | readonly (string | number)[]>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) {
    if (Array.isArray(value)) for (const v of value) params.append(name, String(v));
    else params.append(name, String(value));
  }
  return params.toString();
}

/** `Max-Age=0` (or below) or an `Expires` in the past: the server deleted the cookie. */
function expired(attr: string): boolean {
  const eq = attr.indexOf('=');
  const name = attr.slice(0, eq < 0 ? attr.length : eq).trim().toLowerCase();
  const value = eq < 0 ? '' : attr.slice(eq + 1).trim();
  if (name === 'max-age') return Number(value) <= 0;
  if (name === 'expires') return Date.parse(value) <= Date.now();
  return false;
}

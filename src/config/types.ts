/** The typed, validated, frozen configuration every other module reads (never raw INI). */

/**
 * `[server]` after validation: durations in MILLISECONDS (headerTimeout, requestTimeout, keepAlive,
 * sessiontimeout), sizes in bytes, paths absolute. `src/config/schema.ts` documents each key.
 */
export interface ServerConfig {
  /** Server ident in logs; defaults to the config file's base name. */
  readonly name: string;
  /** Bind address; '' = every interface (Node binds `::`, dual stack, or `0.0.0.0`). */
  readonly ip: string;
  /** 0 = an ephemeral port (tests). */
  readonly port: number;
  readonly processes: number;
  /** libuv thread pool size per worker. */
  readonly threads: number;
  readonly devel: boolean;
  readonly ssl: boolean;
  /** HTTP/2: 'yes' = h2 and HTTP/1.1 over TLS (ALPN), 'h2c' = cleartext h2 with prior knowledge only. */
  readonly http2: 'no' | 'yes' | 'h2c';
  /** SETTINGS_MAX_CONCURRENT_STREAMS sent to h2 clients. */
  readonly h2MaxConcurrentStreams: number;
  /** Absolute PEM path; required (and checked to exist) when `ssl` is on. */
  readonly certfile: string | undefined;
  readonly keyfile: string | undefined;
  /** Secret. */
  readonly passphrase: string | undefined;
  /** Forward proxy + CONNECT (INI `enable_proxy`, old name `proxy`). */
  readonly enableProxy: boolean;
  /** IPs and CIDRs of clients the forward proxy serves (others get 403). */
  readonly proxyAllow: readonly string[];
  /** Ports (`443`) and ranges (`8000-8099`) CONNECT may reach. */
  readonly proxyConnectPorts: readonly string[];
  /** ms the forward proxy waits for a connection to a target. */
  readonly proxyConnectTimeout: number;
  /** ms the forward proxy waits for response headers, and for each gap in a response body. */
  readonly proxyTimeout: number;
  /** ms a CONNECT tunnel may stay silent in both directions before both sides are closed. */
  readonly proxyIdleTimeout: number;
  /** Bytes: the largest WebSocket message an app socket takes (close 1009 past it). */
  readonly maxWsMessageSize: number;
  /** ms without a frame from a WebSocket client before it is closed; pinged at half. 0 = off. */
  readonly wsIdleTimeout: number;
  /** Bytes a WebSocket may have queued for its client before `wsSlowClient` applies. */
  readonly wsMaxBuffered: number;
  readonly wsSlowClient: 'close' | 'drop';
  /** Offer permessage-deflate. */
  readonly wsCompression: boolean;
  /** `Cache-Control: max-age` for static files, in SECONDS (it goes into the header as is). */
  readonly staticMaxAge: number;
  readonly staticCacheFileMax: number;
  readonly staticCacheSize: number;
  /** Budget of the hot large-file copies (static/hotfiles.ts). */
  readonly staticCacheHotSize: number;
  /** Serve `file.br` / `file.gz` found beside `file` to clients that accept the coding. */
  readonly staticPrecompressed: boolean;
  readonly numResultCacheMax: number;
  readonly maxBodySize: number;
  /** Largest body the reverse proxy forwards; undefined = `maxBodySize`. */
  readonly maxProxyBodySize: number | undefined;
  readonly maxUploadSize: number;
  readonly maxHeaderSize: number;
  /** ms; always > 0 and ≤ requestTimeout when that is on. */
  readonly headerTimeout: number;
  /** ms; 0 = off. */
  readonly requestTimeout: number;
  /** Keep-alive idle timeout in ms; always > 0. */
  readonly keepAlive: number;
  /** 0 = unlimited. */
  readonly maxRequestsPerSocket: number;
  /** Bytes; bodies smaller than this are sent uncompressed; 0 = compression off. */
  readonly compressMinSize: number;
  /** IPs and CIDRs whose `X-Forwarded-For` is believed. */
  readonly trustedProxies: readonly string[];
  /** 'console', 'off', or an absolute file path. */
  readonly accessLog: string;
  /** `auto`: as the server log (JSON when it is JSON). */
  readonly accessLogFormat: 'auto' | 'skitai' | 'json';
  /** `auto`: JSON unless stdout is a TTY (src/log/logger.ts). */
  readonly logFormat: 'auto' | 'json' | 'text';
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
  readonly logPath: string | undefined;
  readonly varPath: string | undefined;
  /** Absolute; unset = `<var dir>/<name>.pid` (src/process/paths.ts). */
  readonly pidFile: string | undefined;
  /** ms that in-flight requests get on stop and reload. */
  readonly gracePeriod: number;
  /** Plain-HTTP port redirecting to HTTPS; 0 = off. */
  readonly redirectHttpPort: number;
  /** Secret, ≥ 6 chars. */
  readonly securekey: string | undefined;
  /** Secret, ≥ 6 chars: still verifies session cookies during a key rotation. */
  readonly securekeyPrevious: string | undefined;
  /** Session lifetime in ms. */
  readonly sessiontimeout: number;
  /** Secret, ≥ 6 chars: the password of user `admin` (group admin). */
  readonly adminPassword: string | undefined;
  /** Failed logins per client address before lockouts start; 0 = no back-off. */
  readonly authFailureLimit: number;
  /** Path of the built-in status page (admin only); undefined = off. */
  readonly statusPath: string | undefined;
  /** Path of the readiness probe; undefined = off. */
  readonly readyPath: string | undefined;
  /** Path of the Prometheus metrics; undefined = off. */
  readonly metricsPath: string | undefined;
  /** IPs and CIDRs that may read the metrics without credentials. */
  readonly metricsAllow: readonly string[];
  /** CORS policy of the site (docs/cors.md); empty origins = off. */
  readonly corsOrigins: readonly string[];
  /** Path prefixes the CORS policy covers; empty = every path. */
  readonly corsPaths: readonly string[];
  readonly corsMethods: readonly string[];
  readonly corsHeaders: readonly string[];
  readonly corsExposeHeaders: readonly string[];
  readonly corsCredentials: boolean;
  /** ms (a `seconds` key); sent in whole seconds. */
  readonly corsMaxAge: number;
}

/** One `[routes:line]` entry, in file order. */
export interface RouteEntry {
  /** Mount prefix without a trailing slash ('' for `/`). */
  readonly prefix: string;
  /**
   * `static` (a directory), `app` (a module exporting a Skitai `app`), `cluster` (`@name`, the
   * reverse proxy), `node` (`./server.js:app`: a module's named export that is a Node app — a
   * `(req, res)` listener, a Fastify instance or a `fetch(request)` handler).
   */
  readonly kind: 'static' | 'app' | 'cluster' | 'node';
  /** Absolute path for static, app and node targets; the cluster name (without `@`) for clusters. */
  readonly target: string;
  /** The export a `node` route names (`app` in `./server.js:app`, `default` for a default export). */
  readonly export?: string;
  readonly line: number;
  /** The `@ host…` group the line is under; undefined for the default group (docs/routing.md). */
  readonly group?: HostGroup;
}

/** An `@ host…` line of `[routes:line]`: the route lines after it serve only these hosts. */
export interface HostGroup {
  /** Lower case, as written: `example.com`, `*.example.org` (subdomains), `.example.org` (both). */
  readonly names: readonly string[];
  /** Absolute paths of the group's certificate and key, sent to clients naming one of its hosts (SNI). */
  readonly certfile?: string;
  readonly keyfile?: string;
  readonly line: number;
}

/** An `[@name]` section, kept as validated strings until the cluster layer reads it. */
export interface ClusterConfig {
  /** Without the `@`. */
  readonly name: string;
  /** Config file the section came from, so the cluster layer can name it in errors. */
  readonly file: string;
  /** Line of the `[@name]` header. */
  readonly line: number;
  /** Keys lower-cased; `members` is present and non-empty. */
  readonly values: Readonly<Record<string, string>>;
  /** Line of each key, for error messages. */
  readonly keyLines: Readonly<Record<string, number>>;
  /** Directory relative paths resolve against; the config file's directory when absent. */
  readonly dir?: string;
  /** Values as written, for the keys whose value named environment variables (errors quote these instead). */
  readonly written?: Readonly<Record<string, string>>;
}

/** One raw line of a `[name:line]` section, comments and inline comments removed. */
export interface ConfigLine {
  readonly text: string;
  readonly line: number;
}

/** The whole site: one config file. */
export interface SiteConfig {
  /** Absolute path of the config file ('' for the embedded defaults). */
  readonly file: string;
  /** Directory that relative paths resolve against. */
  readonly dir: string;
  readonly server: ServerConfig;
  readonly routes: readonly RouteEntry[];
  /** The `@ host…` groups of `[routes:line]`, in file order (empty: every line serves every host). */
  readonly hostGroups: readonly HostGroup[];
  /**
   * Whether requests for a host of no group have somewhere to go: true without `@` lines, with
   * route lines before the first one, or with `@ default`. When false they get 421.
   */
  readonly defaultGroup: boolean;
  readonly clusters: Readonly<Record<string, ClusterConfig>>;
  /** Other sections (`[smtpda]`…) as validated-later string maps. */
  readonly sections: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Other `[name:line]` sections (`[crontab:line]`…), keyed by name without `:line`. */
  readonly lineSections: Readonly<Record<string, readonly ConfigLine[]>>;
  /** `[name:data]` sections as raw text, keyed by name without `:data`. */
  readonly dataSections: Readonly<Record<string, string>>;
  /** Values as written of keys whose value named environment variables, per section (errors quote these instead). */
  readonly written?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Line of every key of every key/value section (`server`, `@name`, `smtpda`…), for later errors. */
  readonly keyLines: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

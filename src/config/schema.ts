/**
 * The `[server]` key table: the ONE place that says which keys exist, their TS property, type,
 * default, range and doc. Parsing (`server.ts`), the embedded defaults (`load.ts`) and the reference
 * page (`docs.ts` -> docs/config.md) all read it.
 */
import { indexTable, type KeySpec } from './keys.js';
import type { ServerConfig } from './types.js';
import { isBindAddress, isIpOrCidr, isPortOrRange } from './values.js';

export type { Check, KeySpec, ValueType } from './keys.js';

/** One `[server]` key: a table row whose property is a ServerConfig field. */
export type ServerKeySpec = KeySpec & { readonly prop: keyof ServerConfig };

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const SEC = 1000;
const HOUR = 3600 * SEC;
const MAX_BYTES = 2 ** 50;

const TABLE = [
  { key: 'name', prop: 'name', type: 'string', default: 'skitai', defaultText: 'config file base name, or `skitai`',
    check: { test: (v) => /^[\w.-]+$/.test(v), expect: 'letters, digits, ".", "_" or "-"' },
    doc: 'Server ident in log lines and in log/var sub-directories.' },
  { key: 'ip', prop: 'ip', type: 'string', default: '',
    check: { test: isBindAddress, expect: 'an IP address or host name, or empty for every interface' },
    doc: 'Bind address. Empty = every interface (Node binds `::` dual stack, or `0.0.0.0` without IPv6).' },
  { key: 'port', prop: 'port', type: 'int', default: 5000, min: 0, max: 65535,
    doc: 'TCP port. 0 picks a free port (tests).' },
  { key: 'processes', prop: 'processes', type: 'int', default: 1, min: 1, max: 1024,
    doc: 'Worker processes sharing the port under one primary (node:cluster), each respawned when it dies. `skitaid start` always runs a primary; in the foreground 1 means a single process without one (docs/process.md).' },
  { key: 'threads', prop: 'threads', type: 'int', default: 4, min: 0, max: 1024,
    doc: "libuv thread pool size per worker (file, zlib, DNS, crypto work), set as `UV_THREADPOOL_SIZE` when the worker is forked; 0 means libuv's minimum, 1. A single foreground process keeps the size it started with." },
  { key: 'devel', prop: 'devel', type: 'bool', default: false,
    doc: 'Development mode: error pages show stacks, apps reload when their files change.' },
  { key: 'ssl', prop: 'ssl', type: 'bool', default: false,
    doc: 'Serve HTTPS; needs `certfile`. A missing file, a key that does not match or a wrong `passphrase` stops the start with an error naming the key.' },
  { key: 'http2', prop: 'http2', type: 'enum', default: 'no', values: ['no', 'yes', 'h2c'],
    doc: '`yes` (with `ssl = yes`): ALPN offers HTTP/2 and HTTP/1.1 on the same port. `h2c` (without `ssl`): cleartext HTTP/2 with prior knowledge only, for use behind a TLS-terminating balancer; HTTP/1 clients cannot connect then (docs/http2.md).' },
  { key: 'h2_max_concurrent_streams', prop: 'h2MaxConcurrentStreams', type: 'int', default: 128, min: 1, max: 10_000,
    doc: 'HTTP/2: streams one connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS; nginx: 128). Streams over it are refused.' },
  { key: 'certfile', prop: 'certfile', type: 'path', default: undefined,
    doc: 'PEM certificate chain (may also hold the key). Must exist when `ssl = yes`.' },
  { key: 'keyfile', prop: 'keyfile', type: 'path', default: undefined,
    doc: 'PEM private key, when not inside `certfile`.' },
  { key: 'passphrase', prop: 'passphrase', type: 'string', default: undefined, secret: true,
    doc: 'Pass phrase of the private key.' },
  { key: 'enable_proxy', prop: 'enableProxy', type: 'bool', default: false, aliases: ['proxy'],
    doc: 'Act as a forward proxy, CONNECT included (docs/forward-proxy.md). Off by default: an open proxy is abused fast.' },
  { key: 'proxy_allow', prop: 'proxyAllow', type: 'list', default: ['127.0.0.1', '::1'],
    item: { test: isIpOrCidr, expect: 'IP addresses or CIDR blocks' },
    doc: 'Clients the forward proxy serves, e.g. `127.0.0.1, 10.0.0.0/8`; others get 403. `none` = nobody; `0.0.0.0/0, ::/0` = everyone (an open proxy).' },
  { key: 'proxy_connect_ports', prop: 'proxyConnectPorts', type: 'list', default: ['443'],
    item: { test: isPortOrRange, expect: 'ports (443) or port ranges (8000-8099)' },
    doc: 'Ports a CONNECT tunnel may reach; other ports get 403. Plain `http://` forwarding is not limited by port.' },
  { key: 'proxy_connect_timeout', prop: 'proxyConnectTimeout', type: 'seconds', default: 10 * SEC, min: 1, max: HOUR,
    doc: 'How long the forward proxy waits to connect to a target (504 after).' },
  { key: 'proxy_timeout', prop: 'proxyTimeout', type: 'seconds', default: 60 * SEC, min: 1, max: 24 * HOUR,
    doc: "How long the forward proxy waits for a target's response headers (504 after), for each gap in its body, and for a client that stops reading the answer (the response is cut after)." },
  { key: 'proxy_idle_timeout', prop: 'proxyIdleTimeout', type: 'seconds', default: 300 * SEC, min: 1, max: 24 * HOUR,
    doc: 'A CONNECT tunnel with no bytes in either direction for this long is closed on both sides.' },
  { key: 'max_ws_message_size', prop: 'maxWsMessageSize', type: 'size', default: MiB, min: 1, max: GiB,
    doc: 'Largest WebSocket message an app socket accepts (all its fragments together); a larger one closes the socket with 1009 (docs/websocket.md).' },
  { key: 'ws_idle_timeout', prop: 'wsIdleTimeout', type: 'seconds', default: 60 * SEC, min: 0, max: 24 * HOUR,
    doc: 'A WebSocket that has sent nothing, not even a pong, for half of this is pinged; after all of it, it is closed (1001). 0 = no pings, never closed for silence.' },
  { key: 'ws_max_buffered', prop: 'wsMaxBuffered', type: 'size', default: 4 * MiB, min: 1, max: GiB,
    doc: 'Bytes a WebSocket may have queued for a client that reads slowly; a send past it follows `ws_slow_client`.' },
  { key: 'ws_slow_client', prop: 'wsSlowClient', type: 'enum', default: 'close', values: ['close', 'drop'],
    doc: 'What a send to a WebSocket over `ws_max_buffered` does: `close` the socket with 1008, or `drop` the message (`send()` returns false).' },
  { key: 'ws_compression', prop: 'wsCompression', type: 'bool', default: false,
    doc: 'Offer permessage-deflate to WebSocket clients that ask (RFC 7692). Off by default: each compressing socket keeps zlib state (~300 KB with the default window).' },
  { key: 'static_max_age', prop: 'staticMaxAge', type: 'int', default: 300, min: 0, max: 2 ** 31 - 1,
    doc: '`Cache-Control: max-age` of static files, in seconds (a plain number, no suffix).' },
  { key: 'static_cache_file_max', prop: 'staticCacheFileMax', type: 'size', default: 64 * KiB, min: 0, max: GiB,
    doc: 'Static files up to this size are kept in memory.' },
  { key: 'static_cache_size', prop: 'staticCacheSize', type: 'size', default: 32 * MiB, min: 0, max: MAX_BYTES,
    doc: 'Memory for cached static files per worker; 0 turns the cache off.' },
  { key: 'static_cache_hot_size', prop: 'staticCacheHotSize', type: 'size', default: 64 * MiB, min: 0, max: MAX_BYTES,
    doc: 'Memory per worker for whole copies of files above `static_cache_file_max` that are downloaded again within a second (each up to a quarter of this), served from memory and never compressed on the fly; 0 streams every large file from disk (docs/static.md).' },
  { key: 'static_precompressed', prop: 'staticPrecompressed', type: 'bool', default: true,
    doc: 'Serve `file.br` / `file.gz` beside `file` (as nginx `gzip_static`) to clients that accept that coding, when it is not older than `file`.' },
  { key: 'num_result_cache_max', prop: 'numResultCacheMax', type: 'int', default: 200, min: 0, max: 10_000_000,
    doc: 'Entries in the result cache of `was` calls (`Result.cache()`); 0 turns it off.' },
  { key: 'max_body_size', prop: 'maxBodySize', type: 'size', default: 5 * MiB, min: 0, max: MAX_BYTES,
    doc: 'Largest form, JSON or other non-upload body; larger gets 413.' },
  { key: 'max_proxy_body_size', prop: 'maxProxyBodySize', type: 'size', default: undefined, defaultText: '`max_body_size`', min: 0, max: MAX_BYTES,
    doc: 'Largest request body the reverse proxy (`/prefix = @cluster`, docs/proxy.md) forwards; larger gets 413, before any member is asked when Content-Length says so, else the member request is aborted when the body passes it. Bodies up to `max_body_size` are buffered (and can fail over to another member); larger ones up to this limit stream through, sent once. The forward proxy is not limited.' },
  { key: 'max_upload_size', prop: 'maxUploadSize', type: 'size', default: 2 * GiB, min: 0, max: MAX_BYTES,
    doc: 'Largest multipart/form-data upload; files are spooled to disk.' },
  { key: 'max_header_size', prop: 'maxHeaderSize', type: 'size', default: 16 * KiB, min: KiB, max: MiB,
    doc: 'Largest request head (request line + headers); larger gets 431.' },
  { key: 'header_timeout', prop: 'headerTimeout', type: 'seconds', default: 30 * SEC, min: 1, max: HOUR,
    doc: 'Time a client has to send the request head; must be > 0 and ≤ `request_timeout` when that is on.' },
  { key: 'request_timeout', prop: 'requestTimeout', type: 'seconds', default: 300 * SEC, min: 0, max: 24 * HOUR,
    doc: 'Time a client has to send a whole request; 0 = off.' },
  { key: 'keep_alive', prop: 'keepAlive', type: 'seconds', default: 10 * SEC, min: 1, max: HOUR,
    doc: 'Keep-alive timeout: how long an idle connection stays open; must be > 0.' },
  { key: 'max_requests_per_socket', prop: 'maxRequestsPerSocket', type: 'int', default: 0, min: 0, max: 2 ** 31 - 1,
    doc: 'Requests served on one connection before it is closed; 0 = unlimited.' },
  { key: 'compress_min_size', prop: 'compressMinSize', type: 'size', default: 1024, min: 0, max: MAX_BYTES,
    doc: 'Responses smaller than this are not compressed (gzip or brotli); 0 turns compression off.' },
  { key: 'trusted_proxies', prop: 'trustedProxies', type: 'list', default: [],
    item: { test: isIpOrCidr, expect: 'IP addresses or CIDR blocks' },
    doc: 'Peers whose `X-Forwarded-For` is believed, e.g. `127.0.0.1, 10.0.0.0/8`. Empty = nobody.' },
  { key: 'access_log', prop: 'accessLog', type: 'path', default: 'console', keywords: ['console', 'off'],
    doc: 'Where request lines go: `console`, `off`, or a file path.' },
  { key: 'access_log_format', prop: 'accessLogFormat', type: 'enum', default: 'auto', values: ['auto', 'skitai', 'json'],
    doc: "Request line format: Skitai's text line, or one JSON object per line (pino's shape with `reqId`, method, url, status, bytes, ms, remote, ua). `auto` = JSON when the server log is JSON (docs/logging.md)." },
  { key: 'log_format', prop: 'logFormat', type: 'enum', default: 'auto', values: ['auto', 'json', 'text'],
    doc: "Server log format: JSON lines in pino's shape (`level`, `time`, `pid`, `hostname`, `msg`, `reqId`, errors with their stack in one record) or Skitai's text lines. `auto` = JSON unless stdout is a terminal (docs/logging.md)." },
  { key: 'log_level', prop: 'logLevel', type: 'enum', default: 'info', values: ['debug', 'info', 'warn', 'error'],
    doc: 'Lowest level written to the server log (apps\' `was.log` included); `skitaid -v` means `debug`.' },
  { key: 'log_path', prop: 'logPath', type: 'path', default: undefined,
    doc: 'Directory for `server.log`, `request.log` (when `access_log = console`) and `stderr.log`. Unset: the console in the foreground, `<var_path>/log` under `skitaid start`.' },
  { key: 'var_path', prop: 'varPath', type: 'path', default: undefined,
    doc: 'Directory for state (pid and status files, caches, sessions, mail spool). Unset: `var/` next to the config file, so no root is needed.' },
  { key: 'pid_file', prop: 'pidFile', type: 'path', default: undefined,
    doc: 'Pid file of `skitaid start` (what `stop`, `status`, `reload` and systemd read). Unset: `<var_path>/<name>.pid`.' },
  { key: 'grace_period', prop: 'gracePeriod', type: 'seconds', default: 10 * SEC, min: 0, max: HOUR,
    doc: 'On stop and reload, how long in-flight requests may run on before their connections are closed.' },
  { key: 'redirect_http_port', prop: 'redirectHttpPort', type: 'int', default: 0, min: 0, max: 65535,
    doc: 'With `ssl = yes`, also listen for plain HTTP on this port and redirect every request to HTTPS. 0 = off.' },
  { key: 'securekey', prop: 'securekey', type: 'string', default: undefined, secret: true, minLength: 6,
    doc: 'Key signing session cookies (HMAC-SHA256); at least 6 characters. Required by an app that calls `app.useSession()` (docs/sessions.md).' },
  { key: 'securekey_previous', prop: 'securekeyPrevious', type: 'string', default: undefined, secret: true, minLength: 6,
    doc: 'The key before `securekey`, during a rotation: session cookies it signed are still accepted (and re-signed with `securekey` when next sent). Remove it after `sessiontimeout` has passed.' },
  { key: 'sessiontimeout', prop: 'sessiontimeout', type: 'seconds', default: 1200 * SEC, min: 0, max: 365 * 24 * HOUR,
    doc: 'Session lifetime, sliding: renewed while the client keeps coming back, so a session ends this long after its last request (docs/sessions.md). Must be above 0 for apps with sessions.' },
  { key: 'admin_password', prop: 'adminPassword', type: 'string', default: undefined, secret: true, minLength: 6,
    doc: 'Password of the `admin` user (HTTP Basic, group `admin`, which every `permitTo` lets in); at least 6 characters. More users go in `[users]` (docs/auth.md).' },
  { key: 'auth_failure_limit', prop: 'authFailureLimit', type: 'int', default: 5, min: 0, max: 1000,
    doc: 'Failed logins from one client address (an IPv6 client: its /64) before it is refused (429, password not checked) for 1 s, doubling per further failure up to 60 s; a good login clears it. Counted per worker. 0 = no back-off.' },
  { key: 'status_path', prop: 'statusPath', type: 'string', default: undefined,
    check: { test: (v) => /^\/[\w.~\/-]*$/.test(v) && !v.includes('//'), expect: 'a URL path such as /server-status' },
    doc: 'Serve the site\'s status (every worker combined; JSON, or a self-refreshing HTML page for browsers) at this path to group `admin` only (docs/operations.md). Unset = off; needs a user in group admin.' },
  { key: 'ready_path', prop: 'readyPath', type: 'string', default: undefined,
    check: { test: (v) => /^\/[\w.~\/-]*$/.test(v) && !v.includes('//'), expect: 'a URL path such as /ready' },
    doc: 'Readiness probe, open to every client like `/ping`: 200 while the worker serves, 503 while it drains (stop, reload) or while a `required = yes` cluster has no live member. Unset = off (a default path would take over an app route of that name).' },
  { key: 'metrics_path', prop: 'metricsPath', type: 'string', default: undefined,
    check: { test: (v) => /^\/[\w.~\/-]*$/.test(v) && !v.includes('//'), expect: 'a URL path such as /metrics' },
    doc: 'Serve Prometheus metrics, summed over all workers, at this path to clients in `metrics_allow` and to group `admin` (HTTP Basic). Unset = off.' },
  { key: 'metrics_allow', prop: 'metricsAllow', type: 'list', default: [],
    item: { test: isIpOrCidr, expect: 'IP addresses or CIDR blocks' },
    doc: 'Clients that may read `metrics_path` without logging in, e.g. `127.0.0.1, 10.0.0.0/8` (a Prometheus server). Empty = admins only.' },
  { key: 'cors_origins', prop: 'corsOrigins', type: 'list', default: [],
    item: { test: (v) => v === '*' || /^https?:\/\/(\*\.)?[^/\s*]+$/i.test(v), expect: 'origins such as https://app.example.com or https://*.example.com, or *' },
    doc: 'Origins whose pages may read answers of the paths in `cors_paths` (CORS, docs/cors.md): `https://app.example.com`, `https://*.example.com` (subdomains), or `*` (any; not with `cors_credentials`). Empty = CORS off. An app\'s own `app.cors()` wins for its routes.' },
  { key: 'cors_paths', prop: 'corsPaths', type: 'list', default: [],
    item: { test: (v) => v.startsWith('/'), expect: 'URL path prefixes such as /api' },
    doc: 'Path prefixes the `cors_origins` policy covers (`/api` covers `/api` and `/api/…`). Empty = every path.' },
  { key: 'cors_methods', prop: 'corsMethods', type: 'list', default: ['GET', 'HEAD', 'POST'],
    item: { test: (v) => /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(v), expect: 'method names such as GET, PUT, or *' },
    doc: 'Methods a CORS preflight allows; `*` = whatever is asked.' },
  { key: 'cors_headers', prop: 'corsHeaders', type: 'list', default: [],
    item: { test: (v) => /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(v), expect: 'header names such as Authorization, or *' },
    doc: 'Request headers a CORS preflight allows besides the safelisted ones (Accept, Content-Type…); `*` = whatever is asked.' },
  { key: 'cors_expose_headers', prop: 'corsExposeHeaders', type: 'list', default: [],
    item: { test: (v) => /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(v), expect: 'header names such as X-Request-Id' },
    doc: 'Response headers a cross-origin page may read besides the safelisted ones, e.g. `X-Request-Id`.' },
  { key: 'cors_credentials', prop: 'corsCredentials', type: 'bool', default: false,
    doc: 'Cross-origin requests may carry cookies and HTTP auth, and their pages read the answers (`Access-Control-Allow-Credentials`).' },
  { key: 'cors_max_age', prop: 'corsMaxAge', type: 'seconds', default: 0, min: 0, max: 24 * HOUR,
    doc: 'How long a browser may keep a preflight\'s answer (`Access-Control-Max-Age`). 0 = not sent (browsers then keep it 5 s).' },
] as const satisfies readonly ServerKeySpec[];

/** Every `[server]` key, in the order docs/config.md lists them. */
export const SERVER_KEYS: readonly ServerKeySpec[] = TABLE;

// Compile-time guard: a ServerConfig property without a row fails here, naming the property.
type Missing = Exclude<keyof ServerConfig, (typeof TABLE)[number]['prop']>;
const everyPropHasARow: [Missing] extends [never] ? true : Missing = true;
void everyPropHasARow;

const BY_NAME = indexTable(SERVER_KEYS);

/** The spec for an INI key or one of its aliases. */
export function findKey(name: string): ServerKeySpec | undefined {
  return BY_NAME.get(name.toLowerCase()) as ServerKeySpec | undefined;
}

/**
 * Every error Skitai raises on purpose, in one registry: a stable code, the HTTP status it maps to
 * when it reaches a client, and a short description. `docs/errors.md` lists the same table; a test
 * keeps the two in step.
 */
export const ERRORS = {
  // config
  SKT_CONFIG_READ: { status: 500, text: 'the config file cannot be read' },
  SKT_CONFIG_SYNTAX: { status: 500, text: 'a line of the config file is not valid INI' },
  SKT_CONFIG_VALUE: { status: 500, text: 'a config key has a value of the wrong type or range' },
  SKT_CONFIG_UNKNOWN_KEY: { status: 500, text: 'a config section has a key Skitai does not know' },
  SKT_CONFIG_UNKNOWN_SECTION: { status: 500, text: 'the config file has a section Skitai does not know (the message suggests the nearest known one)' },
  SKT_CONFIG_ENV: { status: 500, text: 'a config value names an environment variable (${NAME}) that is not set and has no default; the message names the variable, never a value' },
  SKT_CONFIG_ROUTE: { status: 500, text: 'a [routes:line] entry is malformed or its target is missing' },
  SKT_CONFIG_TLS: { status: 500, text: 'the TLS certificate or key cannot be used: not PEM, wrong passphrase, or a key that does not belong to the certificate' },
  // apps
  SKT_APP_LOAD: { status: 500, text: 'an app module failed to load (a `.ts` one needs the tsx package) or does not export `app`; or a `module:export` route names an export that is missing or not a Node app (listener, Fastify instance, fetch handler)' },
  SKT_APP_RULE: { status: 500, text: 'a route rule is malformed' },
  SKT_APP_HOOK: { status: 500, text: 'an app lifecycle hook threw' },
  SKT_APP_RETURN: { status: 500, text: 'a handler returned a value Skitai cannot send' },
  SKT_WAS_NO_REQUEST: { status: 500, text: "the package's `was` export was used outside a request of a mounted Node app (module level, a Skitai app route, or after the response was done)" },
  SKT_WAS_STREAM: { status: 500, text: 'was.tostream() was given something that is not a stream, an iterable or an object with read(), or its read() returned something other than a Buffer, a string or null' },
  SKT_WS_USAGE: { status: 500, text: 'app.websocket() or was.ws() is used wrongly (a bad option, a bad URL or target)' },
  SKT_WS_CONNECT: { status: 502, text: 'was.ws() could not open the WebSocket: no member reachable, the handshake was refused (the message has the status) or did not finish before the deadline' },
  SKT_CORS_POLICY: { status: 500, text: 'a CORS policy (`[server] cors_*`, `app.cors()`, a route\'s `cors` option) is invalid: a malformed origin, method or header name, no origins, or any origin ("*") with credentials' },
  SKT_HTTP_ABORT: { status: 400, text: 'a handler answered with an HTTP error status (abort())' },
  // cookies, sessions, templates (was.cookie, was.session, was.mbox, was.render)
  SKT_COOKIE_INVALID: { status: 500, text: 'a cookie cannot be set: its name is not a token, or path, domain, maxAge or sameSite is malformed' },
  SKT_COOKIE_LATE: { status: 500, text: 'a cookie, the session or a flash message was changed after the response headers were sent, so the change cannot reach the client' },
  SKT_SESSION_NO_KEY: { status: 500, text: 'an app enables sessions but [server] securekey is not set (sessions are never sent unsigned)' },
  SKT_SESSION_TIMEOUT: { status: 500, text: 'an app enables sessions but [server] sessiontimeout is 0' },
  SKT_SESSION_OFF: { status: 500, text: 'was.session or was.mbox is used by an app that did not call app.useSession()' },
  SKT_SESSION_VALUE: { status: 500, text: 'a session value is not JSON (undefined, a function, a BigInt, a cycle)' },
  SKT_SESSION_TOO_LARGE: { status: 500, text: 'the session no longer fits in one cookie (4096 bytes); the change is not kept' },
  SKT_TEMPLATE_DIR: { status: 500, text: 'an app sets app.templateDir or app.setupTemplates(), but the template directory does not exist' },
  SKT_TEMPLATE_NOT_FOUND: { status: 500, text: "was.render names a template that is not in the app's template directory" },
  SKT_TEMPLATE_RENDER: { status: 500, text: 'a template has a syntax error or failed while rendering; the message names file, line and column' },
  // http engine
  SKT_ROUTE_NOT_FOUND: { status: 404, text: 'no route matches the request' },
  SKT_METHOD_NOT_ALLOWED: { status: 405, text: 'the route does not accept this method' },
  SKT_BODY_TOO_LARGE: { status: 413, text: 'the request body exceeds the configured limit' },
  SKT_BODY_MALFORMED: { status: 400, text: 'the request body cannot be parsed as its Content-Type says' },
  SKT_BODY_ABORTED: { status: 400, text: 'the client closed the connection before the body was complete' },
  SKT_LENGTH_REQUIRED: { status: 411, text: 'a body was sent without Content-Length or chunked encoding' },
  SKT_BODY_SPOOL: { status: 500, text: 'an uploaded file could not be written to the temp directory' },
  SKT_METHOD_NOT_IMPLEMENTED: { status: 501, text: 'CONNECT reached a server that is not a forward proxy (enable_proxy = no)' },
  SKT_BAD_REQUEST: { status: 400, text: 'the request is malformed' },
  SKT_PATH_FORBIDDEN: { status: 400, text: 'the request path is not allowed (traversal, NUL byte, bad encoding)' },
  SKT_RANGE_NOT_SATISFIABLE: { status: 416, text: 'the requested byte range is outside the file' },
  SKT_PRECONDITION_FAILED: { status: 412, text: 'If-Match or If-Unmodified-Since does not hold for the current file' },
  SKT_STATIC_FORBIDDEN: { status: 403, text: 'the file exists but the server is not allowed to read it' },
  SKT_HANDLER_FAILED: { status: 500, text: 'a handler failed; the log has the stack' },
  // rpc codecs
  SKT_RPC_PARSE: { status: 400, text: 'an RPC document is not well-formed XML or JSON' },
  SKT_RPC_INVALID: { status: 400, text: 'an RPC document is well-formed but not a valid call or response' },
  SKT_RPC_LIMIT: { status: 413, text: 'an RPC document exceeds a size or nesting limit' },
  SKT_RPC_ENCODE: { status: 500, text: 'a value cannot be encoded as XML-RPC or JSON-RPC' },
  SKT_RPC_RESPONSE: { status: 502, text: 'an upstream RPC response is malformed' },
  SKT_RPC_FAULT: { status: 500, text: 'an RPC method answered with a fault' },
  // clusters and clients (was.map/lb/rest/wget); codes a Result carries as `code` are marked "result"
  SKT_CLUSTER_UNKNOWN: { status: 500, text: 'a call names a cluster that no [@name] section declares' },
  SKT_CLUSTER_TYPE: { status: 500, text: 'an HTTP call names a cluster of another type (postgresql)' },
  SKT_CLUSTER_BREAKER_OPEN: { status: 503, text: "result: the cluster's circuit breaker is open, so the request was not sent" },
  SKT_CLIENT_USAGE: { status: 500, text: 'a client call is used wrongly (a bad target or URL, two RPC methods on one call, data with an RPC method)' },
  SKT_CLIENT_UNSENT: { status: 500, text: 'result: no RPC method was called on the call object, so nothing was sent' },
  SKT_CLIENT_TIMEOUT: { status: 504, text: "result: no answer before the call's deadline or the member's response timeout" },
  SKT_CLIENT_CONNECT: { status: 502, text: 'result: no connection to the member (refused, unreachable, DNS, connect timeout); the request was not sent' },
  SKT_CLIENT_TLS: { status: 502, text: 'result: the TLS handshake failed (untrusted or expired certificate, wrong host name); the request was not sent' },
  SKT_CLIENT_NETWORK: { status: 502, text: 'result: the connection failed during the exchange (reset, closed before the whole response)' },
  SKT_CLIENT_RESPONSE: { status: 502, text: 'result: the response body cannot be used (over max_response_size, bad or unsupported Content-Encoding)' },
  SKT_CLIENT_CLOSED: { status: 503, text: 'result: the clients were closed (the worker is shutting down)' },
  // PostgreSQL calls (was.dmap/dlb/db); codes a DbResult carries as `code` are marked "result"
  SKT_DB_USAGE: { status: 500, text: 'a database call is used wrongly (a bad cluster name or server, two execute() on one call, SQL not a string, params not an array)' },
  SKT_DB_UNSENT: { status: 500, text: 'result: execute() was not called on the call object, so nothing was sent' },
  SKT_DB_TIMEOUT: { status: 504, text: "result: no answer before the call's deadline or query_timeout (the query is cancelled on the server), or no free connection in time" },
  SKT_DB_CONNECT: { status: 502, text: 'result: no connection to the member (refused, unreachable, connect timeout, login refused, unknown database, too many connections); the query was not sent' },
  SKT_DB_NETWORK: { status: 502, text: 'result: the connection was lost while the query ran (it may have run)' },
  SKT_DB_CLOSED: { status: 503, text: 'result: the database pools were closed (the worker is shutting down)' },
  // reverse proxy (`/prefix = @cluster`): the status is what the client gets
  SKT_PROXY_BAD_GATEWAY: { status: 502, text: 'no member of the cluster gave a usable answer (refused, reset, TLS failure), or the answer cannot be relayed' },
  SKT_PROXY_BAD_STATUS: { status: 502, text: 'a member answered with a status outside 100–599' },
  SKT_PROXY_TIMEOUT: { status: 504, text: "the member sent no response headers within the cluster's response_timeout" },
  SKT_PROXY_UNAVAILABLE: { status: 503, text: "nothing was sent: the cluster's circuit breaker is open, or the worker is shutting down (with Retry-After)" },
  SKT_PROXY_ABORTED: { status: 502, text: 'log only: the member failed after the response had started (reset, or a body gap over response_timeout), so the client connection was cut' },
  // mail (was.email, the spool, smtpda)
  SKT_MAIL_ADDRESS: { status: 400, text: 'a sender or recipient address of was.email() is malformed, or there is no recipient' },
  SKT_MAIL_ATTACHMENT: { status: 500, text: 'a file given to addAttachment() is missing, not a regular file, or unreadable at send()' },
  SKT_MAIL_USAGE: { status: 500, text: 'the mail composer is used wrongly (bad setSmtp address, header, text type or charset, sent twice)' },
  SKT_MAIL_TOO_LARGE: { status: 500, text: 'the composed message is larger than [smtpda] max_message_size' },
  SKT_MAIL_DISABLED: { status: 500, text: 'send() was called but the site has no [smtpda] section, so nothing would deliver the mail' },
  SKT_MAIL_SPOOL: { status: 500, text: 'the mail spool directory cannot be created or written (at start, or at send(): then the message was not queued)' },
  // forward proxy (`enable_proxy = yes`): absolute-form requests and CONNECT tunnels
  SKT_FORWARD_DENIED: { status: 403, text: 'the client address is not in proxy_allow' },
  SKT_FORWARD_PORT: { status: 403, text: 'CONNECT to a port that proxy_connect_ports does not list' },
  SKT_FORWARD_TARGET: { status: 400, text: 'the proxy target is malformed (CONNECT needs host:port; an absolute URL needs a host and no user:password)' },
  SKT_FORWARD_SCHEME: { status: 501, text: 'an absolute-form target with a scheme other than http:// (https goes through CONNECT)' },
  SKT_FORWARD_LOOP: { status: 508, text: 'the target is this server itself, or the request already passed through it (Via)' },
  SKT_FORWARD_BAD_GATEWAY: { status: 502, text: 'the target cannot be reached (refused, unreachable, DNS), failed during the exchange, or answered with something that cannot be relayed' },
  SKT_FORWARD_TIMEOUT: { status: 504, text: 'no connection to the target within proxy_connect_timeout, or no response headers within proxy_timeout' },
  SKT_FORWARD_ABORTED: { status: 502, text: 'log only: the target failed after the response had started, so the client connection was cut' },
  // access control (app.permitTo, route permit, [users], the status page)
  SKT_AUTH_REQUIRED: { status: 401, text: 'a protected route was called without credentials, or with a wrong user name or password (HTTP Basic)' },
  SKT_AUTH_FORBIDDEN: { status: 403, text: "the caller logged in, but none of the user's groups is permitted to use the route" },
  SKT_AUTH_THROTTLED: { status: 429, text: 'too many failed logins from the client address: refused without checking the password until Retry-After has passed' },
  SKT_AUTH_NO_USERS: { status: 500, text: 'an app protects routes (permitTo or a route permit) or status_path is set, but no user can log in: set [server] admin_password or a [users] section' },
  SKT_AUTH_USAGE: { status: 500, text: 'permitTo() or a route permit is used wrongly (no group, an empty list, a group name with spaces or commas)' },
  // server
  SKT_SERVER_CLOSING: { status: 503, text: 'a CONNECT arrived while the server was shutting down' },
  SKT_SERVER_LISTEN: { status: 500, text: 'the server cannot listen on the configured address' },
  SKT_PROCESS_START: { status: 500, text: 'a worker (or the daemon) failed before it was listening; the message says why' },
  SKT_CLI_USAGE: { status: 500, text: 'the skitaid command line is wrong' },
} as const;

/** A stable Skitai error code, `SKT_<AREA>_<WHAT>`. */
export type ErrorCode = keyof typeof ERRORS;

/** Where a config error sits, so a message can name file, line and key. */
export interface ConfigPlace {
  file?: string;
  line?: number;
  section?: string;
  key?: string;
}

/**
 * The one error class Skitai throws. `code` is stable (assert on it, not on the message);
 * `status` is the HTTP status a client sees when the error reaches the engine.
 */
export class SkitaiError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly place: ConfigPlace | undefined;

  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown; place?: ConfigPlace; status?: number }) {
    const place = options?.place;
    super(withPlace(message ?? ERRORS[code].text, place), options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'SkitaiError';
    this.code = code;
    this.status = options?.status ?? ERRORS[code].status;
    this.place = place;
  }
}

function withPlace(message: string, place: ConfigPlace | undefined): string {
  if (!place) return message;
  const where = [place.file, place.line !== undefined ? `line ${place.line}` : undefined]
    .filter(Boolean)
    .join(':');
  const what = [place.section && `[${place.section}]`, place.key].filter(Boolean).join(' ');
  return `${where}${what ? ` ${what}` : ''}: ${message}`;
}

/** One line for a terminal or log: `CODE: message` for a SkitaiError, the message otherwise. */
export function describeError(err: unknown): string {
  if (err instanceof SkitaiError) return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

/** True when `err` is a SkitaiError with the given code (or any code when omitted). */
export function isSkitaiError(err: unknown, code?: ErrorCode): err is SkitaiError {
  return err instanceof SkitaiError && (code === undefined || err.code === code);
}

/**
 * What the engine knows of a finished request. `id`, `remote`, `method` and `version` go into the
 * JSON line without an escape check: the engine's values are plain by construction (a generated or
 * validated id, an IP address, an HTTP token, digits). The log keeps the record until it formats
 * the line (at once, or at the end of the event-loop turn for a file), and reads it only then: the
 * engine hands over the request's exchange itself, whose `trace`, `version` and `ua` are getters.
 */
export interface AccessRecord {
  /** The request id (`X-Request-Id`). */
  readonly id: string;
  /** The counter a generated `id` was made from (`id` is `requestIdOf(seq)`, log/trace.ts); 0 or absent for an id from elsewhere. */
  seq?: number | undefined;
  /** The W3C trace id (32 hex digits) from the request's `traceparent`, or of the trace started for its outgoing calls. */
  trace?: string | undefined;
  remote: string;
  port: number;
  method: string;
  url: string;
  version: string;
  status: number;
  /** Bytes written to the socket for this response, headers included (Skitai counts them too). */
  bytes: number;
  /** CONNECT only: bytes relayed from the client to the target (`bytes` then counts target to client). */
  up?: number;
  /** Milliseconds from request to finish. */
  ms: number;
  /** True when the client went away before the response was complete. */
  aborted: boolean;
  /** The User-Agent header, when sent (JSON lines only). */
  ua?: string | undefined;
  /** The client connection's {@link AccessConnection}, when the engine keeps one per connection. */
  conn?: AccessConnection | undefined;
}

/**
 * What the JSON access log keeps per client connection, from its second line on: that line up to
 * `"ms":` (the template), where its time, id, trace id and bytes are in it, and the fields it was
 * made from. A line whose fields are the template's, as from one request to the next on a
 * kept-alive connection, is one copy of the template with those four written over theirs, and
 * its `ms` and end after it: no field is checked or copied a character at a time (a browser's
 * User-Agent alone is ~100 characters at ~10 instructions each).
 */
export class AccessConnection {
  /** The template, exactly its length: undefined until the connection's second line (most connections that close after one response never need one). */
  tpl: Uint8Array | undefined = undefined;
  /** Lines written out for the connection (not from its template): the second one makes a template. */
  lines = 0;
  /** Offsets in the template: the id (after the generated ids' prefix when `generated`), the trace id (0: none), the bytes. */
  idAt = 0;
  idLen = 0;
  generated = false;
  traceAt = 0;
  bytesAt = 0;
  bytesLen = 0;
  /** The bytes the template holds. */
  bytes = -1;
  method = '';
  url = '';
  status = 0;
  remote = '';
  port = 0;
  version = '';
  aborted = false;
  ua: string | undefined = undefined;
}

/**
 * A request target without user info: `http://user:pw@host/` -> `http://***@host/`, and CONNECT's
 * `user:pw@host:443` -> `***@host:443`. A forward proxy refuses such targets, but a misconfigured
 * client still sends them, and the password must not reach a log file.
 */
export function redactTarget(url: string): string {
  if (url.charCodeAt(0) === 47 || !url.includes('@')) return url;
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)?[^/?#]*@/i, (_all, scheme: string | undefined) => `${scheme ?? ''}***@`);
}

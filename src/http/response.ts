import http from 'node:http';
import type { RequestExchange } from './exchange.js';
import { detachedResponse } from './detached.js';

/**
 * node:http's response, which adds the request id (`X-Request-Id`) to every response as its head is
 * written. The id is not set with setHeader() when the request arrives: once any header is stored,
 * Node's writeHead() leaves its fast path (headers given to writeHead serialised as they are) and
 * stores each header first, which cost ~7 µs per request on `/hello`. Here it is written into the
 * head as writeHead() serialises it, so the common case stays on the fast path and pays neither a
 * copy of the headers given nor Node's checks of one more.
 */
export class EngineResponse<Req extends http.IncomingMessage = http.IncomingMessage> extends http.ServerResponse<Req> {
  /**
   * The engine's exchange, set before any handler runs: its `id` is the request id sent here, and
   * the engine's shared close listener finds the request through it. One field for both, declared
   * here so every response has the same shape (a property added later costs a map transition and,
   * past the object's spare slots, a new properties array per request).
   */
  exchange: RequestExchange | undefined = undefined;
}

/** The request id `res` sends as `X-Request-Id`, or undefined for a response the engine did not make. */
export function requestIdOf(res: http.ServerResponse): string | undefined {
  return (res as Partial<EngineResponse>).exchange?.id;
}

/** Node's own store of headers set with setHeader(); null until the first one (an internal, stable in Node 20-24). */
const kOutHeaders = Object.getOwnPropertySymbols(new http.OutgoingMessage()).find((s) => s.description === 'kOutHeaders');
const ID = 'x-request-id';

const writeHead = http.ServerResponse.prototype.writeHead as (this: http.ServerResponse, status: number, reason?: unknown, headers?: unknown) => http.ServerResponse;

/** Node's serialiser of the head: writeHead() calls it with the status line and the headers to write (an internal, stable in Node 20-24). */
type StoreHeader = (this: http.ServerResponse, firstLine: string, headers: unknown) => void;
const storeHeader = (http.ServerResponse.prototype as unknown as { _storeHeader?: StoreHeader })._storeHeader;

/**
 * Whether this Node's writeHead() serialises the head through `_storeHeader(statusLine, headers)`,
 * keeping it in `_header`, as Node 20-24 do; probed once on a detached response. When it does not,
 * the id joins the headers given to writeHead() instead (see below).
 */
const hooked = ((): boolean => {
  if (typeof storeHeader !== 'function') return false;
  try {
    const res = detachedResponse();
    (res as unknown as { _storeHeader: StoreHeader })._storeHeader = function (line, headers) {
      storeHeader.call(this, `${line}x-probe: 1\r\n`, headers);
    };
    res.writeHead(200, ['content-length', '0']);
    const head = (res as unknown as { _header: unknown })._header;
    return typeof head === 'string' && head.startsWith('HTTP/1.1 200 OK\r\nx-probe: 1\r\ncontent-length: 0\r\n');
  } catch {
    return false;
  }
})();

if (hooked) {
  // The id is the first line after the status line, serialised here: the headers a handler gives
  // writeHead() pass on untouched (no copy of a caller's object or list), and Node does not check
  // and serialise one more header per response. An id is valid header text by construction
  // (log/trace.ts). `headers` is what writeHead() passes: the object or list given, or Node's own
  // store when headers were set with setHeader() (keyed by lower-case name, like a given object).
  (EngineResponse.prototype as unknown as { _storeHeader: StoreHeader })._storeHeader = function (this: http.ServerResponse, firstLine: string, headers: unknown): void {
    const id = (this as EngineResponse).exchange?.id;
    if (id === undefined || id === '' || given(headers)) storeHeader!.call(this, firstLine, headers);
    else storeHeader!.call(this, `${firstLine}${ID}: ${id}\r\n`, headers);
  };
}

(EngineResponse.prototype as http.ServerResponse).writeHead = function (this: EngineResponse, status: number, reason?: unknown, headers?: unknown): http.ServerResponse {
  if (headers === undefined && typeof reason !== 'string') {
    headers = reason;
    reason = undefined;
  }
  const stored = storesHeaders(this);
  // Node 20 stores a flat list given after setHeader() through setHeader(), keeping only the last
  // value of a repeated name (Set-Cookie): give it an object whose repeated names hold arrays.
  const list = Array.isArray(headers) && stored && headers.length > 0 && !Array.isArray(headers[0]);
  const id = hooked ? '' : (this.exchange?.id ?? '');
  if (id === '' || given(headers) || (stored && this.hasHeader(ID))) {
    if (list) headers = listToObject(headers as unknown[]);
  } else if (Array.isArray(headers)) {
    const withId = (headers as unknown[]).concat(ID, id);
    headers = list ? listToObject(withId) : withId;
  } else if (headers !== undefined && headers !== null && typeof headers === 'object') {
    // A copy: the object may be a handler's constant, shared by every request.
    headers = Object.assign({}, headers);
    (headers as Record<string, unknown>)[ID] = id;
  } else {
    this.setHeader(ID, id);
  }
  return reason === undefined ? writeHead.call(this, status, headers) : writeHead.call(this, status, reason, headers);
} as typeof http.ServerResponse.prototype.writeHead;

/**
 * Where the headers of a head serialised by writeHead() start, past the status line and the request
 * id this response added there: for http/rawhead.ts, which puts prepared lines there.
 */
export function headersStart(res: http.ServerResponse, head: string): number {
  const at = head.indexOf('\r\n') + 2;
  if (!hooked || requestIdOf(res) === undefined || !head.startsWith(`${ID}: `, at)) return at;
  return head.indexOf('\r\n', at) + 2;
}

/** True when headers given to writeHead() (or Node's store of them) name the request id themselves. */
function given(headers: unknown): boolean {
  if (headers === undefined || headers === null || typeof headers !== 'object') return false;
  if (!Array.isArray(headers)) return (headers as Record<string, unknown>)[ID] !== undefined;
  if (headers.length === 0 || !Array.isArray(headers[0])) return listHas(headers as unknown[]);
  for (const entry of headers as unknown[][]) if (typeof entry[0] === 'string' && entry[0].toLowerCase() === ID) return true;
  return false;
}

function listHas(list: unknown[]): boolean {
  for (let i = 0; i < list.length; i += 2) {
    const name = list[i];
    if (typeof name === 'string' && name.length === ID.length && name.toLowerCase() === ID) return true;
  }
  return false;
}

function listToObject(list: unknown[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i + 1 < list.length; i += 2) {
    const name = String(list[i]).toLowerCase();
    const value = String(list[i + 1]);
    const there = out[name];
    out[name] = there === undefined ? value : Array.isArray(there) ? [...there, value] : [there, value];
  }
  return out;
}

/** True when headers were stored on `res` with setHeader() (or when this Node hides where they are). */
export function storesHeaders(res: http.ServerResponse): boolean {
  return kOutHeaders === undefined || (res as unknown as Record<symbol, unknown>)[kOutHeaders] != null;
}

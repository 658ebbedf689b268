import http from 'node:http';
import type { RequestExchange } from './exchange.js';

/**
 * node:http's response, which adds the request id (`X-Request-Id`) to every response as its head is
 * written. The id is not set with setHeader() when the request arrives: once any header is stored,
 * Node's writeHead() leaves its fast path (headers given to writeHead serialised as they are) and
 * stores each header first, which cost ~7 µs per request on `/hello`. Here it joins the headers
 * given to writeHead() instead, so the common case stays on the fast path.
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

(EngineResponse.prototype as http.ServerResponse).writeHead = function (this: EngineResponse, status: number, reason?: unknown, headers?: unknown): http.ServerResponse {
  if (headers === undefined && typeof reason !== 'string') {
    headers = reason;
    reason = undefined;
  }
  const stored = storesHeaders(this);
  const id = this.exchange?.id ?? '';
  if (Array.isArray(headers)) {
    let list = headers as unknown[];
    if (id !== '' && !listHas(list) && !(stored && this.hasHeader(ID))) list = list.concat(ID, id);
    // Node 20 stores a flat list given after setHeader() through setHeader(), keeping only the last
    // value of a repeated name (Set-Cookie): give it an object whose repeated names hold arrays.
    headers = stored && list.length > 0 && !Array.isArray(list[0]) ? listToObject(list) : list;
  } else if (headers !== undefined && headers !== null && typeof headers === 'object') {
    if (id !== '' && (headers as Record<string, unknown>)[ID] === undefined && !this.hasHeader(ID)) {
      // A copy: the object may be a handler's constant, shared by every request.
      headers = Object.assign({}, headers);
      (headers as Record<string, unknown>)[ID] = id;
    }
  } else if (id !== '' && !this.hasHeader(ID)) {
    this.setHeader(ID, id);
  }
  return reason === undefined ? writeHead.call(this, status, headers) : writeHead.call(this, status, reason, headers);
} as typeof http.ServerResponse.prototype.writeHead;

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

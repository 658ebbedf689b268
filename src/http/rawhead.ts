import http from 'node:http';
import { headersStart, storesHeaders } from './response.js';
import { detachedResponse } from './detached.js';

/** Node's serialised head of a response, kept until the first write sends it (an internal, stable in Node 20-24). */
interface HeadState {
  _header: string | null;
  _headerSent: boolean;
}

/**
 * Headers serialised once as `name: value\r\n` lines, for {@link writeHeadBlock}. Checked here with
 * Node's own validators, so a block holds nothing writeHead() would have refused (no CR/LF).
 */
export function headBlock(list: readonly string[]): string {
  let block = '';
  for (let i = 0; i + 1 < list.length; i += 2) {
    const name = list[i]!;
    const value = list[i + 1]!;
    http.validateHeaderName(name);
    http.validateHeaderValue(name, value);
    block += `${name}: ${value}\r\n`;
  }
  return block;
}

/**
 * Whether this Node keeps the head in `_header` as a string after writeHead() until the first write,
 * as Node 20-24 do. Probed once on a detached response; when it does not, {@link writeHeadBlock}
 * always declines and callers take the ordinary writeHead() path.
 */
const rawHeads = ((): boolean => {
  try {
    const res = detachedResponse();
    res.writeHead(200, ['content-length', '0']);
    const state = res as unknown as HeadState;
    return typeof state._header === 'string' && state._headerSent === false && state._header.startsWith('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n');
  } catch {
    return false;
  }
})();

/**
 * Write the head of `res` with `block` (from {@link headBlock}) as its first headers: Node builds the
 * status line and what depends on the request (the engine's X-Request-Id, `Content-Length` from
 * `length`, Date, Connection, Keep-Alive) through writeHead(), and the block joins them unparsed
 * and unvalidated. `tail` is appended after the head: a body already in latin1 (the bytes as they are),
 * so that head and body leave in one write; pass '' for HEAD or when the body follows with end().
 *
 * Why: validating and concatenating the same ten headers on every response was a tenth of the CPU
 * of a small cached file (docs/performance.md). Returns false with the response untouched when the
 * head cannot be written this way: a `beforeHeaders` hook (cookies) or headers set with setHeader()
 * must be merged by writeHead() itself, or this Node does not keep `_header`.
 */
export function writeHeadBlock(res: http.ServerResponse, status: number, block: string, length: string | undefined, tail: string): boolean {
  // `_header` is null on an HTTP/1 response whose head is not written yet; an h2 compat response has none.
  if (!rawHeads || (res as unknown as HeadState)._header !== null || Object.hasOwn(res, 'writeHead') || storesHeaders(res)) return false;
  res.writeHead(status, length === undefined ? [] : ['content-length', length]);
  const state = res as unknown as HeadState;
  const head = state._header!;
  // After the status line and the engine's request id (http/response.ts), as on the general path: same head, same order.
  const line = headersStart(res, head);
  state._header = head.slice(0, line) + block + head.slice(line) + tail;
  return true;
}

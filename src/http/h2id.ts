/**
 * How an h2 response's `X-Request-Id` is HPACK-coded: never indexed (RFC 7541 §6.2.3). The value is
 * new on every response; as the incrementally indexed literal nghttp2 makes of it by default, it
 * enters the connection's dynamic table each time and pushes out the entries that let the other
 * headers (ETag, Last-Modified, Cache-Control…) go as one-byte indexes, which then come back as
 * literals and are indexed again. Measured on node's bare stream-API server at a fixed rate: +5 µs
 * of server CPU per response with a unique indexed id, none never indexed (docs/performance.md,
 * "HTTP/2", third pass). The client sees the same header.
 */
import http2 from 'node:http2';

const NEVER_INDEXED: readonly string[] = Object.freeze(['x-request-id']);

/** Mark `head` (a header object for `stream.respond()`) so that its `x-request-id` is sent never indexed. */
export function idNeverIndexed<T extends object>(head: T): T {
  (head as Record<symbol, unknown>)[http2.sensitiveHeaders] = NEVER_INDEXED;
  return head;
}

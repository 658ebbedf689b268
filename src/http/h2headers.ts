/**
 * Header names and values of an h2 response (`H2Response`), checked as node:http checks them, at a
 * cost that stays small when the same few names come back on every response.
 */
import http from 'node:http';

/** What a response header may hold. */
export type HeaderValue = number | string | readonly string[];

/** Lower-case header names already found valid (bounded: a proxied member chooses the names it sends). */
const checkedNames = new Set<string>();

/**
 * `name` in lower case. A name already found valid is lower-case: it is returned as it is, since
 * toLowerCase() makes a new string even when nothing changes, and most names come lower-case.
 */
export function lower(name: string): string {
  return checkedNames.has(name) ? name : name.toLowerCase();
}

/**
 * Throws as node:http does for an invalid header (`ERR_INVALID_HTTP_TOKEN`, `ERR_INVALID_CHAR`);
 * `name` is lower-case. Each name is checked once. Values are checked every time (a CR/LF must not
 * reach an h2-to-HTTP/1 hop downstream), but a number cannot hold one.
 */
export function checkHeader(name: string, value: HeaderValue): void {
  if (!checkedNames.has(name)) {
    http.validateHeaderName(name);
    if (checkedNames.size < 1024) checkedNames.add(name);
  }
  if (typeof value !== 'number') http.validateHeaderValue(name, value as unknown as string);
}

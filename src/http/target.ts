import { sendError } from './errorpage.js';
import type { Exchange } from './handler.js';

/** Absolute-form targets (RFC 9112 §3.2.2) reduced to origin form; '' when unusable. */
export function originForm(url: string): string {
  if (url === '*') return '*';
  try {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return '';
    return u.pathname + u.search;
  } catch {
    return '';
  }
}

/**
 * A request node:http parsed but HTTP/1.x does not allow: a bad target, or a version llhttp takes
 * that is no HTTP/1.x. HTTP/0.9 (`GET /path` with no version) has no valid request line in RFC 9112
 * (§3: 400); a major version above 1 in an HTTP/1 request line gets 505 (RFC 9110 §15.6.6).
 */
export function refuseRequest(ex: Exchange): void {
  const major = ex.req.httpVersionMajor;
  if (ex.path === '' && major === 1) sendError(ex, 400, { detail: 'malformed request target', close: true });
  else if (major < 1) sendError(ex, 400, { detail: 'the request line has no HTTP version (HTTP/0.9 is not supported)', close: true });
  else sendError(ex, 505, { detail: `HTTP/${ex.req.httpVersion} is not supported: this server speaks HTTP/1.0 and HTTP/1.1`, close: true });
}

import http from 'node:http';

/**
 * A `ServerResponse` to a GET over HTTP/1.1 with no socket: what the start-up probes of Node's
 * internals (http/response.ts, http/rawhead.ts) write to, so a Node that behaves otherwise is
 * found before any request is served.
 */
export function detachedResponse(): http.ServerResponse {
  const req = new http.IncomingMessage(null as never);
  req.method = 'GET';
  req.httpVersionMajor = 1;
  req.httpVersionMinor = 1;
  return new http.ServerResponse(req);
}

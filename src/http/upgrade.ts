import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

/**
 * A WebSocket handshake (RFC 6455 §4.1: a GET with `Upgrade: websocket`) as the handlers see it on
 * {@link Exchange.upgrade}. A handler that does not speak WebSocket ignores it and answers over
 * `ex.res` as for any GET (the connection then closes after the response); one that does checks the
 * request as usual (permissions, before hooks: their refusals are ordinary error pages) and then
 * calls {@link Upgrade.accept} to take the connection out of HTTP.
 */
export interface Upgrade {
  /** Bytes the client sent after the request head (the first frames, if it did not wait). */
  readonly head: Buffer;
  /**
   * Take the connection: `ex.res` is no longer usable, the access log gets a 101 line now, and the
   * socket belongs to the caller until it closes (the engine destroys it only at the very end of a
   * stop, after every handler's `goingAway`). Undefined when the client already left.
   */
  accept(): Duplex | undefined;
}

/** True for a WebSocket opening handshake: GET with an Upgrade header naming `websocket`. */
export function isWebSocketUpgrade(req: IncomingMessage): boolean {
  const up = req.headers.upgrade;
  return req.method === 'GET' && typeof up === 'string' && /(?:^|,)\s*websocket\s*(?:,|$)/i.test(up);
}

/**
 * An upgrade request that is not a WebSocket handshake (`Upgrade: h2c`, say), to be served as plain
 * HTTP. node:http stopped parsing at its head and already ended `req`, so a Content-Length body is
 * read from the socket into a fresh message with the same head. Undefined for a chunked body,
 * which only a parser could follow: the caller refuses it.
 */
function asPlainRequest(req: IncomingMessage, socket: Duplex, head: Buffer): IncomingMessage | undefined {
  if (req.headers['transfer-encoding'] !== undefined) return undefined;
  let left = Number(req.headers['content-length'] ?? 0);
  if (!Number.isSafeInteger(left) || left < 0) return undefined;
  if (left === 0) return req;
  const fresh = new http.IncomingMessage(socket as Socket);
  fresh.method = req.method;
  fresh.url = req.url;
  fresh.httpVersionMajor = req.httpVersionMajor;
  fresh.httpVersionMinor = req.httpVersionMinor;
  fresh.httpVersion = req.httpVersion;
  fresh.headers = req.headers;
  fresh.rawHeaders = req.rawHeaders;
  const feed = (chunk: Buffer): void => {
    if (left <= 0) return;
    const part = chunk.length > left ? chunk.subarray(0, left) : chunk;
    left -= part.length;
    fresh.push(part);
    if (left === 0) {
      socket.off('data', feed);
      fresh.complete = true;
      fresh.push(null);
    }
  };
  if (head.length > 0) feed(head);
  if (left > 0) socket.on('data', feed);
  return fresh;
}

/** A response written on a socket that node:http handed over with an upgrade request. */
function attachResponse<R extends ServerResponse>(res: R, socket: Duplex): R {
  res.assignSocket(socket as Socket);
  // Whatever answers, the connection cannot carry another request: its parser is gone. node:http's
  // own end-of-response handling is not attached to a response made here, so it is done here.
  res.shouldKeepAlive = false;
  res.once('finish', () => socket.end());
  return res;
}

/**
 * How the engine serves a request node:http handed over as an upgrade: a WebSocket handshake is
 * dispatched with {@link Exchange.upgrade} set (`websocket: true`); any other upgrade (h2c) as
 * plain HTTP/1.1, which RFC 9110 §7.8 allows; a chunked body with it is refused here (undefined).
 * The response is written on the handed-over socket and ends the connection.
 */
export function takeUpgrade<R extends ServerResponse>(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  makeResponse: (req: IncomingMessage) => R,
): { req: IncomingMessage; res: R; websocket: boolean } | undefined {
  // node:http no longer listens for this socket's errors.
  socket.on('error', () => socket.destroy());
  const websocket = isWebSocketUpgrade(req);
  const plain = websocket ? req : asPlainRequest(req, socket, head);
  const res = attachResponse(makeResponse(plain ?? req), socket);
  if (plain) return { req: plain, res, websocket };
  const text = 'a chunked request body with an Upgrade header is not supported\n';
  res.writeHead(501, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) }).end(text);
  return undefined;
}

import { STATUS_CODES } from 'node:http';
import { redact } from '../log/logger.js';
import type { Exchange, Tunnel } from './handler.js';
import { isH2 } from './h2.js';
import { respond } from './respond.js';

/** Escape text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The HTML body of an error page. The stack is shown only when `devel` is true. */
export function errorPage(status: number, detail?: string, stack?: string): string {
  const reason = STATUS_CODES[status] ?? 'Error';
  const title = `${status} ${escapeHtml(reason)}`;
  return (
    `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>${title}</title></head>\n<body><h1>${title}</h1>\n` +
    (detail ? `<p>${escapeHtml(detail)}</p>\n` : '') +
    (stack ? `<pre>${escapeHtml(stack)}</pre>\n` : '') +
    `<hr><address>Skitai</address></body></html>\n`
  );
}

/**
 * Send an HTML error page. `close` asks the client to drop the connection, for errors that leave an
 * unread body on the socket (413) or a broken request.
 */
export function sendError(
  ex: Exchange,
  status: number,
  options: { detail?: string; error?: unknown; headers?: Record<string, string>; close?: boolean } = {},
): void {
  const res = ex.res;
  if (res.headersSent) {
    // Too late for a page: cut the connection so the client sees a truncated response, not a valid one.
    res.destroy();
    return;
  }
  const stack = ex.devel && options.error instanceof Error ? options.error.stack : undefined;
  // h2 has no Connection header (RFC 9113 §8.2.2); the stream ends with the response, not the connection.
  if (options.close && !isH2(res)) res.setHeader('connection', 'close');
  // Details and stacks may quote anything an app or library put in a message: secrets never pass.
  const hide = ex.hideSecrets ?? redact;
  respond(ex, status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', ...options.headers },
    errorPage(status, options.detail === undefined ? undefined : hide(options.detail), stack === undefined ? undefined : hide(stack)));
}

/**
 * A function that blanks out each of `secrets` (longest first) and every `//user:password@`
 * credential in a text, for what error pages show. Built once per engine.
 */
export function secretHider(secrets: readonly string[]): (text: string) => string {
  const sorted = [...secrets].filter((s) => s !== '').sort((a, b) => b.length - a.length);
  return (text) => {
    let out = redact(text);
    for (const secret of sorted) if (out.includes(secret)) out = out.replaceAll(secret, '[secret hidden]');
    return out;
  };
}

/**
 * A whole `Connection: close` response as bytes, for a socket no ServerResponse owns (a client
 * error before a request existed, a refused CONNECT). The body is an error page unless `text` is given.
 */
export function rawErrorResponse(status: number, options: { detail?: string; text?: string; headers?: Record<string, string> } = {}): Buffer {
  const body = Buffer.from(options.text ?? errorPage(status, options.detail));
  const type = options.text === undefined ? 'text/html; charset=utf-8' : 'text/plain';
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nConnection: close\r\nContent-Type: ${type}\r\nContent-Length: ${body.length}\r\n`;
  for (const [name, value] of Object.entries(options.headers ?? {})) head += `${name}: ${value}\r\n`;
  return Buffer.concat([Buffer.from(`${head}\r\n`, 'latin1'), body]);
}

/**
 * Answer a CONNECT with an error page and close the connection; the access line is reported with
 * the status. Unread tunnel bytes are drained first: closing over them would turn the FIN into a
 * reset that can lose the reply.
 */
export function refuseTunnel(tunnel: Tunnel, status: number, detail: string): void {
  const reply = rawErrorResponse(status, { detail });
  const socket = tunnel.socket;
  tunnel.done(status, 0, reply.length);
  if (!socket.writable) return void socket.destroy();
  socket.resume();
  socket.end(reply, () => socket.destroy());
}

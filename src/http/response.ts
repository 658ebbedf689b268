import http from 'node:http';

/**
 * node:http's response, with one repair. The engine sets `X-Request-Id` on every response before
 * any handler runs, and once a header is set, Node 20's writeHead() takes a flat header list
 * (`['Set-Cookie', 'a=1', 'Set-Cookie', 'b=2']`) through setHeader(), so a repeated name keeps only
 * its last value. Such a list is turned here into an object whose repeated names hold arrays, which
 * every Node keeps whole. Other calls pass through untouched.
 */
export class EngineResponse<Req extends http.IncomingMessage = http.IncomingMessage> extends http.ServerResponse<Req> {}

const writeHead = http.ServerResponse.prototype.writeHead as (this: http.ServerResponse, ...args: unknown[]) => http.ServerResponse;

EngineResponse.prototype.writeHead = function (this: http.ServerResponse, ...args: unknown[]): http.ServerResponse {
  const last = args.length - 1;
  const given = args[last];
  if (last > 0 && Array.isArray(given) && given.length > 0 && !Array.isArray(given[0])) args[last] = listToObject(given as unknown[]);
  return writeHead.apply(this, args);
} as typeof http.ServerResponse.prototype.writeHead;

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

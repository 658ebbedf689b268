import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';

/** The headers argument of writeHead(): an object, or Node's flat `[name, value, …]` list. */
export type GivenHeaders = OutgoingHttpHeaders | string[];

type WriteHead = ServerResponse['writeHead'];
type Hook = (given: GivenHeaders | undefined) => GivenHeaders | undefined;
const hooks = new WeakMap<ServerResponse, Hook[]>();

/**
 * Run `fn` once, right before `res` sends its status line and headers, whichever way they go out:
 * an explicit writeHead() with a header object (respond()), or the implicit one of the first
 * write() (streams, error pages). This is how late headers such as Set-Cookie reach every response
 * of a request without each return path having to remember them. `fn` gets the headers that
 * writeHead() was given, if any (an object or a flat list): a name there replaces, in any letter
 * case, the headers of that name set earlier, so `fn` may return a replacement for them. It must
 * not change them in place: they may be the caller's object, reused for other responses.
 *
 * Several hooks on one response (the session's cookies, CORS) run in the order they were added,
 * each getting what the one before returned.
 */
export function beforeHeaders(res: ServerResponse, fn: Hook): void {
  if (res.headersSent) return;
  const list = hooks.get(res);
  if (list) {
    list.push(fn);
    return;
  }
  hooks.set(res, [fn]);
  const original = res.writeHead as (...args: unknown[]) => ServerResponse;
  // Node's implicit header path (_implicitHeader) calls this.writeHead(this.statusCode), so an own
  // property on the instance sees every path; other responses keep the prototype's method.
  res.writeHead = function (this: ServerResponse, ...args: unknown[]): ServerResponse {
    res.writeHead = original as WriteHead;
    let at = args.findIndex((a, i) => i > 0 && typeof a === 'object' && a !== null);
    for (const hook of hooks.get(res) ?? []) {
      const replacement = hook(at < 0 ? undefined : (args[at] as GivenHeaders));
      if (replacement === undefined) continue;
      if (at < 0) {
        // A hook that set headers on the response returns nothing; one returning headers when
        // none were given adds them as the headers argument.
        at = args.length;
        args.push(replacement);
      } else args[at] = replacement;
    }
    return original.apply(this, args);
  } as WriteHead;
}

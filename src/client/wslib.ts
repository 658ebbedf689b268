import { createRequire } from 'node:module';
import type * as Ws from 'ws';

let lib: typeof Ws | undefined;

/**
 * The `ws` package, loaded on first use (the first WebSocket handshake, proxied upgrade or
 * `was.ws()`): a site without WebSockets never loads it. Its types stay inside Skitai: the public
 * declarations describe sockets with Skitai's own interfaces (app/socket.ts), so a TypeScript app
 * needs no `@types/ws`.
 */
export function wsLib(): typeof Ws {
  return (lib ??= createRequire(import.meta.url)('ws') as typeof Ws);
}

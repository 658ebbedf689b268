/**
 * The handlers of `[routes:line]` modules, configured from `[server]` as the site composes them
 * (and as `skitaid --check` builds them to check the modules without starting them).
 */
import type { App } from '../app/app.js';
import type { Authenticator } from '../auth/authenticator.js';
import type { ServerConfig } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import type { WasServices } from '../was/services.js';
import { AppHandler } from './app.js';
import { NodeAppHandler } from './nodeapp.js';
import { JsonRpcEndpoint } from './rpc/jsonrpc.js';
import { XmlRpcEndpoint } from './rpc/xmlrpc.js';

/** A Skitai app (a module exporting `app`, or an App object) with its XML-RPC and JSON-RPC endpoints. */
export function appHandler(source: string | App, s: ServerConfig, logger: Logger, auth: Authenticator, services?: WasServices): AppHandler {
  const rpc = { maxBody: s.maxBodySize, logger };
  return new AppHandler(source, {
    devel: s.devel,
    logger,
    ...(services ? { services } : {}),
    securekey: s.securekey,
    securekeyPrevious: s.securekeyPrevious,
    sessionTimeout: s.sessiontimeout,
    ssl: s.ssl,
    auth,
    limits: { maxBody: s.maxBodySize, maxUpload: s.maxUploadSize },
    websocket: { maxMessageSize: s.maxWsMessageSize, idleTimeout: s.wsIdleTimeout, maxBuffered: s.wsMaxBuffered, slowClient: s.wsSlowClient, compression: s.wsCompression },
  })
    .addEndpoint(new XmlRpcEndpoint(rpc))
    .addEndpoint(new JsonRpcEndpoint(rpc));
}

/** A Node app (`/legacy = ./server.js:app`) under the body limits a Skitai app has. */
export function nodeAppHandler(file: string, name: string | undefined, s: ServerConfig, logger: Logger, services?: WasServices): NodeAppHandler {
  return new NodeAppHandler(file, name ?? 'default', { logger, services, devel: s.devel, limits: { maxBody: s.maxBodySize, maxUpload: s.maxUploadSize } });
}

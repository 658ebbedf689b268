import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { SiteConfig } from './config/types.js';
import { Clients } from './client/clients.js';
import type { Upstream } from './client/upstream.js';
import { clusterType, parseClusterOptions } from './cluster/options.js';
import { SkitaiError } from './errors.js';
import { AppHandler } from './handlers/app.js';
import { ForwardHandler } from './handlers/forward.js';
import { PingHandler } from './handlers/ping.js';
import { ProxyHandler } from './handlers/proxy.js';
import { JsonRpcEndpoint } from './handlers/rpc/jsonrpc.js';
import { XmlRpcEndpoint } from './handlers/rpc/xmlrpc.js';
import { StaticHandler } from './handlers/static.js';
import type { Handler } from './http/handler.js';
import { HttpsRedirect } from './http/redirect.js';
import { RouteTable } from './http/routes.js';
import { Engine } from './http/server.js';
import { loadTls } from './http/tls.js';
import { AccessLog } from './log/access.js';
import { Logger, openSink, type LogTarget } from './log/logger.js';
import type { WasServices } from './was/services.js';

/** Options for building a site from its config. */
export interface SiteOptions {
  /** Server log; defaults to the console. */
  logger?: Logger;
  /** Print debug lines. */
  verbose?: boolean;
  /** Where request lines go instead of `[server] access_log` (a daemon sends `console` to a file). */
  accessLog?: LogTarget;
}

/**
 * The composition root: turns a validated config into a running engine with its handlers.
 * Nothing below this file knows how the pieces are wired.
 */
export class Site {
  readonly engine: Engine;
  readonly logger: Logger;
  readonly routes: RouteTable;
  readonly #accessLog: AccessLog | undefined;
  readonly #redirect: HttpsRedirect | undefined;
  /** The worker's `was` services, shared by every app of the site. */
  readonly services: WasServices;

  constructor(
    readonly config: SiteConfig,
    options: SiteOptions = {},
  ) {
    const s = config.server;
    this.logger = options.logger ?? new Logger(openSink('console'), options.verbose ?? false);
    const accessTarget = options.accessLog ?? logTarget(s.accessLog, config.dir);
    this.#accessLog = accessTarget === 'off' ? undefined : new AccessLog(openSink(accessTarget), s.accessLogFormat);
    // Built before the handlers: a bad [@cluster] section stops the start with its file and line.
    this.services = {
      clients: new Clients({ clusters: config.clusters, resultCacheMax: s.numResultCacheMax, logger: this.logger }),
    };
    try {
      this.routes = new RouteTable();
      for (const route of config.routes) this.routes.add(route.prefix, this.#handlerFor(route.kind, route.target, route.line));
      const forward = s.enableProxy ? this.#forwardProxy() : undefined;
      // The forward proxy goes first: `GET http://elsewhere/ping` is for elsewhere, not for ping.
      const before: Handler[] = forward ? [forward, new PingHandler()] : [new PingHandler()];
      const tls = s.ssl ? loadTls(config) : undefined;
      this.engine = new Engine({ config: s, routes: this.routes, before, tunnel: forward, logger: this.logger, accessLog: this.#accessLog, tls });
      if (tls && s.redirectHttpPort > 0) {
        this.#redirect = new HttpsRedirect(() => (this.engine.server.address() as AddressInfo | null)?.port ?? s.port, s.keepAlive);
      }
    } catch (err) {
      void this.services.clients.close();
      throw err;
    }
  }

  #handlerFor(kind: 'static' | 'app' | 'cluster', target: string, line: number): Handler {
    const s = this.config.server;
    switch (kind) {
      case 'static':
        return new StaticHandler(target, {
          maxAge: s.staticMaxAge,
          cacheFileMax: s.staticCacheFileMax,
          cacheSize: s.staticCacheSize,
          onError: (message, err) => this.logger.error(message, err),
        });
      case 'app':
        const rpc = { maxBody: s.maxBodySize, devel: s.devel, logger: this.logger };
        return new AppHandler(target, {
          devel: s.devel,
          logger: this.logger,
          services: this.services,
          limits: { maxBody: s.maxBodySize, maxUpload: s.maxUploadSize },
        })
          .addEndpoint(new XmlRpcEndpoint(rpc))
          .addEndpoint(new JsonRpcEndpoint(rpc));
      case 'cluster':
        return new ProxyHandler(this.#upstreamFor(target, line), { maxBody: s.maxBodySize, logger: this.logger });
    }
  }

  /** `enable_proxy = yes`: absolute-form forwarding and CONNECT, limited by the proxy_* keys. */
  #forwardProxy(): ForwardHandler {
    const s = this.config.server;
    return new ForwardHandler({
      allow: s.proxyAllow,
      connectPorts: s.proxyConnectPorts,
      connectTimeout: s.proxyConnectTimeout,
      timeout: s.proxyTimeout,
      idleTimeout: s.proxyIdleTimeout,
      self: { port: () => (this.engine.server.address() as AddressInfo | null)?.port ?? s.port, ip: s.ip },
      logger: this.logger,
    });
  }

  /** The cluster a proxy route names; a postgresql cluster is a config error of that route line. */
  #upstreamFor(name: string, line: number): Upstream {
    try {
      return this.services.clients.upstream(name);
    } catch (err) {
      throw new SkitaiError('SKT_CONFIG_ROUTE', `line ${line}: cannot proxy to @${name}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Start handlers and listen on `[server] ip:port` (or the given port). */
  async listen(port?: number): Promise<AddressInfo> {
    const address = await this.engine.listen(port);
    const where = `${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
    this.logger.info(`${this.config.server.name} listening on ${this.config.server.ssl ? 'https://' : ''}${where} (pid ${process.pid})`);
    if (this.#redirect) {
      const r = await this.#redirect.listen(this.config.server.redirectHttpPort, this.config.server.ip);
      this.logger.info(`redirecting http on port ${r.port} to https`);
    }
    for (const mount of this.routes.mounts) {
      for (const h of mount.handlers) this.logger.info(`mounted ${mount.prefix || '/'} -> ${h.name}`);
    }
    return address;
  }

  /**
   * Graceful stop: finish in-flight requests within `graceMs` (default `grace_period`), stop
   * handlers, flush logs. `drain` keeps idle keep-alive connections until they close by themselves
   * (see Engine.close): for a worker handing over to its replacement.
   */
  async close(graceMs: number = this.config.server.gracePeriod, drain = false): Promise<void> {
    await Promise.all([this.engine.close(graceMs, drain), this.#redirect?.close()]);
    await this.services.clients.close();
    await this.#accessLog?.sink.close();
  }

  /** Reopen the log files (SIGUSR1, after an outside tool rotated them). */
  reopenLogs(): void {
    this.logger.sink.reopen();
    this.#accessLog?.sink.reopen();
  }
}

/**
 * Check what the config layer leaves to other layers (cluster sections) without starting
 * anything: no sockets, no timers. Throws the first SkitaiError, naming file, line and key.
 */
export function checkSite(config: SiteConfig): void {
  for (const cluster of Object.values(config.clusters)) if (clusterType(cluster) === 'http') parseClusterOptions(cluster);
}

/** Load the certificate and key as a start would (`--check`): a wrong passphrase is found here. */
export function checkTls(config: SiteConfig): void {
  loadTls(config);
}

function logTarget(value: string, dir: string): LogTarget {
  if (value === 'console' || value === 'off') return value;
  return { file: path.resolve(dir, value) };
}

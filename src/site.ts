import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { configSecrets } from './config/secrets.js';
import type { RouteEntry, SiteConfig } from './config/types.js';
import { Authenticator } from './auth/authenticator.js';
import { ADMIN_GROUP, parseUsers } from './auth/users.js';
import type { Upstream } from './client/upstream.js';
import { clusterType, isRequired, parseClusterOptions } from './cluster/options.js';
import { parseDbClusterOptions } from './db/options.js';
import { SkitaiError } from './errors.js';
import type { App } from './app/app.js';
import type { AppHandler } from './handlers/app.js';
import { ForwardHandler } from './handlers/forward.js';
import { MetricsHandler } from './handlers/metrics.js';
import { appHandler, nodeAppHandler } from './handlers/configured.js';
import { siteCors } from './handlers/cors.js';
import { render, siteFamilies, workerRegistry, type Families, type SupervisorInfo } from './handlers/metrics/collect.js';
import { PingHandler } from './handlers/ping.js';
import { ProxyHandler } from './handlers/proxy.js';
import { ReadyHandler, deadClusters } from './handlers/ready.js';
import { StaticHandler } from './handlers/static.js';
import { StatusHandler } from './handlers/status.js';
import type { AgentView, StatusParts } from './handlers/status/types.js';
import { faults } from './http/faults.js';
import type { Handler } from './http/handler.js';
import { HttpsRedirect } from './http/redirect.js';
import { RouteTable } from './http/routes.js';
import { Engine } from './http/server.js';
import { loadTls } from './http/tls.js';
import { AccessLog } from './log/access.js';
import { createLogger, openSink, type Logger, type LogTarget } from './log/logger.js';
import { MailAgent } from './mail/agent.js';
import { parseSmtpdaOptions, type SmtpdaOptions } from './mail/options.js';
import { MailSpool, summarizeSpool } from './mail/spool.js';
import { instancePaths } from './process/paths.js';
import { Services } from './services/services.js';

// For process/ (which may import this file only): how it names the request behind a fault, and counts it.
export { currentRequest, describeScope, faults, tracking } from './http/faults.js';
// For process/: what the primary passes between workers for a site-wide scrape and the status page.
export type { Families, MailCounts, SupervisorInfo } from './handlers/metrics/collect.js';
export { keepCounters } from './handlers/metrics/collect.js';
export type { AgentView, PrimaryView, StatusParts, WorkerPart, WorkerReport } from './handlers/status/types.js';

/** Options for building a site from its config. */
export interface SiteOptions {
  /** Server log; defaults to the console. */
  logger?: Logger;
  /** Print debug lines. */
  verbose?: boolean;
  /** Where request lines go instead of `[server] access_log` (a daemon sends `console` to a file). */
  accessLog?: LogTarget;
  /**
   * Run the `[smtpda]` delivery agent in this process (default yes). Workers under a primary say
   * no: the primary runs the site's one agent (see {@link startMailAgent}).
   */
  mailAgent?: boolean;
  /**
   * App objects to mount by prefix (`{ '/api': app }`), after the `[routes:line]` entries: for the
   * test client (`skitai/testing`) and embedding. They get the site's services, limits, users and
   * RPC endpoints, as a module named in `[routes:line]` does; their templates resolve against
   * the working directory.
   */
  apps?: Readonly<Record<string, App>>;
  /** This worker's slot (1, 2, …) under a primary: the `worker` label of its per-process metrics. */
  worker?: number;
  /**
   * Under a primary: every worker's metric families and the primary's numbers, for a scrape of
   * `metrics_path` that sums the whole site. Without it the process reports itself alone.
   */
  gatherMetrics?: () => Promise<{ parts: Families[]; info: SupervisorInfo }>;
  /** Under a primary: every worker's status report and the primary's numbers, for `status_path`. */
  gatherStatus?: () => Promise<StatusParts>;
}

/** Access lines may wait this long to be written to a file together (docs/logging.md). */
const ACCESS_BATCH_MS = 50;

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
  readonly #mailAgent: MailAgent | undefined;
  /** The worker's `was` services, shared by every app of the site. */
  readonly services: Services;
  /** The site's users (`admin_password`, `[users]`) and the login back-off of this worker. */
  readonly auth: Authenticator;
  /** This worker's metrics, read at scrape time; undefined without `metrics_path`. */
  readonly #metrics: ReturnType<typeof workerRegistry> | undefined;
  /** `status_path`'s handler: the primary asks each worker for its `workerReport()`. */
  readonly status: StatusHandler | undefined;

  constructor(
    readonly config: SiteConfig,
    options: SiteOptions = {},
  ) {
    const s = config.server;
    this.logger = options.logger ?? createLogger('console', s, options.verbose ?? false);
    const accessTarget = options.accessLog ?? logTarget(s.accessLog, config.dir);
    const accessFormat = s.accessLogFormat === 'auto' ? (this.logger.format === 'json' ? 'json' : 'skitai') : s.accessLogFormat;
    this.#accessLog = accessTarget === 'off' ? undefined : new AccessLog(openSink(accessTarget, ACCESS_BATCH_MS), accessFormat);
    // Built before the handlers: a bad [@cluster], [smtpda] or [users] section stops the start with its file and line.
    this.auth = buildAuth(config, this.logger);
    const smtpda = parseSmtpdaOptions(config);
    const mail = smtpda ? new MailSpool({ root: mailRoot(config), maxMessageSize: smtpda.maxMessageSize }) : undefined;
    if (smtpda && mail && smtpda.enabled && options.mailAgent !== false) {
      const agent = new MailAgent({ root: mail.dirs.root, options: smtpda, logger: this.logger });
      mail.onQueued = () => agent.wake();
      mail.agent = agent;
      this.#mailAgent = agent;
    }
    if (smtpda && !smtpda.enabled && options.mailAgent !== false) this.logger.warn('[smtpda] enabled = no: mail is spooled but not delivered');
    this.services = new Services({ clusters: config.clusters, resultCacheMax: s.numResultCacheMax, logger: this.logger, mail });
    try {
      this.routes = RouteTable.build(config, (route) => this.#handlerFor(route));
      for (const [prefix, app] of Object.entries(options.apps ?? {})) this.routes.add(prefix, this.#appHandler(app));
      const forward = s.enableProxy ? this.#forwardProxy() : undefined;
      // The forward proxy goes first: `GET http://elsewhere/ping` is for elsewhere, not for ping.
      const before: Handler[] = forward ? [forward, new PingHandler()] : [new PingHandler()];
      if (s.readyPath !== undefined) before.push(this.#readyHandler(s.readyPath));
      if (s.statusPath !== undefined) before.push((this.status = this.#statusHandler(s.statusPath, options)));
      if (s.metricsPath !== undefined) before.push(this.#metricsHandler(s.metricsPath, options));
      const cors = siteCors(config, this.routes);
      if (cors) before.push(cors);
      const tls = s.ssl ? loadTls(config) : undefined;
      this.engine = new Engine({
        config: s, routes: this.routes, before, tunnel: forward, logger: this.logger, accessLog: this.#accessLog, tls, secrets: configSecrets(config),
      });
      if (s.metricsPath !== undefined) {
        this.#metrics = workerRegistry({ engine: () => this.engine.metrics(), services: this.services, faults: () => faults.status(), worker: options.worker ?? 1 });
      }
      if (tls && s.redirectHttpPort > 0) {
        this.#redirect = new HttpsRedirect(() => (this.engine.server.address() as AddressInfo | null)?.port ?? s.port, s.keepAlive);
      }
    } catch (err) {
      void this.services.close();
      throw err;
    }
  }

  #handlerFor({ kind, target, line, export: name }: RouteEntry): Handler {
    const s = this.config.server;
    switch (kind) {
      case 'static':
        return new StaticHandler(target, {
          maxAge: s.staticMaxAge,
          cacheFileMax: s.staticCacheFileMax,
          cacheSize: s.staticCacheSize,
          hotCacheSize: s.staticCacheHotSize,
          precompressed: s.staticPrecompressed,
          onError: (message, err) => this.logger.error(message, err),
        });
      case 'app':
        return this.#appHandler(target);
      case 'cluster':
        return new ProxyHandler(this.#upstreamFor(target, line), { maxBody: s.maxBodySize, bodyLimit: s.maxProxyBodySize, logger: this.logger });
      case 'node':
        return nodeAppHandler(target, name, s, this.logger, this.services);
    }
  }

  /** An app module path from `[routes:line]`, or an App object from {@link SiteOptions.apps}. */
  #appHandler(source: string | App): AppHandler {
    return appHandler(source, this.config.server, this.logger, this.auth, this.services);
  }

  /** `[server] status_path`: the site's numbers (every worker's, through the primary), for group admin. */
  #statusHandler(path: string, options: SiteOptions): StatusHandler {
    return new StatusHandler({
      path, name: this.config.server.name, processes: this.config.server.processes, slot: options.worker ?? 1, gather: options.gatherStatus,
      auth: this.auth, services: this.services, logger: this.logger,
      traffic: () => this.engine.traffic(),
      faults: () => faults.status(),
      mounts: () => this.routes.mounts.map((m) => ({ prefix: (m.host ?? '') + (m.prefix || '/'), handlers: m.handlers.map((h) => h.name) })),
    });
  }

  /** `[server] ready_path`: 200 while serving, 503 while draining or while a required cluster has no live member. */
  #readyHandler(path: string): ReadyHandler {
    const required = Object.values(this.config.clusters).filter(isRequired).map((c) => ({ name: c.name, db: clusterType(c) === 'postgresql' }));
    return new ReadyHandler({ path, state: () => this.engine.state, deadClusters: () => deadClusters(this.services, required) });
  }

  /** `[server] metrics_path`: Prometheus text for `metrics_allow` and group admin. */
  #metricsHandler(path: string, options: SiteOptions): MetricsHandler {
    const single: SupervisorInfo = { workers: 1, restarts: 0, reloads: 0 };
    return new MetricsHandler({
      path,
      allow: this.config.server.metricsAllow,
      auth: this.auth,
      logger: this.logger,
      text: async () => {
        const { parts, info } = options.gatherMetrics ? await options.gatherMetrics() : { parts: [await this.metricFamilies()], info: single };
        return render([...parts, await siteFamilies(info, this.services.mail)]);
      },
    });
  }

  /** This worker's metric families (prom-client JSON), for the primary to sum; [] without `metrics_path`. */
  async metricFamilies(): Promise<Families> {
    return this.#metrics ? ((await this.#metrics.getMetricsAsJSON()) as unknown as Families) : [];
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
    // First: a spool that cannot be created stops the start instead of failing every send().
    await this.#mailAgent?.start();
    let address: AddressInfo;
    try {
      address = await this.engine.listen(port);
    } catch (err) {
      // The agent's directory watch would keep a process that failed to start alive (skitaid hung
      // after "start-up failed" when the port was taken).
      await this.#mailAgent?.stop(0);
      throw err;
    }
    const where = `${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
    this.logger.info(`${this.config.server.name} listening on ${this.config.server.ssl ? 'https://' : ''}${where} (pid ${process.pid})`);
    if (this.#redirect) {
      const r = await this.#redirect.listen(this.config.server.redirectHttpPort, this.config.server.ip);
      this.logger.info(`redirecting http on port ${r.port} to https`);
    }
    for (const mount of this.routes.mounts) {
      for (const h of mount.handlers) this.logger.info(`mounted ${mount.host ?? ''}${mount.prefix || '/'} -> ${h.name}`);
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
    // After the engine: a request finishing during the grace period may still queue mail.
    await this.#mailAgent?.stop(Math.min(graceMs, 5_000));
    await this.services.close();
    await this.#accessLog?.close();
  }

  /** Reopen the log files (SIGUSR1, after an outside tool rotated them). */
  reopenLogs(): void {
    this.logger.sink.reopen();
    this.#accessLog?.reopen();
  }
}

/**
 * Check what the config layer leaves to other layers (cluster sections) without starting
 * anything: no sockets, no timers. Throws the first SkitaiError, naming file, line and key.
 */
export function checkSite(config: SiteConfig): void {
  buildAuth(config);
  siteCors(config, new RouteTable());
  parseSmtpdaOptions(config);
  for (const cluster of Object.values(config.clusters)) {
    isRequired(cluster);
    if (clusterType(cluster) === 'http') parseClusterOptions(cluster);
    else parseDbClusterOptions(cluster);
  }
  // The reverse proxy speaks HTTP only; the Site would refuse this route at start.
  for (const route of config.routes) {
    const type = route.kind === 'cluster' ? clusterType(config.clusters[route.target]!) : 'http';
    if (type !== 'http') {
      throw new SkitaiError('SKT_CONFIG_ROUTE', `cannot proxy to @${route.target}: it is a ${type} cluster, and the reverse proxy speaks HTTP`, {
        place: { file: config.file || undefined, line: route.line, section: 'routes:line', key: route.prefix || '/' },
      });
    }
  }
}

/**
 * `skitaid --check`: import every app module of `[routes:line]` and run the checks its start runs
 * (it exports `app`, protected routes have users, sessions have a key, a named template folder
 * exists) without startup hooks, sockets or timers. Throws the first error, placed at its route line.
 */
export async function checkApps(config: SiteConfig, logger: Logger = createLogger('console', config.server)): Promise<void> {
  const auth = buildAuth(config);
  for (const route of config.routes) {
    if (route.kind !== 'app' && route.kind !== 'node') continue;
    try {
      if (route.kind === 'node') await nodeAppHandler(route.target, route.export, config.server, logger).check();
      else await appHandler(route.target, config.server, logger, auth).check();
    } catch (err) {
      if (!(err instanceof SkitaiError) || err.place) throw err;
      const place = { file: config.file || undefined, line: route.line, section: 'routes:line', key: route.prefix || '/' };
      throw new SkitaiError(err.code, err.message, { cause: err, place });
    }
  }
}

/** Load the certificate and key as a start would (`--check`): a wrong passphrase is found here. */
export function checkTls(config: SiteConfig): void {
  loadTls(config);
}

/** `<var_path>/mail`: the spool, undeliver and corrupt directories of the site's mail. */
export function mailRoot(config: SiteConfig): string {
  return path.join(instancePaths(config).varDir, 'mail');
}

/** `mail     3 queued, …` for `skitaid status`; undefined without `[smtpda]`. */
export function mailSummary(config: SiteConfig): string | undefined {
  if (config.sections['smtpda'] === undefined) return undefined;
  return `  mail     ${summarizeSpool(mailRoot(config))}\n`;
}

/**
 * Start the site's delivery agent outside a Site (the primary, which serves no requests, runs the
 * one agent of a multi-worker site). Undefined when `[smtpda]` is absent or `enabled = no`.
 */
export async function startMailAgent(config: SiteConfig, logger: Logger): Promise<{ stop(graceMs?: number): Promise<void>; status(): AgentView } | undefined> {
  const smtpda: SmtpdaOptions | undefined = parseSmtpdaOptions(config);
  if (smtpda && !smtpda.enabled) logger.warn('[smtpda] enabled = no: mail is spooled but not delivered');
  if (!smtpda?.enabled) return undefined;
  const agent = new MailAgent({ root: mailRoot(config), options: smtpda, logger });
  await agent.start();
  return agent;
}

/**
 * The site's users. `status_path` without a user in group admin is a config error at that key: a
 * page nobody can open is a mistake to report at start, not a 401 to puzzle over later.
 */
function buildAuth(config: SiteConfig, logger?: Logger): Authenticator {
  const users = parseUsers(config);
  const s = config.server;
  const admins = [...users.values()].some((u) => u.groups.includes(ADMIN_GROUP));
  if (s.metricsPath !== undefined && !admins && s.metricsAllow.length === 0) {
    throw new SkitaiError('SKT_AUTH_NO_USERS', 'metrics_path is set, but nobody may read it: set metrics_allow (the Prometheus server\'s address) or admin_password', {
      place: { file: config.file || undefined, line: config.keyLines['server']?.['metrics_path'], section: 'server', key: 'metrics_path' },
    });
  }
  if (s.statusPath !== undefined && !admins) {
    throw new SkitaiError('SKT_AUTH_NO_USERS', 'status_path is set, but no user is in group admin: set admin_password (or a [users] line with group admin)', {
      place: { file: config.file || undefined, line: config.keyLines['server']?.['status_path'], section: 'server', key: 'status_path' },
    });
  }
  return new Authenticator({ users, name: s.name, failureLimit: s.authFailureLimit, logger });
}

function logTarget(value: string, dir: string): LogTarget {
  if (value === 'console' || value === 'off') return value;
  return { file: path.resolve(dir, value) };
}

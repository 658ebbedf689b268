import type { Clock } from '../cluster/clock.js';
import type { Cluster } from '../cluster/cluster.js';
import type { Logger } from '../log/logger.js';
import type { MailSpool } from '../mail/spool.js';
import { Clients, type ClientsOptions, type ClientsStatus } from './clients.js';
import { ServicesCore } from './core.js';
import { Databases, type DatabasesOptions, type DatabasesStatus } from './databases.js';

/** Settings of a worker's services: those of both faces, and the mail spool. Durations in MILLISECONDS. */
export interface ServicesOptions extends ClientsOptions, DatabasesOptions {
  /** The mail spool behind `was.email()`; absent when the site has no `[smtpda]` section. */
  readonly mail?: MailSpool | undefined;
}

/** `was.status()`'s view: the HTTP clusters and their result cache, and the databases. */
export interface ServicesStatus extends ClientsStatus {
  readonly databases: DatabasesStatus;
}

/**
 * The services behind `was`, one per worker: built from the config at start (a bad `[@name]`
 * section is a start-up error, naming its file and line) and closed at shutdown. It owns the
 * `[@name]` clusters of both types, the clock every cluster and call runs on, the result caches
 * and the logger; `clients` (`was.map/lb/rest/ws…`) and `databases` (`was.dmap/dlb/db`) are its
 * two faces over them. The status page, `ready_path` and `/metrics` read it through
 * {@link status} and {@link clusters}.
 */
export class Services {
  /** Outgoing HTTP/RPC calls: `map`, `lb`, `rest`, `wget`, verbs, WebSockets, and the reverse proxy's clusters. */
  readonly clients: Clients;
  /** PostgreSQL calls: `dmap`, `dlb`, `db`, pools per member. */
  readonly databases: Databases;
  /** The mail spool behind `was.email()`; absent when the site has no `[smtpda]` section. */
  readonly mail: MailSpool | undefined;
  /** The server log; `was.log` binds a child of it to the request. Absent: a text logger on stdout. */
  readonly logger: Logger | undefined;
  /** The clock of every cluster and call of this worker (a test's manual clock, or the monotonic one). */
  readonly clock: Clock;
  readonly #core: ServicesCore;

  constructor(options: ServicesOptions = {}) {
    const core = new ServicesCore(options, { http: true, postgresql: true });
    this.#core = core;
    this.clock = core.clock;
    this.logger = options.logger;
    this.mail = options.mail;
    try {
      this.clients = new Clients(options, core);
      this.databases = new Databases(options, core);
    } catch (err) {
      void core.registry.close('http', 0);
      void core.registry.close('postgresql', 0);
      throw err;
    }
  }

  /** Every cluster, HTTP then PostgreSQL, in config order: members, states, in-flight, latency, breaker. */
  status(): ServicesStatus {
    return { ...this.clients.status(), databases: this.databases.status() };
  }

  /** Every wired cluster of both types, for the metrics' per-member latency histograms. */
  clusters(): Cluster[] {
    return this.#core.registry.clusters();
  }

  /** One round of active health checks on every cluster that has them. */
  async checkHealth(): Promise<void> {
    await Promise.all([this.clients.checkHealth(), this.databases.checkHealth()]);
  }

  /**
   * Stop the clusters' timers (health checks, DNS re-resolution) and close every pool: work in
   * flight gets `closeGrace` ms. Later calls get NETERR `SKT_CLIENT_CLOSED` / `SKT_DB_CLOSED`.
   */
  async close(): Promise<void> {
    await Promise.all([this.clients.close(), this.databases.close()]);
  }
}

import { Clients } from '../client/clients.js';
import type { MailSpool } from '../mail/spool.js';
import { Databases } from '../db/databases.js';
import type { Logger } from '../log/logger.js';

/**
 * The server-wide services behind `was`: one set per worker, built by the site from the config
 * and closed at shutdown. Later layers (PostgreSQL, mail) add their members here.
 */
export interface WasServices {
  /** Outgoing HTTP/RPC calls: `map`, `lb`, `rest`, `wget`, verbs, result cache, cluster health. */
  readonly clients: Clients;
  /** The mail spool behind `was.email()`; absent when the site has no `[smtpda]` section. */
  readonly mail?: MailSpool | undefined;
  /** PostgreSQL calls: `dmap`, `dlb`, `db`, pools per member, their result cache. */
  readonly databases: Databases;
  /** The server log; `was.log` binds a child of it to the request. Absent: a text logger on stdout. */
  readonly logger?: Logger | undefined;
}

let standalone: WasServices | undefined;

/**
 * Services for an app mounted without a site (embedding, unit tests): no clusters, but `rest`,
 * `wget` and `db` work. Made on first use, shared by every such app.
 */
export function standaloneServices(): WasServices {
  standalone ??= { clients: new Clients(), databases: new Databases() };
  return standalone;
}

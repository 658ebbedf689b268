import { Services } from '../services/services.js';

/**
 * The server-wide services behind `was` (`was.services`): one {@link Services} per worker, built
 * by the site from the config and closed at shutdown. The old name of that type, kept for code
 * that names it.
 */
export type WasServices = Services;

let standalone: Services | undefined;

/**
 * Services for an app mounted without a site (embedding, unit tests): no clusters, but `rest`,
 * `wget` and `db` work. Made on first use, shared by every such app.
 */
export function standaloneServices(): Services {
  standalone ??= new Services();
  return standalone;
}

import { CLUSTER_KEYS, DB_CLUSTER_KEYS } from './cluster-keys.js';
import type { KeySpec } from './keys.js';
import { SERVER_KEYS } from './schema.js';
import { SMTPDA_KEYS } from './smtpda-keys.js';
import type { SiteConfig } from './types.js';

/**
 * Shorter secrets are not hidden on error pages: masking every occurrence of a 3-letter string
 * would garble a stack while hiding next to nothing. Config keys with a minimum ask for 6.
 */
const MIN_HIDDEN = 4;

/** Secret key names per table, for sections whose values are still strings. */
const secretKeys = (table: readonly KeySpec[]): string[] => table.filter((k) => k.secret).flatMap((k) => [k.key, ...(k.aliases ?? [])]);
const SECTION_SECRETS: Readonly<Record<string, readonly string[]>> = { smtpda: secretKeys(SMTPDA_KEYS) };
const CLUSTER_SECRETS = [...new Set([...secretKeys(CLUSTER_KEYS), ...secretKeys(DB_CLUSTER_KEYS)])];

/**
 * Every secret value the site's config holds, for error pages to blank out (devel mode shows
 * messages and stacks, and an app's error text may quote one): the keys every table marks secret, in
 * every section, and `[users]` passwords. Credentials inside URLs (`//user:pw@host`) are hidden by
 * pattern, wherever they come from.
 */
export function configSecrets(config: SiteConfig): string[] {
  const found = new Set<string>();
  const add = (value: unknown): void => {
    if (typeof value === 'string' && value.length >= MIN_HIDDEN) found.add(value);
  };
  for (const spec of SERVER_KEYS) if (spec.secret) add(config.server[spec.prop]);
  for (const [section, keys] of Object.entries(SECTION_SECRETS)) for (const key of keys) add(config.sections[section]?.[key]?.trim());
  for (const cluster of Object.values(config.clusters)) for (const key of CLUSTER_SECRETS) add(cluster.values[key]?.trim());
  // `name = password group,group`: the password is the first word.
  for (const line of Object.values(config.sections['users'] ?? {})) add(line.trim().split(/\s+/)[0]);
  return [...found];
}

import { SERVER_KEYS } from './schema.js';
import type { SiteConfig } from './types.js';

/**
 * Shorter secrets are not hidden on error pages: masking every occurrence of a 3-letter string
 * would garble a stack while hiding next to nothing. Config keys with a minimum ask for 6.
 */
const MIN_HIDDEN = 4;

/**
 * Every secret value the site's config holds, for error pages to blank out (devel mode shows
 * messages and stacks, and an app's error text may quote one): the `[server]` keys marked secret,
 * `[users]` passwords and `[smtpda] password`. Credentials inside URLs (`//user:pw@host`) are hidden
 * by pattern, wherever they come from, so database member specs need no entry here.
 */
export function configSecrets(config: SiteConfig): string[] {
  const found = new Set<string>();
  const add = (value: unknown): void => {
    if (typeof value === 'string' && value.length >= MIN_HIDDEN) found.add(value);
  };
  for (const spec of SERVER_KEYS) if (spec.secret) add(config.server[spec.prop]);
  // `name = password group,group`: the password is the first word.
  for (const line of Object.values(config.sections['users'] ?? {})) add(line.trim().split(/\s+/)[0]);
  add(config.sections['smtpda']?.['password']);
  return [...found];
}

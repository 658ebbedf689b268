import { createHash } from 'node:crypto';
import type { SiteConfig } from '../config/types.js';
import { SkitaiError, type ConfigPlace } from '../errors.js';

/** The group that may do everything, as in Skitai: `admin` passes every `permitTo` check. */
export const ADMIN_GROUP = 'admin';

/** A user who proved who they are. Never carries the password. */
export interface AuthUser {
  readonly name: string;
  readonly groups: readonly string[];
}

/** A user as the authenticator keeps it: the SHA-256 of the password, never the password. */
export interface UserEntry extends AuthUser {
  readonly digest: Buffer;
}

const NAME = /^[a-z0-9][a-z0-9._@-]*$/;
const GROUP = /^[A-Za-z0-9][\w.-]*$/;
const MIN_PASSWORD = 6;

/** SHA-256 of a password: equal-length digests let the comparison be constant-time. */
export function digestOf(password: string): Buffer {
  return createHash('sha256').update(password, 'utf8').digest();
}

/**
 * The site's users: `admin` with `[server] admin_password` (group admin), plus one per line of the
 * optional `[users]` section, `name = password group,group`. Throws SkitaiError naming file, line and
 * key for a bad line; a message never repeats a password.
 */
export function parseUsers(config: SiteConfig): Map<string, UserEntry> {
  const users = new Map<string, UserEntry>();
  const admin = config.server.adminPassword;
  if (admin !== undefined) users.set('admin', Object.freeze({ name: 'admin', groups: Object.freeze([ADMIN_GROUP]), digest: digestOf(admin) }));
  const section = config.sections['users'];
  if (section === undefined) return users;
  const lines = config.keyLines['users'] ?? {};
  for (const [name, value] of Object.entries(section)) {
    const place: ConfigPlace = { file: config.file || undefined, line: lines[name], section: 'users', key: name };
    const fail = (message: string): never => {
      throw new SkitaiError('SKT_CONFIG_VALUE', message, { place });
    };
    if (name === 'admin') fail("the admin user's password is [server] admin_password; give other administrators their own names with group admin");
    if (!NAME.test(name)) fail('a user name is letters, digits, ".", "_", "@" or "-" (no ":", which Basic credentials cannot carry)');
    const m = /^(\S+)(?:\s+(.*))?$/.exec(value.trim());
    const password = m?.[1];
    if (!password) fail('expected "password group,group"');
    if (password!.length < MIN_PASSWORD) fail(`the password is shorter than ${MIN_PASSWORD} characters`);
    const groups = (m![2] ?? '').split(',').map((g) => g.trim()).filter(Boolean);
    if (groups.length === 0) fail('expected "password group,group": the user has no group, so no permitTo would let it in');
    if (groups.some((g) => /\s/.test(g))) fail('expected "password group,group": a password cannot contain spaces, and groups are separated by commas');
    const bad = groups.findIndex((g) => !GROUP.test(g));
    // Not echoed: on a line with a space typed inside the password, the "group" is the password's tail.
    if (bad >= 0) fail(`group ${bad + 1} of ${groups.length} is not a group name (letters, digits, ".", "_" or "-"); a password cannot contain spaces`);
    users.set(name, Object.freeze({ name, groups: Object.freeze([...new Set(groups)]), digest: digestOf(password!) }));
  }
  return users;
}

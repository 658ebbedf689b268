/**
 * The sections a config file may have. An unknown one is an error, not ignored: `[serverr]` or
 * `[smtpd]` would otherwise leave the settings under it silently unused.
 */
import { SkitaiError } from '../errors.js';
import { sectionLabel, type IniSection } from './ini.js';
import type { SourceContext } from './server.js';
import { nearest } from './suggest.js';

/**
 * Every section besides `[@name]` clusters, with its form. The owner validates the keys: the
 * config layer (`server`, `routes`), `auth/users.ts` (`users`), `mail/options.ts` (`smtpda`).
 * A new service that reads a section adds it here.
 */
export const KNOWN_SECTIONS: Readonly<Record<string, 'keys' | 'lines'>> = {
  server: 'keys',
  routes: 'lines',
  users: 'keys',
  smtpda: 'keys',
};

/** Throw SKT_CONFIG_UNKNOWN_SECTION (with a suggestion) or SKT_CONFIG_SYNTAX (wrong form) unless `section` is known as written. */
export function checkSection(section: IniSection, ctx: SourceContext): void {
  const place = { file: ctx.file, line: section.line, section: sectionLabel(section) };
  const kind = KNOWN_SECTIONS[section.name];
  if (kind === undefined) {
    throw new SkitaiError('SKT_CONFIG_UNKNOWN_SECTION', `unknown section [${sectionLabel(section)}]${suggestion(section)} (docs/config.md lists the sections)`, { place });
  }
  if (section.kind !== kind) {
    throw new SkitaiError('SKT_CONFIG_SYNTAX', `write [${sectionLabel({ kind, name: section.name })}], not [${sectionLabel(section)}]`, { place });
  }
}

function suggestion(section: IniSection): string {
  // A cluster written without its "@" is recognised by its members key.
  if (section.kind === 'keys' && section.entries.has('members')) return `; did you mean [@${section.name}]? (a cluster section starts with "@")`;
  const name = section.name.toLowerCase();
  const near = nearest(name, Object.keys(KNOWN_SECTIONS));
  if (near === undefined) return '';
  const label = sectionLabel({ kind: KNOWN_SECTIONS[near]!, name: near });
  return `; did you mean [${label}]?${near === name ? ' (section names are lower-case)' : ''}`;
}

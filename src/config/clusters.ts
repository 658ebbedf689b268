/**
 * `[@name]` sections -> ClusterConfig. Only `members` is checked here (present, not empty); the
 * cluster and DB layers read the rest with the one section reader (`reader.ts`) and their tables
 * (`cluster-keys.ts`), reporting with the lines kept in `keyLines`.
 */
import path from 'node:path';
import { SkitaiError } from '../errors.js';
import type { IniSection } from './ini.js';
import type { RawEntry, RawSection } from './reader.js';
import type { SourceContext } from './server.js';
import type { ClusterConfig } from './types.js';

/** Whether a section name (`@backend`) declares a cluster. */
export function isClusterSection(name: string): boolean {
  return name.startsWith('@');
}

/** Check and convert one `[@name]` section. */
export function buildCluster(section: IniSection, ctx: SourceContext): ClusterConfig {
  const name = section.name.slice(1);
  const fail = (message: string, line = section.line, key?: string): never => {
    throw new SkitaiError('SKT_CONFIG_VALUE', message, { place: { file: ctx.file, line, section: section.name, ...(key ? { key } : {}) } });
  };
  if (section.kind !== 'keys') fail(`a cluster section is key/value: write [${section.name}], not a :line or :data section`);
  if (!/^[\w.-]+$/.test(name)) fail('a cluster name uses letters, digits, ".", "_" or "-"');
  const entries = (section as Extract<IniSection, { kind: 'keys' }>).entries;
  const members = entries.get('members');
  if (!members) fail('missing "members" (e.g. members = 127.0.0.1:5001, 127.0.0.1:5002)');
  // Members may hold credentials (`host:port/db/user/password`): the message must not quote them.
  if (members!.value.replace(/[,\s]/g, '') === '') fail('"members" is empty', members!.line, 'members');
  const values: Record<string, string> = {};
  const keyLines: Record<string, number> = {};
  const written: Record<string, string> = {};
  for (const e of entries.values()) {
    values[e.key] = e.value;
    keyLines[e.key] = e.line;
    if (e.written !== undefined) written[e.key] = e.written;
  }
  return { name, file: ctx.file, line: section.line, values, keyLines, dir: ctx.dir, written };
}

/** A cluster section as the section reader takes it. */
export function clusterSection(config: ClusterConfig): RawSection {
  const dir = config.dir ?? (path.isAbsolute(config.file) ? path.dirname(config.file) : process.cwd());
  const entries = Object.entries(config.values).map(([key, value]): [string, RawEntry] => {
    const written = config.written?.[key];
    return [key, { value, line: config.keyLines[key], ...(written !== undefined ? { written } : {}) }];
  });
  return { file: config.file, dir, section: `@${config.name}`, line: config.line, entries };
}

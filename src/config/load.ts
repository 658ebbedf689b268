/**
 * Entry points of the config layer: a file or a string in, one deeply frozen SiteConfig out. Nothing
 * outside `src/config/` reads INI text.
 */
import fs from 'node:fs';
import path from 'node:path';
import { SkitaiError } from '../errors.js';
import { buildCluster, isClusterSection } from './clusters.js';
import { parseIni, sectionLabel, type IniLine, type IniSection } from './ini.js';
import type { Env } from './env.js';
import { buildRoutes } from './routes.js';
import { checkSection } from './sections.js';
import { buildServer, defaultServer, type SourceContext } from './server.js';
import type { ClusterConfig, ConfigLine, ServerConfig, SiteConfig } from './types.js';

/** Read and validate a config file; relative paths in it resolve against its directory. */
export async function loadConfig(file: string): Promise<SiteConfig> {
  const abs = path.resolve(file);
  let text: string;
  try {
    text = await fs.promises.readFile(abs, 'utf8');
  } catch (err) {
    throw readError(abs, err);
  }
  return parseConfigText(text, abs, path.dirname(abs));
}

/** {@link loadConfig} for places that cannot await (CLI `--check`, process bootstrap). */
export function loadConfigSync(file: string): SiteConfig {
  const abs = path.resolve(file);
  let text: string;
  try {
    text = fs.readFileSync(abs, 'utf8');
  } catch (err) {
    throw readError(abs, err);
  }
  return parseConfigText(text, abs, path.dirname(abs));
}

/**
 * Validate config text without a file (tests, tools). `file` only names the source in errors;
 * `dir` is where relative route targets and paths resolve. Route targets must exist. `${NAME}`
 * references read `env` (default `process.env`).
 */
export function parseConfigText(text: string, file = '<inline>', dir: string = process.cwd(), env: Env = process.env): SiteConfig {
  const ctx: SourceContext = { file, dir: path.resolve(dir) };
  const doc = parseIni(text, file, env);
  let server: IniSection | undefined;
  let routes: readonly IniLine[] = [];
  const clusters: Record<string, ClusterConfig> = {};
  const sections: Record<string, Record<string, string>> = {};
  const lineSections: Record<string, ConfigLine[]> = {};
  const dataSections: Record<string, string> = {};
  const keyLines: Record<string, Record<string, number>> = {};
  const written: Record<string, Record<string, string>> = {};

  for (const section of doc.sections.values()) {
    if (section.kind === 'keys') {
      keyLines[section.name] = Object.fromEntries([...section.entries.values()].map((e) => [e.key, e.line]));
      const refs = [...section.entries.values()].filter((e) => e.written !== undefined);
      if (refs.length > 0) written[section.name] = Object.fromEntries(refs.map((e) => [e.key, e.written!]));
    }
    if (section.name === 'server') {
      server = expectKind(section, 'keys', ctx);
    } else if (section.name === 'routes') {
      routes = (expectKind(section, 'lines', ctx) as Extract<IniSection, { kind: 'lines' }>).lines;
    } else if (isClusterSection(section.name)) {
      const cluster = buildCluster(section, ctx);
      clusters[cluster.name] = cluster;
    } else if (section.kind === 'keys') {
      checkSection(section, ctx);
      sections[section.name] = Object.fromEntries([...section.entries.values()].map((e) => [e.key, e.value]));
    } else if (section.kind === 'lines') {
      checkSection(section, ctx);
      lineSections[section.name] = section.lines.map((l) => ({ text: l.text, line: l.line }));
    } else {
      checkSection(section, ctx);
      dataSections[section.name] = section.text;
    }
  }

  const site: SiteConfig = {
    file,
    dir: ctx.dir,
    server: buildServer(server?.kind === 'keys' ? server.entries : undefined, ctx),
    ...buildRoutes(routes, new Set(Object.keys(clusters)), ctx),
    clusters,
    sections,
    lineSections,
    dataSections,
    written,
    keyLines,
  };
  const certHost = site.hostGroups.find((g) => g.certfile !== undefined);
  if (certHost && !site.server.ssl) {
    throw new SkitaiError('SKT_CONFIG_VALUE', 'certfile on an "@" line needs ssl = yes in [server]', { place: { file, line: certHost.line, section: 'routes:line', key: '@' } });
  }
  return deepFreeze(site);
}

/**
 * The embedded defaults (`npm start` without a file, tests): every `[server]` default, no routes.
 * `overrides` are typed values in stored units (ms, bytes) and get the same range checks as a file.
 */
export function defaultConfig(overrides: Partial<ServerConfig> = {}): SiteConfig {
  const dir = process.cwd();
  return deepFreeze({
    file: '',
    dir,
    server: defaultServer(overrides, { file: '', dir }),
    routes: [],
    hostGroups: [],
    defaultGroup: true,
    clusters: {},
    sections: {},
    lineSections: {},
    dataSections: {},
    keyLines: {},
  });
}

// `[server]` must be key/value and `[routes]` a line list; the other form would parse into
// something silently wrong (a [routes] map would call two routes on "/" a duplicate key).
function expectKind(section: IniSection, kind: 'keys' | 'lines', ctx: SourceContext): IniSection {
  if (section.kind !== kind) {
    const want = sectionLabel({ kind, name: section.name });
    throw new SkitaiError('SKT_CONFIG_SYNTAX', `write [${want}], not [${sectionLabel(section)}]`, {
      place: { file: ctx.file, line: section.line, section: sectionLabel(section) },
    });
  }
  return section;
}

function readError(file: string, err: unknown): SkitaiError {
  const code = (err as NodeJS.ErrnoException).code;
  const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : code === 'EACCES' ? 'permission denied' : String(code ?? err);
  return new SkitaiError('SKT_CONFIG_READ', `cannot read the config file: ${why}`, { cause: err, place: { file } });
}

/** Freeze an object graph so no layer can change config another layer relies on. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

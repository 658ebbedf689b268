/**
 * `[routes:line]` -> RouteEntry[]: each line `<prefix> = <target>`, in file order, duplicates kept
 * (a static directory and an app may share a prefix). Targets are resolved now, so a typo in a path
 * fails at startup with its line instead of as a 404 later. An `@ host…` line starts a host group
 * (config/hostline.ts).
 *
 * The forms: `@name` (a cluster), `<module>:<export>` (a Node app: the target ends in `:` and a JS
 * identifier, as Skitai 0.10's `module:callable`), else a path (a directory, or a module exporting
 * a Skitai `app`). A directory whose name ends that way is written with a trailing slash (`./v:x/`).
 */
import fs from 'node:fs';
import path from 'node:path';
import { SkitaiError } from '../errors.js';
import { hostLine, HostNames } from './hostline.js';
import type { IniLine } from './ini.js';
import type { SourceContext } from './server.js';
import type { HostGroup, RouteEntry } from './types.js';

/** Extensions tried, in order, after a module path written without one (`/ = ./webapp`). */
export const MODULE_EXTENSIONS = ['.ts', '.js', '.mjs'] as const;

/** The route lines and host groups of `[routes:line]`. */
export interface RouteLines {
  routes: RouteEntry[];
  hostGroups: HostGroup[];
  defaultGroup: boolean;
}
/** Extensions a Node app module may have: CommonJS too (Express apps often are). */
const NODE_EXTENSIONS = ['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs'] as const;

/** `./server.js:app`, `../legacy/index:default`: a module path, `:`, an export name. */
const NODE_TARGET = /^(.+?):([A-Za-z_$][\w$]*)$/;

/** Resolve every route line; `clusters` holds the names of the `[@name]` sections. */
export function buildRoutes(lines: readonly IniLine[], clusters: ReadonlySet<string>, ctx: SourceContext): RouteLines {
  const routes: RouteEntry[] = [];
  const hostGroups: HostGroup[] = [];
  const names = new HostNames();
  let group: HostGroup | undefined;
  let defaultGroup = false;
  for (const l of lines) {
    if (l.text.startsWith('@')) {
      group = hostLine(l, names, ctx);
      if (group) hostGroups.push(group);
      else defaultGroup = true;
      continue;
    }
    if (hostGroups.length === 0) defaultGroup = true;
    const route = buildRoute(l, clusters, ctx);
    routes.push(group ? { ...route, group } : route);
  }
  return { routes, hostGroups, defaultGroup: defaultGroup || hostGroups.length === 0 };
}

function buildRoute({ text, line }: IniLine, clusters: ReadonlySet<string>, ctx: SourceContext): RouteEntry {
  const eq = text.indexOf('=');
  const rawPrefix = eq < 0 ? text : text.slice(0, eq).trim();
  const fail = (message: string): never => {
    throw new SkitaiError('SKT_CONFIG_ROUTE', message, { place: { file: ctx.file, line, section: 'routes:line', key: rawPrefix } });
  };
  if (eq < 0) fail('expected "<prefix> = <target>", e.g. "/ = ./static"');
  const target = text.slice(eq + 1).trim();
  if (!rawPrefix.startsWith('/')) fail('the prefix must start with "/"');
  if (/[\s?#]/.test(rawPrefix)) fail('the prefix must not contain spaces, "?" or "#"');
  if (target === '') fail('missing target after "="');
  const prefix = rawPrefix.replace(/\/+$/, '');

  if (target.startsWith('@')) {
    const name = target.slice(1);
    if (!clusters.has(name)) fail(`unknown cluster "${target}": add a [${target}] section with members`);
    return { prefix, kind: 'cluster', target: name, line };
  }
  const named = NODE_TARGET.exec(target);
  if (named) return nodeRoute(prefix, named[1]!, named[2]!, line, ctx, fail);
  const resolved = path.resolve(ctx.dir, target);
  const stat = fs.statSync(resolved, { throwIfNoEntry: false });
  if (stat?.isDirectory()) return { prefix, kind: 'static', target: resolved, line };
  if (stat?.isFile()) {
    if (!MODULE_EXTENSIONS.some((ext) => resolved.endsWith(ext))) {
      fail(`${resolved} is neither a directory nor a module (${MODULE_EXTENSIONS.join(', ')})`);
    }
    return { prefix, kind: 'app', target: resolved, line };
  }
  for (const ext of MODULE_EXTENSIONS) {
    if (fs.statSync(resolved + ext, { throwIfNoEntry: false })?.isFile()) return { prefix, kind: 'app', target: resolved + ext, line };
  }
  return fail(`target not found: ${resolved} (not a directory, nor a module with ${MODULE_EXTENSIONS.join(', ')})`);
}

/** `<module>:<export>`: the module is a file, given with its extension or found by trying them. */
function nodeRoute(prefix: string, module: string, name: string, line: number, ctx: SourceContext, fail: (message: string) => never): RouteEntry {
  const resolved = path.resolve(ctx.dir, module);
  const isFile = (file: string): boolean => fs.statSync(file, { throwIfNoEntry: false })?.isFile() === true;
  if (isFile(resolved)) {
    if (!NODE_EXTENSIONS.some((ext) => resolved.endsWith(ext))) fail(`${resolved} is not a module (${NODE_EXTENSIONS.join(', ')})`);
    return { prefix, kind: 'node', target: resolved, export: name, line };
  }
  for (const ext of NODE_EXTENSIONS) if (isFile(resolved + ext)) return { prefix, kind: 'node', target: resolved + ext, export: name, line };
  const whole = path.resolve(ctx.dir, `${module}:${name}`);
  const hint = fs.existsSync(whole) ? `; for the directory ${whole} write "${module}:${name}/"` : '';
  return fail(`module not found: ${resolved} (with ${NODE_EXTENSIONS.join(', ')}), named by "${module}:${name}" (module:export)${hint}`);
}

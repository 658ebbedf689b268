import fs from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { SkitaiError } from '../errors.js';
import { App } from './app.js';

const requireCache = createRequire(import.meta.url).cache;

/** The file's identity for change detection: mtime and size, as Skitai compared them. */
export function fileStamp(file: string): string {
  const st = fs.statSync(file);
  return `${st.mtimeMs}:${st.size}`;
}

/**
 * Import an app module (`.ts` works without a build step: the process runs under tsx) and return
 * its exported `app`. `generation` > 0 forces a fresh evaluation, for devel-mode reloads; only the
 * module itself is re-evaluated, not the modules it imports.
 */
export async function loadAppModule(file: string, generation = 0): Promise<App> {
  let mod: Record<string, unknown>;
  try {
    if (generation > 0) delete requireCache[file]; // CommonJS-typed modules ignore the URL query
    const url = pathToFileURL(file).href + (generation > 0 ? `?v=${generation}` : '');
    mod = (await import(url)) as Record<string, unknown>;
  } catch (err) {
    throw new SkitaiError('SKT_APP_LOAD', `cannot load app module ${file}: ${(err as Error).message}`, { cause: err });
  }
  const app = mod.app ?? (mod.default as Record<string, unknown> | undefined)?.app;
  if (!isApp(app)) {
    throw new SkitaiError('SKT_APP_LOAD', `${file} does not export \`app\` (export const app = new App())`);
  }
  return app;
}

/**
 * Duck-typed so an app built against another copy of the package (a linked checkout, a second
 * node_modules) still mounts.
 */
function isApp(value: unknown): value is App {
  if (value instanceof App) return true;
  const v = value as Partial<App> | undefined;
  return typeof v === 'object' && v !== null && typeof v.match === 'function' && typeof v.hooks === 'object';
}

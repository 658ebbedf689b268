import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SkitaiError } from '../errors.js';
import { App } from './app.js';

const requireCache = createRequire(import.meta.url).cache;

/** The file's identity for change detection: mtime and size, as Skitai compared them. */
export function fileStamp(file: string): string {
  const st = fs.statSync(file);
  return `${st.mtimeMs}:${st.size}`;
}

/** Extensions that need a TypeScript loader (tsx) to be imported. */
const TS_EXTENSIONS = new Set(['.ts', '.mts', '.cts']);

/**
 * Set once tsx's hooks are registered. Running from src/ (a checkout) this module is itself
 * TypeScript, so a loader is already in place; compiled, nothing TypeScript is loaded until the
 * first `.ts` app asks for it, and plain JavaScript sites never pay for tsx and esbuild.
 */
let typescript: Promise<void> | undefined = import.meta.url.endsWith('.ts') ? Promise.resolve() : undefined;

/**
 * Register tsx (an optional peer dependency) for `file`. It is looked up from the app's own
 * directory first (the app's project installed it), then from Skitai's.
 */
function loadTypeScript(file: string): Promise<void> {
  typescript ??= (async () => {
    let entry: string | undefined;
    for (const from of [file, fileURLToPath(import.meta.url)]) {
      try {
        entry = createRequire(from).resolve('tsx');
        break;
      } catch {
        // not installed there; try the next place
      }
    }
    if (entry === undefined) {
      throw new Error('it is TypeScript and the package "tsx" is not installed (npm i -D tsx), or compile the app to .js');
    }
    await import(pathToFileURL(entry).href);
  })().catch((err: unknown) => {
    typescript = undefined; // installing tsx and reloading in devel mode may still work
    throw err;
  });
  return typescript;
}

/**
 * Import an app module and return its exported `app`. A `.ts` module is loaded through tsx, which
 * is registered on the first one (see {@link loadTypeScript}). `generation` > 0 forces a fresh
 * evaluation, for devel-mode reloads; only the module itself is re-evaluated, not the modules it
 * imports.
 */
export async function loadAppModule(file: string, generation = 0): Promise<App> {
  const mod = await importModule(file, generation);
  const app = mod.app ?? (mod.default as Record<string, unknown> | undefined)?.app;
  if (!isApp(app)) {
    throw new SkitaiError('SKT_APP_LOAD', `${file} does not export \`app\` (export const app = new App())`);
  }
  return app;
}

/**
 * Import a module and return one of its exports (`default` for the default export). A CommonJS
 * module's `exports.name` is found on its default export too, when Node's static analysis of the
 * module did not make it a named export.
 */
export async function loadExport(file: string, name: string): Promise<unknown> {
  const mod = await importModule(file, 0);
  const value = mod[name] ?? (name === 'default' ? undefined : (mod.default as Record<string, unknown> | undefined)?.[name]);
  if (value === undefined || value === null) {
    const names = Object.keys(mod).join(', ') || 'none';
    throw new SkitaiError('SKT_APP_LOAD', `${file} has no export named "${name}" (its exports: ${names})`);
  }
  return value;
}

/** The module's namespace; any failure to load it is SKT_APP_LOAD naming the file. */
async function importModule(file: string, generation: number): Promise<Record<string, unknown>> {
  try {
    if (TS_EXTENSIONS.has(path.extname(file))) await loadTypeScript(file);
    if (generation > 0) delete requireCache[file]; // CommonJS-typed modules ignore the URL query
    const url = pathToFileURL(file).href + (generation > 0 ? `?v=${generation}` : '');
    return (await import(url)) as Record<string, unknown>;
  } catch (err) {
    throw new SkitaiError('SKT_APP_LOAD', `cannot load app module ${file}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Duck-typed so an app built against another copy of the package (a linked checkout, a second
 * node_modules) still mounts.
 */
export function isApp(value: unknown): value is App {
  if (value instanceof App) return true;
  const v = value as Partial<App> | undefined;
  return typeof v === 'object' && v !== null && typeof v.match === 'function' && typeof v.hooks === 'object';
}

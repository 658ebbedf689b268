import { createRequire } from 'node:module';
import path from 'node:path';
import type nunjucks from 'nunjucks';
import { SkitaiError } from '../errors.js';

/** nunjucks, loaded on the first render: processes that never render (the CLI, pure APIs) skip it. */
let lib: typeof nunjucks | undefined;
function load(): typeof nunjucks {
  lib ??= createRequire(import.meta.url)('nunjucks') as typeof nunjucks;
  return lib;
}

/**
 * The parts of a nunjucks `Environment` an app customises. The object is nunjucks' own; this
 * interface keeps nunjucks' type declarations (`@types/nunjucks`) out of Skitai's public types.
 * Cast to `nunjucks.Environment` for the rest of its API.
 */
export interface TemplateEnvironment {
  /** A filter: `{{ name | upper }}`. With `async`, `fn` takes a node-style callback last. */
  addFilter(name: string, fn: (...args: any[]) => unknown, async?: boolean): TemplateEnvironment;
  getFilter(name: string): (...args: any[]) => unknown;
  /** A value or function every template sees. */
  addGlobal(name: string, value: unknown): TemplateEnvironment;
  getGlobal(name: string): unknown;
  /** A custom tag (nunjucks extension object). */
  addExtension(name: string, ext: object): TemplateEnvironment;
  removeExtension(name: string): void;
  hasExtension(name: string): boolean;
  /** Render a template string (not a file) with `context`. */
  renderString(source: string, context: object): string;
}

/** Customises a fresh nunjucks environment (filters, globals). */
export type TemplateSetup = (env: TemplateEnvironment) => void;

/**
 * One app's templates: a nunjucks environment (Jinja2 syntax, as Skitai's `was.render`) over one
 * directory, made on the first render and kept for the app's life. Autoescape is on: `{{ name }}`
 * is HTML-escaped, `{{ html | safe }}` is not. In devel mode every render reads the file again, so
 * an edited template shows on the next request; otherwise compiled templates are cached.
 */
export class Templates {
  #env: nunjucks.Environment | undefined;

  constructor(
    /** Absolute directory the template names are relative to. */
    readonly dir: string,
    readonly devel: boolean,
    readonly setup?: TemplateSetup,
  ) {}

  /** The nunjucks environment, for adding filters and globals (see `app.setupTemplates`). */
  get env(): TemplateEnvironment {
    return this.#environment();
  }

  #environment(): nunjucks.Environment {
    if (this.#env) return this.#env;
    const nj = load();
    const loader = new nj.FileSystemLoader(this.dir, { noCache: this.devel });
    // Names that resolve outside `dir` (`../secret`) read as not found. nunjucks' own check is a
    // string prefix, which lets `../templates-private/x` through from `templates`; this one is not.
    const getSource = loader.getSource.bind(loader);
    // (Typed as never null, but nunjucks reads null as "not found".)
    loader.getSource = ((name: string) => (isInside(this.dir, name) ? getSource(name) : null)) as typeof getSource;
    const env = new nj.Environment(loader, { autoescape: true, throwOnUndefined: false });
    this.setup?.(env);
    this.#env = env;
    return env;
  }

  /**
   * Render `name` with `context` to a string. A missing template is SKT_TEMPLATE_NOT_FOUND; a syntax
   * error or a failure while rendering is SKT_TEMPLATE_RENDER, whose message names the file, line
   * and column. Both are 500s: the page shows details only in devel mode, the log always has them.
   */
  render(name: string, context: Record<string, unknown>): string {
    try {
      return this.#environment().render(name, context);
    } catch (err) {
      const message = (err as Error)?.message ?? String(err);
      if (message.includes('template not found:')) {
        throw new SkitaiError('SKT_TEMPLATE_NOT_FOUND', `template ${JSON.stringify(name)} was not found in ${this.dir}: ${oneLine(message)}`, { cause: err });
      }
      throw new SkitaiError('SKT_TEMPLATE_RENDER', `template ${JSON.stringify(name)} failed: ${oneLine(message)}`, { cause: err });
    }
  }
}

function isInside(dir: string, name: string): boolean {
  const rel = path.relative(dir, path.resolve(dir, name));
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

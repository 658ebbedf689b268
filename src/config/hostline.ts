/**
 * An `@` line of `[routes:line]` (Skitai 0.10.5's virtual hosts, nginx's `server_name`):
 * `@ example.com *.example.org certfile=certs/ex.pem keyfile=certs/ex.key` starts a host group,
 * `@ default` goes back to the default group. Names are checked here, and a name in two groups is
 * an error at the second line.
 */
import fs from 'node:fs';
import path from 'node:path';
import { SkitaiError } from '../errors.js';
import type { IniLine } from './ini.js';
import type { SourceContext } from './server.js';
import type { HostGroup } from './types.js';

const NAME = /^(?:\*\.|\.)?(?:[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?)(?:\.[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?)*$|^\[[0-9a-f:.]+\]$/;
const OPTIONS = new Set(['certfile', 'keyfile']);

/** The names taken so far, as the host map will key them: exact names and `*.`/`.` suffixes. */
export class HostNames {
  readonly #taken = new Map<string, number>();

  /** The line that already took `name`, or undefined after taking it for `line`. */
  take(name: string, line: number): number | undefined {
    const key = name.startsWith('*.') ? '*' + name.slice(2) : name.startsWith('.') ? '*' + name.slice(1) : name;
    const before = this.#taken.get(key);
    if (before !== undefined) return before;
    this.#taken.set(key, line);
    return undefined;
  }
}

/** The group an `@` line starts, or undefined for `@ default`. */
export function hostLine({ text, line }: IniLine, names: HostNames, ctx: SourceContext): HostGroup | undefined {
  const fail = (message: string): never => {
    throw new SkitaiError('SKT_CONFIG_ROUTE', message, { place: { file: ctx.file, line, section: 'routes:line', key: '@' } });
  };
  const tokens = text.slice(1).trim().split(/\s+/).filter((t) => t !== '');
  const hosts: string[] = [];
  const options: Record<string, string> = {};
  for (const token of tokens) {
    const eq = token.indexOf('=');
    if (eq >= 0) {
      const key = token.slice(0, eq).toLowerCase();
      if (!OPTIONS.has(key)) fail(`unknown option "${key}" on an "@" line (known: ${[...OPTIONS].join(', ')})`);
      if (options[key] !== undefined) fail(`${key} is given twice`);
      options[key] = path.resolve(ctx.dir, token.slice(eq + 1));
      continue;
    }
    hosts.push(token.toLowerCase());
  }
  if (hosts.length === 0) fail('expected "@ <host> [<host>…] [certfile=… keyfile=…]" or "@ default"');
  if (hosts.includes('default')) {
    if (hosts.length > 1) fail('"@ default" takes no host names: list them on their own "@" line');
    if (Object.keys(options).length > 0) fail('the default group\'s certificate is [server] certfile and keyfile');
    return undefined;
  }
  for (const host of hosts) {
    if (!NAME.test(host)) fail(`"${host}" is not a host name, "*.domain" (its subdomains) or ".domain" (both)`);
    const before = names.take(host, line);
    if (before !== undefined) fail(`host ${host} is already in the "@" group on line ${before}`);
  }
  if (options['keyfile'] !== undefined && options['certfile'] === undefined) fail('keyfile needs certfile');
  for (const key of ['certfile', 'keyfile'] as const) {
    const file = options[key];
    if (file !== undefined && !fs.statSync(file, { throwIfNoEntry: false })?.isFile()) fail(`${key} not found: ${file}`);
  }
  return {
    names: hosts,
    ...(options['certfile'] !== undefined ? { certfile: options['certfile'] } : {}),
    ...(options['keyfile'] !== undefined ? { keyfile: options['keyfile'] } : {}),
    line,
  };
}

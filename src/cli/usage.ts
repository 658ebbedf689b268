import { readFileSync } from 'node:fs';

/** The package version, read once from package.json. */
export const VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** `skitaid --help`; the README's CLI reference repeats it. */
export const USAGE = `Usage: skitaid [options]

Runs a Skitai site in the foreground, logging to the console.

Options:
  -c, --config FILE   the site's config file (INI, Skitai dialect); without it the
                      embedded defaults are used (port 5000, nothing mounted but /ping)
  -t, --check         validate the config and exit: 0 when good, 1 naming file, line
                      and key when not
  -p, --port N        listen on N instead of [server] port (0 = any free port)
  -v, --verbose       print debug lines too
  -V, --version       print the version
  -h, --help          print this help
`;

import { parseArgs } from 'node:util';
import { defaultConfig, loadConfig } from '../config/load.js';
import type { SiteConfig } from '../config/types.js';
import { isSkitaiError } from '../errors.js';
import { Site } from '../site.js';
import { USAGE, VERSION } from './usage.js';

/**
 * `skitaid` entry point. Returns the exit code; in the foreground it resolves only after the
 * server stopped on SIGINT/SIGTERM.
 */
export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        check: { type: 'boolean', short: 't' },
        verbose: { type: 'boolean', short: 'v' },
        port: { type: 'string', short: 'p' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'V' },
      },
    });
  } catch (err) {
    process.stderr.write(`skitaid: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (values.version) {
    process.stdout.write(`skitaid ${VERSION}\n`);
    return 0;
  }
  if (positionals.length > 0) {
    process.stderr.write(`skitaid: unknown command "${positionals[0]}"\n\n${USAGE}`);
    return 2;
  }
  let config: SiteConfig;
  try {
    config = values.config ? await loadConfig(values.config) : defaultConfig();
  } catch (err) {
    process.stderr.write(`skitaid: ${isSkitaiError(err) ? `${err.code}: ${err.message}` : String(err)}\n`);
    return 1;
  }
  if (values.check) {
    process.stdout.write(`[ok] config file ${config.file || '(embedded defaults)'} is good\n`);
    return 0;
  }
  return runForeground(config, values.port === undefined ? undefined : Number(values.port), values.verbose ?? false);
}

async function runForeground(config: SiteConfig, port: number | undefined, verbose: boolean): Promise<number> {
  const site = new Site(config, { verbose });
  try {
    await site.listen(port);
  } catch (err) {
    site.logger.error(isSkitaiError(err) ? `${err.code}: ${err.message}` : 'start-up failed', isSkitaiError(err) ? undefined : err);
    await site.close(0).catch(() => undefined);
    return 1;
  }
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) {
        site.logger.warn(`${signal} again: exiting now`);
        process.exit(1);
      }
      stopping = true;
      site.logger.info(`${signal}: stopping gracefully`);
      site.close().then(() => {
        site.logger.info('stopped');
        resolve(0);
      }, (err) => {
        site.logger.error('shutdown failed', err);
        resolve(1);
      });
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });
}

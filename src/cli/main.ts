import cluster from 'node:cluster';
import { parseArgs } from 'node:util';
import { defaultConfig, loadConfig } from '../config/load.js';
import type { SiteConfig } from '../config/types.js';
import { describeError } from '../errors.js';
import { isDaemonChild } from '../process/daemon.js';
import { tuneHeap } from '../process/heap.js';
import { WORKER_ENV, type WorkerSpec } from '../process/messages.js';
import { runDaemon, runForeground } from '../process/run.js';
import { runWorker } from '../process/worker.js';
import { checkApps, checkSite, checkTls } from '../site.js';
import * as control from './control.js';
import { tolerateClosedPipes } from './pipe.js';
import { installService } from './service.js';
import { USAGE, VERSION } from './usage.js';

const COMMANDS = ['start', 'stop', 'status', 'restart', 'reload', 'install-service'] as const;
type Command = (typeof COMMANDS)[number];

/**
 * `skitaid` entry point. Returns the exit code; in the foreground (and as the daemon) it resolves
 * only once the server stopped. A cluster worker started through the same launcher never returns.
 */
export async function main(argv: string[]): Promise<number> {
  tolerateClosedPipes();
  tuneHeap();
  const workerSpec = process.env[WORKER_ENV];
  if (cluster.isWorker && workerSpec) return runWorker(JSON.parse(workerSpec) as WorkerSpec);
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
        workers: { type: 'string', short: 'w' },
        force: { type: 'boolean', short: 'f' },
        write: { type: 'boolean' },
        'unit-dir': { type: 'string' },
        user: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'V' },
      },
    });
  } catch (err) {
    return usageError((err as Error).message);
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
  const command = positionals[0] as Command | undefined;
  if (positionals.length > 1 || (command !== undefined && !COMMANDS.includes(command))) {
    return usageError(`unknown command "${positionals.join(' ')}"`);
  }
  const port = integer(values.port, 0, 65535);
  const workers = integer(values.workers, 1, 1024);
  if (port === null) return usageError(`--port expects a whole number from 0 to 65535, got "${values.port}"`);
  if (workers === null) return usageError(`--workers expects a whole number from 1 to 1024, got "${values.workers}"`);
  if (values.force && command !== 'stop') return usageError('--force goes with stop');
  if ((values.write || values['unit-dir'] !== undefined || values.user !== undefined) && command !== 'install-service') return usageError('--write, --unit-dir and --user go with install-service');
  if (values.user !== undefined && !/^[a-z_][a-z0-9_-]*\$?$/i.test(values.user)) return usageError(`--user expects a user name, got "${values.user}"`);
  if (command === 'install-service' && !values.config) return usageError('install-service needs -c FILE: the unit runs that config');

  let config: SiteConfig;
  try {
    config = values.config ? await loadConfig(values.config) : defaultConfig();
    // Sections other layers read (clusters) are checked here too, so a mistake is reported once,
    // before any worker starts, and by --check.
    checkSite(config);
  } catch (err) {
    process.stderr.write(`skitaid: ${describeError(err)}\n`);
    return 1;
  }
  if (values.check) {
    let code = 0;
    try {
      if (config.server.ssl) checkTls(config);
      // What a start would find wrong in the apps, minus their startup hooks: see checkApps.
      await checkApps(config);
      process.stdout.write(`[ok] config file ${config.file || '(embedded defaults)'} and its apps are good\n`);
    } catch (err) {
      process.stderr.write(`skitaid: ${describeError(err)}\n`);
      code = 1;
    }
    // An app module may open a handle (a timer, a pool) when imported; --check still ends.
    setImmediate(() => process.exit(code)).unref();
    return code;
  }
  const verbose = values.verbose ?? false;
  switch (command) {
    case undefined:
      return runForeground({ config, port, verbose, workers });
    case 'start':
      return isDaemonChild() ? runDaemon({ config, port, verbose, workers }) : control.start(config, { port, workers, verbose });
    case 'stop':
      return control.stop(config, values.force ?? false);
    case 'status':
      return control.status(config);
    case 'restart':
      return control.restart(config, { port, workers, verbose });
    case 'reload':
      return control.reload(config);
    case 'install-service':
      return installService(config, values.write ?? false, values['unit-dir'], values.user);
  }
}

function usageError(message: string): number {
  process.stderr.write(`skitaid: ${message}\n\n${USAGE}`);
  return 2;
}

/** undefined when absent, null when not a whole number in range. */
function integer(text: string | undefined, min: number, max: number): number | undefined | null {
  if (text === undefined) return undefined;
  const n = Number(text);
  return /^\d+$/.test(text) && n >= min && n <= max ? n : null;
}

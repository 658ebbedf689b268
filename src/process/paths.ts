/**
 * Where a site keeps its state and logs, and where each log goes in each way of running. Defaults
 * sit next to the config file (`var/`), so skitaid runs without root.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SiteConfig } from '../config/types.js';
import type { LogTarget } from '../log/logger.js';

/** The `skitaid` launcher: workers and the daemon start through it, so they run the same code (dist/ or src/) as the command. */
export const SKITAID_BIN: string = fileURLToPath(new URL('../../bin/skitaid.js', import.meta.url));

/** A site's files on disk, all absolute. */
export interface InstancePaths {
  /** `var_path`, or `var/` next to the config file (the working directory without one). */
  readonly varDir: string;
  /** `log_path`, or `<varDir>/log`. */
  readonly logDir: string;
  /** `pid_file`, or `<varDir>/<name>.pid`. */
  readonly pidFile: string;
  /** The primary's status record for `skitaid status` and `reload`. */
  readonly statusFile: string;
  /** stdout and stderr of a daemon (crashes before the logger exists land here). */
  readonly stderrLog: string;
}

/** The paths of `config`'s instance. */
export function instancePaths(config: SiteConfig): InstancePaths {
  const s = config.server;
  const varDir = s.varPath ?? path.join(config.dir, 'var');
  const logDir = s.logPath ?? path.join(varDir, 'log');
  return {
    varDir,
    logDir,
    pidFile: s.pidFile ?? path.join(varDir, `${s.name}.pid`),
    statusFile: path.join(varDir, `${s.name}.status.json`),
    stderrLog: path.join(logDir, 'stderr.log'),
  };
}

/** Where the server log and the access log go. `access` undefined = as `[server] access_log` says. */
export interface LogPlan {
  readonly server: LogTarget;
  readonly access: LogTarget | undefined;
}

/**
 * Logs go to files under the log directory for a daemon, and in the foreground when `log_path` is
 * set and `-v` is not given (Skitai's service mode); otherwise to the console. In file mode an
 * `access_log = console` becomes `request.log` next to `server.log`.
 */
export function logPlan(config: SiteConfig, mode: { daemon: boolean; verbose: boolean }): LogPlan {
  const toFiles = mode.daemon || (config.server.logPath !== undefined && !mode.verbose);
  if (!toFiles) return { server: 'console', access: undefined };
  const dir = instancePaths(config).logDir;
  return {
    server: { file: path.join(dir, 'server.log') },
    access: config.server.accessLog === 'console' ? { file: path.join(dir, 'request.log') } : undefined,
  };
}

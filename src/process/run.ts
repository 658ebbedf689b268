/**
 * The three ways a site runs: a single foreground process (today's default, no primary), a
 * foreground primary with workers, and the daemon primary behind `skitaid start`. Each resolves
 * with the process exit code once stopped.
 */
import fs from 'node:fs';
import type { SiteConfig } from '../config/types.js';
import { describeError, isSkitaiError } from '../errors.js';
import { Logger, openSink } from '../log/logger.js';
import { Site, startMailAgent } from '../site.js';
import { reportToLauncher } from './daemon.js';
import { instancePaths, logPlan } from './paths.js';
import { claimPid, releasePid } from './pidfile.js';
import { Primary } from './primary.js';
import { handleSignals } from './signals.js';
import { enterSiteDir } from './workdir.js';

/** What every way of running needs. */
export interface RunOptions {
  readonly config: SiteConfig;
  /** `-p`: listen here instead of `[server] port`. */
  readonly port: number | undefined;
  readonly verbose: boolean;
  /** `-w`: a fixed worker count; in the foreground it asks for a primary even for 1. */
  readonly workers: number | undefined;
}

/** Foreground: one process when `processes = 1` and no `-w`, a primary with workers otherwise. */
export function runForeground(opts: RunOptions): Promise<number> {
  if (opts.workers === undefined && opts.config.server.processes === 1) return runSingle(opts);
  return runPrimary(opts, false);
}

/** The daemon half of `skitaid start` (the launcher half is `launchDaemon`). */
export function runDaemon(opts: RunOptions): Promise<number> {
  return runPrimary(opts, true);
}

async function runSingle(opts: RunOptions): Promise<number> {
  const plan = logPlan(opts.config, { daemon: false, verbose: opts.verbose });
  const logger = new Logger(openSink(plan.server), opts.verbose);
  let site: Site;
  try {
    enterSiteDir(opts.config);
    site = new Site(opts.config, { logger, accessLog: plan.access });
    await site.listen(opts.port);
  } catch (err) {
    logger.error(`start-up failed: ${describeError(err)}`, isSkitaiError(err) ? undefined : err);
    await logger.sink.close();
    return 1;
  }
  const threads = Math.max(1, opts.config.server.threads);
  const pool = Number(process.env['UV_THREADPOOL_SIZE']) || 4;
  if (threads !== pool) {
    logger.warn(`threads = ${threads} is applied to worker processes; this single process kept its libuv pool of ${pool} (run with -w 1 or set UV_THREADPOOL_SIZE)`);
  }
  return new Promise<number>((resolve) => {
    let stopping = false;
    const removeSignals = handleSignals({
      stop(signal) {
        if (stopping) {
          logger.warn(`${signal} again: exiting now`);
          process.exit(1);
        }
        stopping = true;
        logger.info(`${signal}: stopping gracefully`);
        site.close().then(
          () => finish(0, 'stopped'),
          (err: unknown) => {
            logger.error('shutdown failed', err);
            finish(1, 'stopped after a failed shutdown');
          },
        );
      },
      reload() {
        logger.warn('SIGHUP: a single process cannot be replaced without dropping requests; run with -w 1 or skitaid start to reload');
      },
      reopen: () => site.reopenLogs(),
    });
    const finish = (code: number, message: string): void => {
      logger.info(message);
      removeSignals();
      void logger.sink.close().then(() => resolve(code));
    };
  });
}

async function runPrimary(opts: RunOptions, daemon: boolean): Promise<number> {
  const { config } = opts;
  const paths = instancePaths(config);
  const logger = new Logger(openSink(logPlan(config, { daemon, verbose: opts.verbose }).server), opts.verbose);
  const fail = async (message: string): Promise<number> => {
    logger.error(`start-up failed: ${message}`);
    if (daemon) await reportToLauncher({ skitai: 'failed', message });
    await logger.sink.close();
    return 1;
  };
  try {
    // Before the workers are forked (they inherit it) and before the primary's mail agent starts.
    enterSiteDir(config);
  } catch (err) {
    return fail(`cannot enter the config file's folder ${config.dir}: ${describeError(err)}`);
  }
  if (daemon) {
    try {
      const claim = claimPid(paths.pidFile);
      if (!claim.ok) return fail(`${config.server.name} is already running (pid ${claim.pid})`);
    } catch (err) {
      return fail(`cannot write the pid file ${paths.pidFile}: ${describeError(err)}`);
    }
  }
  const primary = new Primary({ ...opts, daemon, logger, statusFile: daemon ? paths.statusFile : undefined });
  let stopping = false;
  const removeSignals = handleSignals({
    stop(signal) {
      if (!stopping) logger.info(`${signal}: stopping gracefully`);
      stopping = true;
      primary.stop();
    },
    reload: () => void primary.reload(),
    reopen: () => primary.reopenLogs(),
  });
  const cleanUp = (): void => {
    removeSignals();
    if (daemon) {
      releasePid(paths.pidFile);
      fs.rmSync(paths.statusFile, { force: true });
    }
  };
  let mailAgent: Awaited<ReturnType<typeof startMailAgent>>;
  try {
    // One delivery agent per site, here in the primary: workers only write the spool.
    mailAgent = await startMailAgent(config, logger);
  } catch (err) {
    cleanUp();
    return fail(describeError(err));
  }
  try {
    const port = await primary.start();
    if (daemon) await reportToLauncher({ skitai: 'ready', pid: process.pid, port, ssl: primary.ssl, workers: primary.pids.length });
  } catch (err) {
    await mailAgent?.stop();
    cleanUp();
    // The worker's own error code is in the message; SKT_PROCESS_START in front would only repeat "did not start".
    return fail(isSkitaiError(err, 'SKT_PROCESS_START') ? err.message : describeError(err));
  }
  const code = await primary.done;
  await mailAgent?.stop();
  logger.info(code === 0 ? 'stopped' : 'stopped: workers killed');
  cleanUp();
  await logger.sink.close();
  return code;
}

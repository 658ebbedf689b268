/**
 * The three ways a site runs: a single foreground process (today's default, no primary), a
 * foreground primary with workers, and the daemon primary behind `skitaid start`. Each resolves
 * with the process exit code once stopped.
 */
import fs from 'node:fs';
import type { SiteConfig } from '../config/types.js';
import { describeError, isSkitaiError } from '../errors.js';
import { createLogger } from '../log/logger.js';
import { Site, startMailAgent } from '../site.js';
import { reportToLauncher } from './daemon.js';
import { guardProcess } from './faults.js';
import { claimForeground } from './instance.js';
import { watchParent } from './parent.js';
import { instancePaths, logPlan } from './paths.js';
import { claimPid, releasePid } from './pidfile.js';
import { Primary } from './primary.js';
import { handleSignals } from './signals.js';
import type { InstanceStatus } from './status.js';
import { enterSiteDir } from './workdir.js';

/** Past the grace period, a process stopping after an uncaught exception exits anyway. */
const STUCK_MS = 5_000;

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
  const { config } = opts;
  const plan = logPlan(config, { daemon: false, verbose: opts.verbose });
  const logger = createLogger(plan.server, config.server, opts.verbose);
  const claimed = claimForeground(config, logger);
  if (!claimed.ok) {
    logger.error(`start-up failed: ${config.server.name} is already running (pid ${claimed.pid}); skitaid stop -c ${config.file || '…'} stops it`);
    await logger.sink.close();
    return 1;
  }
  const { claim } = claimed;
  let site: Site;
  let port: number;
  try {
    enterSiteDir(config);
    site = new Site(config, { logger, accessLog: plan.access });
    port = (await site.listen(opts.port)).port;
  } catch (err) {
    logger.error(`start-up failed: ${describeError(err)}`, isSkitaiError(err) ? undefined : err);
    claim.release();
    await logger.sink.close();
    return 1;
  }
  const threads = Math.max(1, config.server.threads);
  const pool = Number(process.env['UV_THREADPOOL_SIZE']) || 4;
  if (threads !== pool) {
    logger.warn(`threads = ${threads} is applied to worker processes; this single process kept its libuv pool of ${pool} (run with -w 1 or set UV_THREADPOOL_SIZE)`);
  }
  const started = Date.now();
  const record = (state: InstanceStatus['state']): void =>
    claim.status({ name: config.server.name, pid: process.pid, config: config.file, state, started, port, ssl: config.server.ssl, workers: [], respawns: 0, reloads: 0, mode: 'single' });
  record('running');
  return new Promise<number>((resolve) => {
    let stopping = false;
    /** Graceful stop; `code` is the exit code once it is done. */
    const shutdown = (why: string, code: number): void => {
      stopping = true;
      logger.info(`${why}: stopping gracefully`);
      record('stopping');
      site.close().then(
        () => finish(code, code === 0 ? 'stopped' : 'stopped after an uncaught exception; exit code 1 so a supervisor restarts it'),
        (err: unknown) => {
          logger.error('shutdown failed', err);
          finish(1, 'stopped after a failed shutdown');
        },
      );
    };
    const removeSignals = handleSignals({
      stop(signal) {
        if (stopping) {
          logger.warn(`${signal} again: exiting now`);
          claim.release();
          process.exit(1);
        }
        shutdown(signal, 0);
      },
      reload() {
        logger.warn('SIGHUP: a single process cannot be replaced without dropping requests; run with -w 1 or skitaid start to reload');
      },
      reopen: () => site.reopenLogs(),
    });
    const unwatch = watchParent(() => {
      if (!stopping) shutdown(`the parent process exited (skitaid was started by it in the foreground)`, 0);
    });
    let fatal = false;
    const unguard = guardProcess(logger, () => {
      fatal = true;
      // What threw may also hold the event loop open (an interval that keeps throwing): exit for sure.
      setTimeout(() => process.exit(1), config.server.gracePeriod + STUCK_MS).unref();
      if (!stopping) shutdown('uncaught exception', 1);
    });
    const finish = (code: number, message: string): void => {
      logger.info(message);
      removeSignals();
      unwatch();
      claim.release();
      void logger.sink.close().then(() => {
        unguard();
        if (fatal) process.exit(1);
        resolve(code);
      });
    };
  });
}

async function runPrimary(opts: RunOptions, daemon: boolean): Promise<number> {
  const { config } = opts;
  const paths = instancePaths(config);
  const logger = createLogger(logPlan(config, { daemon, verbose: opts.verbose }).server, config.server, opts.verbose);
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
  let statusFile: string | undefined;
  let release = (): void => undefined;
  if (daemon) {
    try {
      const claim = claimPid(paths.pidFile);
      if (!claim.ok) return fail(`${config.server.name} is already running (pid ${claim.pid})`);
    } catch (err) {
      return fail(`cannot write the pid file ${paths.pidFile}: ${describeError(err)}`);
    }
    statusFile = paths.statusFile;
    release = () => {
      releasePid(paths.pidFile);
      fs.rmSync(paths.statusFile, { force: true });
    };
  } else {
    const claimed = claimForeground(config, logger);
    if (!claimed.ok) return fail(`${config.server.name} is already running (pid ${claimed.pid}); skitaid stop -c ${config.file || '…'} stops it`);
    statusFile = claimed.claim.statusFile;
    release = () => claimed.claim.release();
  }
  let mailAgent: Awaited<ReturnType<typeof startMailAgent>>;
  const primary = new Primary({ ...opts, daemon, logger, statusFile, mailStatus: () => mailAgent?.status() });
  let stopping = false;
  const stop = (why: string): void => {
    if (!stopping) logger.info(`${why}: stopping gracefully`);
    stopping = true;
    primary.stop();
  };
  const removeSignals = handleSignals({
    stop,
    reload: () => void primary.reload(),
    reopen: () => primary.reopenLogs(),
  });
  // The primary runs no app code, but the mail agent runs here: its stray errors are logged, not fatal.
  let fatal = false;
  const unguard = guardProcess(logger, () => {
    fatal = true;
    if (!stopping) stop('uncaught exception in the primary');
  });
  const unwatch = daemon ? () => undefined : watchParent(() => stop('the parent process exited (skitaid was started by it in the foreground)'));
  const cleanUp = (): void => {
    removeSignals();
    unwatch();
    unguard();
    release();
  };
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
  return fatal ? 1 : code;
}

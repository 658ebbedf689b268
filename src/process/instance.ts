/**
 * The pid file and status record of a foreground run, so that `skitaid status`, `stop`, `reload`
 * and `start` see a `skitaid -c site.conf` (or `npm start`) serving in a terminal as they see a
 * daemon. Unlike a daemon, a foreground run that cannot write them still serves: it only warns,
 * since it never needed them before (a read-only config directory is common in development).
 */
import fs from 'node:fs';
import type { SiteConfig } from '../config/types.js';
import { describeError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { instancePaths } from './paths.js';
import { claimPid, readPid } from './pidfile.js';
import { writeStatus, type InstanceStatus } from './status.js';

/** A claimed instance: our pid is in the pid file until `release()`. */
export interface Claim {
  /** The status record's path, undefined when the pid file could not be written (so neither is the record). */
  readonly statusFile: string | undefined;
  /** Rewrite the status record (nothing when the pid file could not be written). */
  status(status: InstanceStatus): void;
  /** Remove the pid file and status record if they are still ours. */
  release(): void;
}

/**
 * Claim the pid file for a foreground run. Refuses (returns the other pid) when a live skitaid holds
 * it: a second server on the same config would only fail later on a busy port, or worse, serve a
 * different port and be invisible to `stop`.
 */
export function claimForeground(config: SiteConfig, logger: Logger): { ok: true; claim: Claim } | { ok: false; pid: number } {
  const paths = instancePaths(config);
  let mine = false;
  try {
    const r = claimPid(paths.pidFile);
    if (!r.ok) return { ok: false, pid: r.pid };
    mine = true;
  } catch (err) {
    logger.warn(`cannot write the pid file ${paths.pidFile} (${describeError(err)}): skitaid status and stop will not see this run`);
  }
  return {
    ok: true,
    claim: {
      statusFile: mine ? paths.statusFile : undefined,
      status(status) {
        if (!mine) return;
        try {
          writeStatus(paths.statusFile, status);
        } catch (err) {
          logger.warn(`cannot write the status file ${paths.statusFile}: ${describeError(err)}`);
        }
      },
      release() {
        if (!mine) return;
        mine = false;
        // A later run may have replaced a file we lost (removed by hand as stale): leave its files alone.
        if (readPid(paths.pidFile) !== process.pid) return;
        fs.rmSync(paths.statusFile, { force: true });
        fs.rmSync(paths.pidFile, { force: true });
      },
    },
  };
}

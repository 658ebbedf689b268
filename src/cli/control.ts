/**
 * `skitaid start | stop | status | restart | reload`: talk to a daemon, or to a foreground run
 * (which writes the same files), through its pid file, signals and status file. Each returns the exit code; what it says goes to stdout, problems to
 * stderr. "Not running" is an answer for status (exit 3, as LSB init scripts say) and an error
 * for stop and reload (exit 1).
 */
import fs from 'node:fs';
import type { SiteConfig } from '../config/types.js';
import { launchDaemon, signalGroup } from '../process/daemon.js';
import { instancePaths, type InstancePaths } from '../process/paths.js';
import { checkPid, isAlive } from '../process/pidfile.js';
import { formatStatus, readStatus } from '../process/status.js';
import { mailSummary } from '../site.js';

/** How long `start` waits for the daemon to listen. */
const START_TIMEOUT_MS = 90_000;
/** Past the grace period: the primary's own kill deadline (10 s) plus a margin. */
const STOP_MARGIN_MS = 15_000;
/** A reload replaces workers one by one, each allowed 60 s to listen; this bounds the wait for a few. */
const RELOAD_TIMEOUT_MS = 300_000;
const POLL_MS = 100;

/** What the commands need besides the config: the options to hand the daemon. */
export interface DaemonArgs {
  readonly port: number | undefined;
  readonly workers: number | undefined;
  readonly verbose: boolean;
}

const out = (text: string): void => void process.stdout.write(text + '\n');
const err = (text: string): void => void process.stderr.write(`skitaid: ${text}\n`);

/** `skitaid start`: launch the daemon and wait until it listens. */
export async function start(config: SiteConfig, args: DaemonArgs): Promise<number> {
  const paths = instancePaths(config);
  const state = checkPid(paths.pidFile);
  if (state.running) {
    err(`${config.server.name} is already running (pid ${state.pid})`);
    return 1;
  }
  const argv = ['start', ...(config.file ? ['-c', config.file] : []), ...(args.port !== undefined ? ['-p', String(args.port)] : []),
    ...(args.workers !== undefined ? ['-w', String(args.workers)] : []), ...(args.verbose ? ['-v'] : [])];
  let result;
  try {
    result = await launchDaemon(argv, paths, START_TIMEOUT_MS);
  } catch (e) {
    err(`cannot start ${config.server.name}: ${(e as Error).message}`);
    return 1;
  }
  if (!result.ok) {
    err(`${config.server.name} did not start: ${result.message}`);
    return 1;
  }
  const n = result.workers;
  out(`started ${config.server.name}: pid ${result.pid}, ${n} worker${n === 1 ? '' : 's'}, ${result.ssl ? 'https' : 'http'} port ${result.port}; logs in ${paths.logDir}`);
  return 0;
}

/** `skitaid stop`: SIGTERM and wait for the exit; `force` (or a stop that is already under way) kills. */
export async function stop(config: SiteConfig, force: boolean): Promise<number> {
  const paths = instancePaths(config);
  const pid = running(config, paths);
  if (pid === undefined) return 1;
  if (force) {
    const workers = readStatus(paths.statusFile)?.workers ?? [];
    signalGroup(pid, 'SIGKILL');
    for (const w of workers) if (isAlive(w.pid)) signalGroup(w.pid, 'SIGKILL');
    fs.rmSync(paths.pidFile, { force: true });
    fs.rmSync(paths.statusFile, { force: true });
    out(`killed ${config.server.name} (pid ${pid})`);
    return 0;
  }
  // A second stop while the first still waits on slow requests kills (the primary does that on its second TERM).
  const already = readStatus(paths.statusFile)?.state === 'stopping';
  process.kill(pid, 'SIGTERM');
  out(already ? `${config.server.name} was already stopping: killing the workers (pid ${pid})` : `stopping ${config.server.name} (pid ${pid}); in-flight requests may take up to ${config.server.gracePeriod / 1000} s`);
  if (await waitFor(() => !isAlive(pid), config.server.gracePeriod + STOP_MARGIN_MS)) {
    out(`stopped ${config.server.name}`);
    return 0;
  }
  err(`${config.server.name} (pid ${pid}) is still stopping; skitaid stop --force kills it`);
  return 1;
}

/** `skitaid status`: 0 and a summary when running, 3 when not. */
export function status(config: SiteConfig): number {
  const paths = instancePaths(config);
  const pid = running(config, paths, out);
  if (pid === undefined) return 3;
  const st = readStatus(paths.statusFile);
  if (!st || st.pid !== pid) out(`${config.server.name} is running\n  pid      ${pid}\n  (no status record yet: ${paths.statusFile})`);
  else process.stdout.write(formatStatus(st));
  process.stdout.write(mailSummary(config) ?? '');
  return 0;
}

/** `skitaid reload`: SIGHUP, then wait for the primary to record how the reload went. */
export async function reload(config: SiteConfig): Promise<number> {
  const paths = instancePaths(config);
  const pid = running(config, paths);
  if (pid === undefined) return 1;
  const before = readStatus(paths.statusFile);
  if (before?.pid === pid && before.mode === 'single') {
    err(`${config.server.name} (pid ${pid}) runs as a single foreground process, which cannot reload without dropping requests; run it with -w 1, or with skitaid start`);
    return 1;
  }
  // A reload already under way finishes first; ours runs right after it.
  const target = (before?.reloads ?? 0) + (before?.state === 'reloading' ? 2 : 1);
  process.kill(pid, 'SIGHUP');
  const done = await waitFor(() => (readStatus(paths.statusFile)?.reloads ?? 0) >= target || !isAlive(pid), RELOAD_TIMEOUT_MS);
  const after = readStatus(paths.statusFile);
  if (!done || !after?.lastReload || after.reloads < target) {
    err(`${config.server.name} did not finish the reload in time (pid ${pid}); see ${paths.logDir}/server.log`);
    return 1;
  }
  if (!after.lastReload.ok) {
    err(`reload of ${config.server.name} failed: ${after.lastReload.message}`);
    return 1;
  }
  out(`reloaded ${config.server.name}: ${after.lastReload.message}`);
  return 0;
}

/** `skitaid restart`: stop when running, then start. Not zero-downtime; `reload` is. */
export async function restart(config: SiteConfig, args: DaemonArgs): Promise<number> {
  if (checkPid(instancePaths(config).pidFile).running) {
    const stopped = await stop(config, false);
    if (stopped !== 0) return stopped;
  }
  return start(config, args);
}

/** The live primary's pid, or undefined after saying (by default on stderr) that it is not running. */
function running(config: SiteConfig, paths: InstancePaths, say: (text: string) => void = err): number | undefined {
  const state = checkPid(paths.pidFile);
  if (state.running) return state.pid;
  let note = ` (no pid file at ${paths.pidFile})`;
  if (state.stale !== undefined) {
    fs.rmSync(paths.pidFile, { force: true });
    fs.rmSync(paths.statusFile, { force: true });
    note = ` (removed a stale pid file naming pid ${state.stale})`;
  }
  say(`${config.server.name} is not running${note}`);
  return undefined;
}

async function waitFor(test: () => boolean, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  return true;
}

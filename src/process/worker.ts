/**
 * One worker under the primary: loads the config itself (so a reload picks up an edited file),
 * builds the site, listens on the port the primary shares, and from then on does what the primary
 * says. It never outlives the primary: when the IPC channel closes it stops.
 */
import { defaultConfig, loadConfig } from '../config/load.js';
import { describeError, isSkitaiError } from '../errors.js';
import { createLogger, type Logger } from '../log/logger.js';
import { Site, type Families, type StatusParts, type SupervisorInfo } from '../site.js';
import { guardProcess } from './faults.js';
import { tagOf, type PrimaryMessage, type WorkerMessage, type WorkerSpec } from './messages.js';
import { logPlan } from './paths.js';
import { enterSiteDir } from './workdir.js';

/** Extra time after the grace period before a worker stuck in shutdown exits anyway. */
const STUCK_MS = 5_000;
/** After an uncaught exception: how long to wait for the primary's shutdown (a replacement may take 60 s to listen). */
const REPLACE_WAIT_MS = 65_000;
/** A scrape gives up on the primary after this; the primary itself waits at most 2 s for each worker. */
const GATHER_TIMEOUT_MS = 5_000;
/** How long a stopping worker waits for the primary's `leave` (a primary that is gone does not answer). */
const LEAVE_TIMEOUT_MS = 1_000;
/** The status page gives up on the primary after this; the primary waits at most 1 s for each worker. */
const STATUS_TIMEOUT_MS = 3_000;

/** Run a worker until the primary stops it; ends the process. */
export async function runWorker(spec: WorkerSpec): Promise<never> {
  let logger: Logger | undefined;
  let site: Site;
  try {
    const config = spec.configFile ? await loadConfig(spec.configFile) : defaultConfig();
    enterSiteDir(config);
    const plan = logPlan(config, spec);
    logger = createLogger(plan.server, config.server, spec.verbose);
    // The primary runs the site's one mail delivery agent; workers only spool.
    site = new Site(config, { logger, accessLog: plan.access, mailAgent: false, worker: spec.slot, gatherMetrics, gatherStatus });
    const address = await site.listen(spec.port);
    await send({ skitai: 'listening', port: address.port, ssl: config.server.ssl });
  } catch (err) {
    const message = describeError(err);
    logger?.error(`worker ${spec.slot} failed to start: ${message}`, isSkitaiError(err) ? undefined : err);
    await send({ skitai: 'failed', message });
    await logger?.sink.close();
    process.exit(1);
  }
  const log = logger;

  let stopping = false;
  /** After an uncaught exception the exit code is 1: if the primary did not retire us, our exit is a crash. */
  let exitCode = 0;
  const stop = (graceMs: number, drain: boolean): void => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => process.exit(1), graceMs + STUCK_MS).unref();
    site.close(graceMs, drain).then(
      // The primary keeps our counts, so the site's sums do not drop when we go (with metrics_path).
      () => finalMetrics().then(leave).then(() => log.sink.close()).then(() => process.exit(exitCode)),
      (err: unknown) => {
        log.error(`worker ${spec.slot}: shutdown failed`, err);
        void log.sink.close().then(() => process.exit(1));
      },
    );
  };

  /**
   * The last word with the primary before exiting. Closing a server tells the primary to stop
   * handing us connections, but one it sent before reading that is still on its way here: node
   * sends it back when it arrives (our server is closed), unless we have exited by then, and then
   * the primary holds the client's socket open with nobody to answer it (the likely cause of a
   * scrape that hung 20 s right after a reload in CI). The channel keeps order, so once the
   * primary's answer to this is here, every connection it handed us before has arrived and gone back.
   */
  const leave = async (): Promise<void> => {
    if (!process.connected) return;
    await askPrimary('leaving', LEAVE_TIMEOUT_MS, 'leaving').catch(() => undefined);
  };

  const finalMetrics = async (): Promise<void> => {
    if (site.config.server.metricsPath === undefined) return;
    await send({ skitai: 'metrics-final', families: await site.metricFamilies() });
  };
  process.on('message', (m: unknown) => {
    const tag = tagOf(m);
    if (tag === 'shutdown') {
      const { graceMs, drain } = m as Extract<PrimaryMessage, { skitai: 'shutdown' }>;
      stop(graceMs, drain);
    } else if (tag === 'reopen') site.reopenLogs();
    else if (tag === 'metrics-collect') {
      const { id } = m as Extract<PrimaryMessage, { skitai: 'metrics-collect' }>;
      void site.metricFamilies().then((families) => send({ skitai: 'metrics-part', id, families }));
    } else if (tag === 'status-collect') {
      const { id } = m as Extract<PrimaryMessage, { skitai: 'status-collect' }>;
      // A report that cannot be made is sent as none: the page then lists this worker as not answering.
      const report = site.status?.workerReport() ?? Promise.resolve(undefined);
      void report.catch(() => undefined).then((r) => send({ skitai: 'status-part', id, report: r }));
    } else if (tag === 'metrics-parts' || tag === 'status-parts' || tag === 'leave') {
      const reply = m as { id: number };
      gathering.get(reply.id)?.(reply);
    }
  });
  // Ctrl-C and a terminal hangup reach the whole process group: the primary decides for us.
  process.on('SIGINT', () => undefined);
  process.on('SIGHUP', () => undefined);
  // logrotate may signal any pid it finds; reopening twice is harmless.
  process.on('SIGUSR1', () => site.reopenLogs());
  // `kill <worker>` asks for a replacement that takes over first, so no request is dropped.
  process.on('SIGTERM', () => {
    if (process.connected) void send({ skitai: 'recycle' });
    else stop(site.config.server.gracePeriod, false);
  });
  process.on('disconnect', () => stop(site.config.server.gracePeriod, false));
  guardProcess(log, () => {
    exitCode = 1;
    const grace = site.config.server.gracePeriod;
    if (!process.connected) return stop(grace, false);
    // The primary starts our replacement and then tells us to stop; if that never comes, we go anyway.
    void send({ skitai: 'fatal' });
    setTimeout(() => stop(grace, false), REPLACE_WAIT_MS).unref();
  });
  return new Promise<never>(() => undefined);
}

/** Requests to the primary waiting for its answer, by request id. */
const gathering = new Map<number, (reply: object) => void>();
let gatherId = 0;

/** Send `tag` to the primary and resolve with its answer of the same id; reject after `timeoutMs` (`what` names it). */
function askPrimary<T extends PrimaryMessage>(tag: 'metrics-gather' | 'status-gather' | 'leaving', timeoutMs: number, what: string): Promise<T> {
  const id = ++gatherId;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      gathering.delete(id);
      reject(new Error(`the primary did not answer the ${what} request within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    gathering.set(id, (reply) => {
      clearTimeout(timer);
      gathering.delete(id);
      resolve(reply as T);
    });
    void send({ skitai: tag, id });
  });
}

/** Every worker's metric families, through the primary (which asks each worker, this one included). */
async function gatherMetrics(): Promise<{ parts: Families[]; info: SupervisorInfo }> {
  const reply = await askPrimary<Extract<PrimaryMessage, { skitai: 'metrics-parts' }>>('metrics-gather', GATHER_TIMEOUT_MS, 'metrics');
  return { parts: reply.parts, info: reply.info };
}

/** Every worker's status report and the primary's numbers, through the primary. */
async function gatherStatus(): Promise<StatusParts> {
  return (await askPrimary<Extract<PrimaryMessage, { skitai: 'status-parts' }>>('status-gather', STATUS_TIMEOUT_MS, 'status')).parts;
}

function send(m: WorkerMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) return resolve();
    process.send(m, undefined, {}, () => resolve());
  });
}

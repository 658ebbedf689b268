import type { Families, StatusParts, SupervisorInfo, WorkerReport } from '../site.js';

/**
 * What the launcher, the primary and the workers say to each other over their IPC channels, and
 * what a worker is told through its environment. Every message carries a `skitai` tag so app
 * code sending its own messages cannot be mistaken for ours.
 */

/** Worker -> primary. */
export type WorkerMessage =
  | { skitai: 'listening'; port: number; ssl: boolean }
  | { skitai: 'failed'; message: string }
  /** The worker got SIGTERM: replace it without dropping requests. */
  | { skitai: 'recycle' }
  /** An uncaught exception: replace the worker, then it stops after its in-flight requests. */
  | { skitai: 'fatal' }
  /** A scrape of `metrics_path` reached this worker: gather every worker's metrics. */
  | { skitai: 'metrics-gather'; id: number }
  /** This worker's metric families, answering `metrics-collect`. */
  | { skitai: 'metrics-part'; id: number; families: Families }
  /** This worker's last metric families, sent after its final response as it exits. */
  | { skitai: 'metrics-final'; families: Families }
  /** A request for `status_path` reached this worker: gather every worker's status. */
  | { skitai: 'status-gather'; id: number }
  /** This worker's status report, answering `status-collect` (undefined without `status_path`). */
  | { skitai: 'status-part'; id: number; report: WorkerReport | undefined }
  /** Its servers are closed and it is about to exit: answered with `leave` (process/worker.ts says why). */
  | { skitai: 'leaving'; id: number };

/** Primary -> worker. */
export type PrimaryMessage =
  /** Stop within `graceMs`; `drain` keeps idle keep-alive connections until they close (reload). */
  | { skitai: 'shutdown'; graceMs: number; drain: boolean }
  /** Reopen log files (SIGUSR1). */
  | { skitai: 'reopen' }
  /** Send your metric families (`metrics-part`). */
  | { skitai: 'metrics-collect'; id: number }
  /** Every worker's families and the primary's numbers, answering `metrics-gather`. */
  | { skitai: 'metrics-parts'; id: number; parts: Families[]; info: SupervisorInfo }
  /** Send your status report (`status-part`). */
  | { skitai: 'status-collect'; id: number }
  /** Every worker's status report and the primary's numbers, answering `status-gather`. */
  | { skitai: 'status-parts'; id: number; parts: StatusParts }
  /** Answering `leaving`: everything sent to the worker before it is on its way. */
  | { skitai: 'leave'; id: number };

/** Daemon primary -> the `skitaid start` that launched it. */
export type LauncherMessage =
  | { skitai: 'ready'; pid: number; port: number; ssl: boolean; workers: number }
  | { skitai: 'failed'; message: string };

/** The `skitai` tag of one of our messages; undefined for anything else on the channel. */
export function tagOf(m: unknown): string | undefined {
  const tag = typeof m === 'object' && m !== null ? (m as { skitai?: unknown }).skitai : undefined;
  return typeof tag === 'string' ? tag : undefined;
}

/** Environment variable holding a worker's {@link WorkerSpec} (JSON). */
export const WORKER_ENV = 'SKITAI_WORKER';

/** Environment variable that makes `skitaid start` run as the daemon instead of launching one. */
export const DAEMON_ENV = 'SKITAI_DAEMON';

/** Exit code a worker uses to ask for an immediate respawn (Skitai's restart code). */
export const EXIT_RESTART = 3;

/** How the primary tells a worker to run: each worker loads the config file itself. */
export interface WorkerSpec {
  /** Absolute config path; '' for the embedded defaults. */
  readonly configFile: string;
  /** `-p` override. */
  readonly port: number | undefined;
  readonly verbose: boolean;
  readonly daemon: boolean;
  /** 1-based slot number, for log lines. */
  readonly slot: number;
}

/**
 * The node:cluster primary: keeps `processes` workers serving one port (round-robin hand-off, the
 * Linux default), respawns the ones that die, replaces them one by one on reload and stops them
 * gracefully. It serves no request itself.
 */
import cluster, { type Worker } from 'node:cluster';
import { loadConfigSync } from '../config/load.js';
import type { SiteConfig } from '../config/types.js';
import { SkitaiError, describeError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { FRESH, respawnDelay, type BackoffState } from './backoff.js';
import type { AgentView, PrimaryView } from '../site.js';
import { tell as send } from './ask.js';
import { mailCounts } from './metrics.js';
import { Gatherer, type LiveWorker } from './gather.js';
import { EXIT_RESTART, WORKER_ENV, tagOf, type WorkerMessage, type WorkerSpec } from './messages.js';
import { SKITAID_BIN } from './paths.js';
import { writeStatus, type InstanceStatus } from './status.js';

/** How long a new worker may take to load its apps and listen. */
const LISTEN_TIMEOUT_MS = 60_000;
/** Time past the grace period after which a worker that has not exited is killed. */
const KILL_AFTER_MS = 10_000;

/** How to run the workers. */
export interface PrimaryOptions {
  readonly config: SiteConfig;
  /** A fixed worker count (`-w`); otherwise `[server] processes`, read again on every reload. */
  readonly workers: number | undefined;
  /** `-p` override of `[server] port`. */
  readonly port: number | undefined;
  readonly verbose: boolean;
  readonly daemon: boolean;
  readonly logger: Logger;
  /** Where the status record for `skitaid status` goes (none when the pid file is not ours). */
  readonly statusFile?: string | undefined;
  /** The site's mail delivery agent, which runs in the primary, for the status page. */
  readonly mailStatus?: (() => AgentView | undefined) | undefined;
}

/** A worker position: its current worker, crash streak and pending respawn. */
interface Slot {
  readonly id: number;
  worker: Worker | undefined;
  backoff: BackoffState;
  timer: NodeJS.Timeout | undefined;
}

interface Live extends LiveWorker {
  retiring: boolean;
  listened?: boolean;
  killTimer?: NodeJS.Timeout;
}

/** Runs and supervises the workers; see docs/process.md for the life cycle. */
export class Primary {
  #config: SiteConfig;
  readonly #opts: PrimaryOptions;
  readonly #log: Logger;
  readonly #slots: Slot[] = [];
  readonly #live = new Map<Worker, Live>();
  #phase: 'starting' | 'running' | 'stopping' = 'starting';
  readonly #started = Date.now();
  #port = 0;
  #ssl = false;
  #respawns = 0;
  #reloads = 0;
  #lastReload: InstanceStatus['lastReload'];
  #reloading: Promise<void> | undefined;
  #reloadAgain = false;
  readonly #gather: Gatherer;
  #exitCode = 0;
  #finish: (code: number) => void = () => undefined;
  /** Resolves with the exit code (0 graceful, 1 killed) once every worker exited after stop(). */
  readonly done: Promise<number>;

  constructor(opts: PrimaryOptions) {
    this.#opts = opts;
    this.#config = opts.config;
    this.#log = opts.logger;
    this.done = new Promise((resolve) => (this.#finish = resolve));
    this.#gather = new Gatherer({
      live: this.#live,
      slots: () => this.#slots,
      info: () => ({ workers: this.#slots.filter((s) => s.worker).length, restarts: this.#respawns, reloads: this.#reloads, mail: mailCounts(this.#opts.mailStatus?.()) }),
      primary: () => this.#view(),
      logger: this.#log,
    });
  }

  /** Fork the workers and resolve with the port once all listen; rejects (SKT_PROCESS_START) if one fails. */
  async start(): Promise<number> {
    cluster.setupPrimary({ exec: SKITAID_BIN, args: [], silent: false });
    cluster.on('exit', (w, code, signal) => this.#exited(w, code, signal));
    cluster.on('message', (w, m: unknown) => {
      const tag = tagOf(m);
      if (tag === 'recycle') void this.#recycle(w);
      else if (tag === 'fatal') void this.#fatal(w);
      else if (tag === 'leaving') send(w, { skitai: 'leave', id: (m as { id: number }).id });
      else this.#gather.handle(w, m);
    });
    const n = this.#count();
    for (let id = 1; id <= n; id++) this.#slots.push({ id, worker: undefined, backoff: FRESH, timer: undefined });
    const results = await Promise.allSettled(
      this.#slots.map((slot) => {
        slot.worker = this.#fork(slot.id);
        return this.#listening(slot.worker);
      }),
    );
    const failed = results.findIndex((r) => r.status === 'rejected');
    if (failed >= 0 || this.#phase !== 'starting') {
      this.stop(true);
      await this.done;
      const reason = failed >= 0 ? `worker ${failed + 1} failed to start: ${describeError((results[failed] as PromiseRejectedResult).reason)}` : 'stopped while starting';
      throw new SkitaiError('SKT_PROCESS_START', reason);
    }
    this.#phase = 'running';
    this.#log.info(`primary (pid ${process.pid}): ${n} worker${n === 1 ? '' : 's'} listening on port ${this.#port}`);
    this.#writeStatus();
    return this.#port;
  }

  /** Whether the workers speak HTTPS (known once one listens). */
  get ssl(): boolean {
    return this.#ssl;
  }

  /** Live workers' pids, by slot. */
  get pids(): number[] {
    return this.#slots.flatMap((s) => (s.worker?.process.pid !== undefined ? [s.worker.process.pid] : []));
  }

  /**
   * Replace every worker, one at a time: fork the new one, wait until it listens, then let the old
   * one drain. The config file is read again first; if it or a new worker fails, the rest keep
   * serving. Calls during a reload run once more after it.
   */
  reload(): Promise<void> {
    if (this.#phase !== 'running') return Promise.resolve();
    if (this.#reloading) {
      this.#reloadAgain = true;
      return this.#reloading;
    }
    this.#reloading = this.#reloadOnce().finally(() => {
      this.#reloading = undefined;
      if (this.#reloadAgain) {
        this.#reloadAgain = false;
        void this.reload();
      }
    });
    return this.#reloading;
  }

  /** Graceful stop within the grace period; a second call, a call while starting, or `force` kills at once. */
  stop(force = false): void {
    const kill = force || this.#phase !== 'running';
    if (this.#phase === 'stopping') this.#log.warn('stop again: killing the workers');
    this.#phase = 'stopping';
    if (kill) this.#exitCode = 1;
    for (const slot of this.#slots) clearTimeout(slot.timer);
    for (const w of this.#live.keys()) {
      if (kill) w.process.kill('SIGKILL');
      else this.#retire(w, false);
    }
    this.#writeStatus();
    this.#checkDone();
  }

  /** SIGUSR1: reopen our log and tell every worker to reopen theirs. */
  reopenLogs(): void {
    this.#log.sink.reopen();
    for (const w of this.#live.keys()) send(w, { skitai: 'reopen' });
  }

  #count(): number {
    return this.#opts.workers ?? this.#config.server.processes;
  }

  #fork(slot: number): Worker {
    const spec: WorkerSpec = { configFile: this.#config.file, port: this.#opts.port, verbose: this.#opts.verbose, daemon: this.#opts.daemon, slot };
    // The pool size is read once, when the worker's libuv pool starts: the environment at fork is the place.
    const w = cluster.fork({ [WORKER_ENV]: JSON.stringify(spec), UV_THREADPOOL_SIZE: String(Math.max(1, this.#config.server.threads)) });
    this.#live.set(w, { slot, started: Date.now(), retiring: false, final: false });
    return w;
  }

  /** Resolves when `w` reports that it listens; rejects when it fails, exits or takes too long. */
  #listening(w: Worker): Promise<void> {
    return new Promise((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(timer);
        w.off('message', onMessage);
        w.off('exit', onExit);
      };
      const timer = setTimeout(() => {
        cleanup();
        w.process.kill('SIGKILL');
        reject(new Error(`a worker did not listen within ${LISTEN_TIMEOUT_MS / 1000} s`));
      }, LISTEN_TIMEOUT_MS);
      const onMessage = (m: unknown): void => {
        const tag = tagOf(m);
        if (tag === 'listening') {
          const l = m as Extract<WorkerMessage, { skitai: 'listening' }>;
          const live = this.#live.get(w);
          if (live) live.listened = true;
          this.#port = l.port;
          this.#ssl = l.ssl;
          cleanup();
          resolve();
        } else if (tag === 'failed') {
          cleanup();
          reject(new Error((m as Extract<WorkerMessage, { skitai: 'failed' }>).message));
        }
      };
      const onExit = (code: number | null, signal: string | null): void => {
        cleanup();
        reject(new Error(`a worker exited before it listened (${signal ?? `code ${code}`}); ${this.#opts.daemon ? 'see the logs' : 'see above'}`));
      };
      w.on('message', onMessage);
      w.on('exit', onExit);
    });
  }

  #exited(w: Worker, code: number | null, signal: string | null): void {
    const live = this.#live.get(w);
    if (!live) return;
    this.#live.delete(w);
    clearTimeout(live.killTimer);
    const slot = this.#slots.find((s) => s.worker === w);
    if (slot) slot.worker = undefined;
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    if (this.#phase !== 'running' || live.retiring || !slot) {
      this.#log.debug(`worker ${live.slot} (pid ${w.process.pid}) ${how}`);
    } else {
      const clean = !signal && (code === 0 || code === EXIT_RESTART);
      const next = respawnDelay(slot.backoff, clean ? 'clean' : 'crash', Date.now() - live.started);
      slot.backoff = next.state;
      this.#log.warn(`worker ${slot.id} (pid ${w.process.pid}) ${how}; respawning ${next.delayMs ? `in ${next.delayMs / 1000} s` : 'now'}`);
      slot.timer = setTimeout(() => this.#respawn(slot), next.delayMs);
    }
    this.#writeStatus();
    this.#checkDone();
  }

  #respawn(slot: Slot): void {
    slot.timer = undefined;
    if (this.#phase !== 'running' || slot.worker) return;
    const w = this.#fork(slot.id);
    slot.worker = w;
    this.#respawns++;
    // A failure shows up as the worker's exit, which schedules the next try with back-off.
    this.#listening(w).then(
      () => this.#writeStatus(),
      (err: unknown) => this.#log.error(`worker ${slot.id} failed to start: ${describeError(err)}`),
    );
  }

  /** Fork a replacement for `slot`, and once it listens, drain the worker it replaces. */
  async #replace(slot: Slot): Promise<void> {
    const fresh = this.#fork(slot.id);
    await this.#listening(fresh);
    if (this.#phase !== 'running') return; // stop() already told `fresh` to go
    const old = slot.worker;
    clearTimeout(slot.timer);
    slot.timer = undefined;
    slot.worker = fresh;
    slot.backoff = FRESH;
    if (old) this.#retire(old, true);
    this.#writeStatus();
  }

  async #reloadOnce(): Promise<void> {
    this.#log.info('reload: replacing the workers one by one');
    this.#writeStatus('reloading');
    const finish = (ok: boolean, message: string): void => {
      this.#reloads++;
      this.#lastReload = { at: Date.now(), ok, message };
      if (ok) this.#log.info(`reload: ${message}`);
      else this.#log.error(`reload: ${message}`);
      this.#writeStatus(this.#phase === 'running' ? 'running' : undefined);
    };
    try {
      if (this.#config.file) this.#config = loadConfigSync(this.#config.file);
    } catch (err) {
      return finish(false, `the config is not valid, nothing was replaced: ${describeError(err)}`);
    }
    const n = this.#count();
    while (this.#slots.length < n) this.#slots.push({ id: this.#slots.length + 1, worker: undefined, backoff: FRESH, timer: undefined });
    for (let i = 0; i < n; i++) {
      if (this.#phase !== 'running') return finish(false, 'stopped during the reload');
      try {
        await this.#replace(this.#slots[i]!);
      } catch (err) {
        return finish(false, `worker ${i + 1} failed to start, ${i} of ${n} replaced, the others keep serving: ${describeError(err)}`);
      }
    }
    // Fewer processes than before: the surplus goes only once the replacements serve.
    for (const slot of this.#slots.splice(n)) {
      clearTimeout(slot.timer);
      if (slot.worker) this.#retire(slot.worker, true);
    }
    finish(true, `${n} worker${n === 1 ? '' : 's'} replaced`);
  }

  async #recycle(w: Worker): Promise<void> {
    const slot = this.#slots.find((s) => s.worker === w);
    if (this.#phase !== 'running' || !slot) return;
    this.#log.info(`worker ${slot.id} (pid ${w.process.pid}) got SIGTERM: replacing it`);
    try {
      await this.#replace(slot);
    } catch (err) {
      this.#log.error(`worker ${slot.id}: the replacement failed, the old one keeps serving: ${describeError(err)}`);
    }
  }

  /**
   * `w` had an uncaught exception: replace it (the new worker listens first, so a lone worker's
   * port never goes unserved), then let it finish its in-flight requests. If no replacement
   * starts, it stops anyway and its exit is handled as a crash (respawn with back-off).
   */
  async #fatal(w: Worker): Promise<void> {
    const slot = this.#slots.find((s) => s.worker === w);
    if (this.#phase !== 'running' || !slot) return;
    this.#log.warn(`worker ${slot.id} (pid ${w.process.pid}) had an uncaught exception: replacing it`);
    try {
      await this.#replace(slot);
      this.#respawns++;
      this.#writeStatus();
    } catch (err) {
      this.#log.error(`worker ${slot.id}: the replacement failed (${describeError(err)}); the failed worker stops anyway`);
      send(w, { skitai: 'shutdown', graceMs: this.#config.server.gracePeriod, drain: false });
    }
  }

  /** Ask `w` to stop within the grace period; kill it if it is still there well after. */
  #retire(w: Worker, drain: boolean): void {
    const live = this.#live.get(w);
    if (!live || live.retiring) return;
    live.retiring = true;
    const graceMs = this.#config.server.gracePeriod;
    send(w, { skitai: 'shutdown', graceMs, drain });
    live.killTimer = setTimeout(() => {
      this.#log.warn(`worker ${live.slot} (pid ${w.process.pid}) did not stop within the grace period: killed`);
      w.process.kill('SIGKILL');
    }, graceMs + KILL_AFTER_MS);
  }

  #checkDone(): void {
    if (this.#phase === 'stopping' && this.#live.size === 0) this.#finish(this.#exitCode);
  }

  #state(): InstanceStatus['state'] {
    return this.#phase === 'running' && this.#reloading ? 'reloading' : this.#phase;
  }

  /** The status page's view of the primary. */
  #view(): PrimaryView {
    return {
      pid: process.pid, started: this.#started, state: this.#state(), processes: this.#count(),
      respawns: this.#respawns, reloads: this.#reloads, lastReload: this.#lastReload, mailAgent: this.#opts.mailStatus?.(),
    };
  }

  #writeStatus(state?: InstanceStatus['state']): void {
    const file = this.#opts.statusFile;
    if (!file) return;
    const status: InstanceStatus = {
      name: this.#config.server.name,
      pid: process.pid,
      config: this.#config.file,
      state: state ?? this.#state(),
      started: this.#started,
      port: this.#port,
      ssl: this.#ssl,
      workers: this.#slots.flatMap((s) => {
        const live = s.worker && this.#live.get(s.worker);
        return s.worker?.process.pid !== undefined && live ? [{ slot: s.id, pid: s.worker.process.pid, started: live.started }] : [];
      }),
      respawns: this.#respawns,
      reloads: this.#reloads,
      lastReload: this.#lastReload,
      mode: this.#opts.daemon ? 'daemon' : 'foreground',
    };
    try {
      writeStatus(file, status);
    } catch (err) {
      this.#log.error(`cannot write the status file ${file}`, err);
    }
  }
}

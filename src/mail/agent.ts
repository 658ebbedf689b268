/**
 * The SMTP delivery agent (Skitai's smtpda): watches the spool, claims due entries, sends them
 * with up to `concurrency` attempts in flight, and reschedules, finishes or gives up on each.
 *
 * Crash safety: an entry is claimed by renaming it from `spool/` into `active/` under a name that
 * carries the agent's pid and token. A rename succeeds for one agent only, so two agents never send
 * the same entry at once. A claim whose owner is gone (dead pid, or a stopped agent of this
 * process) goes back to `spool/` and is tried again: nothing is lost. Delivery is at-least-once:
 * a crash between the relay's final "250" and the removal of the claim sends that message again.
 */
import { randomBytes } from 'node:crypto';
import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SkitaiError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { attempt, type AttemptFailure } from './deliver.js';
import { parseEntry, pending, type SpoolEntry } from './entry.js';
import { ensureDirs, moveDurably, syncDir, TEMP_PREFIX, writeAtomic } from './files.js';
import type { SmtpdaOptions } from './options.js';
import { mayRetry, retryDelay } from './schedule.js';
import { describeServer, type SmtpServer } from './server.js';
import { list, spoolDirs, type AgentStatus, type SpoolDirs } from './spool.js';

export type { AgentStatus } from './spool.js';

/** Tokens of the agents running in this process, to tell our live claims from stale ones. */
const LIVE = new Set<string>();
const CLEANUP_EVERY_MS = 3_600_000;
/** A temp file this old was left by a crash mid-write. */
const STALE_TEMP_MS = 3_600_000;
const DAY_MS = 86_400_000;

export interface MailAgentOptions {
  /** `<var_path>/mail`. */
  readonly root: string;
  readonly options: SmtpdaOptions;
  readonly logger: Logger;
}

/** The delivery agent. `start()` it once; `stop()` on shutdown. */
export class MailAgent {
  readonly dirs: SpoolDirs;
  readonly #opts: SmtpdaOptions;
  readonly #log: Logger;
  readonly #token = randomBytes(4).toString('hex');
  readonly #inFlight = new Map<string, { abort: AbortController; done: Promise<void> }>();
  /** nextAt of spool files already read, so a scan reads only new files. */
  readonly #due = new Map<string, number>();
  /**
   * Not before this time, whatever the file says: an attempt that could not be recorded (full
   * disk) left its file saying "due now", and each scan would send it again.
   */
  readonly #hold = new Map<string, number>();
  #running = false;
  #stopping = false;
  #scanning: Promise<void> | undefined;
  #rescan = false;
  #timer: NodeJS.Timeout | undefined;
  #wakeTimer: NodeJS.Timeout | undefined;
  #cleanupTimer: NodeJS.Timeout | undefined;
  #watcher: fsSync.FSWatcher | undefined;
  #stats = { attempts: 0, failedAttempts: 0, delivered: 0, undelivered: 0, lastError: undefined as string | undefined, lastErrorAt: undefined as number | undefined };

  constructor(options: MailAgentOptions) {
    this.dirs = spoolDirs(options.root);
    this.#opts = options.options;
    this.#log = options.logger;
  }

  /** Create the directories, recover stale claims, clean up, and start scanning. */
  async start(): Promise<void> {
    if (this.#running || this.#stopping) return;
    try {
      await ensureDirs(this.dirs.spool, this.dirs.active, this.dirs.undeliver, this.dirs.corrupt);
    } catch (err) {
      throw new SkitaiError('SKT_MAIL_SPOOL', `cannot create the mail spool under ${this.dirs.root}: ${(err as Error).message}`, { cause: err });
    }
    this.#running = true;
    LIVE.add(this.#token);
    try {
      this.#watcher = fsSync.watch(this.dirs.spool, () => this.wake());
      this.#watcher.on('error', () => this.#watcher?.close());
    } catch {
      // No watch support: the scan interval alone finds new mail.
    }
    this.#cleanupTimer = setInterval(() => void this.#cleanup(), CLEANUP_EVERY_MS);
    this.#cleanupTimer.unref();
    await this.#cleanup();
    this.#log.info(`smtpda: delivering ${this.dirs.spool} via ${describeServer(this.#opts.server)} (max_retry ${this.#opts.maxRetry}, concurrency ${this.#opts.concurrency})`);
    await this.#scan();
  }

  /** Scan soon (new mail was queued, or a delivery finished). */
  wake(): void {
    if (!this.#running || this.#wakeTimer) return;
    this.#wakeTimer = setTimeout(() => {
      this.#wakeTimer = undefined;
      void this.#scan();
    }, 5);
  }

  /**
   * Stop scanning, give deliveries in flight `graceMs` to finish, then abort them (their entries
   * go back to the spool unchanged, to be tried again by the next agent).
   */
  async stop(graceMs = 5_000): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.#stopping = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#wakeTimer);
    clearInterval(this.#cleanupTimer);
    this.#watcher?.close();
    // A scan may be claiming right now: let it finish, so every claim it makes is waited for below.
    await this.#scanning;
    const all = (): Promise<unknown> => Promise.all([...this.#inFlight.values()].map((d) => d.done));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all(), new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    for (const d of this.#inFlight.values()) d.abort.abort();
    await all();
    LIVE.delete(this.#token);
  }

  status(): AgentStatus {
    return { running: this.#running, inFlight: this.#inFlight.size, ...this.#stats };
  }

  #scan(): Promise<void> {
    if (!this.#running) return Promise.resolve();
    if (this.#scanning) {
      this.#rescan = true;
      return this.#scanning;
    }
    this.#scanning = this.#scanOnce().finally(() => {
      this.#scanning = undefined;
      if (!this.#running) return;
      if (this.#rescan) {
        this.#rescan = false;
        this.wake();
      }
    });
    return this.#scanning;
  }

  async #scanOnce(): Promise<void> {
    clearTimeout(this.#timer);
    let next = this.#opts.scanInterval;
    try {
      await this.#recoverStale();
      const names = (await list(this.dirs.spool)).filter((n) => n.endsWith('.json'));
      const present = new Set(names);
      for (const name of this.#due.keys()) if (!present.has(name)) this.#due.delete(name);
      for (const [name, at] of this.#hold) if (at <= Date.now() && !present.has(name)) this.#hold.delete(name);
      for (const name of names) if (!this.#due.has(name)) await this.#learn(name);
      const now = Date.now();
      const due = [...this.#due].filter(([, at]) => at <= now).sort((a, b) => a[1] - b[1]);
      for (const [name] of due) {
        if (!this.#running || this.#inFlight.size >= this.#opts.concurrency) break;
        // An attempt puts its entry back into spool/ before it has flushed the directories and
        // logged: that one is still ours. The next attempt waits for it (its end wakes a scan).
        if (this.#inFlight.has(name.slice(0, -'.json'.length))) continue;
        await this.#claim(name);
      }
      for (const at of this.#due.values()) if (at > now) next = Math.min(next, at - now);
    } catch (err) {
      this.#log.error(`smtpda: spool scan failed: ${(err as Error).message}`);
    }
    if (!this.#running) return;
    this.#timer = setTimeout(() => void this.#scan(), Math.max(next, 5));
    this.#timer.unref();
  }

  /** Read a spool file's due time; move it aside if it cannot be read. */
  async #learn(name: string): Promise<void> {
    const file = path.join(this.dirs.spool, name);
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch {
      return; // claimed by another agent meanwhile
    }
    try {
      const hold = this.#hold.get(name);
      if (hold !== undefined && hold <= Date.now()) this.#hold.delete(name);
      this.#due.set(name, Math.max(parseEntry(text).nextAt, hold ?? 0));
    } catch (err) {
      await this.#moveAside(file, name, (err as Error).message);
    }
  }

  async #claim(name: string): Promise<void> {
    const id = name.slice(0, -'.json'.length);
    const claim = path.join(this.dirs.active, `${id}~${process.pid}-${this.#token}.json`);
    try {
      await fs.rename(path.join(this.dirs.spool, name), claim);
    } catch {
      this.#due.delete(name); // another agent won it
      return;
    }
    // The claim's time: one from before the last boot is stale whoever has its pid now.
    const now = new Date();
    await fs.utimes(claim, now, now).catch(() => undefined);
    let entry: SpoolEntry;
    try {
      entry = parseEntry(await fs.readFile(claim, 'utf8'));
    } catch (err) {
      this.#due.delete(name);
      await this.#moveAside(claim, name, (err as Error).message);
      return;
    }
    if (entry.nextAt > Date.now()) {
      // Another agent rescheduled it since we read it: put it back untouched.
      await fs.rename(claim, path.join(this.dirs.spool, name));
      this.#due.set(name, entry.nextAt);
      return;
    }
    this.#due.delete(name);
    const abort = new AbortController();
    const done = this.#deliver(entry, claim, abort.signal)
      .catch(async (err: unknown) => {
        const wait = retryDelay(Math.max(1, entry.attempts), this.#opts);
        this.#log.error(`smtpda: mail ${id}: cannot record the attempt: ${(err as Error).message}; next try in ${wait / 1000}s`);
        this.#hold.set(name, Date.now() + wait);
        // Leave the entry retryable rather than stuck under a live claim.
        await fs.rename(claim, path.join(this.dirs.spool, name)).catch(() => undefined);
      })
      .finally(() => {
        this.#inFlight.delete(id);
        this.wake();
      });
    this.#inFlight.set(id, { abort, done });
  }

  async #deliver(entry: SpoolEntry, claim: string, signal: AbortSignal): Promise<void> {
    const server: SmtpServer = entry.smtp
      ? { host: entry.smtp.host, port: entry.smtp.port, user: entry.smtp.user, password: entry.smtp.password, ssl: entry.smtp.ssl }
      : this.#opts.server;
    const to = pending(entry).map((r) => r.address);
    const spoolFile = path.join(this.dirs.spool, `${entry.id}.json`);
    const outcome = await attempt(entry, to, server, this.#opts, signal);
    if (signal.aborted && outcome.accepted.length === 0) {
      // Shutdown cut the attempt short: not the message's fault, so it does not count.
      await moveDurably(claim, spoolFile);
      this.#log.info(`smtpda: mail ${entry.id}: attempt cut short by shutdown; left in the spool`);
      return;
    }
    entry.attempts += 1;
    entry.lastAttempt = Date.now();
    this.#stats.attempts++;
    const note = (address: string, f: AttemptFailure): void => {
      const r = entry.recipients.find((x) => x.address === address && x.state === 'pending');
      if (!r) return;
      r.code = f.code;
      r.error = f.message;
      if (f.permanent) r.state = 'failed';
    };
    for (const address of outcome.accepted) {
      const r = entry.recipients.find((x) => x.address === address && x.state === 'pending');
      if (r) Object.assign(r, { state: 'sent', code: 250, error: undefined });
    }
    for (const [address, f] of outcome.rejected) note(address, f);
    if (outcome.failure) for (const r of pending(entry)) if (!outcome.accepted.includes(r.address)) note(r.address, outcome.failure);
    const max = this.#opts.maxRetry + 1;
    const head = `smtpda: mail ${entry.id} attempt ${entry.attempts}/${max} to ${to.join(', ')} via ${describeServer(server)}`;
    const sentNow = outcome.accepted.length > 0 ? `sent to ${outcome.accepted.join(', ')}` : '';
    const why = [...[...outcome.rejected].map(([a, f]) => `${a}: ${f.message}`), outcome.failure?.message].filter(Boolean).join('; ');
    if (why) {
      this.#stats.failedAttempts++;
      this.#stats.lastError = `mail ${entry.id}: ${why}`;
      this.#stats.lastErrorAt = Date.now();
      entry.lastError = why;
    }
    const left = pending(entry);
    if (left.length === 0 && entry.recipients.every((r) => r.state === 'sent')) {
      await fs.rm(claim);
      await syncDir(this.dirs.active);
      this.#stats.delivered++;
      this.#log.info(`${head}: ${sentNow}`);
      return;
    }
    if (left.length > 0 && mayRetry(entry.attempts, this.#opts)) {
      const wait = retryDelay(entry.attempts, this.#opts);
      entry.nextAt = Date.now() + wait;
      await writeAtomic(claim, JSON.stringify(entry));
      await moveDurably(claim, spoolFile);
      this.#due.set(`${entry.id}.json`, entry.nextAt);
      this.#log.warn(`${head}: ${[sentNow, why].filter(Boolean).join('; ')}; retry ${entry.attempts} in ${wait / 1000}s`);
      return;
    }
    for (const r of left) Object.assign(r, { state: 'failed', error: `gave up after ${entry.attempts} attempts: ${r.error ?? why}` });
    entry.undeliverable = left.length > 0 ? `gave up after ${entry.attempts} attempts: ${why}` : `refused: ${why}`;
    // Nothing sends it again: a setSmtp() password must not wait in undeliver/ for undelivers_keep_max_days.
    const { password: _dropped, ...smtp } = entry.smtp ?? {};
    await writeAtomic(claim, JSON.stringify(entry.smtp ? { ...entry, smtp } : entry));
    await moveDurably(claim, path.join(this.dirs.undeliver, `${entry.id}.json`));
    this.#stats.undelivered++;
    this.#log.warn(`${head}: ${[sentNow, why].filter(Boolean).join('; ')}; undeliverable (${path.join(this.dirs.undeliver, `${entry.id}.json`)})`);
  }

  /** Put claims of dead agents back into the spool. */
  async #recoverStale(): Promise<void> {
    for (const name of await list(this.dirs.active)) {
      const m = /^(.+)~(\d+)-([0-9a-f]+)\.json$/.exec(name);
      if (!m) continue;
      const [, id, pid, token] = m;
      if (Number(pid) === process.pid ? LIVE.has(token!) : alive(Number(pid)) && !(await beforeBoot(path.join(this.dirs.active, name)))) continue;
      const target = path.join(this.dirs.spool, `${id}.json`);
      try {
        if (fsSync.existsSync(target)) await fs.rm(path.join(this.dirs.active, name));
        else await moveDurably(path.join(this.dirs.active, name), target);
        this.#log.warn(`smtpda: mail ${id} was being sent by a stopped agent (pid ${pid}); back in the spool`);
      } catch {
        // Another agent recovered it first.
      }
    }
  }

  async #moveAside(file: string, name: string, why: string): Promise<void> {
    const target = path.join(this.dirs.corrupt, `${name}.${Date.now()}`);
    try {
      await moveDurably(file, target);
      // Kept undelivers_keep_max_days from now: a rename keeps the old time, and cleanup deleted an old file at once.
      const now = new Date();
      await fs.utimes(target, now, now).catch(() => undefined);
      this.#log.error(`smtpda: spool file ${name} is unreadable (${why}); moved to ${target}`);
    } catch (err) {
      this.#log.error(`smtpda: spool file ${name} is unreadable (${why}) and cannot be moved aside: ${(err as Error).message}`);
    }
  }

  /** Delete old undeliverable and corrupt entries (when a keep time is set) and stale temp files. */
  async #cleanup(): Promise<void> {
    const now = Date.now();
    const keepMs = this.#opts.undeliversKeepMaxDays * DAY_MS;
    const sweep = async (dir: string, olderThan: number, temps: boolean): Promise<void> => {
      let names: string[];
      try {
        names = await fs.readdir(dir);
      } catch {
        return;
      }
      for (const name of names) {
        if (temps !== name.startsWith(TEMP_PREFIX)) continue;
        try {
          const stat = await fs.stat(path.join(dir, name));
          // Older means modified longer ago than the keep time (Skitai compared the other way round and kept them forever).
          if (now - stat.mtimeMs > olderThan) {
            await fs.rm(path.join(dir, name), { force: true });
            if (!temps) this.#log.info(`smtpda: deleted ${path.join(dir, name)} (older than ${this.#opts.undeliversKeepMaxDays} days)`);
          }
        } catch {
          // Gone meanwhile.
        }
      }
    };
    if (keepMs > 0) {
      await sweep(this.dirs.undeliver, keepMs, false);
      await sweep(this.dirs.corrupt, keepMs, false);
    }
    for (const dir of [this.dirs.spool, this.dirs.active, this.dirs.undeliver]) await sweep(dir, STALE_TEMP_MS, true);
  }
}

/**
 * Whether a claim was made before this machine last booted: its agent is gone even when its pid
 * now belongs to another process (pids start over at boot, and a claim of a live pid was kept
 * forever — the message stuck in "sending").
 */
async function beforeBoot(file: string): Promise<boolean> {
  try {
    const boot = Date.now() - os.uptime() * 1000;
    // A few seconds of margin for os.uptime()'s whole seconds: a claim made just before a reboot waits for its pid to end.
    return (await fs.stat(file)).mtimeMs < boot - 5_000;
  } catch {
    return false;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The durable mail spool under `<var_path>/mail/`: `spool/` (waiting), `active/` (claimed by an
 * agent that is sending it), `undeliver/` (given up, with the reason) and `corrupt/` (files that
 * could not be read, kept for a human). An app's `send()` resolves only once its entry is on disk.
 */
import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { SkitaiError } from '../errors.js';
import { isId, parseEntry, pending, type SpoolEntry } from './entry.js';
import { ensureDirs, TEMP_PREFIX, writeAtomic } from './files.js';

/** The four directories of a spool, absolute. */
export interface SpoolDirs {
  readonly root: string;
  readonly spool: string;
  readonly active: string;
  readonly undeliver: string;
  readonly corrupt: string;
}

/** The directories under a mail root (`<var_path>/mail`). */
export function spoolDirs(root: string): SpoolDirs {
  return {
    root,
    spool: path.join(root, 'spool'),
    active: path.join(root, 'active'),
    undeliver: path.join(root, 'undeliver'),
    corrupt: path.join(root, 'corrupt'),
  };
}

/** Where one message stands, as honestly as the spool can tell. */
export type MailState =
  | { readonly state: 'queued'; readonly attempts: number; readonly nextAt: number; readonly lastError: string | undefined; readonly pending: readonly string[] }
  | { readonly state: 'sending'; readonly attempts: number }
  | { readonly state: 'undeliverable'; readonly reason: string; readonly failed: readonly string[] }
  /** No file any more: every recipient was accepted by the relay, or the entry was cleaned up (or never existed). */
  | { readonly state: 'gone' };

/** The delivery agent's counters since it started (see MailAgent). */
export interface AgentStatus {
  readonly running: boolean;
  readonly inFlight: number;
  readonly attempts: number;
  /** Attempts after which a recipient was still not accepted (retried later, or given up). */
  readonly failedAttempts: number;
  readonly delivered: number;
  readonly undelivered: number;
  readonly lastError: string | undefined;
  readonly lastErrorAt: number | undefined;
}

/** Counts of each directory, for a status view, and the agent's counters when it runs in this process. */
export interface SpoolStatus {
  readonly queued: number;
  readonly sending: number;
  readonly undeliverable: number;
  readonly corrupt: number;
  readonly agent?: AgentStatus;
}

/** What `send()` needs from the site. */
export interface MailSpoolOptions {
  /** `<var_path>/mail`. */
  readonly root: string;
  /** Largest raw message accepted, bytes. */
  readonly maxMessageSize: number;
  /** Called after an entry is on disk (the in-process agent delivers it at once). */
  readonly onQueued?: () => void;
}

/** The app side of the spool: writes entries and answers status questions. One per worker. */
export class MailSpool {
  readonly dirs: SpoolDirs;
  readonly maxMessageSize: number;
  #onQueued: (() => void) | undefined;
  /** The agent of this process, if it runs one (a single process; not a worker under a primary). */
  agent: { status(): AgentStatus } | undefined;

  constructor(options: MailSpoolOptions) {
    this.dirs = spoolDirs(options.root);
    this.maxMessageSize = options.maxMessageSize;
    this.#onQueued = options.onQueued;
  }

  /** Set who to wake when mail is queued (the site's own agent, when it runs one). */
  set onQueued(fn: (() => void) | undefined) {
    this.#onQueued = fn;
  }

  /** Write a new entry durably; resolves once it would survive a crash. */
  async enqueue(entry: SpoolEntry): Promise<void> {
    try {
      await ensureDirs(this.dirs.spool);
      await writeAtomic(path.join(this.dirs.spool, `${entry.id}.json`), JSON.stringify(entry));
    } catch (err) {
      throw new SkitaiError('SKT_MAIL_SPOOL', `cannot write the mail spool ${this.dirs.spool}: ${(err as Error).message}`, { cause: err });
    }
    this.#onQueued?.();
  }

  /** Where message `id` (as `send()` returned it) stands now. */
  async lookup(id: string): Promise<MailState> {
    if (!isId(id)) return { state: 'gone' };
    const queued = await readEntry(path.join(this.dirs.spool, `${id}.json`));
    if (queued) {
      return { state: 'queued', attempts: queued.attempts, nextAt: queued.nextAt, lastError: queued.lastError, pending: pending(queued).map((r) => r.address) };
    }
    const claims = (await list(this.dirs.active)).filter((name) => name.startsWith(`${id}~`));
    if (claims.length > 0) {
      const claimed = await readEntry(path.join(this.dirs.active, claims[0]!));
      return { state: 'sending', attempts: claimed?.attempts ?? 0 };
    }
    const failed = await readEntry(path.join(this.dirs.undeliver, `${id}.json`));
    if (failed) {
      return { state: 'undeliverable', reason: failed.undeliverable ?? failed.lastError ?? 'unknown', failed: failed.recipients.filter((r) => r.state !== 'sent').map((r) => r.address) };
    }
    return { state: 'gone' };
  }

  /** How many entries sit in each directory. */
  async status(): Promise<SpoolStatus> {
    const count = async (dir: string): Promise<number> => (await list(dir)).length;
    return {
      queued: await count(this.dirs.spool),
      sending: await count(this.dirs.active),
      undeliverable: await count(this.dirs.undeliver),
      corrupt: await count(this.dirs.corrupt),
      ...(this.agent ? { agent: this.agent.status() } : {}),
    };
  }
}

/** Entry file names of a directory (temp files left out); [] when it does not exist yet. */
export async function list(dir: string): Promise<string[]> {
  try {
    return (await fs.readdir(dir)).filter((name) => !name.startsWith(TEMP_PREFIX));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

async function readEntry(file: string): Promise<SpoolEntry | undefined> {
  try {
    return parseEntry(await fs.readFile(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Counts and the most recent error, read straight from disk (no agent needed): for `skitaid status`.
 * Reads only the newest queued and undeliverable entries.
 */
export function summarizeSpool(root: string): string {
  const dirs = spoolDirs(root);
  const names = (dir: string): string[] => {
    try {
      return fsSync.readdirSync(dir).filter((n) => !n.startsWith(TEMP_PREFIX));
    } catch {
      return [];
    }
  };
  const counts = [names(dirs.spool).length, names(dirs.active).length, names(dirs.undeliver).length, names(dirs.corrupt).length];
  let last: { at: number; text: string } | undefined;
  for (const dir of [dirs.spool, dirs.undeliver]) {
    let newest: { at: number; file: string } | undefined;
    for (const name of names(dir)) {
      try {
        const at = fsSync.statSync(path.join(dir, name)).mtimeMs;
        if (!newest || at > newest.at) newest = { at, file: path.join(dir, name) };
      } catch {
        // gone meanwhile
      }
    }
    if (!newest || (last && last.at >= newest.at)) continue;
    try {
      const e = parseEntry(fsSync.readFileSync(newest.file, 'utf8'));
      if (e.lastError) last = { at: newest.at, text: `mail ${e.id}: ${e.lastError}` };
    } catch {
      // corrupt: the agent moves it aside
    }
  }
  const line = `${counts[0]} queued, ${counts[1]} sending, ${counts[2]} undeliverable, ${counts[3]} corrupt`;
  return last ? `${line}\n  last error ${last.text}` : line;
}

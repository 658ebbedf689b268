/** The primary's half of a site-wide scrape: ask each worker for its metric families. */
import type { Worker } from 'node:cluster';
import { keepCounters, type Families, type MailCounts } from '../site.js';
import { ask } from './ask.js';
import type { WorkerMessage } from './messages.js';

/** How long a scrape waits for one worker's metrics. */
const COLLECT_TIMEOUT_MS = 2_000;

/** Each worker's families, in order; undefined for one that did not answer within 2 s (or exited). */
export function collectFamilies(workers: readonly Worker[]): Promise<(Families | undefined)[]> {
  return Promise.all(workers.map(collect));
}

/** The counters of workers that are gone, summed: the site's totals do not drop when a worker is replaced. */
export class KeptCounters {
  #kept: Families = [];
  #pending: Promise<void> = Promise.resolve();

  /** Add a departing worker's final families (chained: two leaving at once must not overwrite each other). */
  add(families: Families, onError: (err: unknown) => void): void {
    this.#pending = this.#pending.then(async () => {
      this.#kept = await keepCounters(this.#kept, families);
    }).catch(onError);
  }

  async get(): Promise<Families> {
    await this.#pending;
    return this.#kept;
  }
}

function collect(target: Worker): Promise<Families | undefined> {
  return ask(target, (id) => ({ skitai: 'metrics-collect', id }), 'metrics-part', (m) => (m as Extract<WorkerMessage, { skitai: 'metrics-part' }>).families, COLLECT_TIMEOUT_MS);
}

/** Only the numbers: the agent's status also holds its last error text, which the IPC message does not need. */
export function mailCounts(c: MailCounts | undefined): MailCounts | undefined {
  return c && { attempts: c.attempts, failedAttempts: c.failedAttempts, delivered: c.delivered, undelivered: c.undelivered };
}

/**
 * The primary's answers to a worker that needs every worker's numbers: a scrape of `metrics_path`
 * (metric families, summed by the asking worker) and a request for `status_path` (status reports,
 * combined by the asking worker). The primary only relays; it serves no HTTP itself.
 */
import type { Worker } from 'node:cluster';
import type { Logger } from '../log/logger.js';
import type { Families, PrimaryView, SupervisorInfo, WorkerPart, WorkerReport } from '../site.js';
import { ask, tell } from './ask.js';
import { tagOf, type WorkerMessage } from './messages.js';
import { KeptCounters, collectFamilies } from './metrics.js';

/** How long the status page waits for one worker: a busy or stuck worker is shown as not answering, not waited on. */
const STATUS_TIMEOUT_MS = 1_000;

/** What the primary knows of a live worker process. */
export interface LiveWorker {
  readonly slot: number;
  readonly started: number;
  readonly retiring: boolean;
  /** It listens, so it answers collections, until it sent its final metrics (then in the kept counts). */
  readonly listened?: boolean;
  final: boolean;
}

/** Where the answers come from: the primary's bookkeeping, read at the time of each request. */
export interface GatherSources {
  readonly live: ReadonlyMap<Worker, LiveWorker>;
  readonly slots: () => readonly { readonly id: number; readonly worker: Worker | undefined }[];
  readonly info: () => SupervisorInfo;
  readonly primary: () => PrimaryView;
  readonly logger: Logger;
}

export class Gatherer {
  readonly #kept = new KeptCounters();
  /** Each serving worker's last answer to a scrape: stands in for it when it does not answer in time. */
  readonly #last = new WeakMap<Worker, Families>();

  constructor(readonly src: GatherSources) {}

  /** Answer `m` if it is one of ours from `w`; false for any other message. */
  handle(w: Worker, m: unknown): boolean {
    const tag = tagOf(m);
    if (tag === 'metrics-gather') void this.#metrics(w, (m as Extract<WorkerMessage, { skitai: 'metrics-gather' }>).id);
    else if (tag === 'metrics-final') this.#keep(w, (m as Extract<WorkerMessage, { skitai: 'metrics-final' }>).families);
    else if (tag === 'status-gather') void this.#status(w, (m as Extract<WorkerMessage, { skitai: 'status-gather' }>).id);
    else return false;
    return true;
  }

  /**
   * A scrape reached `w`: send it every listening worker's metric families (draining ones too,
   * until their final numbers are kept), the kept counts of workers gone, and the primary's numbers.
   */
  async #metrics(w: Worker, id: number): Promise<void> {
    const live = this.src.live;
    const asked = [...live].flatMap(([worker, l]) => (l.listened && !l.final ? [worker] : []));
    const answers = await collectFamilies(asked);
    const parts: Families[] = [];
    for (let i = 0; i < asked.length; i++) {
      const worker = asked[i]!;
      // A worker that left while we asked is in the kept counts now (or crashed): counted once, there.
      if (live.get(worker)?.final !== false) continue;
      const answer = answers[i];
      if (answer) this.#last.set(worker, answer);
      // A busy worker's counters must not vanish from the sums for one scrape: rate() would read the
      // drop and the return as a counter reset and a spike. Its last answer stands in (a little old).
      const part = answer ?? this.#last.get(worker);
      if (part) parts.push(part);
      if (!answer) this.src.logger.warn(`metrics: worker pid ${worker.process.pid ?? '?'} did not answer within 2 s; ${part ? 'its last numbers are used' : 'left out of this scrape'}`);
    }
    tell(w, { skitai: 'metrics-parts', id, parts: [...parts, await this.#kept.get()], info: this.src.info() });
  }

  /** A worker's last counters, kept so the site's sums survive its replacement (docs/operations.md). */
  #keep(w: Worker, families: Families): void {
    const live = this.src.live.get(w);
    if (live) live.final = true;
    this.#kept.add(families, (err) => this.src.logger.error("metrics: cannot keep a departing worker's counters", err));
  }

  /**
   * A status page request reached `w`: every worker's report, asked at once and waited for at most
   * 1 s each (one that does not answer is listed without), slots waiting for a respawn, and ours.
   */
  async #status(w: Worker, id: number): Promise<void> {
    const asked = [...this.src.live].map(async ([worker, l]): Promise<WorkerPart> => {
      const state = l.retiring ? 'draining' : l.listened ? 'serving' : 'starting';
      const part = { slot: l.slot, pid: worker.process.pid ?? 0, started: l.started, state } as const;
      if (state === 'starting') return part;
      const report = await ask(worker, (n) => ({ skitai: 'status-collect', id: n }), 'status-part', (r) => r['report'] as WorkerReport | undefined, STATUS_TIMEOUT_MS);
      return report ? { ...part, report } : part;
    });
    const down = this.src.slots().flatMap((s): WorkerPart[] => (s.worker ? [] : [{ slot: s.id, pid: 0, started: 0, state: 'down' }]));
    tell(w, { skitai: 'status-parts', id, parts: { workers: [...(await Promise.all(asked)), ...down], primary: this.src.primary() } });
  }
}

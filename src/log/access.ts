import { JsonLine } from './jsonline.js';
import type { LogSink } from './logger.js';
import { timestamp } from './logger.js';
import { type AccessRecord, redactTarget } from './record.js';

export { AccessConnection, type AccessRecord, redactTarget } from './record.js';

/**
 * One line per response, in Skitai's format or as JSON in pino's shape (log/jsonline.ts); request
 * targets without user info.
 */
export class AccessLog {
  readonly #line: JsonLine;
  /** `format === 'json'`, tested per request without a string compare. */
  readonly #json: boolean;
  constructor(
    readonly sink: LogSink,
    readonly format: 'skitai' | 'json',
  ) {
    this.#line = new JsonLine(sink);
    this.#json = format === 'json';
  }

  /**
   * JSON records waiting for the end of the event-loop turn (file sinks only). A turn's lines are
   * formatted together, in one loop, so the formatter's code and constants stay in the CPU's caches
   * for all of them (callgrind: fewer instruction-cache misses than one line inside each request,
   * where the same code cost a server about three times what it costs in a loop), and the wall
   * clock is read once per turn (docs/performance.md, "Session 7").
   */
  readonly #queue: AccessRecord[] = [];
  #queued = false;
  readonly #drain = (): void => {
    this.#queued = false;
    this.flush();
  };

  write(r: AccessRecord): void {
    if (this.#json) {
      // A sink without a batch (the console) gets its line at once, as a developer watching it expects.
      if (this.sink.batch === undefined) return this.#line.write(r, Date.now());
      this.#queue.push(r);
      if (!this.#queued) {
        this.#queued = true;
        setImmediate(this.#drain);
      }
      return;
    }
    const url = redactTarget(r.url);
    // <ip>:<port> <request-line> <status> <bytes>, then the time taken and the request id (our
    // additions). A tunnel's bytes are <up>/<down>, as Skitai logged them.
    const bytes = r.up === undefined ? `${r.bytes}` : `${r.up}/${r.bytes}`;
    this.sink.write(
      `${timestamp()} [info] ${r.remote}:${r.port} ${r.method} ${url} HTTP/${r.version} ${r.status} ${bytes} ${r.ms.toFixed(1)}ms${r.aborted ? ' aborted' : ''} ${r.id}${r.trace === undefined ? '' : ` trace=${r.trace}`}`,
    );
  }

  /** Write the lines still waiting for the end of the turn into the sink's batch. */
  flush(): void {
    const q = this.#queue;
    if (q.length === 0) return;
    const now = Date.now();
    const line = this.#line;
    for (let i = 0; i < q.length; i++) line.write(q[i]!, now);
    q.length = 0;
  }

  /** Reopen the sink (after a rotation), its waiting lines written to the old file first. */
  reopen(): void {
    this.flush();
    this.sink.reopen();
  }

  /** Close the sink, every line written first. */
  close(): Promise<void> {
    this.flush();
    return this.sink.close();
  }
}

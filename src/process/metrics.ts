/** The primary's half of a site-wide scrape: ask each worker for its metric families. */
import type { Worker } from 'node:cluster';
import type { Families } from '../site.js';
import { tagOf, type WorkerMessage } from './messages.js';

/** How long a scrape waits for one worker's metrics. */
const COLLECT_TIMEOUT_MS = 2_000;
let nextId = 0;

/** Each worker's families; a worker that does not answer within 2 s (or exits) is left out of this scrape. */
export async function collectFamilies(workers: readonly Worker[]): Promise<Families[]> {
  const parts = await Promise.all(workers.map(collect));
  return parts.filter((p): p is Families => p !== undefined);
}

function collect(target: Worker): Promise<Families | undefined> {
  const id = ++nextId;
  return new Promise((resolve) => {
    const done = (families: Families | undefined): void => {
      clearTimeout(timer);
      target.off('message', onMessage);
      target.off('exit', onExit);
      resolve(families);
    };
    const onMessage = (m: unknown): void => {
      if (tagOf(m) === 'metrics-part' && (m as { id: unknown }).id === id) done((m as Extract<WorkerMessage, { skitai: 'metrics-part' }>).families);
    };
    const onExit = (): void => done(undefined);
    const timer = setTimeout(() => done(undefined), COLLECT_TIMEOUT_MS);
    target.on('message', onMessage);
    target.on('exit', onExit);
    try {
      if (target.isConnected()) target.send({ skitai: 'metrics-collect', id });
      else done(undefined);
    } catch {
      done(undefined);
    }
  });
}

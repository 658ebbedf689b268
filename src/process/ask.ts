/** The primary asking one worker for something over IPC, with a deadline (metrics, status). */
import type { Worker } from 'node:cluster';
import { tagOf, type PrimaryMessage } from './messages.js';

let nextId = 0;

/**
 * Send `request(id)` to `target` and resolve with `read(reply)` of its answer tagged `replyTag`
 * with the same id; undefined when it does not answer within `timeoutMs`, exits, or is not
 * connected. Never rejects: one silent worker must not fail a page or a scrape of the others.
 */
export function ask<T>(target: Worker, request: (id: number) => PrimaryMessage, replyTag: string, read: (reply: Record<string, unknown>) => T, timeoutMs: number): Promise<T | undefined> {
  const id = ++nextId;
  return new Promise((resolve) => {
    const done = (value: T | undefined): void => {
      clearTimeout(timer);
      target.off('message', onMessage);
      target.off('exit', onExit);
      resolve(value);
    };
    const onMessage = (m: unknown): void => {
      if (tagOf(m) === replyTag && (m as { id: unknown }).id === id) done(read(m as Record<string, unknown>));
    };
    const onExit = (): void => done(undefined);
    const timer = setTimeout(() => done(undefined), timeoutMs);
    target.on('message', onMessage);
    target.on('exit', onExit);
    try {
      if (target.isConnected()) target.send(request(id));
      else done(undefined);
    } catch {
      done(undefined);
    }
  });
}

/** Send `m` to `w` if it is still connected; a worker already gone is the exit handler's business. */
export function tell(w: Worker, m: PrimaryMessage): void {
  try {
    if (w.isConnected()) w.send(m);
  } catch {
    // The worker is already gone; its exit event does the bookkeeping.
  }
}

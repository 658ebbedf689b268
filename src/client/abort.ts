/**
 * Cancellation inside the client layer. An AbortSignal per call cost ~10 µs (EventTarget, undici's
 * listener bookkeeping) — as much as the rest of a call — so calls use this plain object instead:
 * whatever can be cancelled registers itself, and `abort()` cancels it synchronously. The one
 * AbortSignal the layer still meets (a health probe's) is bridged by {@link abortFromSignal}.
 */

/** Something a call can cancel: an exchange in flight, or a child Abort. */
export interface Cancellable {
  cancel(reason: unknown): void;
}

/** A one-shot cancellation: `abort(reason)` cancels every registered Cancellable, once. */
export class Abort implements Cancellable {
  #aborted = false;
  #reason: unknown = undefined;
  #targets: Cancellable[] | undefined;

  get aborted(): boolean {
    return this.#aborted;
  }

  /** What `abort()` was given (a CallAbort inside the client layer). */
  get reason(): unknown {
    return this.#reason;
  }

  /** Register `target`; cancelled at once when already aborted. */
  add(target: Cancellable): void {
    if (this.#aborted) target.cancel(this.#reason);
    else (this.#targets ??= []).push(target);
  }

  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    const targets = this.#targets;
    this.#targets = undefined;
    if (targets) for (const t of targets) t.cancel(reason);
  }

  /** As a child of another Abort: aborting the parent aborts this one too. */
  cancel(reason: unknown): void {
    this.abort(reason);
  }
}

/** An Abort that follows `signal`. */
export function abortFromSignal(signal: AbortSignal): Abort {
  const abort = new Abort();
  if (signal.aborted) abort.abort(signal.reason);
  else signal.addEventListener('abort', () => abort.abort(signal.reason), { once: true });
  return abort;
}

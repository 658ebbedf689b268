/**
 * When to respawn a worker that ended: Skitai's supervisor schedule (5 s, doubling, at most
 * 600 s) for crash loops, but no wait for a single crash or a clean exit. Pure, so the schedule is
 * tested without processes.
 */

/** The schedule's knobs, in milliseconds. */
export interface BackoffPolicy {
  /** Wait before the second respawn in a row. */
  readonly firstMs: number;
  /** The wait stops doubling here. */
  readonly maxMs: number;
  /** A worker that ran this long before it ended ends a crash streak. */
  readonly stableMs: number;
}

/** The policy the primary uses. */
export const RESPAWN_POLICY: BackoffPolicy = { firstMs: 5_000, maxMs: 600_000, stableMs: 30_000 };

/** How a worker ended: `clean` = exit code 0 or a restart request; `crash` = any other code or a signal. */
export type ExitKind = 'clean' | 'crash';

/** A worker slot's crash streak: crashes in a row, each within `stableMs` of the worker's start. */
export interface BackoffState {
  readonly streak: number;
}

/** A slot that never crashed. */
export const FRESH: BackoffState = { streak: 0 };

/**
 * The wait before respawning a worker that ended after running `uptimeMs`, and the slot's next
 * state. The first crash is respawned at once (one crash under load should not cost capacity);
 * every further crash of a worker that did not stay up `stableMs` waits 5 s, 10 s, 20 s … 600 s.
 * A clean exit is respawned at once and does not count.
 */
export function respawnDelay(
  state: BackoffState,
  exit: ExitKind,
  uptimeMs: number,
  policy: BackoffPolicy = RESPAWN_POLICY,
): { delayMs: number; state: BackoffState } {
  const streak = uptimeMs >= policy.stableMs ? 0 : state.streak;
  if (exit === 'clean') return { delayMs: 0, state: { streak } };
  const delayMs = streak === 0 ? 0 : Math.min(policy.firstMs * 2 ** Math.min(streak - 1, 30), policy.maxMs);
  return { delayMs, state: { streak: streak + 1 } };
}

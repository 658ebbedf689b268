/**
 * Waiting in tests: poll the thing a test is waiting for instead of sleeping a fixed time and
 * hoping it has happened by then. A fixed sleep is too short on a loaded machine and too long on
 * an idle one; a poll ends as soon as the event is visible, so a generous timeout costs nothing
 * when the code works and only delays the report when it does not.
 */
import { inspect } from 'node:util';

/** The shortest time `until` waits before giving up, whatever a caller asks for (see below). */
export const UNTIL_MIN_MS = 10_000;

/**
 * Poll `probe` until it returns a truthy value, and resolve with that value:
 * `await until(() => engine.inFlight === 0, 5000, 'in flight back to 0')`, or
 * `const line = await until(() => lines.find((l) => l.includes('sent')), 5000, 'the sent line')`.
 *
 * `timeoutMs` is when to give up, not an assertion about speed: it is raised to at least
 * {@link UNTIL_MIN_MS}, because a test must not fail merely because two loaded cores were slow.
 * A test that means "within X" measures the elapsed time itself. A probe that throws counts as
 * "not yet" (a file not written yet, a connection refused while a server starts); the last value
 * or error seen is named in the failure message together with `what`.
 */
export async function until<T>(
  probe: () => T | Promise<T>,
  timeoutMs = UNTIL_MIN_MS,
  what = 'the condition',
): Promise<Exclude<T, false | undefined | null | 0 | ''>> {
  const limit = Math.max(timeoutMs, UNTIL_MIN_MS);
  const deadline = Date.now() + limit;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v as Exclude<T, false | undefined | null | 0 | ''>;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) throw new Error(`timed out after ${limit} ms waiting for ${what} (last seen: ${show(last)})`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * Wait until `read()` satisfies `accept`, and resolve with the value; on timeout the message
 * names `what` and the last value read: `await settle(() => engine.traffic().requests.inFlight,
 * (n) => n === 1, 'one request in flight')` fails with "... (last seen: 0)".
 */
export async function settle<T>(read: () => T | Promise<T>, accept: (value: T) => boolean, what: string, timeoutMs = UNTIL_MIN_MS): Promise<T> {
  const box = await until(
    async () => {
      const value = await read();
      if (accept(value)) return { value };
      // Thrown rather than returned so that until() names the value in its message.
      throw new Unaccepted(value);
    },
    timeoutMs,
    what,
  );
  return box.value;
}

class Unaccepted extends Error {
  constructor(readonly value: unknown) {
    super('not accepted');
  }
}

function show(last: unknown): string {
  if (last instanceof Unaccepted) return inspect(last.value, { depth: 2, breakLength: Infinity });
  if (last instanceof Error) return `${last.name}: ${last.message}`;
  return inspect(last, { depth: 2, breakLength: Infinity });
}

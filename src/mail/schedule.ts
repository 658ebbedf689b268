/**
 * The retry schedule. Skitai's was fixed (4 s, 16 s, 64 s … 16384 s, then 6 h); here the same
 * curve is the default and both its base and cap, or an explicit list, come from `[smtpda]`.
 */

/** The parts of `[smtpda]` the schedule reads (durations in ms). */
export interface RetrySchedule {
  readonly maxRetry: number;
  readonly retryDelays: readonly number[];
  readonly retryBase: number;
  readonly retryMax: number;
}

/** Wait before retry `n` (1 = the first retry, after the first attempt failed). */
export function retryDelay(n: number, s: RetrySchedule): number {
  if (n < 1) return 0;
  if (s.retryDelays.length > 0) return s.retryDelays[Math.min(n, s.retryDelays.length) - 1]!;
  // 4^(n-1) grows past the cap quickly; stop multiplying once it is reached (no Infinity, no overflow).
  let delay = s.retryBase;
  for (let i = 1; i < n && delay < s.retryMax; i++) delay *= 4;
  return Math.min(delay, s.retryMax);
}

/** Whether a message that has had `attempts` attempts may have another. */
export function mayRetry(attempts: number, s: RetrySchedule): boolean {
  return attempts < s.maxRetry + 1;
}

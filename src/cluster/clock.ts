/** Milliseconds from a monotonic source. Injected in tests so time-based state moves on demand. */
export type Clock = () => number;

/** `performance.now()`: immune to wall-clock jumps, which would otherwise end ejections early or late. */
export const monotonic: Clock = () => performance.now();

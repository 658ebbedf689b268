/**
 * The deadline that travels: its wire form between Skitai hosts (docs/clusters.md, "Deadlines
 * across hosts"). A call sends what is left of its deadline as `X-Skitai-Deadline: <ms>`; a
 * request that arrives with it — or with gRPC's `grpc-timeout` — gets that budget as
 * `was.deadline`, and every call its handler makes is capped by it.
 */

/** The request header a call sends its remaining budget in: whole milliseconds. */
export const DEADLINE_HEADER = 'x-skitai-deadline';

/** Milliseconds left -> the header value: whole ms, at least 1 (0 would read as "none left" before the member could try). */
export function encodeDeadline(remainingMs: number): string {
  return String(Math.max(1, Math.floor(remainingMs)));
}

// grpc-timeout: up to 8 digits and a unit (PROTOCOL-HTTP2.md).
const GRPC = /^(\d{1,8})([HMSmun])$/;
const GRPC_UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };
// A budget longer than this is no budget worth enforcing (and past setTimeout's range).
const MAX_MS = 24 * 3600 * 1000;

/**
 * The budget a request arrived with, in milliseconds, from `X-Skitai-Deadline` (preferred) or
 * `grpc-timeout`; undefined when neither is there or the value is not one (a bad value is ignored
 * rather than refused: the budget is advice from the caller).
 */
export function budgetOf(skitai: string | string[] | undefined, grpc: string | string[] | undefined): number | undefined {
  const own = Array.isArray(skitai) ? skitai[0] : skitai;
  if (own !== undefined) {
    const text = own.trim();
    if (/^\d{1,10}$/.test(text)) return Math.min(Number(text), MAX_MS);
  }
  const g = Array.isArray(grpc) ? grpc[0] : grpc;
  if (g !== undefined) {
    const m = GRPC.exec(g.trim());
    if (m) return Math.min(Number(m[1]) * GRPC_UNIT_MS[m[2]!]!, MAX_MS);
  }
  return undefined;
}

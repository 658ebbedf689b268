/**
 * The daemon primary's status record: a small JSON file it rewrites on every change (worker up or
 * down, reload, stop), read by `skitaid status` and `skitaid reload`. A file, not a socket, so a
 * status query never depends on the primary's event loop being responsive.
 */
import fs from 'node:fs';
import path from 'node:path';

/** One live worker. */
export interface WorkerStatus {
  readonly slot: number;
  readonly pid: number;
  /** Epoch ms of the fork. */
  readonly started: number;
}

/** What the primary last wrote. */
export interface InstanceStatus {
  readonly name: string;
  readonly pid: number;
  readonly config: string;
  readonly state: 'starting' | 'running' | 'reloading' | 'stopping';
  /** Epoch ms. */
  readonly started: number;
  /** The port workers report listening on; 0 until the first does. */
  readonly port: number;
  readonly ssl: boolean;
  readonly workers: readonly WorkerStatus[];
  /** Workers respawned after they died. */
  readonly respawns: number;
  /** Finished reload attempts, successful or not. */
  readonly reloads: number;
  readonly lastReload?: { readonly at: number; readonly ok: boolean; readonly message: string } | undefined;
  /**
   * How it runs: `skitaid start` (daemon), a foreground primary with workers, or a single
   * foreground process (no workers, no reload). Absent in records of older versions: a daemon.
   */
  readonly mode?: 'daemon' | 'foreground' | 'single';
}

/** Replace `file` atomically (write, then rename), so a reader never sees half a record. */
export function writeStatus(file: string, status: InstanceStatus): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(status, null, 1) + '\n');
  fs.renameSync(tmp, file);
}

/** The record in `file`, or undefined when it is missing or unreadable. */
export function readStatus(file: string): InstanceStatus | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as InstanceStatus;
  } catch {
    return undefined;
  }
}

/** `3d 4h`, `2h 5m`, `4m 12s`, `9s`: two units are enough to read an uptime. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

/** The text `skitaid status` prints for a running instance. */
export function formatStatus(st: InstanceStatus, now: number = Date.now()): string {
  const workers = [...st.workers].sort((a, b) => a.slot - b.slot);
  const lines = [
    `${st.name} is running${st.mode && st.mode !== 'daemon' ? ' in the foreground' : ''}${st.state === 'running' ? '' : ` (${st.state})`}`,
    `  pid      ${st.pid}`,
    st.mode === 'single'
      ? '  workers  none: a single process serves (no reload; -w 1 runs one worker under a primary)'
      : `  workers  ${workers.length}${workers.length ? `: ${workers.map((w) => w.pid).join(', ')}` : ''}`,
    `  port     ${st.port || '-'}${st.ssl ? ' (https)' : ''}`,
    `  uptime   ${formatDuration(now - st.started)}`,
    `  config   ${st.config || '(embedded defaults)'}`,
  ];
  if (st.respawns > 0) lines.push(`  respawns ${st.respawns}`);
  if (st.lastReload) {
    const at = new Date(st.lastReload.at).toISOString().replace('T', ' ').slice(0, 19);
    lines.push(`  reload   ${at} UTC: ${st.lastReload.message}`);
  }
  return lines.join('\n') + '\n';
}

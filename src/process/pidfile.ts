/**
 * The pid file of a daemon: how `stop`, `status`, `reload` and systemd find the primary. A pid
 * file whose process is gone, or is no longer skitaid (pids are reused), counts as stale.
 */
import fs from 'node:fs';
import path from 'node:path';

/** The pid in `file`, or undefined when the file is missing or does not hold a pid. */
export function readPid(file: string): number | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * True when a process with this pid exists (EPERM: it exists but belongs to someone else) and is
 * not a zombie: where init does not reap orphans, a stopped daemon lingers as one.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    // /proc/<pid>/stat: "pid (comm) S ..."; comm may hold spaces and parentheses, the state follows the last ')'.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch (err) {
    // Gone between the two looks, or a system without /proc (then the kill test stands).
    return (err as NodeJS.ErrnoException).code !== 'ENOENT' || !fs.existsSync('/proc/self');
  }
}

/**
 * True unless /proc shows that `pid` is some other program. Where /proc is unreadable (not
 * Linux, hidepid) the answer is true: better to report a stale file as running than to kill.
 */
export function looksLikeSkitaid(pid: number): boolean {
  let cmdline: string;
  try {
    cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return true;
  }
  return cmdline.includes('skitaid');
}

/** What a pid file says: the live primary's pid, or why there is none. */
export type PidState = { running: true; pid: number } | { running: false; stale: number | undefined };

/** Read `file` and check its process. `stale` is the dead or foreign pid a leftover file named. */
export function checkPid(file: string): PidState {
  const pid = readPid(file);
  if (pid === undefined) return { running: false, stale: undefined };
  return isAlive(pid) && looksLikeSkitaid(pid) ? { running: true, pid } : { running: false, stale: pid };
}

/**
 * Write our pid to `file` unless a live skitaid already holds it. Exclusive create, so two starts
 * racing cannot both win; a stale file is replaced. Returns the other primary's pid when one runs.
 */
export function claimPid(file: string, pid: number = process.pid): { ok: true } | { ok: false; pid: number } {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, `${pid}\n`, { flag: 'wx' });
      return { ok: true };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const state = checkPid(file);
    if (state.running && state.pid !== pid) return { ok: false, pid: state.pid };
    fs.rmSync(file, { force: true });
  }
  throw new Error(`cannot create the pid file ${file}`);
}

/** Remove `file` if it still names `pid` (a newer primary may have claimed it since). */
export function releasePid(file: string, pid: number = process.pid): void {
  if (readPid(file) === pid) fs.rmSync(file, { force: true });
}

/**
 * A foreground `skitaid` stops when the process that started it goes away. `npm start` and `npx
 * skitaid` do not pass a SIGTERM on to their child, so killing npm left the server serving with
 * PPID 1, holding the port, visible to no one. The kernel tells a process nothing when its parent
 * dies (Node has no `PR_SET_PDEATHSIG`), but the orphan is re-parented (to init or a subreaper), so
 * `process.ppid` changes: polled twice a second, one getppid(2) per poll.
 *
 * Not watched: the daemon (its launcher exits by design), a process whose parent already is init
 * (a container entry point, `setsid`), and a process started with SIGHUP ignored, which is how
 * `nohup skitaid … &` says "keep running after I log out".
 */
import fs from 'node:fs';

const POLL_MS = 500;

/** Call `orphaned` once if our parent goes away; returns a function that stops watching. */
export function watchParent(orphaned: () => void): () => void {
  const parent = process.ppid;
  if (parent <= 1 || hangupIgnored()) return () => undefined;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    orphaned();
  }, POLL_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/** True when SIGHUP was ignored when we started (nohup). Linux's /proc; elsewhere false. */
function hangupIgnored(): boolean {
  try {
    const mask = /^SigIgn:\s*([0-9a-f]+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1];
    // Bit n-1 is signal n; SIGHUP is 1.
    return mask !== undefined && (parseInt(mask.slice(-1), 16) & 1) === 1;
  } catch {
    return false;
  }
}

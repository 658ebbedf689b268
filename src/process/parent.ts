/**
 * A foreground `skitaid` stops when the process that started it goes away. `npm start` and `npx
 * skitaid` do not pass a SIGTERM on to their child, so killing npm left the server serving with
 * PPID 1, holding the port, visible to no one. The kernel tells a process nothing when its parent
 * dies (Node has no `PR_SET_PDEATHSIG`), but the orphan is re-parented (to init or a subreaper), so
 * `process.ppid` changes: polled twice a second, one getppid(2) per poll.
 *
 * Not watched: the daemon (its launcher exits by design), and a process whose parent already is
 * init (a container entry point, `setsid`). `nohup` cannot be told apart: Node resets ignored
 * signals to their defaults at start-up, so /proc shows no ignored SIGHUP. A server meant to outlive
 * its shell is `skitaid start`.
 */

const POLL_MS = 500;

/**
 * The parent we started under, read when this module loads (with the CLI, before any app): a
 * parent killed while the site was still loading must not be mistaken for none.
 */
const START_PARENT = process.ppid;

/** Call `orphaned` once if the parent we started under goes away; returns a function that stops watching. */
export function watchParent(orphaned: () => void): () => void {
  const parent = START_PARENT;
  if (parent <= 1) return () => undefined;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    orphaned();
  }, POLL_MS);
  timer.unref();
  return () => clearInterval(timer);
}

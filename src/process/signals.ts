/**
 * The service signals, the same for a single process and for a primary:
 * TERM and INT stop gracefully (a second one kills), HUP reloads, USR1 reopens log files.
 */

/** What each signal does. */
export interface SignalActions {
  stop(signal: NodeJS.Signals): void;
  reload(): void;
  reopen(): void;
}

const STOP: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];

/** Route the signals to `actions`; returns a function that removes the handlers again. */
export function handleSignals(actions: SignalActions): () => void {
  const handlers: [NodeJS.Signals, () => void][] = [
    ...STOP.map((sig): [NodeJS.Signals, () => void] => [sig, () => actions.stop(sig)]),
    ['SIGHUP', () => actions.reload()],
    ['SIGUSR1', () => actions.reopen()],
  ];
  for (const [sig, fn] of handlers) process.on(sig, fn);
  return () => {
    for (const [sig, fn] of handlers) process.off(sig, fn);
  };
}

/**
 * A reader that closes its end early (`skitaid status | head -1`) is not an error. Node reports
 * the closed pipe as an `EPIPE` error event on stdout or stderr, and with no listener that event
 * ends the process with a stack trace and exit code 1. Like other Unix tools we stop writing
 * instead: a command finishes and exits with its own code (status: 0 when running), and a server
 * whose console went away keeps serving (its console lines are lost; log_path keeps them).
 */

/** Ignore a closed stdout or stderr from now on, in this process. */
export function tolerateClosedPipes(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') return;
      throw err;
    });
  }
}

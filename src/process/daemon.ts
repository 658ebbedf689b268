/**
 * Detaching for `skitaid start`: the launcher spawns the same command again as a session leader
 * (`detached`), with stdout and stderr appended to `stderr.log`, and waits on an IPC channel until
 * the daemon says it listens or why it could not. Only then does `start` return, so its exit code
 * is the truth and systemd's `Type=forking` finds the pid file in place.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { DAEMON_ENV, tagOf, type LauncherMessage } from './messages.js';
import { SKITAID_BIN, type InstancePaths } from './paths.js';

/** What `start` learns. */
export type LaunchResult =
  | { ok: true; pid: number; port: number; ssl: boolean; workers: number }
  | { ok: false; message: string };

/** Start `skitaid <argv>` detached as the daemon and wait for its report (at most `timeoutMs`). */
export function launchDaemon(argv: readonly string[], paths: InstancePaths, timeoutMs: number): Promise<LaunchResult> {
  fs.mkdirSync(path.dirname(paths.stderrLog), { recursive: true });
  const out = fs.openSync(paths.stderrLog, 'a');
  const child = spawn(process.execPath, [...process.execArgv, SKITAID_BIN, ...argv], {
    detached: true,
    stdio: ['ignore', out, out, 'ipc'],
    env: { ...process.env, [DAEMON_ENV]: '1' },
  });
  fs.closeSync(out);
  return new Promise<LaunchResult>((resolve) => {
    let settled = false;
    const settle = (result: LaunchResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.removeAllListeners();
      if (child.connected) child.disconnect();
      child.unref();
      resolve(result);
    };
    const timer = setTimeout(() => {
      // A daemon that cannot say it started within the limit is not left behind half-started.
      if (child.pid !== undefined) signalGroup(child.pid, 'SIGKILL');
      settle({ ok: false, message: `the daemon did not report within ${timeoutMs / 1000} s; see ${paths.stderrLog}` });
    }, timeoutMs);
    child.on('message', (m: unknown) => {
      const tag = tagOf(m);
      if (tag === 'ready') {
        const r = m as Extract<LauncherMessage, { skitai: 'ready' }>;
        settle({ ok: true, pid: r.pid, port: r.port, ssl: r.ssl, workers: r.workers });
      } else if (tag === 'failed') settle({ ok: false, message: (m as Extract<LauncherMessage, { skitai: 'failed' }>).message });
    });
    child.on('error', (err) => settle({ ok: false, message: `cannot start the daemon: ${err.message}` }));
    // The exit can be seen before the last message is read from the channel: give it a moment.
    child.on('exit', (code, signal) =>
      setTimeout(() => settle({ ok: false, message: `the daemon exited before it listened (${signal ?? `code ${code}`}); see ${paths.stderrLog}` }), 200),
    );
  });
}

/** In the daemon: tell the launcher how the start went and let go of it. */
export function reportToLauncher(m: LauncherMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) return resolve();
    const done = (): void => {
      if (process.connected) process.disconnect();
      resolve();
    };
    try {
      process.send(m, undefined, {}, done);
    } catch {
      done();
    }
  });
}

/** True when this process is the daemon that `skitaid start` launched (and clears the mark for children). */
export function isDaemonChild(): boolean {
  const mine = process.env[DAEMON_ENV] === '1';
  delete process.env[DAEMON_ENV];
  return mine;
}

/** Signal a whole process group (the daemon leads its own); false when it is gone. */
export function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    try {
      process.kill(pid, signal);
      return true;
    } catch {
      return false;
    }
  }
}

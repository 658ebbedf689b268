import assert from 'node:assert/strict';
import http from 'node:http';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { writeFiles } from './site.js';

/** bin/skitaid.js of this checkout. */
export const BIN = path.resolve(import.meta.dirname, '../../bin/skitaid.js');

/** What a finished `skitaid` run printed. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * When a test gives up on a `skitaid` command or on a line from a foreground run. A fresh node with
 * tsx starts in about a second on an idle machine and in tens of seconds on two loaded cores, and a
 * reload starts two workers one after the other: 20 and 30 s limits failed there while the server
 * was right. Like `until()`, this is when to give up, not an assertion about speed, so a shorter
 * limit asked for is raised to it; the test runner's limit (test/run.mjs) is the outer bound.
 */
export const CLI_GIVE_UP_MS = 120_000;

/**
 * Run `node bin/skitaid.js ...args` to the end, in `cwd` if given. It is killed after `timeoutMs`
 * (at least {@link CLI_GIVE_UP_MS}); its `code` is then null and stderr says so.
 */
export function skitaid(args: string[], timeoutMs = CLI_GIVE_UP_MS, cwd?: string): Promise<CliResult> {
  const limit = Math.max(timeoutMs, CLI_GIVE_UP_MS);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...(cwd ? { cwd } : {}) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      stderr += `\n[test] skitaid ${args.join(' ')} killed: still running after ${limit} ms\n`;
      child.kill('SIGKILL');
    }, limit);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A foreground `skitaid` whose console output is collected; `until` waits for a line. */
export interface Foreground {
  child: ChildProcess;
  output(): string;
  until(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Start `skitaid ...args` in the foreground, in a process group of its own so that
 * {@link killForeground} in `after()` also reaches its workers. `cwd`: where it is started from.
 */
export function foreground(args: string[], cwd?: string): Foreground {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true, ...(cwd ? { cwd } : {}) });
  let text = '';
  const waiters = new Set<() => void>();
  const onData = (d: Buffer): void => {
    text += d.toString();
    for (const w of waiters) w();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      for (const w of waiters) w();
      resolve({ code, signal });
    }),
  );
  return {
    child,
    exited,
    output: () => text,
    until(pattern, timeoutMs = CLI_GIVE_UP_MS) {
      const limit = Math.max(timeoutMs, CLI_GIVE_UP_MS);
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const m = text.match(pattern);
          if (m) {
            done();
            resolve(m);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            done();
            reject(new Error(`skitaid exited before printing ${pattern}:\n${text}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no ${pattern} within ${limit} ms:\n${text}`));
        }, limit);
        const done = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
  };
}

/** SIGKILL a foreground run and its workers (its process group); a no-op once it is gone. */
export function killForeground(fg: Foreground | undefined): void {
  if (!fg?.child.pid) return;
  try {
    process.kill(-fg.child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** A port that was free a moment ago (bind port 0, read it, release it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * A temp directory holding `site.conf` (the text given) and `files`. Apps may import from 'skitai'.
 * Returns the directory and the config path.
 */
export function tempSite(conf: string, files: Record<string, string | Buffer> = {}): { dir: string; conf: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-proc-'));
  writeFiles(dir, { 'package.json': '{"type":"module"}', 'site.conf': conf, ...files });
  return { dir, conf: path.join(dir, 'site.conf') };
}

/** SIGKILL a daemon and its workers by pid file and status file, whatever state the test left it in. */
export function killDaemon(varDir: string, name = 'site'): void {
  const pids: number[] = [];
  try {
    pids.push(Number(fs.readFileSync(path.join(varDir, `${name}.pid`), 'utf8')));
  } catch {
    // not started or already stopped
  }
  try {
    const st = JSON.parse(fs.readFileSync(path.join(varDir, `${name}.status.json`), 'utf8')) as { workers: { pid: number }[] };
    pids.push(...st.workers.map((w) => w.pid));
  } catch {
    // no status record
  }
  for (const pid of pids) {
    if (!(pid > 0)) continue;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
}

/** GET on a connection of its own (no agent), so a primary hands it to whichever worker is next. */
export function getFresh(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http.get(url, { agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

/**
 * GET `${base}/pid` on fresh connections until two workers answered and at least ten requests
 * were made (round-robin hands fresh connections to the workers in turn). Returns the pids seen
 * and the number of 200 answers.
 */
export async function reachBothWorkers(base: string): Promise<{ pids: Set<string>; ok: number }> {
  const pids = new Set<string>();
  let ok = 0;
  while (pids.size < 2 || ok < 10) {
    const r = await getFresh(`${base}/pid`);
    assert.equal(r.status, 200);
    pids.add(r.body);
    ok++;
    assert.ok(ok < 200, 'both workers should have answered by now');
  }
  return { pids, ok };
}

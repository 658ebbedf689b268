/**
 * Headless Chromium (Debian's `chromium` package) driven over the DevTools protocol through a pipe
 * (`--remote-debugging-pipe`): no puppeteer, no browser download, no WebSocket client. Enough for what the tests need:
 * open a page with extra request headers at a given viewport, evaluate expressions in it, take a
 * screenshot, and collect console and CSP messages.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';

/** Why the browser tests cannot run here, or undefined when they can. */
export function chromiumMissing(): string | undefined {
  if (spawnSync('chromium', ['--version']).status !== 0) return 'chromium is not installed (Debian: apt-get install chromium; .ci/run installs it)';
  return undefined;
}

/** One page of a headless Chromium. */
export interface Browser {
  /** Console lines, uncaught page errors and browser log entries (CSP violations land here). */
  readonly messages: string[];
  /** Navigate and resolve after the load event. */
  open(url: string): Promise<void>;
  /** The value of `expression` evaluated in the page (awaited when it is a promise). */
  evaluate<T = unknown>(expression: string): Promise<T>;
  /** A PNG of the viewport. */
  screenshot(): Promise<Buffer>;
  close(): Promise<void>;
}

/** Start Chromium with a `width` × `height` viewport; every request of the page carries `headers`. */
export async function launchChromium(opts: { width: number; height: number; headers?: Record<string, string> }): Promise<Browser> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-chromium-'));
  // The protocol over a pipe (fd 3 in, fd 4 out, NUL-terminated JSON): no port, no WebSocket client needed.
  const child = spawn('chromium', [
    '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--no-default-browser-check', '--disable-extensions',
    `--user-data-dir=${profile}`, '--remote-debugging-pipe', `--window-size=${opts.width},${opts.height}`, 'about:blank',
  ], { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'], detached: true });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  // Its own process group: the renderer and zygote processes go with it.
  const stop = async (): Promise<void> => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
    await exited;
    fs.rmSync(profile, { recursive: true, force: true, maxRetries: 5 });
  };
  try {
    const browser = connect(child, () => stderr);
    const { targetInfos } = (await browser.send('Target.getTargets')) as { targetInfos: { type: string; targetId: string }[] };
    const targetId = targetInfos.find((t) => t.type === 'page')?.targetId ?? ((await browser.send('Target.createTarget', { url: 'about:blank' })) as { targetId: string }).targetId;
    const { sessionId } = (await browser.send('Target.attachToTarget', { targetId, flatten: true })) as { sessionId: string };
    const cdp = browser.session(sessionId);
    const messages: string[] = [];
    cdp.on('Runtime.consoleAPICalled', (p) => messages.push(`console.${p['type']}: ${JSON.stringify(p['args'])}`));
    cdp.on('Runtime.exceptionThrown', (p) => messages.push(`exception: ${JSON.stringify(p['exceptionDetails'])}`));
    cdp.on('Log.entryAdded', (p) => messages.push(`log: ${JSON.stringify(p['entry'])}`));
    for (const m of ['Page.enable', 'Runtime.enable', 'Log.enable', 'Network.enable']) await cdp.send(m);
    if (opts.headers) await cdp.send('Network.setExtraHTTPHeaders', { headers: opts.headers });
    await cdp.send('Emulation.setDeviceMetricsOverride', { width: opts.width, height: opts.height, deviceScaleFactor: 1, mobile: false });
    return {
      messages,
      async open(url) {
        const loaded = cdp.once('Page.loadEventFired');
        const nav = (await cdp.send('Page.navigate', { url })) as { errorText?: string };
        if (nav.errorText) throw new Error(`navigation to ${url} failed: ${nav.errorText}`);
        await loaded;
      },
      async evaluate<T>(expression: string) {
        const r = (await cdp.send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true })) as { result: { value: T }; exceptionDetails?: unknown };
        if (r.exceptionDetails) throw new Error(`${expression}: ${JSON.stringify(r.exceptionDetails)}`);
        return r.result.value;
      },
      async screenshot() {
        const r = (await cdp.send('Page.captureScreenshot', { format: 'png' })) as { data: string };
        return Buffer.from(r.data, 'base64');
      },
      close: stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

interface Session {
  send(method: string, params?: Record<string, unknown>): Promise<unknown>;
  on(event: string, listener: (params: Record<string, unknown>) => void): void;
  once(event: string): Promise<Record<string, unknown>>;
}

/** The browser's protocol endpoint over the child's pipes, with flat sessions for pages. */
function connect(child: ChildProcess, log: () => string): Session & { session(id: string): Session } {
  const out = child.stdio[3] as Writable;
  const input = child.stdio[4] as Readable;
  let next = 0;
  let buffered = '';
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const listeners = new Map<string, Set<(p: Record<string, unknown>) => void>>();
  // A character split across two chunks is put together by the stream's decoder.
  input.setEncoding('utf8');
  input.on('data', (d: string) => {
    buffered += d;
    let end: number;
    while ((end = buffered.indexOf('\0')) >= 0) {
      const m = JSON.parse(buffered.slice(0, end)) as { id?: number; result?: unknown; error?: { message: string }; method?: string; params?: Record<string, unknown>; sessionId?: string };
      buffered = buffered.slice(end + 1);
      if (m.id !== undefined) {
        const p = pending.get(m.id);
        pending.delete(m.id);
        if (m.error) p?.reject(new Error(m.error.message));
        else p?.resolve(m.result);
      } else if (m.method) for (const l of listeners.get(`${m.sessionId ?? ''} ${m.method}`) ?? []) l(m.params ?? {});
    }
  });
  child.on('exit', (code) => {
    for (const p of pending.values()) p.reject(new Error(`chromium exited (code ${code}):\n${log()}`));
    pending.clear();
  });
  const session = (sessionId: string | undefined): Session => {
    const on = (event: string, listener: (p: Record<string, unknown>) => void): void => {
      const key = `${sessionId ?? ''} ${event}`;
      listeners.set(key, (listeners.get(key) ?? new Set()).add(listener));
    };
    return {
      send(method, params = {}) {
        const id = ++next;
        return new Promise((resolve, reject) => {
          pending.set(id, { resolve, reject });
          out.write(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }) + '\0');
        });
      },
      on,
      once(event) {
        return new Promise((resolve) => {
          const l = (p: Record<string, unknown>): void => {
            listeners.get(`${sessionId ?? ''} ${event}`)?.delete(l);
            resolve(p);
          };
          on(event, l);
        });
      },
    };
  };
  return { ...session(undefined), session };
}

// Real processes, signals and sockets: `skitaid start` as a daemon with two workers, then status,
// a worker killed under load, a reload under a request loop, log reopening and a graceful stop.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isAlive } from '../../src/process/pidfile.js';
import { readStatus, type InstanceStatus } from '../../src/process/status.js';
import { foreground, freePort, killDaemon, killForeground, skitaid, tempSite, type Foreground, getFresh } from '../support/cli.js';
import { settle, until } from '../support/until.js';

const WEBAPP = `
import fs from 'node:fs';
import { App } from 'skitai';
export const app = new App();
// A line per request that reached its handler: the test waits for it instead of guessing a delay.
const arrived = (what: string): void => fs.appendFileSync(new URL('./arrived.log', import.meta.url), what + '\\n');
app.route('/pid', () => String(process.pid));
app.route('/threads', () => process.env.UV_THREADPOOL_SIZE ?? 'unset');
app.route('/slow', async () => { arrived('slow'); await new Promise((r) => setTimeout(r, 1500)); return 'finally'; });
// Outlives any stop the test issues, however slowly a loaded machine starts the second skitaid.
app.route('/stuck', async () => { arrived('stuck'); await new Promise((r) => setTimeout(r, 60_000)); return 'never'; });
`;

/** How many requests for `what` reached a handler of the site in `dir` (see WEBAPP). */
function arrivals(dir: string, what: string): number {
  const file = path.join(dir, 'arrived.log');
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter((l) => l === what).length : 0;
}

interface LoadStats {
  ok: number;
  failed: number;
  errors: string[];
  /** Worker pids that answered. */
  pids: Set<string>;
}

/**
 * `concurrency` request loops on `url` until stopped (call `stop()` in a `finally`); every outcome
 * counted. They run as long as the test needs them: a reload on two loaded cores takes tens of
 * seconds, and loops that ended at a fixed time left the test waiting for answers nobody asked for.
 * A request unanswered for a minute counts as failed (a dropped one fails at once, with a reset).
 */
function loadLoop(url: string, concurrency = 4): { stats: LoadStats; stop(): Promise<LoadStats> } {
  const stats: LoadStats = { ok: 0, failed: 0, errors: [], pids: new Set() };
  let running = true;
  const loop = async (): Promise<void> => {
    while (running) {
      try {
        const r = await fetch(url, { signal: AbortSignal.timeout(60_000) });
        const body = await r.text();
        if (r.status === 200) {
          stats.ok++;
          stats.pids.add(body);
        } else {
          stats.failed++;
          stats.errors.push(`HTTP ${r.status}`);
        }
      } catch (err) {
        stats.failed++;
        stats.errors.push(String((err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message));
      }
    }
  };
  const loops = Array.from({ length: concurrency }, loop);
  return {
    stats,
    async stop() {
      running = false;
      await Promise.all(loops);
      return stats;
    },
  };
}


describe('skitaid as a daemon', () => {
  let site: { dir: string; conf: string };
  let base: string;
  const varDir = (): string => path.join(site.dir, 'var');
  const status = (): InstanceStatus => readStatus(path.join(varDir(), 'site.status.json'))!;

  before(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    site = tempSite(`[server]\nip = 127.0.0.1\nport = ${port}\nprocesses = 2\nthreads = 2\ngrace_period = 5\n[routes:line]\n/ = ./webapp\n`, { 'webapp.ts': WEBAPP });
  });
  after(() => {
    killDaemon(varDir());
    fs.rmSync(site.dir, { recursive: true, force: true });
  });

  test('status and stop on a server that is not running say so and exit non-zero', async () => {
    const [st, sp] = await Promise.all([skitaid(['status', '-c', site.conf]), skitaid(['stop', '-c', site.conf])]);
    assert.equal(st.code, 3);
    assert.match(st.stdout, /site is not running/);
    assert.equal(sp.code, 1);
    assert.match(sp.stderr, /site is not running/);
  });

  test('start detaches, writes the pid file and answers; status shows pid, workers, port, uptime', async () => {
    const r = await skitaid(['start', '-c', site.conf]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /started site: pid \d+, 2 workers, http port \d+/);
    const pid = Number(fs.readFileSync(path.join(varDir(), 'site.pid'), 'utf8'));
    assert.ok(pid > 0);
    assert.equal((await fetch(`${base}/ping`)).status, 200);
    assert.equal(await (await fetch(`${base}/threads`)).text(), '2', 'threads = 2 sizes each worker\'s libuv pool');
    const st = await skitaid(['status', '-c', site.conf]);
    assert.equal(st.code, 0);
    assert.match(st.stdout, new RegExp(`site is running\\n  pid      ${pid}\\n  workers  2: \\d+, \\d+\\n  port     ${new URL(base).port}\\n  uptime   \\d+s`));
    assert.equal(await skitaid(['start', '-c', site.conf]).then((x) => x.code), 1, 'a second start refuses');
  });

  test('logs go to var/log; SIGUSR1 reopens them after rotation', async () => {
    const log = path.join(varDir(), 'log');
    assert.match(fs.readFileSync(path.join(log, 'server.log'), 'utf8'), /listening on 127\.0\.0\.1:\d+/);
    await fetch(`${base}/pid?before-rotation`).then((r) => r.text());
    const requests = path.join(log, 'request.log');
    await until(() => (fs.readFileSync(requests, 'utf8').includes('before-rotation') ? true : undefined), 3000, 'the request line');
    fs.renameSync(requests, `${requests}.1`);
    process.kill(status().pid, 'SIGUSR1');
    await until(() => (fs.existsSync(requests) ? true : undefined), 3000, 'a reopened request.log');
    // Both workers must have reopened: ask until each pid answered once.
    const seen = new Set<string>();
    for (let i = 0; i < 20 && seen.size < 2; i++) seen.add((await getFresh(`${base}/pid?after-rotation`)).body);
    await until(() => (fs.readFileSync(requests, 'utf8').match(/after-rotation/g)?.length ?? 0) >= 2 ? true : undefined, 3000, 'new lines');
    assert.doesNotMatch(fs.readFileSync(requests, 'utf8'), /before-rotation/);
  });

  test('a worker killed with SIGKILL under load is respawned and the server keeps answering', async () => {
    const before = status();
    const victim = before.workers[0]!;
    const load = loadLoop(`${base}/pid`);
    let fresh;
    try {
      await until(() => load.stats.ok >= 30, 10_000, 'the request loop running');
      process.kill(victim.pid, 'SIGKILL');
      fresh = await until(() => {
        const w = readStatus(path.join(varDir(), 'site.status.json'))?.workers.find((x) => x.slot === victim.slot);
        return w && w.pid !== victim.pid ? w : undefined;
      }, 30_000, 'the respawned worker'); // a fork loading the app: seconds on a loaded machine
      const atRespawn = load.stats.ok;
      await until(() => load.stats.ok >= atRespawn + 25, 10_000, 'the loop answered after the respawn');
    } finally {
      await load.stop();
    }
    const stats = load.stats;
    assert.ok(stats.ok > 50, `only ${stats.ok} requests answered`);
    // Only requests the dead worker held can fail.
    assert.ok(stats.failed <= 8, `${stats.failed} failed: ${stats.errors.slice(0, 5).join(', ')}`);
    const answered = new Set<string>();
    for (let i = 0; i < 10; i++) {
      const r = await getFresh(`${base}/pid`);
      assert.equal(r.status, 200);
      answered.add(r.body);
    }
    assert.ok(answered.has(String(fresh.pid)), 'the new worker takes requests');
    assert.equal(status().respawns, before.respawns + 1);
  });

  test('reload under a steady request loop replaces every worker and drops no request', async () => {
    const old = status().workers.map((w) => String(w.pid));
    const load = loadLoop(`${base}/pid`);
    let r;
    try {
      await until(() => load.stats.ok >= 50, 10_000, 'the request loop running');
      r = await skitaid(['reload', '-c', site.conf]);
      const atReload = load.stats.ok;
      await until(() => load.stats.ok > atReload + 50 && status().workers.some((w) => load.stats.pids.has(String(w.pid))), 10_000, 'the new workers answering the loop');
    } finally {
      await load.stop();
    }
    const stats = load.stats;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /reloaded site: 2 workers replaced/);
    assert.equal(stats.failed, 0, `dropped: ${stats.errors.slice(0, 5).join(', ')}`);
    assert.ok(stats.ok > 100, `only ${stats.ok} requests in the loop`);
    const now = status().workers.map((w) => String(w.pid));
    assert.equal(now.length, 2);
    assert.deepEqual(now.filter((p) => old.includes(p)), [], 'every worker was replaced');
    assert.ok(old.some((p) => stats.pids.has(p)) && now.some((p) => stats.pids.has(p)), 'old and new workers both answered the loop');
  });

  test('a reload that fails (bad config, an app that does not load) keeps the old workers serving', async () => {
    const workers = status().workers.map((w) => w.pid);
    const conf = fs.readFileSync(site.conf, 'utf8');
    const app = path.join(site.dir, 'webapp.ts');
    const appText = fs.readFileSync(app, 'utf8');
    try {
      fs.writeFileSync(site.conf, conf.replace('processes = 2', 'processes = two'));
      // `skitaid reload` reads the config first and refuses; a bare SIGHUP reaches the primary, which checks too.
      assert.equal((await skitaid(['reload', '-c', site.conf])).code, 1);
      const reloads = status().reloads;
      process.kill(status().pid, 'SIGHUP');
      const verdict = await until(() => (status().reloads > reloads ? status().lastReload : undefined), 5000, 'the reload verdict');
      assert.equal(verdict?.ok, false);
      assert.match(verdict!.message, /the config is not valid, nothing was replaced: SKT_CONFIG_VALUE: .*processes/);
      fs.writeFileSync(site.conf, conf);
      fs.writeFileSync(app, 'export const app = ;;; broken');
      const badApp = await skitaid(['reload', '-c', site.conf]);
      assert.equal(badApp.code, 1);
      assert.match(badApp.stderr, /reload of site failed: worker 1 failed to start, 0 of 2 replaced, the others keep serving: SKT_APP_LOAD/);
    } finally {
      fs.writeFileSync(site.conf, conf);
      fs.writeFileSync(app, appText);
    }
    assert.deepEqual(status().workers.map((w) => w.pid), workers);
    assert.equal((await getFresh(`${base}/pid`)).status, 200);
  });

  test('stop lets a slow in-flight request finish, then status says it is gone', async () => {
    const pid = status().pid;
    const slow = fetch(`${base}/slow`).then(async (r) => [r.status, await r.text()] as const);
    await until(() => arrivals(site.dir, 'slow') === 1, 10_000, 'the slow request in a worker');
    const stopped = await skitaid(['stop', '-c', site.conf]);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.deepEqual(await slow, [200, 'finally']);
    assert.match(stopped.stdout, /stopped site/);
    assert.ok(!isAlive(pid));
    assert.ok(!fs.existsSync(path.join(varDir(), 'site.pid')));
    assert.equal((await skitaid(['status', '-c', site.conf])).code, 3);
    assert.equal((await skitaid(['stop', '-c', site.conf])).code, 1);
  });
});

describe('stopping hard, and a start that fails', () => {
  let site: { dir: string; conf: string };
  let base: string;
  const varDir = (): string => path.join(site.dir, 'var');
  before(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    site = tempSite(`[server]\nip = 127.0.0.1\nport = ${port}\ngrace_period = 60\n[routes:line]\n/ = ./webapp\n`, { 'webapp.ts': WEBAPP });
  });
  after(() => {
    killDaemon(varDir());
    fs.rmSync(site.dir, { recursive: true, force: true });
  });

  test('a second stop kills the workers instead of waiting out the grace period', async () => {
    assert.equal((await skitaid(['start', '-c', site.conf])).code, 0);
    const slow = fetch(`${base}/stuck`).then((r) => r.text(), () => 'cut');
    await until(() => arrivals(site.dir, 'stuck') === 1, 10_000, 'the stuck request in a worker');
    const first = skitaid(['stop', '-c', site.conf], 60_000); // it lasts until the second one's kill
    // 30 s: the stop command is a fresh node process, slow to start on a loaded machine.
    await settle(() => readStatus(path.join(varDir(), 'site.status.json'))?.state, (state) => state === 'stopping', 'the state stopping', 30_000);
    const t0 = Date.now();
    const second = await skitaid(['stop', '-c', site.conf]);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /already stopping: killing the workers/);
    assert.equal((await first).code, 0);
    // Far inside the 60 s grace period, with room for slow `skitaid` start-ups on a loaded machine.
    assert.ok(Date.now() - t0 < 30_000, `${Date.now() - t0} ms`);
    assert.equal(await slow, 'cut');
  });

  test('stop --force kills at once', async () => {
    assert.equal((await skitaid(['start', '-c', site.conf])).code, 0);
    const pid = Number(fs.readFileSync(path.join(varDir(), 'site.pid'), 'utf8'));
    const r = await skitaid(['stop', '--force', '-c', site.conf]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /killed site/);
    await until(() => (isAlive(pid) ? undefined : true), 3000, 'the primary to die');
    assert.equal((await skitaid(['status', '-c', site.conf])).code, 3);
  });

  test('a start whose workers cannot listen fails with the reason and leaves no pid file', async () => {
    const blocker = http.createServer();
    await new Promise<void>((resolve) => blocker.listen(Number(new URL(base).port), '127.0.0.1', resolve));
    try {
      const r = await skitaid(['start', '-c', site.conf]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /site did not start: worker 1 failed to start: SKT_SERVER_LISTEN: cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE/);
      assert.ok(!fs.existsSync(path.join(varDir(), 'site.pid')));
    } finally {
      blocker.close();
    }
  });
});

describe('skitaid in the foreground', () => {
  let fg: Foreground | undefined;
  let site: { dir: string; conf: string };
  before(() => {
    site = tempSite('[server]\nip = 127.0.0.1\nport = 0\ngrace_period = 400ms\n[routes:line]\n/ = ./webapp\n', { 'webapp.ts': WEBAPP });
  });
  after(() => {
    killForeground(fg);
    fs.rmSync(site.dir, { recursive: true, force: true });
  });

  test('with workers (-w 2): SIGTERM exits 0 within grace_period, cutting a longer request', async () => {
    const port = await freePort();
    fg = foreground(['-c', site.conf, '-p', String(port), '-w', '2']);
    await fg.until(/2 workers listening on port \d+/);
    const slow = fetch(`http://127.0.0.1:${port}/slow`).then((r) => r.status, (e: Error) => e.message);
    await until(() => arrivals(site.dir, 'slow') === 1, 10_000, 'the slow request in a worker');
    fg.child.kill('SIGTERM');
    // grace_period = 400ms is shorter than /slow: the request is cut, the exit is still clean and prompt.
    const t0 = Date.now();
    const { code } = await fg.exited;
    assert.equal(code, 0, fg.output());
    // The cut request below is the proof; this bound only catches a stop that waits far longer (roomy for a loaded machine).
    assert.ok(Date.now() - t0 < 10_000, 'the grace period bounds the stop');
    assert.notEqual(await slow, 200);
    assert.match(fg.output(), /SIGTERM: stopping gracefully[\s\S]*stopped/);
  });

  test('a single process (the default): SIGTERM lets a request within the grace period finish', async () => {
    fs.writeFileSync(site.conf, fs.readFileSync(site.conf, 'utf8').replace('grace_period = 400ms', 'grace_period = 5'));
    fg = foreground(['-c', site.conf]);
    const [, port] = await fg.until(/listening on 127\.0\.0\.1:(\d+)/);
    assert.doesNotMatch(fg.output(), /primary/, 'no cluster for processes = 1');
    const slow = fetch(`http://127.0.0.1:${port}/slow`).then(async (r) => r.text());
    await until(() => arrivals(site.dir, 'slow') === 2, 10_000, 'the slow request in the process');
    fg.child.kill('SIGTERM');
    assert.equal(await slow, 'finally');
    assert.equal((await fg.exited).code, 0);
  });
});

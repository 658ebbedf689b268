/**
 * Mounted Node apps (test/fixtures/mount/) at the edges: the route syntax and its errors, a chunked
 * body over the limit, a graceful stop with a request in flight, Fastify's close, `--check`.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { parseConfigText } from '../../src/config/load.js';
import { isSkitaiError } from '../../src/errors.js';
import { checkApps } from '../../src/site.js';
import { startSite, type TestSite } from '../support/site.js';
import { until } from '../support/until.js';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/mount');
const KiB = 1024;

interface Shared {
  gates: Record<string, (() => void) | undefined>;
  aborted?: number;
  fastifyClosed?: boolean;
}
const shared = (): Shared => (globalThis as unknown as { mountTest: Shared }).mountTest;

const sites: TestSite[] = [];
after(async () => {
  for (const s of sites) await s.close();
});

async function site(conf: string): Promise<TestSite> {
  const s = await startSite(conf);
  sites.push(s);
  return s;
}

function routes(text: string, files: Record<string, string> = {}): ReturnType<typeof parseConfigText> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-mount-conf-'));
  for (const [name, body] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    if (name.endsWith('/')) fs.mkdirSync(path.join(dir, name), { recursive: true });
    else fs.writeFileSync(path.join(dir, name), body);
  }
  return parseConfigText(`[routes:line]\n${text}\n`, path.join(dir, 'site.conf'), dir);
}

describe('the `module:export` route form', () => {
  test('names a module (extension optional, .cjs too) and an export; other forms keep their meaning', () => {
    const c = routes('/a = ./server.js:app\n/b = ./server:default\n/c = ./legacy.cjs:handler\n/d = ./v:x/\n/e = ./server', {
      'server.js': '', 'legacy.cjs': '', 'v:x/': '',
    });
    assert.deepEqual(c.routes.map((r) => [r.prefix, r.kind, path.basename(r.target), r.export]), [
      ['/a', 'node', 'server.js', 'app'],
      ['/b', 'node', 'server.js', 'default'],
      ['/c', 'node', 'legacy.cjs', 'handler'],
      ['/d', 'static', 'v:x', undefined],
      ['/e', 'app', 'server.js', undefined],
    ]);
  });

  test('a missing module is SKT_CONFIG_ROUTE naming the line; a directory named like the form gets a hint', () => {
    assert.throws(() => routes('/a = ./nowhere.js:app'), (err) => isSkitaiError(err, 'SKT_CONFIG_ROUTE') && /line 2/.test(err.message) && /module not found/.test(err.message));
    assert.throws(() => routes('/d = ./v:x', { 'v:x/': '' }), (err) => isSkitaiError(err, 'SKT_CONFIG_ROUTE') && /write "\.\/v:x\/"/.test(err.message));
  });

  test('an export that is missing, not an app, or a Skitai App fails the start (and --check) with SKT_APP_LOAD', async () => {
    const skitaiApp = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-mount-app-')), 'webapp.ts');
    fs.writeFileSync(skitaiApp, `import { App } from '${path.resolve(import.meta.dirname, '../../src/index.ts')}';\nexport const app = new App();\n`);
    const cases: [string, RegExp][] = [
      [`${FIXTURES}/not-an-app.js:missing`, /no export named "missing" \(its exports: app, config\)/],
      [`${FIXTURES}/not-an-app.js:app`, /is a number, not a Node app/],
      [`${FIXTURES}/not-an-app.js:config`, /is an object, not a Node app/],
      [`${skitaiApp}:app`, /is a Skitai App: mount its module without ":export"/],
    ];
    for (const [target, message] of cases) {
      const conf = `[server]\nip = 127.0.0.1\nport = 0\naccess_log = off\n\n[routes:line]\n/x = ${target}\n`;
      const config = parseConfigText(conf, path.join(os.tmpdir(), 'site.conf'), os.tmpdir());
      await assert.rejects(startSite(conf), (err) => isSkitaiError(err, 'SKT_APP_LOAD') && message.test(err.message), target);
      await assert.rejects(checkApps(config), (err) => isSkitaiError(err, 'SKT_APP_LOAD') && message.test(err.message) && /line 7/.test(err.message), `--check ${target}`);
    }
  });
});

describe('CommonJS modules', () => {
  test('a named export and module.exports (`:default`, extension found) both mount', async () => {
    const s = await site(`[server]\n\n[routes:line]\n/c = ${FIXTURES}/legacy.cjs:handler\n/w = ${FIXTURES}/whole:default\n`);
    assert.equal(await (await fetch(`${s.base}/c/x?y=1`)).text(), 'cjs named /x?y=1');
    assert.equal(await (await fetch(`${s.base}/w/z`)).text(), 'cjs default /w');
  });
});

describe('limits', () => {
  test('a chunked body passing max_body_size cuts the connection; the app sees its request aborted; the worker serves on', async () => {
    const s = await site(`[server]\nmax_body_size = 16K\n\n[routes:line]\n/legacy = ${FIXTURES}/express-app.js:app\n`);
    shared().aborted = undefined;
    // Five chunks of 4 KiB: the fifth passes 16 KiB. Nothing more is sent, so the server has read all of it.
    const chunk = (n: number): Buffer => Buffer.concat([Buffer.from(`${n.toString(16)}\r\n`), Buffer.alloc(n, 0x61), Buffer.from('\r\n')]);
    const got = await new Promise<{ text: string; closed: boolean }>((resolve) => {
      const socket = net.connect(s.port, '127.0.0.1');
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
      socket.on('close', () => resolve({ text, closed: true }));
      socket.on('error', () => undefined);
      socket.on('connect', () => {
        socket.write('POST /legacy/count HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n');
        for (let i = 0; i < 5; i++) socket.write(chunk(4 * KiB));
      });
    });
    assert.equal(got.closed, true);
    assert.equal(got.text, '', 'no response: the app owned it');
    const seen = await until(() => shared().aborted, 5000, 'the app seeing its request aborted');
    assert.ok(seen <= 16 * KiB, `the app got ${seen} bytes, no more than the limit`);
    assert.ok(s.logLines.some((l) => l.includes('passed 16384 bytes; the connection is cut')));
    // Within the limit the same route takes a chunked body whole.
    const ok = await new Promise<string>((resolve, reject) => {
      const req = http.request(`${s.base}/legacy/count`, { method: 'POST', agent: false }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve(body));
      });
      req.on('error', reject);
      req.write(Buffer.alloc(8 * KiB));
      req.end(Buffer.alloc(8 * KiB));
    });
    assert.deepEqual(JSON.parse(ok), { size: 16 * KiB });
  });
});

describe('graceful stop', () => {
  test('a request in flight in Express finishes within the grace period; Fastify is closed', async () => {
    const s = await startSite(`[server]\n\n[routes:line]\n/legacy = ${FIXTURES}/express-app.js:app\n/fast = ${FIXTURES}/fastify-app.js:app\n`);
    shared().gates.slow = undefined;
    shared().fastifyClosed = false;
    const answer = new Promise<{ status: number; body: string; connection: string | undefined }>((resolve, reject) => {
      http.get(`${s.base}/legacy/slow`, { agent: false }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body, connection: res.headers.connection }));
      }).on('error', reject);
    });
    await until(() => shared().gates.slow, 5000, 'the slow request in the app');
    const closed = s.close();
    await until(() => s.site.engine.state === 'closing', 5000, 'the stop under way');
    assert.equal(shared().fastifyClosed, false, 'handlers close after the requests in flight');
    shared().gates.slow!();
    assert.deepEqual(await answer, { status: 200, body: 'slow done', connection: 'close' });
    await closed;
    assert.equal(shared().fastifyClosed, true);
  });
});

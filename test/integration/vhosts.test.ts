// Virtual hosts: `@ host…` lines in [routes:line], reached by curl with -H Host and --resolve,
// and per-group certificates chosen by SNI (two self-signed certificates made by openssl).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { makeCert, type TestCert } from '../support/cert.js';
import { startSite, type TestSite } from '../support/site.js';

const FILES = {
  'default/index.html': 'default site',
  'a/index.html': 'site A',
  'b/index.html': 'site B',
  'bapp.ts': "import { App } from 'skitai';\nexport const app = new App();\napp.route('/hi/<name>', (was, { name }) => `hi ${name} from B`);\n",
};

/** curl's status line and body, `args` before the URL. */
function curl(args: string[], url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    execFile('curl', ['-s', '-o', '-', '-w', '\n%{http_code}', ...args, url], (err, stdout, stderr) => {
      if (err) return reject(new Error(`curl failed: ${stderr || err.message}`));
      const cut = stdout.lastIndexOf('\n');
      resolve({ status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut) });
    });
  });
}

/** The common name of the certificate the server sends for `servername` (none: no SNI). */
function certFor(port: number, servername: string | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...(servername ? { servername } : {}) }, () => {
      const cn = socket.getPeerCertificate().subject?.CN;
      socket.end();
      resolve(String(cn));
    });
    socket.on('error', reject);
  });
}

describe('virtual hosts over HTTP', () => {
  let site: TestSite;
  before(async () => {
    site = await startSite(
      '[routes:line]\n/ = ./default\n@ a.test *.a.test\n/ = ./a\n@ .b.test\n/ = ./b\n/api = ./bapp.ts\n@ empty.test\n@ default\n/api/other = ./a\n',
      FILES,
    );
  });
  after(() => site.close());

  test('the Host header picks the group: exact, *.domain, .domain; case, port and a trailing dot ignored', async () => {
    const host = async (h: string): Promise<string> => (await curl(['-H', `Host: ${h}`], `${site.base}/`)).body;
    assert.equal(await host('a.test'), 'site A');
    assert.equal(await host('WWW.A.Test:8080'), 'site A');
    assert.equal(await host('x.y.a.test'), 'site A');
    assert.equal(await host('a.test.'), 'site A');
    assert.equal(await host('b.test'), 'site B');
    assert.equal(await host('www.b.test'), 'site B');
    assert.equal(await host('notb.test'), 'default site');
    assert.equal(await host('elsewhere.example'), 'default site');
    assert.equal((await curl([], `${site.base}/`)).body, 'default site');
  });

  test('curl --resolve reaches a group by its name; its routes are its own', async () => {
    const resolve = (name: string): string[] => ['--resolve', `${name}:${site.port}:127.0.0.1`];
    assert.equal((await curl(resolve('www.a.test'), `http://www.a.test:${site.port}/`)).body, 'site A');
    const hi = await curl(resolve('b.test'), `http://b.test:${site.port}/api/hi/ann`);
    assert.deepEqual(hi, { status: 200, body: 'hi ann from B' });
    // The B app is not mounted for other hosts; the default group's /api/other is not B's.
    assert.equal((await curl([], `${site.base}/api/hi/ann`)).status, 404);
    assert.equal((await curl(resolve('b.test'), `http://b.test:${site.port}/api/other/`)).status, 404);
    assert.equal((await curl([], `${site.base}/api/other/`)).body, 'site A');
  });

  test('a group without route lines answers 404 for its hosts; ping still answers every host', async () => {
    assert.equal((await curl(['-H', 'Host: empty.test'], `${site.base}/`)).status, 404);
    assert.equal((await curl(['-H', 'Host: empty.test'], `${site.base}/ping`)).body, 'pong');
  });
});

describe('virtual hosts without a default group', () => {
  let site: TestSite;
  before(async () => {
    site = await startSite('[routes:line]\n@ a.test\n/ = ./a\n', FILES);
  });
  after(() => site.close());

  test('a host of no group gets 421 Misdirected Request', async () => {
    assert.equal((await curl(['-H', 'Host: a.test'], `${site.base}/`)).body, 'site A');
    const other = await curl(['-H', 'Host: b.test'], `${site.base}/`);
    assert.equal(other.status, 421);
    assert.match(other.body, /Misdirected Request/);
  });
});

describe('virtual hosts over HTTPS: a certificate per group by SNI', () => {
  let site: TestSite;
  let certs: string;
  let def: TestCert;
  let a: TestCert;
  let b: TestCert;
  before(async () => {
    certs = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-vhost-certs-'));
    def = makeCert(certs, 'default');
    a = makeCert(certs, 'a', ['a.test', '*.a.test']);
    b = makeCert(certs, 'b', ['b.test', '*.b.test']);
    site = await startSite(
      `[server]\nssl = yes\ncertfile = ${def.cert}\nkeyfile = ${def.key}\n[routes:line]\n/ = ./default\n` +
        `@ a.test *.a.test certfile=${a.cert} keyfile=${a.key}\n/ = ./a\n` +
        `@ .b.test certfile=${b.cert} keyfile=${b.key}\n/ = ./b\n@ nocert.test\n/ = ./b\n`,
      FILES,
    );
  });
  after(async () => {
    await site.close();
    fs.rmSync(certs, { recursive: true, force: true });
  });

  test('each group sends its own certificate; other names and no SNI get [server] certfile', async () => {
    assert.equal(await certFor(site.port, 'a.test'), 'a.test');
    assert.equal(await certFor(site.port, 'www.a.test'), 'a.test');
    assert.equal(await certFor(site.port, 'b.test'), 'b.test');
    assert.equal(await certFor(site.port, 'x.b.test'), 'b.test');
    assert.equal(await certFor(site.port, 'nocert.test'), 'localhost');
    assert.equal(await certFor(site.port, 'elsewhere.example'), 'localhost');
    assert.equal(await certFor(site.port, undefined), 'localhost');
  });

  test('curl verifies each name against its group certificate and gets its site', async () => {
    const get = (name: string, ca: string): Promise<{ status: number; body: string }> =>
      curl(['--resolve', `${name}:${site.port}:127.0.0.1`, '--cacert', ca], `https://${name}:${site.port}/`);
    assert.deepEqual(await get('www.a.test', a.cert), { status: 200, body: 'site A' });
    assert.deepEqual(await get('b.test', b.cert), { status: 200, body: 'site B' });
    assert.deepEqual(await get('localhost', def.cert), { status: 200, body: 'default site' });
    // The a.test certificate is not trusted for b.test: curl refuses (exit 60), as a browser would.
    await assert.rejects(get('b.test', a.cert), /curl failed/);
  });
});

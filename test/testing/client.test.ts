// The test client as a user would use it: node:test, an App built in the test file, no config file
// and no port. The client talks HTTP to a real site on 127.0.0.1 (see src/testing.ts).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { App, isSkitaiError, Status, type UploadedFile } from '../../src/index.js';
import { testClient, type TestClient } from '../../src/testing.js';
import { makeTestCerts } from '../support/certs.js';

const app = new App().useSession();
app.route('/item/<int:id>', (was, { id }) => ({ id, next: id + 1, type: typeof id }));
app.post('/items', (was, { name, tags }: { name: string; tags: string[] }) => {
  was.response.status = 201;
  return { created: name, tags, contentType: was.request.contentType };
});
app.route('/search', (was, { q, page = '1' }: { q?: string | string[]; page?: string }) => ({ q, page }));
app.route('/visits', (was) => {
  const visits = Number(was.session.get('visits') ?? 0) + 1;
  was.session.set('visits', visits);
  return { visits };
});
app.route('/logout', (was) => {
  was.session.clear();
  return 'bye';
});
app.post('/upload', (was, { file, title }: { file: UploadedFile; title: string }) => ({ title, name: file.remote, size: file.size, text: fs.readFileSync(file.local, 'utf8') }));
app.route('/boom', () => {
  throw new Error('handler failed on purpose');
});
app.route('/dir/', () => 'a directory');
app.route('/long', () => 'skitai '.repeat(2000));

describe('testClient(app)', () => {
  let client: TestClient;
  before(async () => {
    client = await testClient(app);
  });
  after(() => client.close());

  test('a route with <int:id> gets a number', async () => {
    const res = await client.get('/item/41');
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    assert.deepEqual(res.json(), { id: 41, next: 42, type: 'number' });
    assert.equal((await client.get('/item/forty')).status, 404, 'not an int: no route');
  });

  test('a POST with a JSON body binds its members', async () => {
    const res = await client.post('/items', { json: { name: 'lamp', tags: ['red', 'tall'] } });
    assert.equal(res.status, 201);
    assert.deepEqual(res.json(), { created: 'lamp', tags: ['red', 'tall'], contentType: 'application/json' });
  });

  test('query and form fields; a repeated name is an array', async () => {
    assert.deepEqual((await client.get('/search', { query: { q: 'bach' } })).json(), { q: 'bach', page: '1' });
    assert.deepEqual((await client.get('/search?page=2', { query: { q: ['a', 'b'] } })).json(), { q: ['a', 'b'], page: '2' });
    const form = await client.post('/items', { form: { name: 'chair', tags: ['x'] } });
    assert.equal(form.status, 201);
    assert.deepEqual(form.json(), { created: 'chair', tags: 'x', contentType: 'application/x-www-form-urlencoded' });
  });

  test('the session cookie makes a round trip, and a deleted cookie leaves the jar', async () => {
    client.cookies.clear();
    assert.deepEqual((await client.get('/visits')).json(), { visits: 1 });
    assert.equal(client.cookies.size, 1, 'the session cookie was kept');
    assert.deepEqual((await client.get('/visits')).json(), { visits: 2 });
    assert.deepEqual((await client.get('/visits')).json(), { visits: 3 });
    // Another client is another browser.
    const other = await testClient(app);
    try {
      assert.deepEqual((await other.get('/visits')).json(), { visits: 1 });
    } finally {
      await other.close();
    }
    await client.get('/logout');
    assert.equal(client.cookies.size, 0, 'the server expired the cookie');
    assert.deepEqual((await client.get('/visits')).json(), { visits: 1 });
  });

  test('a cookie header of the request wins over the jar; cookies: false keeps none', async () => {
    const tampered = await client.get('/visits', { headers: { cookie: 'SESSION=forged' } });
    assert.deepEqual(tampered.json(), { visits: 1 }, 'a forged cookie is no session');
    const jarless = await testClient(app, { cookies: false });
    try {
      await jarless.get('/visits');
      assert.deepEqual((await jarless.get('/visits')).json(), { visits: 1 });
      assert.equal(jarless.cookies.size, 0);
    } finally {
      await jarless.close();
    }
  });

  test('a multipart upload from FormData', async () => {
    const form = new FormData();
    form.append('title', 'notes');
    form.append('file', new Blob(['hello file']), 'notes.txt');
    const res = await client.post('/upload', { body: form });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json(), { title: 'notes', name: 'notes.txt', size: 10, text: 'hello file' });
  });

  test('errors are pages, redirects are not followed, the log has the stack', async () => {
    const res = await client.get('/boom');
    assert.equal(res.status, 500);
    assert.doesNotMatch(res.text, /on purpose/, 'no details outside devel mode');
    assert.ok(client.log.some((l) => l.includes('handler failed on purpose')), client.log.join('\n'));
    const slash = await client.get('/dir');
    assert.equal(slash.status, 301);
    assert.equal(slash.headers['location'], '/dir/');
    assert.equal((await client.head('/item/1')).text, '');
    assert.equal((await client.request('/items', { method: 'DELETE' })).status, 405);
  });

  test('no accept-encoding unless the test sends one; then the body stays compressed', async () => {
    const plain = await client.get('/long');
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(plain.text.length, 14000);
    const gzip = await client.get('/long', { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(gzip.headers['content-encoding'], 'gzip');
    assert.equal(zlib.gunzipSync(gzip.body).toString(), plain.text);
  });
});

test('a prefix mounts the app below the root', async () => {
  const client = await testClient(app, { prefix: '/api' });
  try {
    assert.deepEqual((await client.get('/api/item/7')).json(), { id: 7, next: 8, type: 'number' });
    assert.equal((await client.get('/item/7')).status, 404);
  } finally {
    await client.close();
  }
});

test('ssl = yes: the client speaks HTTPS to the site and takes its certificate', async () => {
  const certs = makeTestCerts();
  const client = await testClient(app, { config: `[server]\nssl = yes\ncertfile = server.pem\nkeyfile = server.key\nsecurekey = not-so-secret\n`, dir: certs.dir });
  try {
    assert.match(client.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.deepEqual((await client.get('/item/1')).json(), { id: 1, next: 2, type: 'number' });
    const visit = await client.get('/visits');
    assert.match(String(visit.headers['set-cookie']), /; Secure/, 'the session cookie is Secure on https');
    assert.deepEqual((await client.get('/visits')).json(), { visits: 2 }, 'and the jar still sends it back');
  } finally {
    await client.close();
    certs.remove();
  }
});

test('a config without securekey stops a session app, as skitaid would', async () => {
  await assert.rejects(testClient(app, { config: '[server]\nsessiontimeout = 60\n' }), (e: unknown) => isSkitaiError(e, 'SKT_SESSION_NO_KEY'));
});

describe('testClient with a config: clusters and routes of a whole site', () => {
  // The member is a Skitai site too: every route is an XML-RPC method.
  const member = new App();
  member.route('/add', (was, { a, b }: { a: number; b: number }) => a + b, { params: ['a', 'b'] });
  interface MathApi {
    add(a: number, b: number): number;
  }
  const front = new App();
  front.route('/sum/<int:a>/<int:b>', async (was, { a, b }) => {
    const r = await was.lb<MathApi>('@math/rpc2').add(a, b).getwait(2);
    return { status: r.status === Status.NORMAL ? 'NORMAL' : r.status, sum: r.data };
  });

  let dir: string;
  let backend: TestClient;
  let client: TestClient;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-testing-'));
    fs.mkdirSync(path.join(dir, 'public'));
    fs.writeFileSync(path.join(dir, 'public', 'readme.txt'), 'static file');
    backend = await testClient(member);
    const port = new URL(backend.url).port;
    client = await testClient(front, {
      config: `[server]\nsecurekey = not-so-secret\n\n[@math]\nmembers = 127.0.0.1:${port}\n\n[routes:line]\n/files = ./public\n`,
      dir,
    });
  });
  after(async () => {
    await client.close();
    await backend.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('was.lb reaches the cluster of the config', async () => {
    assert.deepEqual((await client.get('/sum/20/22')).json(), { status: 'NORMAL', sum: 42 });
  });

  test('the static route of the config serves its directory', async () => {
    const res = await client.get('/files/readme.txt');
    assert.equal(res.status, 200);
    assert.equal(res.text, 'static file');
  });

  test('a config alone, with no app object', async () => {
    const only = await testClient({ config: '[routes:line]\n/ = ./public\n', dir });
    try {
      assert.equal((await only.get('/readme.txt')).text, 'static file');
      assert.equal((await only.get('/ping')).status, 200);
    } finally {
      await only.close();
    }
  });
});

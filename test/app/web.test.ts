import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { App } from '../../src/app/app.js';
import { buildWeb, type WebSettings } from '../../src/app/web.js';
import { Cookies } from '../../src/was/cookie.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-web-'));
fs.mkdirSync(path.join(dir, 'views'));
fs.writeFileSync(path.join(dir, 'views', 'x.html'), '{{ name | shout }}');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const settings = (over: Partial<WebSettings> = {}): WebSettings => ({ dir, devel: false, securekey: 'sekrit-key', sessionTimeout: 60_000, ssl: false, ...over });

function sessionLine(app: App, over: Partial<WebSettings> = {}): string {
  const sessions = buildWeb(app, 'app:test', settings(over)).sessions!;
  const jar = new Cookies(() => undefined, () => {});
  const s = sessions.load(jar);
  s.set('a', 1);
  sessions.commit(s, jar);
  return jar.lines()[0]!;
}

describe('buildWeb', () => {
  test('sessions stay off until useSession(); then a key is required, and it is not in the message', () => {
    assert.equal(buildWeb(new App(), 'app:test', settings({ securekey: undefined })).sessions, undefined);
    const app = new App().useSession();
    assert.throws(() => buildWeb(app, 'app:/srv/site.ts', settings({ securekey: undefined })), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'SKT_SESSION_NO_KEY');
      assert.match(err.message, /app:\/srv\/site\.ts calls app\.useSession\(\) but \[server\] securekey is not set/);
      return true;
    });
    assert.throws(() => buildWeb(app, 'a', settings({ sessionTimeout: 0 })), { code: 'SKT_SESSION_TIMEOUT' });
    assert.equal(buildWeb(app.useSession(false), 'a', settings({ securekey: undefined })).sessions, undefined);
  });

  test('the session cookie is Secure under [server] ssl unless the app says otherwise; Max-Age follows sessiontimeout', () => {
    assert.match(sessionLine(new App().useSession()), /^SESSION=\S+; Max-Age=60; Path=\/; HttpOnly; SameSite=Lax$/);
    assert.match(sessionLine(new App().useSession(), { ssl: true }), /; Secure; HttpOnly;/);
    assert.doesNotMatch(sessionLine(new App().useSession({ secure: false }), { ssl: true }), /Secure/);
  });

  test('templateDir is relative to the module directory; setupTemplates runs on the environment', () => {
    const app = new App();
    app.templateDir = 'views';
    app.setupTemplates((env) => env.addFilter('shout', (s: string) => `${s.toUpperCase()}!`));
    const web = buildWeb(app, 'a', settings());
    assert.equal(web.templates.dir, path.join(dir, 'views'));
    assert.equal(web.templates.render('x.html', { name: '<b>hi</b>' }), '&lt;B&gt;HI&lt;/B&gt;!');
  });
});

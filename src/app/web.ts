import fs from 'node:fs';
import path from 'node:path';
import { SkitaiError } from '../errors.js';
import { Seal } from '../was/seal.js';
import { Sessions } from '../was/session.js';
import { Templates } from '../was/templates.js';
import type { WasWeb } from '../was/web.js';
import type { App } from './app.js';

/** What the server knows that an app's sessions and templates need. */
export interface WebSettings {
  /** Directory of the app module (template and attachment paths are relative to it). */
  dir: string;
  /** `[server] devel` or `app.devel`: templates are re-read on every render. */
  devel: boolean;
  /** `[server] securekey`; never logged. */
  securekey: string | undefined;
  /** `[server] securekey_previous`: verifies only, during a key rotation; never logged. */
  securekeyPrevious?: string | undefined;
  /** `[server] sessiontimeout`, in ms. */
  sessionTimeout: number;
  /** `[server] ssl`: the session cookie is Secure unless the app says otherwise. */
  ssl: boolean;
}

/**
 * Build an app's session policy and template environment once it has started (its startup hooks
 * may still call `useSession()`). Sessions without a key fail here, at start, rather than at the
 * first request: never a silent unsigned cookie. A named template folder that is missing fails here too.
 */
export function buildWeb(app: App, name: string, s: WebSettings): WasWeb {
  const dir = path.resolve(s.dir, app.templateDir ?? 'templates');
  // An app without templates may have no folder; one that named its folder fails here rather than at its first render.
  if (app.usesTemplates === true && !fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
    throw new SkitaiError('SKT_TEMPLATE_DIR', `${name} sets app.templateDir or app.setupTemplates(), but its template directory ${dir} does not exist`);
  }
  const templates = new Templates(dir, s.devel || app.devel === true, app.templateSetup);
  const options = app.sessionOptions;
  if (!options) return { sessions: undefined, templates, dir: s.dir };
  if (!s.securekey) {
    throw new SkitaiError('SKT_SESSION_NO_KEY', `${name} calls app.useSession() but [server] securekey is not set: add a random key of 6 or more characters (sessions are never sent unsigned)`);
  }
  if (!(s.sessionTimeout > 0)) throw new SkitaiError('SKT_SESSION_TIMEOUT', `${name} calls app.useSession() but [server] sessiontimeout is 0: give sessions a lifetime`);
  return { sessions: new Sessions(new Seal(s.securekeyPrevious ? [s.securekey, s.securekeyPrevious] : [s.securekey]), s.sessionTimeout, { secure: s.ssl, ...options }), templates, dir: s.dir };
}

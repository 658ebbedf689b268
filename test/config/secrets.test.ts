import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configSecrets } from '../../src/config/secrets.js';
import { parseConfigText } from '../../src/config/load.js';
import { secretHider } from '../../src/http/errorpage.js';

test("configSecrets lists every secret value of the config, and error pages' hider blanks them", () => {
  const config = parseConfigText(`[server]
securekey = key-value-1
securekey_previous = key-value-0
admin_password = admin-pw-1
[users]
alice = alice-pw-1 ops, billing
bob = bob-pw-22 ops
[smtpda]
smtpserver = 127.0.0.1:25
user = mailer
password = smtp-pw-1
`);
  assert.deepEqual(new Set(configSecrets(config)), new Set(['key-value-1', 'key-value-0', 'admin-pw-1', 'alice-pw-1', 'bob-pw-22', 'smtp-pw-1']));
  assert.deepEqual(configSecrets(parseConfigText('[server]\nport = 5000\n')), []);
  const hide = secretHider(['pw', 'pw-longer']);
  assert.equal(hide('a pw-longer, a pw, and postgres://u:db-pw@h/x'), 'a [secret hidden], a [secret hidden], and postgres://u:***@h/x');
});

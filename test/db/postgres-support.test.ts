import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { findPostgresBin } from '../support/postgres.js';

// The DB tests must FAIL, not skip, when PostgreSQL is missing: the finder says what to install.
test('missing PostgreSQL binaries are a clear error; Debian\'s newest version dir wins', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-pgbin-'));
  try {
    assert.throws(() => findPostgresBin('', root), /PostgreSQL server binaries \(initdb, pg_ctl, postgres\) not found .* apt-get install postgresql/);
    for (const v of ['9', '15', '13']) {
      fs.mkdirSync(path.join(root, v, 'bin'), { recursive: true });
      for (const b of ['initdb', 'pg_ctl', 'postgres']) fs.writeFileSync(path.join(root, v, 'bin', b), '');
    }
    fs.rmSync(path.join(root, '15', 'bin', 'pg_ctl')); // incomplete: skipped
    assert.equal(findPostgresBin('', root), path.join(root, '13', 'bin'));
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { digestOf, parseUsers } from '../../src/auth/users.js';
import { parseConfigText } from '../../src/config/load.js';
import { isSkitaiError } from '../../src/errors.js';
import { checkSite } from '../../src/site.js';

const conf = (text: string) => parseConfigText(text, '/srv/site.conf', '/srv');

describe('[users]', () => {
  test('admin_password makes user admin in group admin; [users] lines add more', () => {
    const users = parseUsers(conf('[server]\nadmin_password = s3cret-admin\n[users]\nAlice = alice-pw ops,audit\nbob = bob-pw1 ops , \n'));
    assert.deepEqual([...users.keys()], ['admin', 'alice', 'bob']);
    assert.deepEqual(users.get('admin')!.groups, ['admin']);
    assert.deepEqual(users.get('alice')!.groups, ['ops', 'audit']);
    assert.deepEqual(users.get('bob')!.groups, ['ops']);
    assert.deepEqual(users.get('alice')!.digest, digestOf('alice-pw'));
    // Only digests are kept: no field holds the password.
    assert.ok(!JSON.stringify([...users.values()]).includes('alice-pw'));
  });

  test('no admin_password and no [users]: nobody', () => {
    assert.equal(parseUsers(conf('[server]\nport = 1\n')).size, 0);
  });

  const bad: [string, RegExp][] = [
    ['admin = other-pw admin', /admin_password/],
    ['carol = abc12 ops', /shorter than 6/],
    ['carol = carol-pw', /no group/],
    ['carol = carol-pw ops extra', /cannot contain spaces/],
    ['carol = carol-pw op$s', /group 1 of 1 is not a group name/],
    // A space typed inside the password: its tail looks like a group and must not be echoed.
    ['carol = carol-pw tail!2,ops', /group 1 of 2 is not a group name/],
    ['carol = carol-pw ,', /no group/],
    ['c/rol = carol-pw ops', /user name/],
  ];
  for (const [line, why] of bad) {
    test(`rejected with file, line and key: ${line}`, () => {
      assert.throws(
        () => parseUsers(conf(`[server]\nport = 1\n[users]\n${line}\n`)),
        (err) => {
          assert.ok(isSkitaiError(err, 'SKT_CONFIG_VALUE'));
          assert.match(err.message, why);
          assert.match(err.message, /^\/srv\/site\.conf:line 4 \[users\] \S+: /);
          // The password is never echoed.
          for (const pw of ['other-pw', 'abc12', 'carol-pw', 'tail!2']) assert.ok(!err.message.includes(pw), err.message);
          return true;
        },
      );
    });
  }
});

test('skitaid --check (checkSite) finds a bad [users] line and status_path without an admin', () => {
  assert.throws(() => checkSite(conf('[server]\nport = 1\n[users]\nbob = bob-pw-1\n')), /\[users\] bob: .*no group/);
  assert.throws(() => checkSite(conf('[server]\nstatus_path = /st\n[users]\nbob = bob-pw-1 ops\n')), (err) => isSkitaiError(err, 'SKT_AUTH_NO_USERS'));
  checkSite(conf('[server]\nstatus_path = /st\n[users]\nbob = bob-pw-1 ops,admin\n'));
});

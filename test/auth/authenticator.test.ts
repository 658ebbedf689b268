import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Authenticator, decodeBasic, permits } from '../../src/auth/authenticator.js';
import { digestOf, type UserEntry } from '../../src/auth/users.js';
import { Logger } from '../../src/log/logger.js';

const basic = (user: string, pw: string): string => `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}`;

function make(limit = 5) {
  const lines: string[] = [];
  const logger = new Logger({ write: (l) => void lines.push(l), reopen() {}, async close() {} }, true);
  const users = new Map<string, UserEntry>([
    ['admin', { name: 'admin', groups: ['admin'], digest: digestOf('admin-pw') }],
    ['alice', { name: 'alice', groups: ['ops'], digest: digestOf('alice-pw') }],
  ]);
  return { auth: new Authenticator({ users, name: 'api', failureLimit: limit, logger }), lines };
}

test('decodeBasic: RFC 7617 credentials; password may hold colons; other schemes are not Basic', () => {
  assert.deepEqual(decodeBasic(basic('a', 'b:c')), { user: 'a', password: 'b:c' });
  assert.deepEqual(decodeBasic(`basic ${Buffer.from('é:ü').toString('base64')}`), { user: 'é', password: 'ü' });
  assert.equal(decodeBasic('Bearer abc'), undefined);
  assert.equal(decodeBasic('Basic !!!'), undefined);
  assert.equal(decodeBasic(`Basic ${Buffer.from('nocolon').toString('base64')}`), undefined);
});

test('identify and authorize: 401 without or with wrong credentials, 403 outside the groups, admin passes all', () => {
  const { auth, lines } = make();
  assert.equal(auth.challenge, 'Basic realm="api Secured", charset="UTF-8"');
  const none = auth.authorize(auth.identify(undefined, '10.0.0.1', 'GET /x'), ['ops']);
  assert.equal(none.ok, false);
  assert.equal(!none.ok && none.status, 401);
  assert.equal(!none.ok && none.headers['www-authenticate'], auth.challenge);
  const wrong = auth.authorize(auth.identify(basic('alice', 'nope-nope'), '10.0.0.1', 'GET /x'), ['ops']);
  assert.equal(!wrong.ok && wrong.code, 'SKT_AUTH_REQUIRED');
  const alice = auth.identify(basic('Alice', 'alice-pw'), '10.0.0.1', 'GET /x');
  assert.equal(auth.authorize(alice, ['ops']).ok, true, 'user names are case-insensitive');
  const refused = auth.authorize(alice, ['billing']);
  assert.equal(!refused.ok && refused.status, 403);
  assert.equal(!refused.ok && refused.code, 'SKT_AUTH_FORBIDDEN');
  assert.equal(auth.authorize(auth.identify(basic('admin', 'admin-pw'), '10.0.0.1', 'GET /x'), ['billing']).ok, true);
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /failed login for user "alice" from 10\.0\.0\.1 \(GET \/x\)/);
  assert.ok(!lines.join('').includes('nope-nope'));
  assert.equal(permits({ name: 'x', groups: ['a', 'b'] }, ['b']), true);
  assert.equal(permits({ name: 'x', groups: ['a'] }, ['b']), false);
});

test('after the failure limit, even the right password is refused with 429 until the lockout ends', () => {
  const { auth, lines } = make(2);
  auth.identify(basic('admin', 'x-wrong-1'), '10.0.0.2', 'GET /');
  auth.identify(basic('nobody', 'x-wrong-2'), '10.0.0.2', 'GET /');
  const locked = auth.identify(basic('admin', 'admin-pw'), '10.0.0.2', 'GET /');
  assert.equal(locked.kind, 'throttled');
  const v = auth.authorize(locked, ['admin']);
  assert.equal(!v.ok && v.status, 429);
  assert.equal(!v.ok && v.headers['retry-after'], '1');
  assert.equal(auth.identify(basic('admin', 'admin-pw'), '10.0.0.3', 'GET /').kind, 'user', 'another address is not locked');
  assert.match(lines[1]!, /10\.0\.0\.2 locked out for 1 s/);
  assert.ok(!lines.join('').includes('x-wrong'));
  // A header user name with control characters cannot forge log lines.
  auth.identify(basic('evil\nFAKE LINE', 'pw'), '10.0.0.4', 'GET /');
  assert.ok(lines.at(-1)!.includes('"evil\\nFAKE LINE"'));
});

test('an IPv6 lockout is logged for the /64 it covers', () => {
  const { auth, lines } = make(1);
  auth.identify(basic('alice', 'wrong-pw'), '2001:db8:5:6::7', 'GET /x');
  assert.ok(lines.some((l) => l.includes('from 2001:db8:5:6::7 (GET /x); 2001:db8:5:6::/64 locked out for 1 s')), lines.join('\n'));
  assert.equal(auth.identify(basic('alice', 'alice-pw'), '2001:db8:5:6::8', 'GET /x').kind, 'throttled');
});

test('decodeBasic: bytes that are not UTF-8 are refused, not turned into U+FFFD (two such passwords would be one)', () => {
  const latin1 = (text: string): string => `Basic ${Buffer.from(text, 'latin1').toString('base64')}`;
  assert.equal(decodeBasic(latin1('alice:caf\u00e9')), undefined);
  const users = new Map<string, UserEntry>([['alice', { name: 'alice', groups: ['ops'], digest: digestOf('caf\ufffd-pw') }]]);
  const auth = new Authenticator({ users, name: 'api', failureLimit: 0 });
  assert.equal(auth.identify(latin1('alice:caf\u00e8-pw'), '10.0.0.1', 'GET /x').kind, 'invalid', 'a Latin-1 byte does not match a stored U+FFFD');
  assert.deepEqual(decodeBasic(basic('\ufeffbom', 'pw')), { user: '\ufeffbom', password: 'pw' }, 'a leading BOM is kept, not dropped');
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  formatSeconds,
  formatSize,
  isBindAddress,
  isIpOrCidr,
  parseBool,
  parseInteger,
  parseList,
  parseSeconds,
  parseSize,
} from '../../src/config/values.js';

test('parseBool accepts the six words and 1/0 in any case, nothing else', () => {
  for (const t of ['yes', 'YES', 'true', 'On', '1']) assert.equal(parseBool(t), true, t);
  for (const t of ['no', 'No', 'false', 'OFF', '0']) assert.equal(parseBool(t), false, t);
  for (const t of ['', 'y', 'n', '2', 'enabled', 'yes please']) assert.equal(parseBool(t), undefined, t);
});

test('parseInteger takes whole decimal numbers only', () => {
  assert.equal(parseInteger('5000'), 5000);
  assert.equal(parseInteger(' 42 '), 42);
  assert.equal(parseInteger('-1'), -1);
  assert.equal(parseInteger('+7'), 7);
  for (const t of ['', '1.5', '0x10', '1e3', '5k', 'five', '99999999999999999999']) assert.equal(parseInteger(t), undefined, t);
});

test('parseSize: K/M/G/T are 1024-based with or without i, B optional, any case', () => {
  assert.equal(parseSize('1048576'), 1048576);
  assert.equal(parseSize('100B'), 100);
  assert.equal(parseSize('512k'), 512 * 1024);
  assert.equal(parseSize('64KiB'), 65536);
  assert.equal(parseSize('5MB'), 5242880); // Skitai's MAX_POST_SIZE
  assert.equal(parseSize('5MiB'), 5242880);
  assert.equal(parseSize('5 m'), 5242880);
  assert.equal(parseSize('2G'), 2 ** 31);
  assert.equal(parseSize('1t'), 2 ** 40);
  assert.equal(parseSize('1.5K'), 1536);
  assert.equal(parseSize('0'), 0);
  for (const t of ['', 'M', '-1', '5X', '5MBB', '5 MiB extra', '1..5K']) assert.equal(parseSize(t), undefined, t);
});

test('parseSeconds returns milliseconds; a plain number is seconds', () => {
  assert.equal(parseSeconds('30'), 30_000);
  assert.equal(parseSeconds('1.5'), 1500);
  assert.equal(parseSeconds('250ms'), 250);
  assert.equal(parseSeconds('10s'), 10_000);
  assert.equal(parseSeconds('5m'), 300_000);
  assert.equal(parseSeconds('2H'), 7_200_000);
  assert.equal(parseSeconds('0'), 0);
  for (const t of ['', 's', '-1', '10d', '1 min', '1e3']) assert.equal(parseSeconds(t), undefined, t);
});

test('parseList splits on commas and whitespace, including continuation newlines', () => {
  assert.deepEqual(parseList('127.0.0.1, 10.0.0.0/8'), ['127.0.0.1', '10.0.0.0/8']);
  assert.deepEqual(parseList('a,b\nc  d,,'), ['a', 'b', 'c', 'd']);
  assert.deepEqual(parseList(''), []);
});

test('isIpOrCidr checks the address and the prefix length per family', () => {
  for (const t of ['127.0.0.1', '10.0.0.0/8', '0.0.0.0/0', '::1', 'fd00::/8', '::/128']) assert.ok(isIpOrCidr(t), t);
  for (const t of ['localhost', '10.0.0.0/33', '::/129', '10.0.0.0/', '10.0.0.0/x', '300.1.1.1']) assert.ok(!isIpOrCidr(t), t);
});

test('isBindAddress: empty, IPs and host names', () => {
  for (const t of ['', '0.0.0.0', '::', '127.0.0.1', 'localhost', 'web-1.example.com']) assert.ok(isBindAddress(t), t);
  for (const t of ['*', 'a b', '-bad', 'http://x']) assert.ok(!isBindAddress(t), t);
});

test('formatSize and formatSeconds write values back the way a config would', () => {
  assert.equal(formatSize(65536), '64KiB');
  assert.equal(formatSize(5242880), '5MiB');
  assert.equal(formatSize(1000), '1000');
  assert.equal(formatSeconds(30_000), '30s');
  assert.equal(formatSeconds(250), '250ms');
  assert.equal(formatSeconds(3_600_000), '1h');
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { base36, digits3, millis, num } from '../../src/log/bytes.js';

const written = (write: (b: Buffer, at: number) => number): string => {
  const b = Buffer.alloc(64, 0x2e);
  return b.toString('latin1', 5, write(b, 5));
};

test("base36, num and millis write what toString(36), String() and ${} would, at every digit count's edges", () => {
  const edges = [0, 1, 9, 10, 35, 36, 99, 100, 1295, 1296, 46655, 46656, 36 ** 4 - 1, 36 ** 4, 36 ** 5 - 1, 36 ** 5, 36 ** 6 - 1, 36 ** 6, 2 ** 31 - 1, 2 ** 31, 2 ** 40, -1, 1.5, NaN];
  for (let n = 0; n < 50_000; n++) assert.equal(written((b, at) => base36(b, at, n)), n.toString(36));
  for (const n of edges) {
    assert.equal(written((b, at) => base36(b, at, n)), n.toString(36), `base36 ${n}`);
    assert.equal(written((b, at) => num(b, at, n)), String(n), `num ${n}`);
  }
  const ms = (b: Buffer, at: number, n: number): number => millis(new DataView(b.buffer, b.byteOffset, b.byteLength), b, at, n);
  for (let us = 0; us < 30_000; us++) assert.equal(written((b, at) => ms(b, at, us / 1000)), String(us / 1000), `millis ${us / 1000}`);
  for (const n of [0.0004, 0.0005, 1.5, 2, 12.345, 99.9999, 1e6, 2147483.647, 2147483.648, 1e21, -1, NaN])
    assert.equal(written((b, at) => ms(b, at, n)), String(Math.round(n * 1000) / 1000), `millis ${n}`);
  assert.equal(written((b, at) => digits3(b, at, 7)), '007');
});

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { isSkitaiError, type SkitaiError } from '../../src/errors.js';

/** Run `fn`, expect a SkitaiError with `code`, return it. */
export function failure(code: string, fn: () => unknown): SkitaiError {
  try {
    fn();
  } catch (err) {
    assert.ok(isSkitaiError(err), `not a SkitaiError: ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return err;
  }
  return assert.fail(`expected ${code}`);
}

/** Async {@link failure}. */
export async function failureAsync(code: string, fn: () => Promise<unknown>): Promise<SkitaiError> {
  try {
    await fn();
  } catch (err) {
    assert.ok(isSkitaiError(err), `not a SkitaiError: ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return err;
  }
  return assert.fail(`expected ${code}`);
}

/** Assert a config error names the line (as "line N") and the key. */
export function assertPlace(err: SkitaiError, line: number, key: string): void {
  assert.match(err.message, new RegExp(`line ${line}\\b`), err.message);
  assert.ok(err.message.includes(key), `"${key}" missing from: ${err.message}`);
  assert.equal(err.place?.line, line);
  assert.equal(err.place?.key, key);
}

/** A temp directory holding `files` (path -> content; a trailing "/" makes a directory), removed after the run. */
export function siteDir(files: Record<string, string> = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-config-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const [name, content] of Object.entries(files)) {
    const full = path.join(dir, name);
    if (name.endsWith('/')) fs.mkdirSync(full, { recursive: true });
    else {
      fs.mkdirSync(path.dirname(full), { recursive: true });
      fs.writeFileSync(full, content);
    }
  }
  return dir;
}

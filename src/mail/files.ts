/**
 * Durable file steps for the spool: a file is written under a temp name, flushed to disk, then
 * renamed into place and the directory flushed, so a reader (or a crash) sees the old file or the
 * whole new one, never half of one.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

/** Prefix of files being written; scans skip them, cleanup removes old ones. */
export const TEMP_PREFIX = '.tmp-';

/** Write `text` to `file` atomically and durably, readable by the owner only (0600: it may hold an SMTP password). */
export async function writeAtomic(file: string, text: string): Promise<void> {
  const dir = path.dirname(file);
  const temp = path.join(dir, `${TEMP_PREFIX}${randomBytes(6).toString('hex')}`);
  const handle = await fs.open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } catch (err) {
    await handle.close();
    await fs.rm(temp, { force: true });
    throw err;
  }
  await handle.close();
  try {
    await fs.rename(temp, file);
  } catch (err) {
    await fs.rm(temp, { force: true });
    throw err;
  }
  await syncDir(dir);
}

/** Rename and flush both directories, so the move survives a power cut. */
export async function moveDurably(from: string, to: string): Promise<void> {
  await fs.rename(from, to);
  await syncDir(path.dirname(to));
  if (path.dirname(from) !== path.dirname(to)) await syncDir(path.dirname(from));
}

/** Flush a directory's entries (names) to disk. Some file systems refuse; that is not an error. */
export async function syncDir(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch {
    // EISDIR/EINVAL/EPERM on platforms that cannot fsync a directory: the rename is still atomic.
  } finally {
    await handle?.close();
  }
}

/** Make the spool directories, owner-only (entries may hold SMTP credentials). */
export async function ensureDirs(...dirs: string[]): Promise<void> {
  for (const dir of dirs) await fs.mkdir(dir, { recursive: true, mode: 0o700 });
}

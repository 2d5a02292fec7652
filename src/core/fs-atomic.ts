import { open, rename, mkdir, unlink } from 'node:fs/promises';
import { closeSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';

/**
 * Crash-safe write: temp file in the same directory, fsync, rename, fsync the directory.
 * `durable: false` keeps the all-or-nothing rename but skips the fsyncs, for files that are
 * regenerated anyway after a crash (a `runc update` resources file, a CNI result cache).
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644, options: { durable?: boolean } = {}): Promise<void> {
  const durable = options.durable ?? true;
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = tempPathBeside(path);
  const handle = await open(tmp, 'w', mode);
  try {
    await handle.writeFile(data);
    if (durable) await handle.sync();
  } catch (err) {
    await handle.close();
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await handle.close();
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  if (durable) await fsyncDir(dir);
}

export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * writeFileAtomic for a small file that is regenerated anyway after a crash (no fsyncs), with
 * synchronous calls: on the start path of a container, four thread-pool round trips per file
 * cost more than the microseconds these syscalls hold the event loop. The directory must exist.
 */
export function writeScratchFileSync(path: string, data: string, mode = 0o644): void {
  const tmp = tempPathBeside(path);
  const fd = openSync(tmp, 'w', mode);
  try {
    writeSync(fd, data);
  } catch (err) {
    closeSync(fd);
    unlinkSync(tmp);
    throw err;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (err) {
    unlinkSync(tmp);
    throw err;
  }
}

/** A hidden temporary name in the same directory as `path`, so that the rename stays on one filesystem. */
function tempPathBeside(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
}

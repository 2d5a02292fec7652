/** Disk usage of a directory tree, as dockerd's directory.Size counts it. */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Bytes of the files below `dir`, hard links counted once; unreadable entries count 0. */
export async function directorySize(dir: string, seen = new Set<string>()): Promise<number> {
  let total = 0;
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    const path = join(dir, entry.name);
    const st = await lstat(path).catch(() => undefined);
    if (!st) continue;
    if (st.isDirectory()) {
      total += await directorySize(path, seen);
      continue;
    }
    const key = `${st.dev}:${st.ino}`;
    if (st.nlink > 1) {
      if (seen.has(key)) continue;
      seen.add(key);
    }
    total += st.size;
  }
  return total;
}

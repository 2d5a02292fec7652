/**
 * `docker diff`: what a container changed, read from its overlay upper directory. An entry
 * that also exists in a lower layer was changed (Kind 0), one that does not was added (1), and
 * an overlay whiteout (0:0 character device) means deleted (2).
 */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

export interface Change {
  Path: string;
  Kind: 0 | 1 | 2;
}

async function existsIn(lowers: string[], path: string): Promise<boolean> {
  for (const lower of lowers) {
    const found = await lstat(join(lower, path)).then(() => true, () => false);
    if (found) return true;
  }
  return false;
}

/** `lowers` are the image's layer directories; the result is sorted by path like dockerd's. */
export async function changes(upper: string, lowers: string[]): Promise<Change[]> {
  const out: Change[] = [];
  const walk = async (rel: string): Promise<void> => {
    const entries = await readdir(join(upper, rel), { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const path = `${rel}/${entry.name}`;
      const info = await lstat(join(upper, path));
      if (info.isCharacterDevice() && info.rdev === 0) {
        out.push({ Path: path, Kind: 2 });
        continue;
      }
      out.push({ Path: path, Kind: (await existsIn(lowers, path)) ? 0 : 1 });
      if (entry.isDirectory()) await walk(path);
    }
  };
  await walk('');
  return out.sort((a, b) => (a.Path < b.Path ? -1 : a.Path > b.Path ? 1 : 0));
}

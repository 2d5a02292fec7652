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

/**
 * Files berth bind-mounts into every container. The runtime creates empty files for them in the
 * upper directory; dockerd keeps its equivalents in an init layer, so its diff never shows them.
 */
export const MOUNT_PLACEHOLDERS: readonly string[] = ['/etc/hostname', '/etc/hosts', '/etc/resolv.conf'];

/**
 * `changes` without the mount placeholders, and without a parent directory that is listed only
 * because a placeholder was created in it (its owner and mode are still the image's).
 */
export async function containerChanges(upper: string, lowers: string[]): Promise<Change[]> {
  const all = await changes(upper, lowers);
  const hidden = new Set(all.filter((c) => c.Kind === 1 && MOUNT_PLACEHOLDERS.includes(c.Path)).map((c) => c.Path));
  const kept = all.filter((c) => !hidden.has(c.Path));
  const result: Change[] = [];
  for (const change of kept) {
    const below = `${change.Path}/`;
    const onlyForPlaceholders =
      change.Kind === 0 &&
      [...hidden].some((h) => h.startsWith(below)) &&
      !kept.some((other) => other.Path.startsWith(below)) &&
      (await sameOwnerAndMode(join(upper, change.Path), lowers, change.Path));
    if (!onlyForPlaceholders) result.push(change);
  }
  return result;
}

async function sameOwnerAndMode(upperPath: string, lowers: string[], path: string): Promise<boolean> {
  const mine = await lstat(upperPath);
  for (const lower of lowers) {
    const theirs = await lstat(join(lower, path)).catch(() => undefined);
    if (theirs) return theirs.mode === mine.mode && theirs.uid === mine.uid && theirs.gid === mine.gid;
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

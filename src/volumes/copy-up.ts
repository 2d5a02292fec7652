/**
 * Copy-up: a new volume mounted over a directory of the image starts with that directory's
 * content (Docker's copyExistingContents), ownership, modes, xattrs, symlinks and hard links
 * preserved. The image path is resolved inside the container's rootfs the way securejoin
 * does (symlinks are followed as if the rootfs were `/`), so an image cannot point the copy
 * at a host path.
 */
import { execFile } from 'node:child_process';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { posix } from 'node:path';
import { promisify } from 'node:util';
import { errnoCode, errorMessage, BerthError } from '../core/errors.js';

const execFileAsync = promisify(execFile);
const MAX_SYMLINKS = 255;

/**
 * The host path of `path` inside `root`, every symlink on the way resolved within root;
 * undefined when a component does not exist. The result is inside root by construction.
 */
export async function resolveInRoot(root: string, path: string): Promise<string | undefined> {
  const pending = path.split('/').filter((c) => c !== '' && c !== '.');
  const resolved: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const component = pending.shift() as string;
    if (component === '..') {
      resolved.pop();
      continue;
    }
    const host = posix.join(root, ...resolved, component);
    let stat;
    try {
      stat = await lstat(host);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return undefined;
      throw err;
    }
    if (!stat.isSymbolicLink()) {
      resolved.push(component);
      continue;
    }
    if (++links > MAX_SYMLINKS) throw new BerthError('invalid-argument', `too many levels of symbolic links resolving ${path} in the image`);
    const target = await readlink(host);
    if (target.startsWith('/')) resolved.length = 0;
    pending.unshift(...target.split('/').filter((c) => c !== '' && c !== '.'));
  }
  return posix.join(root, ...resolved);
}

/**
 * Copies the image's `destination` (inside `rootfs`) into `volumeDir` when the volume is empty
 * and the image has a directory there; otherwise leaves the volume as it is.
 */
export async function copyImageContent(rootfs: string, destination: string, volumeDir: string): Promise<boolean> {
  if ((await readdir(volumeDir)).length > 0) return false;
  const source = await resolveInRoot(rootfs, destination);
  if (!source) return false;
  const stat = await lstat(source);
  if (!stat.isDirectory()) return false;
  // GNU cp -a copies exactly what Docker's copy does (owners, modes, times, xattrs, links,
  // devices, fifos, sparse files) and never follows a symlink inside the tree. `src/.`
  // also gives the volume's root the image directory's owner and mode.
  try {
    await execFileAsync('cp', ['-a', '--', `${source}/.`, volumeDir], { maxBuffer: 1024 * 1024 });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw new BerthError('internal', `copying image content at ${destination} into the volume failed: ${stderr || errorMessage(err)}`);
  }
  return true;
}

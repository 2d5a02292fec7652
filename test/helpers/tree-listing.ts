/** A comparable listing of a directory tree, for tests checking two layer formats hold the same. */
import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { lgetxattr, llistxattr } from '../../src/core/libc.js';

/**
 * One line per path: type and mode, owner, size, content digest, link target, device numbers,
 * link count, mtime in whole seconds (squashfs has no finer times) and xattrs. Times of
 * directories and whiteouts the extraction made itself are "now" in both formats, so times
 * within a minute of now are not compared.
 */
export async function treeListing(root: string): Promise<string[]> {
  const lines: string[] = [];
  const now = Date.now() / 1000;
  async function walk(rel: string): Promise<void> {
    const abs = rel === '' ? root : join(root, rel);
    const st = await lstat(abs);
    let detail = '';
    if (st.isFile()) detail = `${st.size} ${createHash('sha256').update(await readFile(abs)).digest('hex').slice(0, 12)}`;
    else if (st.isSymbolicLink()) detail = `-> ${await readlink(abs)}`;
    else if (st.isCharacterDevice() || st.isBlockDevice()) detail = `dev ${st.rdev}`;
    const mtime = Math.floor(st.mtimeMs / 1000);
    const time = Math.abs(mtime - now) < 60 ? 'now' : String(mtime);
    const xattrs = llistxattr(abs)
      .sort()
      .map((name) => `${name}=${lgetxattr(abs, name)?.toString('hex') ?? ''}`);
    const links = st.isDirectory() ? '' : `nlink=${st.nlink}`;
    lines.push(`${rel || '.'} ${st.mode.toString(8)} ${st.uid}:${st.gid} ${detail} ${links} ${time} [${xattrs.join(' ')}]`);
    if (st.isDirectory()) for (const name of (await readdir(abs)).sort()) await walk(rel === '' ? name : `${rel}/${name}`);
  }
  await walk('');
  return lines;
}

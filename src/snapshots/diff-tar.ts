/**
 * A container's changes as an OCI layer tar, read from its overlay upper directory (what
 * `docker commit` stores): overlay whiteouts (0:0 character devices) become `.wh.<name>` entries
 * and opaque directories (`trusted.overlay.opaque=y`) get a `.wh..wh..opq` entry, as
 * containers/storage's overlay diff does. Within a directory the whiteouts come first (layer.md
 * asks producers to put them before their siblings). Hard links inside the upper directory are
 * kept as tar hard links; file capabilities (`security.capability`) are kept as PAX xattrs.
 * `exclude` names paths (relative, no leading slash) to leave out: the mount points the runtime
 * created for /etc/hosts and friends.
 */
import { createReadStream, type Stats } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { lgetxattr } from '../core/libc.js';
import { OVERLAY_OPAQUE_XATTR, WHITEOUT_OPAQUE, WHITEOUT_PREFIX } from '../core/tar-apply.js';
import { TarWriter, type TarHeader } from './tar-write.js';

const CAPABILITY_XATTR = 'security.capability';

function isWhiteout(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

/** glibc's major/minor for the (below 2^32) device numbers Node reports. */
function major(rdev: number): number {
  return (rdev >>> 8) & 0xfff;
}

function minor(rdev: number): number {
  return (rdev & 0xff) | ((rdev >>> 12) & 0xfff00);
}

export function upperDirTar(upper: string, exclude: ReadonlySet<string> = new Set()): Readable {
  const out = new PassThrough({ highWaterMark: 1024 * 1024 });
  const tar = new TarWriter(out);
  const links = new Map<string, string>();

  const base = (name: string, st: Stats): Omit<TarHeader, 'type'> => ({ name, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime });
  const marker = (name: string, st: Stats): TarHeader => ({ name, type: 'file', mode: 0o600, uid: 0, gid: 0, mtime: st.mtime });

  const walk = async (rel: string): Promise<void> => {
    const names = (await readdir(join(upper, rel))).sort();
    const stats = new Map<string, Stats>();
    for (const name of names) stats.set(name, await lstat(join(upper, rel, name)));
    const ordered = [...names.filter((n) => isWhiteout(stats.get(n) as Stats)), ...names.filter((n) => !isWhiteout(stats.get(n) as Stats))];
    for (const name of ordered) {
      const path = rel ? `${rel}/${name}` : name;
      const st = stats.get(name) as Stats;
      if (exclude.has(path)) continue;
      const full = join(upper, path);
      if (isWhiteout(st)) {
        await tar.entry(marker(`${rel ? `${rel}/` : ''}${WHITEOUT_PREFIX}${name}`, st));
      } else if (st.isDirectory()) {
        await tar.entry({ ...base(`${path}/`, st), type: 'directory' });
        if (lgetxattr(full, OVERLAY_OPAQUE_XATTR)?.toString() === 'y') await tar.entry(marker(`${path}/${WHITEOUT_OPAQUE}`, st));
        await walk(path);
      } else if (st.isSymbolicLink()) {
        await tar.entry({ ...base(path, st), type: 'symlink', linkname: await readlink(full) });
      } else if (st.isFile()) {
        const key = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1 ? links.get(key) : undefined;
        if (first !== undefined) {
          await tar.entry({ ...base(path, st), type: 'link', linkname: first });
          continue;
        }
        if (st.nlink > 1) links.set(key, path);
        const capability = lgetxattr(full, CAPABILITY_XATTR);
        const xattrs = capability ? new Map([[CAPABILITY_XATTR, capability]]) : undefined;
        await tar.file({ ...base(path, st), type: 'file', size: st.size, ...(xattrs ? { xattrs } : {}) }, createReadStream(full));
      } else if (st.isCharacterDevice() || st.isBlockDevice()) {
        await tar.entry({ ...base(path, st), type: st.isCharacterDevice() ? 'character-device' : 'block-device', devmajor: major(st.rdev), devminor: minor(st.rdev) });
      } else if (st.isFIFO()) {
        await tar.entry({ ...base(path, st), type: 'fifo' });
      }
      // sockets cannot be archived (tar has no type for them), as in Docker
    }
  };

  walk('')
    .then(() => tar.finish())
    .catch((err: unknown) => out.destroy(err instanceof Error ? err : new Error(String(err))));
  return out;
}

/**
 * A container's changes as an OCI layer tar, read from its overlay upper directory (what
 * `docker commit` stores): overlay whiteouts (0:0 character devices) become `.wh.<name>` entries
 * and opaque directories (`trusted.overlay.opaque=y`) get a `.wh..wh..opq` entry, as
 * containers/storage's overlay diff does. Within a directory the whiteouts come first (layer.md
 * asks producers to put them before their siblings). Hard links inside the upper directory are
 * kept as tar hard links. `exclude` names paths (relative, no leading slash) to leave out: the
 * mount points the runtime created for /etc/hosts and friends.
 */
import { createReadStream, type Stats } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import { lgetxattr } from '../core/libc.js';
import { OVERLAY_OPAQUE_XATTR, WHITEOUT_OPAQUE, WHITEOUT_PREFIX } from './apply.js';

type Header = Parameters<ReturnType<typeof tar.pack>['entry']>[0];

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
  const pack = tar.pack();
  const links = new Map<string, string>();

  const entry = (header: Header): Promise<void> =>
    new Promise((resolve, reject) => {
      // A file entry (a whiteout) needs its (empty) body, or the pack waits for it forever.
      if (header.type === 'file') pack.entry(header, Buffer.alloc(0), (err) => (err ? reject(err) : resolve()));
      else pack.entry(header, (err) => (err ? reject(err) : resolve()));
    });

  const base = (rel: string, st: Stats): Pick<Header, 'name' | 'mode' | 'uid' | 'gid' | 'mtime'> => ({
    name: rel,
    mode: st.mode & 0o7777,
    uid: st.uid,
    gid: st.gid,
    mtime: st.mtime,
  });

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
        const where = rel ? `${rel}/` : '';
        await entry({ name: `${where}${WHITEOUT_PREFIX}${name}`, type: 'file', mode: 0o600, uid: 0, gid: 0, mtime: st.mtime, size: 0 });
      } else if (st.isDirectory()) {
        await entry({ ...base(`${path}/`, st), type: 'directory' });
        if (lgetxattr(full, OVERLAY_OPAQUE_XATTR)?.toString() === 'y') {
          await entry({ name: `${path}/${WHITEOUT_OPAQUE}`, type: 'file', mode: 0o600, uid: 0, gid: 0, mtime: st.mtime, size: 0 });
        }
        await walk(path);
      } else if (st.isSymbolicLink()) {
        await entry({ ...base(path, st), type: 'symlink', linkname: await readlink(full) });
      } else if (st.isFile()) {
        const key = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1 ? links.get(key) : undefined;
        if (first !== undefined) {
          await entry({ ...base(path, st), type: 'link', linkname: first });
          continue;
        }
        if (st.nlink > 1) links.set(key, path);
        await new Promise<void>((resolve, reject) => {
          const sink = pack.entry({ ...base(path, st), type: 'file', size: st.size }, (err) => (err ? reject(err) : resolve()));
          const source = createReadStream(full);
          const onClose = (): void => void source.destroy();
          pack.once('close', onClose);
          source.once('close', () => pack.off('close', onClose));
          source.on('error', (err) => {
            sink.destroy(err);
            reject(err);
          });
          source.pipe(sink as unknown as NodeJS.WritableStream);
        });
      } else if (st.isCharacterDevice() || st.isBlockDevice()) {
        await entry({ ...base(path, st), type: st.isCharacterDevice() ? 'character-device' : 'block-device', devmajor: major(st.rdev), devminor: minor(st.rdev) });
      } else if (st.isFIFO()) {
        await entry({ ...base(path, st), type: 'fifo' });
      }
      // sockets cannot be archived (tar has no type for them), as in Docker
    }
  };

  walk('')
    .then(() => pack.finalize())
    .catch((err: unknown) => pack.destroy(err instanceof Error ? err : new Error(String(err))));
  return pack as unknown as Readable;
}

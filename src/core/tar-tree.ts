/**
 * Writes a directory tree into a tar-stream pack the way Go's archive/tar users do (dockerd's
 * archive package): directories with a trailing "/", hardlinks as links to the first name,
 * symlinks verbatim, devices and fifos, sockets skipped. Everything is reached through
 * directory fds (`/proc/self/fd/<fd>/<name>`) and opened O_NOFOLLOW, so the tree may belong to
 * a running container that changes it meanwhile without redirecting the walk.
 */
import * as fs from 'node:fs';
import type tar from 'tar-stream';

/** `/proc/self/fd/<fd>`, optionally with one name below it: how a held directory is addressed. */
export function fdPath(fd: number, name = ''): string {
  return name === '' ? `/proc/self/fd/${fd}` : `/proc/self/fd/${fd}/${name}`;
}

/** Opens a directory entry below a held directory, refusing to follow a symlink. */
export function openDirAt(dirFd: number, name: string): number {
  return fs.openSync(fdPath(dirFd, name), fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW);
}

const READ_CHUNK = 256 * 1024;

/** An fd of the directory at `path`, or undefined if it is not one (a bind of a single file). */
function openDirectory(path: string): number | undefined {
  try {
    return fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw err;
  }
}

type TarHeader = Partial<tar.Header> & Pick<tar.Header, 'name'>;

export class TreeTarWriter {
  /** dev:ino of files with several links → the tar name they were first written under. */
  private readonly links = new Map<string, string>();

  /**
   * `mountSource`: for a directory below the starting point (by its path relative to it), the
   * host directory mounted there, whose content is archived instead (a container's volumes).
   */
  constructor(
    private readonly pack: tar.Pack,
    private readonly options: { mountSource?: (relativePath: string) => string | undefined } = {},
  ) {}

  /**
   * Adds the entry `name` of directory `dirFd` ('' = the directory itself) as `tarName`,
   * recursively; `rel` is its path relative to where the walk started.
   */
  async add(dirFd: number, name: string, tarName: string, rel = ''): Promise<void> {
    const source = name !== '' && rel !== '' ? this.options.mountSource?.(rel) : undefined;
    if (source !== undefined) {
      const mounted = openDirectory(source);
      if (mounted !== undefined) {
        try {
          return await this.add(mounted, '', tarName, rel);
        } finally {
          fs.closeSync(mounted);
        }
      }
    }
    const st = name === '' ? fs.fstatSync(dirFd) : fs.lstatSync(fdPath(dirFd, name));
    const base = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime };
    if (st.isDirectory()) {
      await this.entry({ ...base, name: `${tarName}/`, type: 'directory' });
      const fd = name === '' ? dirFd : openDirAt(dirFd, name);
      try {
        await this.children(fd, tarName, rel);
      } finally {
        if (fd !== dirFd) fs.closeSync(fd);
      }
      return;
    }
    if (st.isSymbolicLink()) {
      await this.entry({ ...base, name: tarName, type: 'symlink', linkname: fs.readlinkSync(fdPath(dirFd, name)) });
      return;
    }
    if (st.nlink > 1) {
      const key = `${st.dev}:${st.ino}`;
      const first = this.links.get(key);
      if (first !== undefined) {
        await this.entry({ ...base, name: tarName, type: 'link', linkname: first });
        return;
      }
      this.links.set(key, tarName);
    }
    if (st.isFile()) {
      await this.file(fdPath(dirFd, name), { ...base, name: tarName, type: 'file', size: st.size });
      return;
    }
    if (st.isCharacterDevice() || st.isBlockDevice() || st.isFIFO()) {
      const type = st.isFIFO() ? 'fifo' : st.isCharacterDevice() ? 'character-device' : 'block-device';
      await this.entry({ ...base, name: tarName, type, devmajor: major(st.rdev), devminor: minor(st.rdev) });
    }
    // Sockets cannot be archived (dockerd skips them too).
  }

  /** Adds every entry of the directory `fd`, named `<prefix>/<name>`, or just `<name>` without a prefix. */
  async children(fd: number, prefix: string | null, rel = ''): Promise<void> {
    const names = fs.readdirSync(fdPath(fd)).sort();
    for (const child of names) await this.add(fd, child, prefix === null ? child : `${prefix}/${child}`, rel === '' ? child : `${rel}/${child}`);
  }

  private entry(header: TarHeader): Promise<void> {
    return new Promise((resolve, reject) => this.pack.entry(header, (err) => (err ? reject(err) : resolve())));
  }

  /**
   * A regular file, exactly `size` bytes as stat saw it: a file that grows meanwhile is cut,
   * one that shrinks (or is no longer a regular file) is padded with zeros (the tar header is
   * already written).
   */
  private async file(path: string, header: TarHeader & { size: number }): Promise<void> {
    // O_NONBLOCK: a file swapped for a fifo since the lstat must not block the open (and berthd).
    const fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
    try {
      const regular = fs.fstatSync(fd).isFile();
      let finished: (err?: Error | null) => void = () => undefined;
      const written = new Promise<void>((resolve, reject) => {
        finished = (err) => (err ? reject(err) : resolve());
      });
      written.catch(() => undefined); // awaited below; a read error must not leave it unhandled
      const sink = this.pack.entry(header, (err) => finished(err));
      // A consumer that goes away destroys the entry; that ends this file, it must not throw.
      sink.on('error', (err: Error) => finished(err));
      let remaining = header.size;
      while (remaining > 0) {
        const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, remaining));
        const n = regular ? await new Promise<number>((resolve, reject) => fs.read(fd, buf, 0, buf.length, null, (err, bytes) => (err ? reject(err) : resolve(bytes)))) : 0;
        const chunk = n === 0 ? Buffer.alloc(Math.min(READ_CHUNK, remaining)) : buf.subarray(0, n);
        remaining -= chunk.length;
        if (sink.destroyed) break;
        if (!sink.write(chunk)) await Promise.race([new Promise<void>((resolve) => sink.once('drain', () => resolve())), written]);
      }
      sink.end(null);
      await written;
    } finally {
      fs.closeSync(fd);
    }
  }
}

const major = (rdev: number): number => ((rdev >> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff);
const minor = (rdev: number): number => (rdev & 0xff) | ((rdev >> 12) & ~0xff);


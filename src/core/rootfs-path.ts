/**
 * Resolving a path *inside* a container's root filesystem from the host, as securejoin and
 * moby's FollowSymlinkInScope do: symlinks are followed as if the rootfs were `/` (an absolute
 * target restarts at the rootfs, `..` stops at it), so `/etc -> /` or `x -> ../../..` can never
 * lead to the host's files.
 *
 * The walk holds an open directory fd for every component and looks each next component up
 * through `/proc/self/fd/<fd>/<name>`, never through a host path string: a process in a running
 * container that swaps a directory for a symlink mid-walk makes the walk fail (O_NOFOLLOW), it
 * cannot redirect it. Callers get the final directory as an fd and do their own lookups the
 * same way (ResolvedPath.hostPath()).
 *
 * A container's mounts (volumes, binds) are part of what it sees: a path reaching a mount's
 * destination continues in the mount's host source, as it would inside the container, and
 * `..` or an absolute symlink from there leads back into the rootfs.
 */
import * as fs from 'node:fs';
import { basename, dirname } from 'node:path';
import { BerthError, errnoCode, invalidArgument, notFound } from './errors.js';
import { fdPath, openDirAt } from './tar-tree.js';

const MAX_SYMLINKS = 255;
const ROOT_FLAGS = fs.constants.O_RDONLY | fs.constants.O_DIRECTORY;

/** A mount as path resolution needs it: where it appears and what it shows ('' for tmpfs: no host path). */
export interface RootMount {
  destination: string;
  source: string;
  rw: boolean;
}

export interface ResolvedPath {
  /** The directory holding the final component (or the resolved directory itself, if `name` is ''). Owned by the caller. */
  dirFd: number;
  /** The final component, not followed unless asked; '' when the path names a directory reached by the walk (`/`, `x/..`). */
  name: string;
  /** The resolved path as the container sees it (absolute, clean). */
  containerPath: string;
  /** The mount the result lies in (the innermost), if not the rootfs itself. */
  mount?: RootMount;
  /** A host path for the result that resolves through the held fd (valid until close()). */
  hostPath(): string;
  close(): void;
}

export interface ResolveOptions {
  /** Follow a symlink in the final component too (default false: like lstat). */
  followFinal?: boolean;
  /** The container's mounts, by clean absolute destination. */
  mounts?: readonly RootMount[];
}

/** The walk's errors that mean there is no file at the path: a missing component, or a non-directory on the way. */
const noSuchPathErrors = new WeakSet<Error>();

function noSuchPath(err: BerthError): BerthError {
  noSuchPathErrors.add(err);
  return err;
}

/** Whether resolveInRoot failed because nothing is at that path (as ENOENT or ENOTDIR would say). */
export function isNoSuchPath(err: unknown): boolean {
  return err instanceof Error && noSuchPathErrors.has(err);
}

/**
 * Resolves `path` (absolute or relative to `/`, in the container) inside the directory `root`.
 * Missing intermediate directories → not-found; an intermediate non-directory → invalid-argument;
 * a missing final component is fine (the caller stats it). Throws invalid-argument after 255 symlinks.
 */
export function resolveInRoot(root: string, path: string, options: ResolveOptions = {}): ResolvedPath {
  if (path.includes('\0')) throw invalidArgument(`path contains a NUL byte`);
  type Level = { fd: number; name: string; mount?: RootMount };
  const stack: Level[] = [{ fd: fs.openSync(root, ROOT_FLAGS), name: '' }];
  const top = (): Level => stack[stack.length - 1] as Level;
  /** The innermost mount of the current directory. */
  const currentMount = (): RootMount | undefined => [...stack].reverse().find((l) => l.mount)?.mount;
  const mountAt = (containerDir: string): RootMount | undefined => options.mounts?.find((m) => m.destination === containerDir);
  const popTo = (depth: number): void => {
    while (stack.length > depth) fs.closeSync((stack.pop() as { fd: number }).fd);
  };
  const pending = path.split('/').reverse();
  const isLast = (): boolean => pending.every((c) => c === '' || c === '.');
  const containerPath = (name: string): string => '/' + [...stack.slice(1).map((s) => s.name), ...(name ? [name] : [])].join('/');
  let links = 0;
  let kept = -1;
  const result = (dirFd: number, name: string, resolved: string, mount = currentMount()): ResolvedPath => {
    kept = dirFd;
    let open = true;
    return {
      dirFd,
      name,
      containerPath: resolved,
      ...(mount ? { mount } : {}),
      hostPath: () => fdPath(dirFd, name),
      close: () => {
        if (open) fs.closeSync(dirFd);
        open = false;
      },
    };
  };
  try {
    while (pending.length > 0) {
      const component = pending.pop() as string;
      if (component === '' || component === '.') continue;
      if (component === '..') {
        if (stack.length > 1) popTo(stack.length - 1);
        continue;
      }
      const last = isLast();
      const mount = mountAt(containerPath(component));
      if (mount) {
        // The mount hides whatever the rootfs has there; its host source is what the container sees.
        if (mount.source === '') throw new BerthError('not-implemented', `${mount.destination} is a tmpfs mount: berth cannot copy from or to it`);
        if (fs.statSync(mount.source).isDirectory()) {
          stack.push({ fd: fs.openSync(mount.source, ROOT_FLAGS), name: component, mount });
          continue;
        }
        if (!last) throw noSuchPath(invalidArgument(`${mount.destination}: not a directory`));
        return result(fs.openSync(dirname(mount.source), ROOT_FLAGS), basename(mount.source), containerPath(component), mount);
      }
      let st: fs.Stats;
      try {
        st = fs.lstatSync(fdPath(top().fd, component));
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT') throw err;
        if (last) return result(top().fd, component, containerPath(component));
        throw noSuchPath(notFound(`${containerPath(component)}: no such file or directory`));
      }
      if (st.isSymbolicLink() && (!last || options.followFinal)) {
        if (++links > MAX_SYMLINKS) throw invalidArgument(`${path}: too many levels of symbolic links`);
        const target = fs.readlinkSync(fdPath(top().fd, component));
        if (target.startsWith('/')) popTo(1);
        pending.push(...target.split('/').reverse());
        continue;
      }
      if (last && !st.isDirectory()) return result(top().fd, component, containerPath(component));
      if (!st.isDirectory()) throw noSuchPath(invalidArgument(`${containerPath(component)}: not a directory`));
      if (last && !options.followFinal) return result(top().fd, component, containerPath(component));
      stack.push({ fd: openDirAt(top().fd, component), name: component });
    }
    return result(top().fd, '', containerPath(''));
  } finally {
    // Everything but the returned directory is closed.
    for (const entry of stack) if (entry.fd !== kept) fs.closeSync(entry.fd);
  }
}

/**
 * The archive side of `docker cp` and `docker export`, on a mounted container rootfs:
 * - statPath: dockerd's ContainerPathStat (the X-Docker-Container-Path-Stat header);
 * - archivePath: a tar of a path, named the way dockerd names it (a directory's entries under
 *   its base name, "." for `dir/.`, a file as its base name);
 * - extractArchive: a tar (plain, gzip or zstd) into a directory, through core/tar-apply.ts;
 * - exportRootfs: a tar of the whole filesystem.
 * Paths follow dockerd's rules: the last component is not followed unless the path ends in
 * `/` or `/.`; everything before it is resolved inside the rootfs (rootfs-path.ts). Reading
 * walks with directory fds and O_NOFOLLOW, so a running container cannot redirect it.
 */
import * as fs from 'node:fs';
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { BerthError, errnoCode, errorMessage, invalidArgument, notFound } from '../core/errors.js';
import { logger } from '../core/log.js';
import { applyLayer, type LayerCompression } from '../core/tar-apply.js';
import { fdPath, openDirAt, TreeTarWriter } from '../core/tar-tree.js';
import { resolveInRoot, type ResolvedPath, type RootMount } from '../core/rootfs-path.js';
import type { ContainerRecord } from './types.js';

const log = logger('archive');

/** What the container sees at its mount destinations: the host sources of its volumes and binds. */
export function rootMounts(record: ContainerRecord): RootMount[] {
  return (record.mounts ?? []).map((m) => ({ destination: m.destination, source: m.type === 'tmpfs' ? '' : m.source, rw: m.rw }));
}

/** A copy into a read-only place (dockerd answers 403). */
export class ReadOnlyTargetError extends BerthError {
  constructor(message: string) {
    super('failed-precondition', message);
  }
}

/** dockerd's ContainerPathStat; mode is a Go os.FileMode. */
export interface PathStat {
  name: string;
  size: number;
  mode: number;
  mtime: string;
  linkTarget: string;
}

// Go's os.FileMode type bits (io/fs): the permission bits stay in the low 9 bits.
const GO_MODE_DIR = 2 ** 31;
const GO_MODE_SYMLINK = 2 ** 27;
const GO_MODE_DEVICE = 2 ** 26;
const GO_MODE_NAMED_PIPE = 2 ** 25;
const GO_MODE_SOCKET = 2 ** 24;
const GO_MODE_SETUID = 2 ** 23;
const GO_MODE_SETGID = 2 ** 22;
const GO_MODE_CHAR_DEVICE = 2 ** 21;
const GO_MODE_STICKY = 2 ** 20;

/** A Unix st_mode as Go's os.FileMode (what `docker cp` decodes from the stat header). */
export function goFileMode(unixMode: number): number {
  let mode = unixMode & 0o777;
  switch (unixMode & fs.constants.S_IFMT) {
    case fs.constants.S_IFDIR:
      mode += GO_MODE_DIR;
      break;
    case fs.constants.S_IFLNK:
      mode += GO_MODE_SYMLINK;
      break;
    case fs.constants.S_IFBLK:
      mode += GO_MODE_DEVICE;
      break;
    case fs.constants.S_IFCHR:
      mode += GO_MODE_DEVICE + GO_MODE_CHAR_DEVICE;
      break;
    case fs.constants.S_IFIFO:
      mode += GO_MODE_NAMED_PIPE;
      break;
    case fs.constants.S_IFSOCK:
      mode += GO_MODE_SOCKET;
      break;
  }
  if (unixMode & 0o4000) mode += GO_MODE_SETUID;
  if (unixMode & 0o2000) mode += GO_MODE_SETGID;
  if (unixMode & 0o1000) mode += GO_MODE_STICKY;
  return mode;
}

/** Go's time.Time JSON (RFC 3339 with nanoseconds, trailing zeros dropped). */
export function goTime(mtimeNs: bigint): string {
  const seconds = mtimeNs / 1_000_000_000n;
  const nanos = mtimeNs % 1_000_000_000n;
  const base = new Date(Number(seconds) * 1000).toISOString().replace(/\.\d{3}Z$/, '');
  const fraction = nanos === 0n ? '' : `.${nanos.toString().padStart(9, '0').replace(/0+$/, '')}`;
  return `${base}${fraction}Z`;
}

/** The X-Docker-Container-Path-Stat header value: base64 of the JSON, keys in dockerd's order. */
export function encodePathStat(stat: PathStat): string {
  const json = JSON.stringify({ name: stat.name, size: stat.size, mode: stat.mode, mtime: stat.mtime, linkTarget: stat.linkTarget });
  return Buffer.from(json).toString('base64');
}

/**
 * dockerd's absPath: the path made absolute and clean, keeping a trailing `/` or `/.` (they
 * change the meaning: follow the last symlink; copy a directory's contents).
 */
export function containerAbsPath(path: string): string {
  let clean = posix.normalize(`/${path}`);
  if (clean.length > 1 && clean.endsWith('/')) clean = clean.slice(0, -1);
  if (clean.startsWith('//')) clean = clean.replace(/^\/+/, '/');
  if ((path.endsWith('/.') || path === '.') && clean !== '/') return `${clean}/.`;
  if (path.endsWith('/.') || path === '.') return '/.';
  if (path.endsWith('/') && clean !== '/') return `${clean}/`;
  return clean;
}

/** filepath.Base of an absPath: "/" for the root, "." for `dir/.`. */
function baseName(absPath: string): string {
  const trimmed = absPath.replace(/\/+$/, '');
  if (trimmed === '') return '/';
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}

const followsLast = (absPath: string): boolean => absPath.endsWith('/') || absPath.endsWith('/.');

function lstatResolved(resolved: ResolvedPath): fs.BigIntStats {
  return resolved.name === '' ? fs.fstatSync(resolved.dirFd, { bigint: true }) : fs.lstatSync(resolved.hostPath(), { bigint: true });
}

/** Resolves and lstats `path`; the caller closes `resolved`. Missing → not-found with dockerd's message. */
function resolveAndStat(rootfs: string, mounts: readonly RootMount[], path: string, container: string): { resolved: ResolvedPath; st: fs.BigIntStats; stat: PathStat } {
  const absPath = containerAbsPath(path);
  let resolved: ResolvedPath;
  try {
    resolved = resolveInRoot(rootfs, absPath, { followFinal: followsLast(absPath), mounts });
  } catch (err) {
    if (err instanceof BerthError && err.code === 'not-found') throw notFound(`Could not find the file ${path} in container ${container}`);
    throw err;
  }
  try {
    let st: fs.BigIntStats;
    try {
      st = lstatResolved(resolved);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') throw notFound(`Could not find the file ${path} in container ${container}`);
      throw err;
    }
    let linkTarget = '';
    if (st.isSymbolicLink()) {
      try {
        const target = resolveInRoot(rootfs, absPath, { followFinal: true, mounts });
        linkTarget = target.containerPath;
        target.close();
      } catch (err) {
        log.debug('symlink target does not resolve', { path, error: errorMessage(err) });
      }
    }
    const stat: PathStat = { name: baseName(absPath), size: Number(st.size), mode: goFileMode(Number(st.mode)), mtime: goTime(st.mtimeNs), linkTarget };
    return { resolved, st, stat };
  } catch (err) {
    resolved.close();
    throw err;
  }
}

export function statPath(rootfs: string, mounts: readonly RootMount[], path: string, container: string): PathStat {
  const { resolved, stat } = resolveAndStat(rootfs, mounts, path, container);
  resolved.close();
  return stat;
}

/**
 * A tar of `path` and its stat. The tar is produced while the caller reads it; `done` settles
 * when it is complete (the rootfs must stay mounted until then).
 */
export function archivePath(rootfs: string, mounts: readonly RootMount[], path: string, container: string): { stat: PathStat; tar: Readable; done: Promise<void> } {
  const { resolved, st, stat } = resolveAndStat(rootfs, mounts, path, container);
  const pack = tar.pack();
  pack.on('error', () => undefined); // reported through `done`
  // A directory's entries are named after the requested base name (dockerd's rebase): "etc/…",
  // "./…" for `etc/.`, and "/…" for the root itself.
  const rebase = st.isDirectory() ? (stat.name === '/' ? '' : stat.name) : stat.name;
  // Volumes and binds below the path are archived with their content, as the container sees them.
  const below = (rel: string): string | undefined => mounts.find((m) => m.source !== '' && m.destination === posix.join(resolved.containerPath, rel))?.source;
  const done = new TreeTarWriter(pack, { mountSource: below })
    .add(resolved.dirFd, resolved.name, rebase)
    .then(() => void pack.finalize())
    .catch((err: unknown) => {
      pack.destroy(err instanceof Error ? err : new Error(String(err)));
      throw err;
    })
    .finally(() => resolved.close());
  done.catch(() => undefined);
  return { stat, tar: pack as unknown as Readable, done };
}

/** A tar of the whole root filesystem (docker export): entries relative to it, without the root itself. */
export function exportRootfs(rootfs: string): { tar: Readable; done: Promise<void> } {
  const pack = tar.pack();
  pack.on('error', () => undefined); // reported through `done`
  const rootFd = fs.openSync(rootfs, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  const writer = new TreeTarWriter(pack);
  const done = writer
    .children(rootFd, null)
    .then(() => void pack.finalize())
    .catch((err: unknown) => {
      pack.destroy(err instanceof Error ? err : new Error(String(err)));
      throw err;
    })
    .finally(() => fs.closeSync(rootFd));
  done.catch(() => undefined);
  return { tar: pack as unknown as Readable, done };
}

export interface ExtractOptions {
  /** Refuse to replace a directory with a non-directory and the reverse. */
  noOverwriteDirNonDir: boolean;
  /** Keep the archive's uid/gid (docker cp -a); otherwise everything is owned by root. */
  copyUIDGID: boolean;
  /** The container's rootfs is read-only: only its read-write mounts may be written. */
  readonlyRootfs: boolean;
}

/** Detects the compression of a tar stream from its first bytes (dockerd accepts plain, gzip, bzip2, xz; berth plain, gzip, zstd). */
async function detectCompression(input: Readable): Promise<{ stream: Readable; compression: LayerCompression }> {
  const iterator = input[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let head = Buffer.alloc(0);
  const chunks: Buffer[] = [];
  while (head.length < 6) {
    const next = await iterator.next();
    if (next.done) break;
    chunks.push(next.value);
    head = Buffer.concat([head, next.value]);
  }
  let compression: LayerCompression = 'none';
  if (head[0] === 0x1f && head[1] === 0x8b) compression = 'gzip';
  else if (head.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) compression = 'zstd';
  else if (head.subarray(0, 3).toString('latin1') === 'BZh') throw invalidArgument('bzip2-compressed archives are not supported by berth: send a plain, gzip or zstd tar');
  else if (head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) throw invalidArgument('xz-compressed archives are not supported by berth: send a plain, gzip or zstd tar');
  const rest = (async function* (): AsyncGenerator<Buffer> {
    yield* chunks;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield next.value;
    }
  })();
  return { stream: Readable.from(rest), compression };
}

/** Extracts a tar into the directory `path` of the container (which must exist and be a directory). */
export async function extractArchive(rootfs: string, mounts: readonly RootMount[], path: string, container: string, input: Readable, options: ExtractOptions): Promise<void> {
  const absPath = containerAbsPath(path);
  let resolved: ResolvedPath;
  try {
    // dockerd evaluates the last component too: extracting to a symlink to a directory is fine.
    resolved = resolveInRoot(rootfs, absPath, { followFinal: true, mounts });
  } catch (err) {
    if (err instanceof BerthError && err.code === 'not-found') throw notFound(`Could not find the file ${path} in container ${container}`);
    throw err;
  }
  let dirFd = resolved.dirFd;
  try {
    if (resolved.mount && !resolved.mount.rw) throw new ReadOnlyTargetError('mounted volume is marked read-only');
    if (!resolved.mount && options.readonlyRootfs) throw new ReadOnlyTargetError('container rootfs is marked read-only');
    if (resolved.name !== '') {
      let st: fs.Stats;
      try {
        st = fs.lstatSync(resolved.hostPath());
      } catch (err) {
        if (errnoCode(err) === 'ENOENT') throw notFound(`Could not find the file ${path} in container ${container}`);
        throw err;
      }
      if (!st.isDirectory()) throw invalidArgument('extraction point is not a directory');
      dirFd = openDirAt(resolved.dirFd, resolved.name);
    }
    const { stream, compression } = await detectCompression(input);
    // Mounts below the target directory: the rootfs under them is not what the container sees.
    const target = resolved.containerPath;
    const mountPoints = mounts.filter((m) => m.destination.startsWith(`${target === '/' ? '' : target}/`)).map((m) => posix.relative(target, m.destination));
    await applyLayer(fdPath(dirFd), stream, compression, {
      mountPoints,
      convertWhiteouts: false,
      noOverwriteDirNonDir: options.noOverwriteDirNonDir,
      ...(options.copyUIDGID ? {} : { owner: { uid: 0, gid: 0 } }),
    });
  } finally {
    if (dirFd !== resolved.dirFd) fs.closeSync(dirFd);
    resolved.close();
  }
}

/**
 * berth cp, with the docker CLI's copy rules (cli/command/container/cp.go and
 * moby/go-archive copy.go: CopyInfo, PrepareArchiveCopy, RebaseArchiveEntries). Requests:
 *
 *   from a container  [HEAD /containers/{id}/archive?path= (-L)] → GET /containers/{id}/archive?path=
 *   to a container    HEAD /containers/{id}/archive?path= [→ HEAD of its link target]
 *                     → PUT /containers/{id}/archive?path=<dir>&noOverwriteDirNonDir=true[&copyUIDGID=true]
 *
 * Local tars are written with core/tar-tree.ts and extracted with core/tar-apply.ts (the
 * archive comes from a container: untrusted, so it gets the same checks as an image layer).
 */
import * as fs from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { posix, resolve as resolveLocal } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { humanSizeWithPrecision } from '../../core/units.js';
import { applyLayer } from '../../core/tar-apply.js';
import { TreeTarWriter } from '../../core/tar-tree.js';
import { ApiError, CliError } from '../errors.js';
import { api, eprintln } from '../io.js';
import { c } from './run.js';

interface CpOptions {
  archive?: boolean;
  followLink?: boolean;
  quiet?: boolean;
}

/** dockerd's ContainerPathStat, decoded from X-Docker-Container-Path-Stat. */
interface PathStat {
  name: string;
  size: number;
  mode: number;
  mtime: string;
  linkTarget: string;
}

/** What copy.go's CopyInfo knows about one side. */
interface CopyInfo {
  path: string;
  exists: boolean;
  isDir: boolean;
  rebaseName?: string;
}

const GO_MODE_DIR = 2 ** 31;
const GO_MODE_SYMLINK = 2 ** 27;
const isDirMode = (mode: number): boolean => Math.floor(mode / GO_MODE_DIR) % 2 === 1;
const isSymlinkMode = (mode: number): boolean => Math.floor(mode / GO_MODE_SYMLINK) % 2 === 1;

/** `container:path` or a local path (absolute, or starting with "." before any colon). */
export function splitCpArg(arg: string): { container?: string; path: string } {
  if (arg.startsWith('/')) return { path: arg };
  const colon = arg.indexOf(':');
  if (colon < 0 || arg.slice(0, colon).startsWith('.')) return { path: arg };
  return { container: arg.slice(0, colon), path: arg.slice(colon + 1) };
}

/** archive.SplitPathDirEntry: the parent and base of a cleaned path, "." kept for `dir/.`. */
export function splitPathDirEntry(path: string): [string, string] {
  let cleaned = posix.normalize(path);
  if (cleaned.length > 1 && cleaned.endsWith('/')) cleaned = cleaned.slice(0, -1);
  if ((path.endsWith('/.') || path === '.') && !cleaned.endsWith('/.') && cleaned !== '.') cleaned += '/.';
  return [posix.dirname(cleaned), posix.basename(cleaned)];
}

const assertsDirectory = (path: string): boolean => path.endsWith('/') || path.endsWith('/.') || path === '.';

/**
 * PrepareArchiveCopy: where to extract the source archive, and how its top-level name must be
 * renamed so the copy lands at the destination the user named.
 */
export function prepareArchiveCopy(src: CopyInfo, dst: CopyInfo): { dstDir: string; rebase?: [string, string] } {
  const [dstDir, dstBase] = splitPathDirEntry(dst.path);
  const srcBase = src.rebaseName ?? splitPathDirEntry(src.path)[1];
  if (dst.exists && dst.isDir) return { dstDir: dst.path };
  if (dst.exists && src.isDir) throw new CliError('cannot copy directory', 1);
  if (!dst.exists && !src.isDir && assertsDirectory(dst.path)) throw new CliError(`no such directory`, 1);
  return { dstDir, rebase: [srcBase, dstBase] };
}

/** RebaseArchiveEntries for one name: `old` or `old/…` becomes `new`/`new/…`. */
export function rebaseName(name: string, oldBase: string, newBase: string): string {
  if (name === oldBase || name === `${oldBase}/`) return name.replace(oldBase, newBase);
  if (name.startsWith(`${oldBase}/`)) return newBase + name.slice(oldBase.length);
  return name;
}

function rebaseTar(input: Readable, oldBase: string, newBase: string): Readable {
  const extract = tar.extract();
  const pack = tar.pack();
  extract.on('entry', (header, stream, next) => {
    header.name = rebaseName(header.name, oldBase, newBase);
    if (header.type === 'link' && header.linkname) header.linkname = rebaseName(header.linkname, oldBase, newBase);
    const sink = pack.entry(header, next);
    stream.pipe(sink);
  });
  extract.on('finish', () => pack.finalize());
  extract.on('error', (err: Error) => pack.destroy(err));
  void pipeline(input, extract as unknown as NodeJS.WritableStream).catch((err: unknown) => pack.destroy(err instanceof Error ? err : new Error(String(err))));
  return pack as unknown as Readable;
}

async function statContainerPath(container: string, path: string): Promise<PathStat | undefined> {
  try {
    const res = await api().request({ method: 'HEAD', path: `${c(container)}/archive`, query: { path } });
    res.resume();
    return decodeStat(res);
  } catch (e) {
    if (e instanceof ApiError && e.isNotFound) return undefined;
    throw e;
  }
}

function decodeStat(res: IncomingMessage): PathStat {
  const header = res.headers['x-docker-container-path-stat'];
  if (typeof header !== 'string') throw new CliError('the daemon sent no X-Docker-Container-Path-Stat header', 1);
  return JSON.parse(Buffer.from(header, 'base64').toString('utf8')) as PathStat;
}

function reportCopied(quiet: boolean | undefined, bytes: number, where: string): void {
  if (!quiet && process.stderr.isTTY) eprintln(`Successfully copied ${humanSizeWithPrecision(bytes, 3)} to ${where}`);
}

/** Counts the bytes passing through (for the "Successfully copied" line) without consuming them. */
function counter(): { stream: Transform; bytes: () => number } {
  let total = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      total += chunk.length;
      callback(null, chunk);
    },
  });
  return { stream, bytes: () => total };
}

async function copyFromContainer(container: string, srcPath: string, dstPath: string, opts: CpOptions): Promise<void> {
  let path = srcPath;
  let rebase: string | undefined;
  if (opts.followLink) {
    const stat = await statContainerPath(container, srcPath);
    if (stat && isSymlinkMode(stat.mode)) {
      const target = stat.linkTarget.startsWith('/') ? stat.linkTarget : posix.join(splitPathDirEntry(srcPath)[0], stat.linkTarget);
      if (posix.basename(target) !== posix.basename(srcPath)) rebase = posix.basename(srcPath.replace(/\/+$/, ''));
      path = target;
    }
  }
  const res = await api().request({ method: 'GET', path: `${c(container)}/archive`, query: { path } });
  const stat = decodeStat(res);
  const count = counter();
  if (dstPath === '-') {
    await pipeline(res, count.stream, process.stdout, { end: false });
    return;
  }
  const dst = localDestination(dstPath);
  const src: CopyInfo = { path, exists: true, isDir: isDirMode(stat.mode), ...(rebase ? { rebaseName: rebase } : {}) };
  const { dstDir, rebase: names } = prepareArchiveCopy(src, dst);
  let archive: Readable = res.pipe(count.stream);
  // A followed link's target is archived under its own name: first rename it to the link's.
  if (rebase) archive = rebaseTar(archive, splitPathDirEntry(path)[1], rebase);
  if (names) archive = rebaseTar(archive, names[0], names[1]);
  const owner = { uid: process.geteuid?.() ?? 0, gid: process.getegid?.() ?? 0 };
  await applyLayer(dstDir, archive, 'none', { convertWhiteouts: false, noOverwriteDirNonDir: true, owner });
  reportCopied(opts.quiet, count.bytes(), dstPath);
}

/** CopyInfoDestinationPath: the local destination, its symlinks followed; its parent must exist. */
function localDestination(path: string): CopyInfo {
  const abs = resolveLocal(path) + (assertsDirectory(path) && !path.endsWith('/.') ? '/' : path.endsWith('/.') ? '/.' : '');
  try {
    const st = fs.statSync(abs);
    return { path: abs, exists: true, isDir: st.isDirectory() };
  } catch {
    const parent = splitPathDirEntry(abs)[0];
    if (!fs.existsSync(parent)) throw new CliError(`lstat ${parent}: no such file or directory`, 1);
    return { path: abs, exists: false, isDir: false };
  }
}

async function copyToContainer(srcPath: string, container: string, dstPath: string, opts: CpOptions): Promise<void> {
  let dst: CopyInfo = { path: dstPath, exists: false, isDir: false };
  let stat = await statContainerPath(container, dstPath);
  if (stat && isSymlinkMode(stat.mode)) {
    const target = stat.linkTarget.startsWith('/') ? stat.linkTarget : posix.join(splitPathDirEntry(dstPath)[0], stat.linkTarget);
    dst = { ...dst, path: target };
    stat = await statContainerPath(container, target);
  }
  if (stat) dst = { ...dst, exists: true, isDir: isDirMode(stat.mode) };
  const put = (path: string, body: Readable): Promise<void> => putArchive(container, path, body, opts.archive === true);

  if (srcPath === '-') {
    if (!dst.isDir) throw new CliError(`destination "${container}:${dstPath}" must be a directory`, 1);
    await put(dst.path, process.stdin);
    return;
  }
  const src = localSource(srcPath, opts.followLink === true);
  const { dstDir, rebase } = prepareArchiveCopy(src, dst);
  const [parent, base] = splitPathDirEntry(src.path);
  const tarName = rebase ? rebaseName(src.rebaseName ?? base, rebase[0], rebase[1]) : (src.rebaseName ?? base);
  const pack = tar.pack();
  pack.on('error', () => undefined); // reported through `written`
  const parentFd = fs.openSync(parent, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  const written = new TreeTarWriter(pack)
    .add(parentFd, base === '.' ? '' : base, tarName)
    .then(() => pack.finalize())
    .catch((err: unknown) => pack.destroy(err instanceof Error ? err : new Error(String(err))))
    .finally(() => fs.closeSync(parentFd));
  const count = counter();
  await Promise.all([put(dstDir, (pack as unknown as Readable).pipe(count.stream)), written]);
  reportCopied(opts.quiet, count.bytes(), `${container}:${dstPath}`);
}

/** CopyInfoSourcePath: the local source with its parent's symlinks resolved (and its own with -L). */
function localSource(path: string, followLink: boolean): CopyInfo {
  const abs = resolveLocal(path) + (path.endsWith('/.') ? '/.' : '');
  const [dir, base] = splitPathDirEntry(abs);
  try {
    if (followLink && base !== '.') {
      const resolved = fs.realpathSync(abs);
      const rebase = posix.basename(resolved) !== base ? base : undefined;
      return { path: resolved, exists: true, isDir: fs.statSync(resolved).isDirectory(), ...(rebase ? { rebaseName: rebase } : {}) };
    }
    const resolved = posix.join(fs.realpathSync(dir), base);
    return { path: base === '.' ? `${resolved}/.` : resolved, exists: true, isDir: fs.lstatSync(resolved).isDirectory() };
  } catch {
    throw new CliError(`lstat ${abs}: no such file or directory`, 1);
  }
}

async function putArchive(container: string, path: string, body: Readable, copyUIDGID: boolean): Promise<void> {
  const res = await api().request({
    method: 'PUT',
    path: `${c(container)}/archive`,
    query: { path, noOverwriteDirNonDir: 'true', copyUIDGID: copyUIDGID ? 'true' : undefined },
    headers: { 'Content-Type': 'application/x-tar', 'Transfer-Encoding': 'chunked' },
    bodyStream: body,
  });
  res.resume();
}

export async function cpCmd(source: string, destination: string, opts: CpOptions): Promise<number> {
  const src = splitCpArg(source);
  const dst = splitCpArg(destination);
  if (src.container !== undefined && dst.container !== undefined) throw new CliError('copying between containers is not supported', 1);
  if (src.container === undefined && dst.container === undefined) throw new CliError('must specify at least one container source', 1);
  if (src.container !== undefined) {
    if (src.path === '') throw new CliError('filepath cannot be empty', 1);
    await copyFromContainer(src.container, src.path, dst.path, opts);
  } else if (dst.container !== undefined) {
    if (dst.path === '') throw new CliError('filepath cannot be empty', 1);
    await copyToContainer(src.path, dst.container, dst.path, opts);
  }
  return 0;
}

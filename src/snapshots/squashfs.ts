/**
 * Layer apply into a squashfs image: the layer tar is sanitized in Node and streamed into
 * `tar2sqfs` (squashfs-tools-ng), so a layer costs one file on the host filesystem instead of
 * one inode per entry (inode creation on ext4 is ~1 ms each in bulk; tar2sqfs packs a 120 MB
 * Debian base layer in ~0.3 s).
 *
 * Semantics are applyLayer's (core/tar-apply.ts), entry for entry: the same name cleaning and errors,
 * parents resolved through symlinks of this layer as if its root were `/`, hardlink targets that
 * must exist in the layer and not be directories, `allowDevices`, dropped `trusted.overlay.*`
 * xattrs, and OCI whiteouts converted to overlay whiteouts (0:0 char devices, opaque xattr, a
 * directory recreated over a whiteout made opaque).
 *
 * How: tar2sqfs refuses a second entry for any path ("File exists", even for a second directory
 * header), creates missing parents implicitly and takes a later directory header as their
 * attributes, accepts hardlinks in either order, stores SCHILY.xattr records (and aborts on
 * prefixes squashfs lacks: only user., trusted. and security. exist), and keeps whole seconds
 * of mtime (squashfs has no sub-second times and no atime). So regular files — the only entries
 * with data — are passed through in tar order, each under its resolved physical path; everything
 * else (directories with their final attributes, symlinks, hardlinks, devices, fifos, whiteouts)
 * is kept in an in-memory tree and written once, after the last file. One small record per
 * entry is held; no file data is.
 *
 * Not representable, so refused with 'invalid-argument' (the dir layer format takes them): a
 * path written as a regular file and later replaced by anything (a second file included), a
 * directory holding such a file later replaced by a non-directory, and an entry that a hardlink
 * points at replaced after the link. Regular tools never produce these layers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, createWriteStream } from 'node:fs';
import { access, constants as fsConstants, readFile } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { BerthError, errorMessage, invalidArgument, isBerthError } from '../core/errors.js';
import { pipe, setPipeSize } from '../core/libc.js';
import { logger } from '../core/log.js';
import { resolveExecutable } from '../core/which.js';
import {
  cleanEntryName,
  drain,
  entryMeta,
  joinRel,
  MissingPathError,
  NotDirectoryError,
  OVERLAY_OPAQUE_XATTR,
  readLayerTar,
  splitName,
  WHITEOUT_META_PREFIX,
  WHITEOUT_OPAQUE,
  WHITEOUT_PREFIX,
  type ApplyResult,
  type EntryMeta,
  type LayerCompression,
  type LayerEntry,
  type LayerHeader,
} from '../core/tar-apply.js';
import { TarWriter, type TarHeader, type TarType } from './tar-write.js';

const log = logger('snapshots');

const MAX_SYMLINKS = 255;
const S_ISGID = 0o2000;
/** squashfs stores 32-bit unsigned seconds. */
const MAX_MTIME = 0xffffffff;
/** The xattr namespaces squashfs can store; tar2sqfs aborts on any other. */
const SQUASHFS_XATTR_PREFIXES = ['user.', 'trusted.', 'security.'];
/**
 * One compressor thread: Node's side (gunzip, sha256, tar parsing) keeps a core busy meanwhile;
 * on 2 cores `-j 2` measured no faster (1.94 s with -j 1, 2.05 s with -j 2 for the 120 MB base layer).
 */
const TAR2SQFS_JOBS = '1';
/**
 * Node may run this far ahead of tar2sqfs, plus the pipe's own buffer, so neither side waits on
 * the other for every chunk (with spawn's 64 KiB stdin alone: 2.4 s → 1.9 s for the base layer).
 */
const TAR2SQFS_INPUT_BUFFER = 4 << 20;
/** The default /proc/sys/fs/pipe-max-size. */
const TAR2SQFS_PIPE_BYTES = 1 << 20;

export interface SquashfsApplyOptions {
  /** Create char/block device entries (default true). Whiteout devices are always created. */
  allowDevices?: boolean;
}

export interface SquashfsSupport {
  available: boolean;
  /** Why not, when unavailable: something a user can act on. */
  reason?: string;
}

/** Whether squashfs layers work here: tar2sqfs installed, loop devices usable, squashfs in the kernel. */
export async function squashfsSupport(): Promise<SquashfsSupport> {
  try {
    resolveExecutable('tar2sqfs');
  } catch {
    return { available: false, reason: 'tar2sqfs not found in PATH (install the Debian package squashfs-tools-ng)' };
  }
  try {
    await access('/dev/loop-control', fsConstants.R_OK | fsConstants.W_OK);
  } catch (err) {
    return { available: false, reason: `loop devices are not usable: /dev/loop-control: ${errorMessage(err)}` };
  }
  const filesystems = await readFile('/proc/filesystems', 'utf8').catch(() => '');
  if (!/^\s*squashfs$/m.test(filesystems)) {
    return { available: false, reason: 'the kernel does not support squashfs (not in /proc/filesystems; try `modprobe squashfs`)' };
  }
  return { available: true };
}

/**
 * Apply one layer tar as the squashfs image `imagePath` (which must not exist). Resolves with the
 * diffID and uncompressed size once the image is complete. Errors as applyLayer's, plus
 * 'internal' when tar2sqfs fails. On failure a partial image may be left for the caller to remove.
 */
export async function applyLayerToSquashfs(
  imagePath: string,
  input: NodeJS.ReadableStream | Readable,
  compression: LayerCompression,
  options: SquashfsApplyOptions = {},
): Promise<ApplyResult> {
  const tar2sqfs = startTar2sqfs(imagePath);
  const sanitizer = new SquashfsLayerSanitizer(new TarWriter(tar2sqfs.input), options);
  try {
    const result = await readLayerTar(input, compression, (entry) => sanitizer.apply(entry), () => sanitizer.finish());
    await finished(tar2sqfs.input);
    await tar2sqfs.exited();
    return result;
  } catch (err) {
    const ownExit = !tar2sqfs.kill();
    const tar2sqfsError = await tar2sqfs.exited().then(() => undefined, (e: unknown) => e);
    // tar2sqfs failing closes its stdin under us: report its own complaint, not the EPIPE.
    if (ownExit && tar2sqfsError) throw tar2sqfsError;
    throw err;
  }
}

interface Tar2sqfsProcess {
  /** tar2sqfs's stdin. */
  input: Writable;
  /** Resolves when tar2sqfs exited 0; rejects with a BerthError carrying its stderr otherwise. */
  exited(): Promise<void>;
  /** Kill tar2sqfs if it still runs; returns whether it was still running. */
  kill(): boolean;
}

/**
 * tar2sqfs reads from a pipe of our own rather than spawn's stdin socket: its 1 MiB kernel
 * buffer and fs.WriteStream's writes in the thread pool keep the copy of every byte off the
 * main thread, which is busy parsing the tar (0.47 s of main-thread time for the 120 MB base
 * layer through spawn's stdin).
 */
function startTar2sqfs(imagePath: string): Tar2sqfsProcess {
  const [readEnd, writeEnd] = pipe();
  let child: ChildProcess;
  try {
    setPipeSize(writeEnd, TAR2SQFS_PIPE_BYTES);
    child = spawn(
      resolveExecutable('tar2sqfs'),
      ['--quiet', '--no-skip', '--compressor', 'lz4', '--num-jobs', TAR2SQFS_JOBS, imagePath],
      { stdio: [readEnd, 'ignore', 'pipe'] },
    );
  } catch (err) {
    closeSync(writeEnd);
    throw err;
  } finally {
    closeSync(readEnd);
  }
  const input = createWriteStream(`/proc/self/fd/${writeEnd}`, { fd: writeEnd, highWaterMark: TAR2SQFS_INPUT_BUFFER });
  input.on('error', () => undefined); // EPIPE when tar2sqfs dies early; reported through exited()
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (text: string) => {
    if (stderr.length < 4096) stderr += text;
  });
  const exited = new Promise<void>((resolve, reject) => {
    child.once('error', (err) => reject(new BerthError('internal', `apply layer: cannot run tar2sqfs: ${errorMessage(err)}`, { cause: err })));
    child.once('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new BerthError('internal', `apply layer: tar2sqfs exited ${code ?? signal}: ${stderr.trim() || '(no message)'}`));
    });
  });
  exited.catch(() => undefined); // observed by exited()
  return {
    input,
    exited: () => exited,
    kill: () => {
      input.destroy();
      if (child.exitCode !== null || child.signalCode !== null) return false;
      child.kill('SIGKILL');
      return true;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The in-memory tree

interface NodeMeta {
  uid: number;
  gid: number;
  mode: number;
  mtime: number;
  xattrs: Map<string, Buffer>;
}

type TreeNode =
  | { kind: 'dir'; meta: NodeMeta; opaque: boolean }
  /** Already passed to tar2sqfs: can no longer change. */
  | { kind: 'file' }
  | { kind: 'symlink'; target: string; meta: NodeMeta }
  | { kind: 'hardlink'; target: string }
  | { kind: 'node'; type: 'character-device' | 'block-device' | 'fifo'; major: number; minor: number; meta: NodeMeta }
  | { kind: 'whiteout'; meta: NodeMeta };

/** Exported for tests; applyLayerToSquashfs is the interface. */
export class SquashfsLayerSanitizer {
  /** Physical relative paths (no symlink before the last component) → what is there; '' is the root. */
  private readonly nodes = new Map<string, TreeNode>();
  /** Directories tar2sqfs already holds because a file below them was written. */
  private readonly materialized = new Set<string>();
  /** Paths a hardlink points at: replacing them would change what the link shows. */
  private readonly linkTargets = new Set<string>();
  /** Whiteouts created in this layer (a directory replacing one must become opaque). */
  private readonly whiteouts = new Set<string>();
  private readonly now = Math.floor(Date.now() / 1000);
  private skippedXattrs = 0;
  private droppedOverlayXattrs = 0;

  constructor(
    private readonly out: TarWriter,
    private readonly options: SquashfsApplyOptions,
  ) {
    this.nodes.set('', { kind: 'dir', meta: this.implicitDirMeta(undefined), opaque: false });
  }

  async apply(entry: LayerEntry): Promise<void> {
    const header = entry.header as LayerHeader;
    try {
      await this.applyEntry(header, entry);
    } catch (err) {
      if (isBerthError(err)) throw err;
      if (err instanceof NotDirectoryError) throw invalidArgument(`apply layer: entry "${header.name}": parent ${err.message}`);
      throw new BerthError('internal', `apply layer: entry "${header.name}": ${errorMessage(err)}`, { cause: err });
    }
  }

  /** Write every non-file entry, then the end of the archive. */
  async finish(): Promise<void> {
    for (const [rel, node] of this.nodes) {
      const name = rel === '' ? './' : rel;
      switch (node.kind) {
        case 'file':
          break;
        case 'dir': {
          const xattrs = new Map(node.meta.xattrs);
          if (node.opaque) xattrs.set(OVERLAY_OPAQUE_XATTR, Buffer.from('y'));
          await this.out.entry(this.header(name, 'directory', { ...node.meta, xattrs }));
          break;
        }
        case 'symlink':
          await this.out.entry({ ...this.header(name, 'symlink', node.meta), linkname: node.target });
          break;
        case 'hardlink':
          // tar2sqfs gives a hardlink its target's inode: the header's attributes are not used.
          await this.out.entry({ name, type: 'link', mode: 0, uid: 0, gid: 0, mtime: new Date(0), linkname: node.target });
          break;
        case 'node':
          await this.out.entry({ ...this.header(name, node.type, node.meta), devmajor: node.major, devminor: node.minor });
          break;
        case 'whiteout':
          await this.out.entry({ ...this.header(name, 'character-device', node.meta), devmajor: 0, devminor: 0 });
          break;
      }
    }
    await this.out.finish();
    if (this.skippedXattrs > 0) log.warn('skipped xattrs squashfs cannot store (only user., trusted., security.)', { count: this.skippedXattrs });
    if (this.droppedOverlayXattrs > 0) log.warn('dropped trusted.overlay.* xattrs found in a layer tar', { count: this.droppedOverlayXattrs });
  }

  private header(name: string, type: TarType, meta: NodeMeta): TarHeader {
    return { name, type, mode: meta.mode, uid: meta.uid, gid: meta.gid, mtime: new Date(meta.mtime * 1000), xattrs: meta.xattrs };
  }

  private async applyEntry(header: LayerHeader, entry: LayerEntry): Promise<void> {
    const rawName = header.name;
    const type = header.type;
    const name = cleanEntryName(rawName);
    const [dir, base] = splitName(name);

    if (name === '') {
      if (type !== 'directory') throw invalidArgument(`apply layer: entry "${rawName}" resolves to the layer root but is not a directory`);
      await drain(entry);
      this.setDirMeta('', this.meta(header, 0o755));
      return;
    }
    if (base.startsWith(WHITEOUT_PREFIX)) {
      await drain(entry);
      if (base === WHITEOUT_OPAQUE) return this.opaque(dir);
      if (base.startsWith(WHITEOUT_META_PREFIX)) return;
      return this.whiteout(dir, base.slice(WHITEOUT_PREFIX.length), header, rawName);
    }
    if (dir.split('/').some((c) => c.startsWith(WHITEOUT_META_PREFIX))) {
      await drain(entry);
      return;
    }

    switch (type) {
      case 'file':
      case 'contiguous-file': {
        const rel = joinRel(this.resolveDir(dir, true), base);
        this.replace(rel, rawName);
        const meta = this.meta(header, 0o644);
        this.nodes.set(rel, { kind: 'file' });
        for (let parent = splitName(rel)[0]; ; parent = splitName(parent)[0]) {
          this.materialized.add(parent);
          if (parent === '') break;
        }
        await this.out.streamedFile({ ...this.header(rel, 'file', meta), size: header.size ?? 0 }, entry);
        return;
      }
      case 'directory': {
        await drain(entry);
        const rel = joinRel(this.resolveDir(dir, true), base);
        const meta = this.meta(header, 0o755);
        if (this.nodes.get(rel)?.kind !== 'dir') {
          // `.wh.x` then `x/` in one layer means "delete, then recreate": the new x must hide the lower x.
          const replacesWhiteout = this.whiteouts.has(rel);
          this.replace(rel, rawName);
          this.nodes.set(rel, { kind: 'dir', meta, opaque: replacesWhiteout });
        }
        this.setDirMeta(rel, meta);
        return;
      }
      case 'symlink': {
        await drain(entry);
        const target = header.linkname ?? '';
        if (target === '') throw invalidArgument(`apply layer: symlink "${rawName}" has an empty target`);
        if (target.includes('\0')) throw invalidArgument(`apply layer: symlink "${rawName}" target contains a NUL byte`);
        const rel = joinRel(this.resolveDir(dir, true), base);
        this.replace(rel, rawName);
        this.nodes.set(rel, { kind: 'symlink', target, meta: this.meta(header, 0o777) });
        return;
      }
      case 'link': {
        await drain(entry);
        const rel = joinRel(this.resolveDir(dir, true), base);
        return this.hardlink(rel, header.linkname ?? '', rawName);
      }
      case 'character-device':
      case 'block-device':
      case 'fifo': {
        await drain(entry);
        if (type !== 'fifo' && !(this.options.allowDevices ?? true)) {
          throw invalidArgument(`apply layer: entry "${rawName}" is a device node and device nodes are not allowed`);
        }
        const rel = joinRel(this.resolveDir(dir, true), base);
        this.replace(rel, rawName);
        this.nodes.set(rel, { kind: 'node', type, major: header.devmajor ?? 0, minor: header.devminor ?? 0, meta: this.meta(header, 0o644) });
        return;
      }
      default:
        throw invalidArgument(`apply layer: entry "${rawName}" has an unsupported tar type (${String(type)})`);
    }
  }

  private hardlink(rel: string, linkname: string, rawName: string): void {
    if (!linkname) throw invalidArgument(`apply layer: hardlink "${rawName}" has an empty target`);
    const targetName = cleanEntryName(linkname, `hardlink "${rawName}" target`);
    if (targetName === '') throw invalidArgument(`apply layer: hardlink "${rawName}" points at the layer root`);
    const [targetDir, targetBase] = splitName(targetName);
    const missing = (): BerthError => invalidArgument(`apply layer: hardlink "${rawName}" target "${linkname}" does not exist in the layer`);
    let targetParent: string;
    try {
      targetParent = this.resolveDir(targetDir, false);
    } catch (err) {
      if (err instanceof MissingPathError || err instanceof NotDirectoryError) throw missing();
      throw err;
    }
    let targetRel = joinRel(targetParent, targetBase);
    if (targetRel === rel) return; // a link to itself: nothing to do
    const target = this.nodes.get(targetRel);
    if (target === undefined) throw missing();
    if (target.kind === 'dir') throw invalidArgument(`apply layer: hardlink "${rawName}" points at a directory`);
    // A link to a link shares the first one's inode.
    if (target.kind === 'hardlink') targetRel = target.target;
    this.replace(rel, rawName);
    this.nodes.set(rel, { kind: 'hardlink', target: targetRel });
    this.linkTargets.add(targetRel);
  }

  private whiteout(dir: string, target: string, header: LayerHeader, rawName: string): void {
    if (target === '' || target === '.' || target === '..') throw invalidArgument(`apply layer: invalid whiteout entry "${rawName}"`);
    let parent: string;
    try {
      parent = this.resolveDir(dir, true);
    } catch (err) {
      if (err instanceof NotDirectoryError) return; // parent itself was whited out / replaced
      throw err;
    }
    const rel = joinRel(parent, target);
    // Something with that name exists in this layer: it already hides the lower entry.
    if (this.nodes.has(rel)) return;
    const meta = this.meta(header, 0);
    this.nodes.set(rel, { kind: 'whiteout', meta: { uid: meta.uid, gid: meta.gid, mode: 0, mtime: this.now, xattrs: new Map() } });
    this.whiteouts.add(rel);
  }

  private opaque(dir: string): void {
    let parent: string;
    try {
      parent = this.resolveDir(dir, true);
    } catch (err) {
      if (err instanceof NotDirectoryError) return;
      throw err;
    }
    const node = this.nodes.get(parent);
    if (node?.kind === 'dir') node.opaque = true;
  }

  private setDirMeta(rel: string, meta: NodeMeta): void {
    const node = this.nodes.get(rel);
    if (node?.kind !== 'dir') throw new BerthError('internal', `apply layer: "${rel}" is not a directory in the layer tree`);
    // Like chown/chmod/lsetxattr on the existing directory: xattrs accumulate, the rest is replaced.
    node.meta = { ...meta, xattrs: new Map([...node.meta.xattrs, ...meta.xattrs]) };
  }

  /**
   * Make room for a new entry at `rel`: forget whatever this layer put there (a directory with
   * everything below it), or refuse when tar2sqfs already holds it.
   */
  private replace(rel: string, rawName: string): void {
    const existing = this.nodes.get(rel);
    if (existing === undefined) return;
    const unrepresentable = (what: string): BerthError =>
      invalidArgument(
        `apply layer: entry "${rawName}" replaces ${what} written earlier in the same layer, which a squashfs layer cannot represent (use --storage-opt overlay.layer_format=dir)`,
      );
    if (existing.kind === 'file') throw unrepresentable(`the regular file "${rel}"`);
    if (this.linkTargets.has(rel)) throw unrepresentable(`"${rel}", the target of a hardlink,`);
    const prefix = `${rel}/`;
    if (existing.kind === 'dir') {
      if (this.materialized.has(rel)) throw unrepresentable(`the directory "${rel}" holding regular files`);
      for (const key of this.linkTargets) if (key.startsWith(prefix)) throw unrepresentable(`"${key}", the target of a hardlink,`);
      for (const key of [...this.nodes.keys()]) if (key.startsWith(prefix)) this.nodes.delete(key);
      for (const key of [...this.whiteouts]) if (key.startsWith(prefix)) this.whiteouts.delete(key);
    }
    this.nodes.delete(rel);
    this.whiteouts.delete(rel);
  }

  /**
   * Resolve a cleaned relative directory path to a physical one whose every component is a
   * directory of the tree, treating the root as `/` for symlinks (fs.RootPath semantics, as
   * applyLayer). With `create`, missing components become directories; otherwise MissingPathError.
   */
  private resolveDir(rel: string, create: boolean): string {
    if (rel === '') return '';
    if (this.nodes.get(rel)?.kind === 'dir') return rel;
    const pending = rel.split('/').reverse();
    const stack: string[] = [];
    let current = '';
    let links = 0;
    while (pending.length > 0) {
      const component = pending.pop() as string;
      if (component === '' || component === '.') continue;
      if (component === '..') {
        stack.pop();
        current = stack.join('/');
        continue;
      }
      const candidate = joinRel(current, component);
      let node = this.nodes.get(candidate);
      if (node?.kind === 'hardlink') node = this.nodes.get(node.target);
      if (node === undefined) {
        if (!create) throw new MissingPathError(candidate);
        node = { kind: 'dir', meta: this.implicitDirMeta(current), opaque: false };
        this.nodes.set(candidate, node);
      }
      if (node.kind === 'dir') {
        stack.push(component);
        current = candidate;
        continue;
      }
      if (node.kind !== 'symlink') throw new NotDirectoryError(candidate);
      if (++links > MAX_SYMLINKS) throw invalidArgument(`apply layer: too many levels of symbolic links resolving "${rel}"`);
      if (node.target.startsWith('/')) {
        stack.length = 0;
        current = '';
      }
      const parts = node.target.split('/');
      for (let i = parts.length - 1; i >= 0; i--) pending.push(parts[i] as string);
    }
    return current;
  }

  /** What mkdir(0755) gives a missing parent in the dir format: setgid parents pass on their group. */
  private implicitDirMeta(parentRel: string | undefined): NodeMeta {
    const parent = parentRel === undefined ? undefined : this.nodes.get(parentRel);
    const inherit = parent?.kind === 'dir' && (parent.meta.mode & S_ISGID) !== 0;
    return {
      uid: process.geteuid?.() ?? 0,
      gid: inherit ? parent.meta.gid : (process.getegid?.() ?? 0),
      mode: inherit ? 0o755 | S_ISGID : 0o755,
      mtime: this.now,
      xattrs: new Map(),
    };
  }

  private meta(header: LayerHeader, defaultMode: number): NodeMeta {
    const meta: EntryMeta = entryMeta(header, defaultMode);
    const xattrs = new Map<string, Buffer>();
    for (const [name, value] of meta.xattrs) {
      if (name.startsWith('trusted.overlay.')) this.droppedOverlayXattrs++;
      else if (!SQUASHFS_XATTR_PREFIXES.some((prefix) => name.startsWith(prefix))) this.skippedXattrs++;
      else xattrs.set(name, value);
    }
    return { uid: meta.uid, gid: meta.gid, mode: meta.mode, mtime: Math.min(MAX_MTIME, Math.max(0, Math.floor(meta.mtime))), xattrs };
  }
}

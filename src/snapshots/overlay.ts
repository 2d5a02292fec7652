/**
 * Overlay snapshotter, modelled on containerd's overlayfs snapshotter: committed (read-only) layer
 * snapshots keyed by chainID, and active (read-write) snapshots for containers that stack an
 * upper/work dir over a list of committed layers.
 *
 * On-disk layout under `root` (e.g. /var/lib/berth/snapshots; created 0700 because layers contain
 * setuid binaries and device nodes that must not be reachable by unprivileged host users):
 *
 *   layers/<hex>/fs/          committed layer content, used as an overlay lowerdir
 *                             (<hex> = the chainID's hex: 64 chars for sha256, 128 for sha512)
 *   layers/<hex>/layer.sqfs   squashfs layers only: the content as a squashfs image, loop-mounted
 *                             read-only on fs/ (which is then an empty mount point on disk)
 *   layers/<hex>/layer.json   {"chainId","diffId","size"}, written before the commit rename
 *   active/<key>/upper/       container writes land here (overlay upperdir)
 *   active/<key>/work/        overlay workdir (same filesystem as upper)
 *   active/<key>/lowers.json  {"lowers":[chainIds, base layer first]}
 *   empty/                    always-empty lowerdir for active snapshots without layers
 *   tmp/                      staging: unpack-*, active-*, rm-* — wiped by init()
 *
 * Layer formats: `dir` extracts each entry into fs/ (one inode per entry on the host filesystem);
 * `squashfs` streams the sanitized tar into tar2sqfs (squashfs.ts) and loop-mounts the image on
 * fs/, so every consumer of layerPath() reads the same tree either way. The format is chosen per
 * snapshotter for new layers; existing layers keep theirs (a layer is squashfs iff layer.sqfs
 * exists), so a root may hold both.
 *
 * Crash safety: a layer is extracted into tmp/unpack-<random>/fs, its layer.json written (fsync),
 * and the whole directory renamed to layers/<hex> (atomic), then layers/ is fsynced. Anything that
 * did not reach the rename is garbage in tmp/ and init() removes it. Removal is the reverse: rename
 * into tmp/rm-<random> (atomic disappearance), then delete. Active snapshots are created the same
 * way. File data inside a layer is not fsynced file by file (neither Docker nor containerd do);
 * pass `{ syncFs: true }` to syncfs(2) the filesystem before each commit. A squashfs image is
 * fsynced and mounted in staging, and the rename carries the mount along, so a committed layer is
 * mounted from the moment it appears; init() mounts those that are not (after a reboot) and
 * unmounts what a crash left mounted in tmp/. Removal unmounts after the rename away; the loop
 * device is released with the mount (auto-clear).
 *
 * Mounts: `lowerdir` lists the layers uppermost first. The mount(2) data is limited to one page
 * (4096 bytes incl. NUL). Absolute layer paths are used when they fit; otherwise each lower dir is
 * opened (O_DIRECTORY) and passed as `/proc/self/fd/<n>` (≤ 19 bytes per layer whatever the root
 * path), which the kernel resolves at mount time; the fds are closed right after mount(2). This
 * fits ~200 layers (overlayfs itself allows 500). upperdir/workdir are always absolute, so
 * /proc/self/mountinfo identifies our mounts by their upperdir. The root path therefore must not
 * contain `,` `:` `\` or whitespace (checked in the constructor).
 *
 * Concurrency: one OverlaySnapshotter instance per root, in one process. Concurrent unpackLayer()
 * calls for one chainID extract once (later callers wait for the first and reuse its result, or
 * retry with their own input if it failed). prepareActive/removeLayer/removeActive are serialised
 * so a layer cannot be removed while an active snapshot that uses it is being created.
 */
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, constants as fsConstants, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { chmod, lstat, mkdir, open, readdir, readFile, rename, rm, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { release } from 'node:os';
import { isAbsolute, join, resolve as resolvePath } from 'node:path';
import type { Readable } from 'node:stream';
import type { Digest } from '../core/digest.js';
import { isDigest } from '../core/digest.js';
import {
  alreadyExists,
  BerthError,
  errnoCode,
  errorMessage,
  failedPrecondition,
  invalidArgument,
  notFound,
} from '../core/errors.js';
import { fsyncDir, writeFileAtomic } from '../core/fs-atomic.js';
import { MNT_DETACH, mount, mountLoopImage, umount2, umount2Async } from '../core/libc.js';
import { logger } from '../core/log.js';
import { readMountInfo, type MountInfo } from '../core/mountinfo.js';
import { applyLayer, type ApplyResult, type LayerCompression } from '../core/tar-apply.js';
import { applyLayerToSquashfs } from './squashfs.js';

const log = logger('snapshots');

/** How new committed layers are stored: a directory tree, or a loop-mounted squashfs image. */
export type LayerFormat = 'dir' | 'squashfs';

export interface OverlaySnapshotterOptions {
  /** Allow char/block device entries in layers (default true, as Docker and containerd do). */
  allowDevices?: boolean;
  /** syncfs(2) the snapshot filesystem before committing each layer (default false). */
  syncFs?: boolean;
  /** Format of newly committed layers (default 'dir'; the engine picks squashfs where it works). */
  layerFormat?: LayerFormat;
}

export interface LayerInfo {
  chainId: Digest;
  diffId: Digest;
  size: number;
}

const MAX_MOUNT_DATA = 4095; // one page minus the NUL terminator
const SQUASHFS_IMAGE = 'layer.sqfs';
const LAYER_RECORD = 'layer.json';
const KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export class OverlaySnapshotter {
  readonly root: string;
  private readonly layersDir: string;
  private readonly activeDir: string;
  private readonly tmpDir: string;
  private readonly emptyDir: string;
  private readonly allowDevices: boolean;
  private readonly syncFs: boolean;
  readonly layerFormat: LayerFormat;
  /** Squashfs layers whose image could not be mounted at init(): unusable until removed. */
  private readonly unmountedLayers = new Map<string, string>();
  private readonly inflight = new Map<string, Promise<ApplyResult>>();
  private refLock: Promise<void> = Promise.resolve();
  private indexOption: boolean | undefined;

  constructor(root: string, options: OverlaySnapshotterOptions = {}) {
    if (!isAbsolute(root)) throw invalidArgument(`snapshotter root must be an absolute path: "${root}"`);
    const normalized = resolvePath(root);
    if (/[,:\\\s]/.test(normalized)) {
      throw invalidArgument(`snapshotter root "${root}" must not contain ',', ':', '\\' or whitespace (overlay mount options)`);
    }
    this.root = normalized;
    this.layersDir = join(normalized, 'layers');
    this.activeDir = join(normalized, 'active');
    this.tmpDir = join(normalized, 'tmp');
    this.emptyDir = join(normalized, 'empty');
    this.allowDevices = options.allowDevices ?? true;
    this.syncFs = options.syncFs ?? false;
    this.layerFormat = options.layerFormat ?? 'dir';
  }

  /**
   * Create the layout, remove leftovers of interrupted operations (everything in tmp/) and mount
   * the squashfs layers that are not mounted. A layer whose image does not mount is logged and
   * left for removal (mountActive refuses it).
   */
  async init(): Promise<void> {
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    for (const dir of [this.layersDir, this.activeDir, this.tmpDir, this.emptyDir]) {
      await mkdir(dir, { recursive: true, mode: 0o700 });
    }
    const mounts = await readMountInfo();
    // A crash between a squashfs layer's mount and its commit rename, or during a removal.
    await unmountBelow(this.tmpDir, mounts);
    for (const name of await readdir(this.tmpDir)) {
      await rm(join(this.tmpDir, name), { recursive: true, force: true });
    }
    for (const name of await readdir(this.emptyDir)) {
      await rm(join(this.emptyDir, name), { recursive: true, force: true });
    }
    await chmod(this.emptyDir, 0o755);
    await this.mountSquashfsLayers(new Set(mounts.map((m) => m.mountPoint)));
  }

  private async mountSquashfsLayers(mountPoints: Set<string>): Promise<void> {
    for (const chainId of await this.listLayers()) {
      const dir = this.layerDir(chainId);
      if (!(await exists(join(dir, SQUASHFS_IMAGE)))) continue;
      const target = join(dir, 'fs');
      if (mountPoints.has(target)) continue;
      try {
        mountSquashfs(dir);
      } catch (err) {
        const reason = errorMessage(err);
        this.unmountedLayers.set(dir, reason);
        log.error('cannot mount squashfs layer: remove the images using it and pull them again', { layer: chainId, error: reason });
      }
    }
  }

  // --- committed layers ------------------------------------------------------------------------

  /** The record of a committed layer: written into its staging directory before the rename that commits it. */
  private layerRecord(chainId: Digest): string {
    return join(this.layerDir(chainId), LAYER_RECORD);
  }

  async has(chainId: Digest): Promise<boolean> {
    try {
      await lstat(this.layerRecord(chainId));
      return true;
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return false;
      throw err;
    }
  }

  /** The committed layer's content directory (an overlay lowerdir). Does no I/O. */
  layerPath(chainId: Digest): string {
    return join(this.layerDir(chainId), 'fs');
  }

  /** Stored metadata of a committed layer, or undefined if it does not exist. */
  async layerInfo(chainId: Digest): Promise<LayerInfo | undefined> {
    let text: string;
    try {
      text = await readFile(this.layerRecord(chainId), 'utf8');
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return undefined;
      throw err;
    }
    const parsed = JSON.parse(text) as Partial<LayerInfo>;
    if (parsed.chainId !== chainId || typeof parsed.diffId !== 'string' || !isDigest(parsed.diffId) || typeof parsed.size !== 'number') {
      throw new BerthError('internal', `snapshot metadata of ${chainId} is corrupt`);
    }
    return { chainId, diffId: parsed.diffId, size: parsed.size };
  }

  /**
   * Unpack a layer as the committed snapshot `chainId`. If it already exists, or another call
   * commits it first, `input` is not read: it is destroyed (releasing its socket/file) and the
   * stored diffID/size are returned. Throws (leaving nothing behind) if the uncompressed digest
   * differs from `expectedDiffId` or the layer is unsafe/malformed.
   */
  async unpackLayer(
    chainId: Digest,
    input: Readable,
    compression: LayerCompression,
    expectedDiffId?: Digest,
  ): Promise<{ diffId: Digest; size: number }> {
    const dir = this.layerDir(chainId);
    for (;;) {
      const running = this.inflight.get(dir);
      if (running) {
        let result: ApplyResult | undefined;
        try {
          result = await running;
        } catch {
          continue; // the other unpack failed: try again (possibly with our own input)
        }
        input.destroy();
        return checkExpected(chainId, result, expectedDiffId);
      }
      // The existence check is part of the job, registered synchronously: a caller arriving
      // while it runs waits for it, and none can act on a stale "not there yet".
      let unpacked = false;
      const job: Promise<ApplyResult> = this.layerInfo(chainId)
        .then((existing) => {
          if (existing) return existing;
          unpacked = true;
          return this.doUnpack(chainId, input, compression, expectedDiffId);
        })
        .finally(() => {
          if (this.inflight.get(dir) === job) this.inflight.delete(dir);
        });
      this.inflight.set(dir, job);
      const result = await job;
      if (!unpacked) input.destroy();
      return checkExpected(chainId, result, expectedDiffId);
    }
  }

  private async doUnpack(
    chainId: Digest,
    input: Readable,
    compression: LayerCompression,
    expectedDiffId: Digest | undefined,
  ): Promise<ApplyResult> {
    const staging = join(this.tmpDir, `unpack-${randomBytes(8).toString('hex')}`);
    await mkdir(staging, { mode: 0o700 });
    try {
      const fsDir = join(staging, 'fs');
      await mkdir(fsDir, { mode: 0o755 });
      const squashfs = this.layerFormat === 'squashfs';
      const result = squashfs
        ? await applyLayerToSquashfs(join(staging, SQUASHFS_IMAGE), input, compression, { allowDevices: this.allowDevices })
        : await applyLayer(fsDir, input, compression, { allowDevices: this.allowDevices });
      if (expectedDiffId !== undefined && result.diffId !== expectedDiffId) {
        throw invalidArgument(`layer ${chainId}: diffID mismatch: expected ${expectedDiffId}, got ${result.diffId}`);
      }
      if (squashfs) {
        // The whole layer is this one file, so it is made durable before the commit. LOOP_CONFIGURE
        // would flush it anyway, on the main thread (50-160 ms for the 64 MB debian base image);
        // here the flush runs in the thread pool.
        await fsyncFile(join(staging, SQUASHFS_IMAGE));
        try {
          mountSquashfs(staging);
        } catch (err) {
          throw new BerthError('internal', `layer ${chainId}: cannot mount its squashfs image: ${errorMessage(err)}`, { cause: err });
        }
      }
      const info: LayerInfo = { chainId, diffId: result.diffId, size: result.size };
      await writeFileAtomic(join(staging, LAYER_RECORD), JSON.stringify(info) + '\n', 0o600);
      if (this.syncFs) await syncfs(staging);
      try {
        await rename(staging, this.layerDir(chainId));
      } catch (err) {
        const code = errnoCode(err);
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
        // committed meanwhile (another process on the same root): keep theirs
        await discard(staging);
        const existing = await this.layerInfo(chainId);
        if (!existing) throw err;
        return checkExpected(chainId, existing, expectedDiffId);
      }
      await fsyncDir(this.layersDir);
      return result;
    } catch (err) {
      await discard(staging);
      throw err;
    }
  }

  /**
   * Remove a committed layer. Idempotent (absent is fine). Refuses with 'failed-precondition'
   * while an active snapshot uses it.
   */
  async removeLayer(chainId: Digest): Promise<void> {
    const dir = this.layerDir(chainId);
    await this.serialized(async () => {
      const users = await this.activeUsers(chainId);
      if (users.length > 0) {
        throw failedPrecondition(`layer ${chainId} is in use by active snapshot(s): ${users.join(', ')}`);
      }
      this.unmountedLayers.delete(dir);
      await this.moveAwayAndDelete(dir, this.layersDir);
    });
  }

  async listLayers(): Promise<Digest[]> {
    const out: Digest[] = [];
    for (const name of await readdir(this.layersDir)) {
      const digest = name.length === 64 ? `sha256:${name}` : name.length === 128 ? `sha512:${name}` : undefined;
      if (digest !== undefined && isDigest(digest)) out.push(digest);
    }
    return out.sort();
  }

  // --- active snapshots ------------------------------------------------------------------------

  /** Create the rw snapshot `key` over `lowerChainIds` (base layer first). */
  async prepareActive(key: string, lowerChainIds: Digest[]): Promise<void> {
    const dir = this.activePath(key);
    const lowers = lowerChainIds.map((chainId) => {
      this.layerDir(chainId); // validates
      return chainId;
    });
    // Synchronous calls: this is on the path of every create, and a dozen thread-pool round
    // trips cost more than the syscalls block the event loop.
    await this.serialized(async () => {
      const missing = lowers.find((chainId) => !existsSync(this.layerRecord(chainId)));
      if (missing !== undefined) throw notFound(`layer snapshot ${missing} not found`);
      if (existsSync(dir)) throw alreadyExists(`active snapshot "${key}" already exists`);
      const top = lowers[lowers.length - 1];
      const topStat = top === undefined ? undefined : statSync(this.layerPath(top));
      const staging = join(this.tmpDir, `active-${randomBytes(8).toString('hex')}`);
      try {
        mkdirSync(staging, { mode: 0o700 });
        const upper = join(staging, 'upper');
        mkdirSync(upper, { mode: 0o755 });
        // overlay's merged root takes the upper dir's attributes: copy them from the top layer
        if (topStat) {
          chownSync(upper, topStat.uid, topStat.gid);
          chmodSync(upper, topStat.mode & 0o7777);
        }
        mkdirSync(join(staging, 'work'), { mode: 0o700 });
        // Not fsynced: the container record this belongs to (SQLite in WAL mode,
        // synchronous=NORMAL) is no more durable than this.
        writeFileSync(join(staging, 'lowers.json'), JSON.stringify({ lowers }) + '\n', { mode: 0o600 });
        try {
          renameSync(staging, dir);
        } catch (err) {
          const code = errnoCode(err);
          if (code === 'ENOTEMPTY' || code === 'EEXIST') throw alreadyExists(`active snapshot "${key}" already exists`);
          throw err;
        }
      } catch (err) {
        rmSync(staging, { recursive: true, force: true });
        throw err;
      }
    });
  }

  /**
   * Mount the overlay for active snapshot `key` on `target` (an existing directory). `volatile`
   * (kernel ≥ 5.10) is for a snapshot that is thrown away after this mount (a `run --rm`
   * container, as Podman does): overlay then never syncs the upper filesystem, which its
   * unmount otherwise does, flushing every dirty page of the host filesystem.
   */
  async mountActive(key: string, target: string, options: { volatile?: boolean } = {}): Promise<void> {
    const dir = this.activePath(key);
    // Synchronous checks: this is on the path of every start (see readLowersSync).
    const lowers = this.readLowersSync(key);
    const lowerDirs = lowers.length === 0 ? [this.emptyDir] : lowers.map((id) => this.layerPath(id)).reverse();
    for (const [i, lowerDir] of lowerDirs.entries()) {
      const chainId = lowers[lowers.length - 1 - i] ?? '(empty)';
      if (!existsSync(lowerDir)) throw notFound(`active snapshot "${key}": layer ${chainId} is missing`);
      const unmounted = this.unmountedLayers.get(resolvePath(lowerDir, '..'));
      if (unmounted !== undefined) {
        throw failedPrecondition(`active snapshot "${key}": the squashfs image of layer ${chainId} cannot be mounted (${unmounted}): remove the image and pull it again`);
      }
    }
    let tail = `,upperdir=${join(dir, 'upper')},workdir=${join(dir, 'work')}`;
    if (await this.supportsIndexOption()) tail += ',index=off';
    if (options.volatile && supportsVolatile()) {
      // A volatile mount leaves work/work/incompat/volatile behind and overlay refuses the
      // next mount while it exists; a snapshot mounted volatile again is thrown away too.
      rmSync(join(dir, 'work', 'work', 'incompat'), { recursive: true, force: true });
      tail += ',volatile';
    }
    const handles: FileHandle[] = [];
    try {
      let data = `lowerdir=${lowerDirs.join(':')}${tail}`;
      if (Buffer.byteLength(data) > MAX_MOUNT_DATA) {
        for (const lowerDir of lowerDirs) {
          handles.push(await open(lowerDir, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY));
        }
        data = `lowerdir=${handles.map((h) => `/proc/self/fd/${h.fd}`).join(':')}${tail}`;
        if (Buffer.byteLength(data) > MAX_MOUNT_DATA) {
          throw failedPrecondition(`active snapshot "${key}": too many layers (${lowerDirs.length}) for one overlay mount`);
        }
      }
      try {
        mount('overlay', resolvePath(target), 'overlay', 0, data);
      } catch (err) {
        throw new BerthError('internal', `mount overlay for "${key}" on ${target}: ${errorMessage(err)}`, { cause: err });
      }
    } finally {
      await Promise.all(handles.map((h) => h.close()));
    }
  }

  /**
   * Unmount the overlay of `key` from `target`. Idempotent: nothing mounted there is fine. Only
   * our overlay (recognised by its upperdir) is unmounted; EBUSY falls back to MNT_DETACH.
   */
  async unmountActive(key: string, target: string): Promise<void> {
    const upper = this.activeUpperPath(key);
    const mountPoint = resolvePath(target);
    for (let i = 0; i < 16; i++) {
      const here = (await readMountInfo()).filter((m) => m.mountPoint === mountPoint);
      const top = here[here.length - 1];
      if (!here.some((m) => isOurOverlay(m, upper))) return;
      if (!top || !isOurOverlay(top, upper)) {
        throw failedPrecondition(`unmount "${key}": another filesystem is mounted over ${mountPoint}`);
      }
      if (await umount2Async(mountPoint, 0)) continue;
      await unmountIfMounted(mountPoint);
    }
    throw new BerthError('internal', `unmount "${key}": ${mountPoint} is still mounted`);
  }

  /** Delete active snapshot `key`. Idempotent. Refuses while its overlay is mounted anywhere. */
  async removeActive(key: string): Promise<void> {
    const dir = this.activePath(key);
    const upper = join(dir, 'upper');
    const trash = await this.serialized(async () => {
      const mounted = (await readMountInfo()).filter((m) => isOurOverlay(m, upper));
      if (mounted.length > 0) {
        throw failedPrecondition(`active snapshot "${key}" is still mounted on ${mounted.map((m) => m.mountPoint).join(', ')}`);
      }
      return this.moveAway(dir, this.activeDir);
    });
    // Deleting the container's files needs no lock: nothing can reach them after the rename.
    if (trash) await discard(trash);
  }

  activeUpperPath(key: string): string {
    return join(this.activePath(key), 'upper');
  }

  /** Keys of all active snapshots. */
  async listActive(): Promise<string[]> {
    return (await readdir(this.activeDir)).filter((name) => KEY_PATTERN.test(name)).sort();
  }

  // --- internals -------------------------------------------------------------------------------

  private layerDir(chainId: Digest): string {
    if (typeof chainId !== 'string' || !isDigest(chainId)) throw invalidArgument(`invalid chain ID "${String(chainId)}"`);
    return join(this.layersDir, chainId.slice(chainId.indexOf(':') + 1));
  }

  private activePath(key: string): string {
    if (typeof key !== 'string' || !KEY_PATTERN.test(key)) {
      throw invalidArgument(`invalid active snapshot key "${String(key)}": use 1-128 of [A-Za-z0-9_.-], starting alphanumeric`);
    }
    return join(this.activeDir, key);
  }

  private async readLowers(key: string): Promise<Digest[]> {
    let text: string;
    try {
      text = await readFile(join(this.activePath(key), 'lowers.json'), 'utf8');
    } catch (err) {
      throw this.lowersError(key, err);
    }
    return this.parseLowers(key, text);
  }

  /** readLowers for the start path, where a thread-pool round trip costs more than the read. */
  private readLowersSync(key: string): Digest[] {
    let text: string;
    try {
      text = readFileSync(join(this.activePath(key), 'lowers.json'), 'utf8');
    } catch (err) {
      throw this.lowersError(key, err);
    }
    return this.parseLowers(key, text);
  }

  private lowersError(key: string, err: unknown): unknown {
    return errnoCode(err) === 'ENOENT' ? notFound(`active snapshot "${key}" not found`) : err;
  }

  private parseLowers(key: string, text: string): Digest[] {
    const parsed = JSON.parse(text) as { lowers?: unknown };
    if (!Array.isArray(parsed.lowers) || !parsed.lowers.every((l): l is Digest => typeof l === 'string' && isDigest(l))) {
      throw new BerthError('internal', `active snapshot "${key}": lowers.json is corrupt`);
    }
    return parsed.lowers;
  }

  private async activeUsers(chainId: Digest): Promise<string[]> {
    const users: string[] = [];
    for (const key of await this.listActive()) {
      try {
        if ((await this.readLowers(key)).includes(chainId)) users.push(key);
      } catch (err) {
        if (err instanceof BerthError && err.code === 'not-found') continue;
        throw err;
      }
    }
    return users;
  }

  private async moveAwayAndDelete(dir: string, parent: string): Promise<void> {
    const trash = await this.moveAway(dir, parent);
    if (trash) await discard(trash);
  }

  /** Renames `dir` into the tmp dir (gone for every reader at once); returns where it went, for discard(). */
  private async moveAway(dir: string, parent: string): Promise<string | undefined> {
    const trash = join(this.tmpDir, `rm-${randomBytes(8).toString('hex')}`);
    try {
      await rename(dir, trash);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return undefined;
      throw err;
    }
    await fsyncDir(parent);
    return trash;
  }

  private async serialized<T>(fn: () => Promise<T>): Promise<T> {
    const previous = this.refLock;
    let release: () => void = () => undefined;
    this.refLock = new Promise<void>((resolve) => {
      release = resolve;
    });
    await previous;
    try {
      return await fn();
    } finally {
      release();
    }
  }

  private async supportsIndexOption(): Promise<boolean> {
    this.indexOption ??= await exists('/sys/module/overlay/parameters/index');
    return this.indexOption;
  }
}

let volatileOption: boolean | undefined;

/** overlay's `volatile` option arrived in Linux 5.10. */
function supportsVolatile(): boolean {
  if (volatileOption === undefined) {
    const [major = 0, minor = 0] = release().split('.').map((part) => Number.parseInt(part, 10));
    volatileOption = major > 5 || (major === 5 && minor >= 10);
  }
  return volatileOption;
}

function checkExpected(chainId: Digest, result: ApplyResult, expectedDiffId: Digest | undefined): ApplyResult {
  if (expectedDiffId !== undefined && result.diffId !== expectedDiffId) {
    throw invalidArgument(`layer ${chainId}: diffID mismatch: expected ${expectedDiffId}, snapshot has ${result.diffId}`);
  }
  return { diffId: result.diffId, size: result.size };
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false;
    throw err;
  }
}

async function fsyncFile(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Loop-mount `layers/<hex>/layer.sqfs` read-only on `layers/<hex>/fs`. */
function mountSquashfs(layerDir: string): void {
  mountLoopImage(join(layerDir, SQUASHFS_IMAGE), join(layerDir, 'fs'), 'squashfs', 0);
}

/** Delete a directory of ours, unmounting first what is mounted below it (a squashfs layer's fs/). */
async function discard(dir: string): Promise<void> {
  await unmountBelow(dir, await readMountInfo());
  await rm(dir, { recursive: true, force: true });
}

async function unmountBelow(dir: string, mounts: MountInfo[]): Promise<void> {
  // mountinfo lists parents before children: unmount in reverse
  for (const m of mounts.filter((m) => m.mountPoint.startsWith(`${dir}/`)).reverse()) await unmountIfMounted(m.mountPoint);
}

/** umount2, falling back to a lazy detach while something still uses it; not mounted is fine. */
async function unmountIfMounted(mountPoint: string): Promise<void> {
  try {
    umount2(mountPoint, 0);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'EINVAL' || code === 'ENOENT') return;
    if (code !== 'EBUSY') throw new BerthError('internal', `unmount ${mountPoint}: ${errorMessage(err)}`, { cause: err });
    try {
      umount2(mountPoint, MNT_DETACH);
    } catch (detachErr) {
      const detachCode = errnoCode(detachErr);
      if (detachCode === 'EINVAL' || detachCode === 'ENOENT') return;
      throw new BerthError('internal', `unmount (detach) ${mountPoint}: ${errorMessage(detachErr)}`, { cause: detachErr });
    }
  }
}

function isOurOverlay(m: MountInfo, upper: string): boolean {
  return m.fsType === 'overlay' && m.superOptions.split(',').includes(`upperdir=${upper}`);
}

/** syncfs(2) of the filesystem holding `path`, via coreutils `sync -f`. */
async function syncfs(path: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn('sync', ['-f', path], { stdio: 'ignore' });
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new BerthError('internal', `sync -f ${path} exited ${code}`))));
  });
}


/**
 * A container's mounts over its life: resolved at create (volumes-from, binds, --mount,
 * anonymous volumes for Config.Volumes and the image's VOLUMEs, copy-up of image content),
 * turned into OCI mounts at start (host paths only: the spec generator knows no volumes),
 * and released at stop and removal. moby's order: volumes-from first, then Binds, then
 * Mounts (each replaces an earlier mount at the same destination), then Config.Volumes for
 * destinations nothing else covers.
 */
import { mkdir, stat } from 'node:fs/promises';
import { errnoCode, errorMessage, invalidArgument, isBerthError } from '../core/errors.js';
import { logger } from '../core/log.js';
import { readMountInfoSync, type MountInfo } from '../core/mountinfo.js';
import type { Mount } from '../oci/runtime-spec.js';
import { copyImageContent } from '../volumes/copy-up.js';
import { anonymousVolume, mergeTmpfsOptions, parseContainerMounts, parseVolumesFrom, type MountPoint, type MountRequest } from '../volumes/mount-spec.js';
import { ANONYMOUS_LABEL, type VolumeStore } from '../volumes/store.js';
import type { ContainerRecord, ContainerSpecRequest } from './types.js';

const log = logger('containers');

export interface ResolvedMounts {
  points: MountPoint[];
  /** Volumes this create made (removed again if the create fails). */
  created: string[];
  /** Volumes held for the container until its record exists. */
  held: string[];
  /** Volumes to fill from the image at their destination. */
  copies: Array<{ name: string; destination: string }>;
}

export interface StartMounts {
  mounts: Mount[];
  /** `shared` when a bind asks for shared propagation, `slave` for slave (moby's rootfs propagation rule). */
  rootfsPropagation?: 'shared' | 'slave';
}

export class ContainerMounts {
  constructor(
    private readonly volumes: VolumeStore,
    private readonly lookup: (idOrName: string) => ContainerRecord,
  ) {}

  /**
   * Validates every mount of the request and creates the volumes it names. The volumes are
   * held for `containerId` until release() — call it once the container's record is saved
   * (or after discard() when the create failed).
   */
  async resolve(containerId: string, request: ContainerSpecRequest, imageVolumes: Readonly<Record<string, unknown>>): Promise<ResolvedMounts> {
    const { requests, tmpfs } = parseContainerMounts(request.binds ?? [], request.mounts ?? [], request.tmpfs ?? {});
    const byDestination = new Map<string, MountRequest>();
    for (const raw of request.volumesFrom ?? []) {
      const { container, readOnly } = parseVolumesFrom(raw);
      const source = this.lookup(container);
      for (const m of source.mounts ?? []) {
        byDestination.set(m.destination, { ...m, mode: '', rw: m.rw && !readOnly, copyData: false });
      }
    }
    for (const r of requests) byDestination.set(r.destination, r);
    for (const path of Object.keys({ ...imageVolumes, ...(request.volumes ?? {}) })) {
      const anonymous = anonymousVolume(path);
      if (byDestination.has(anonymous.destination) || tmpfs[anonymous.destination] !== undefined) continue;
      byDestination.set(anonymous.destination, anonymous);
    }
    for (const r of byDestination.values()) {
      if (r.type === 'bind' && !r.createSource) await checkBindSource(r.source);
    }

    const resolved: ResolvedMounts = { points: [], created: [], held: [], copies: [] };
    try {
      for (const r of byDestination.values()) {
        const { copyData, volumeOptions, ...point } = r;
        if (point.type === 'volume') {
          // Held before it may be created: a concurrent failing create cannot take it away from this one.
          if (point.name) {
            this.volumes.hold(point.name, containerId);
            resolved.held.push(point.name);
          }
          const existing = point.name ? this.volumes.find(point.name) : undefined;
          // An existing volume goes through create too: dockerd's does, and announces it (a `create` event).
          const volume = existing
            ? await this.volumes.create({ name: existing.name, driver: existing.driver })
            : await this.volumes.create({
                name: point.name,
                driver: volumeOptions?.driver ?? '',
                options: volumeOptions?.driverOptions ?? {},
                labels: point.anonymous ? { ...(volumeOptions?.labels ?? {}), [ANONYMOUS_LABEL]: '' } : (volumeOptions?.labels ?? {}),
              });
          if (!existing) resolved.created.push(volume.name);
          if (!point.name) {
            this.volumes.hold(volume.name, containerId);
            resolved.held.push(volume.name);
          }
          point.name = volume.name;
          point.driver = volume.driver;
          point.source = this.volumes.dataPath(volume.name);
          if (copyData) resolved.copies.push({ name: volume.name, destination: point.destination });
        }
        resolved.points.push(point);
      }
    } catch (err) {
      await this.discard(containerId, resolved);
      throw err;
    }
    return resolved;
  }

  /** Copy-up into the new volumes from the container's (mounted) rootfs. */
  async populate(resolved: ResolvedMounts, rootfs: string, running: readonly ContainerRecord[]): Promise<void> {
    for (const { name, destination } of resolved.copies) {
      this.volumes.activate(name);
      try {
        await copyImageContent(rootfs, destination, this.volumes.dataPath(name));
      } finally {
        if (!running.some((c) => usesVolume(c, name))) this.volumes.deactivate(name);
      }
    }
  }

  /** The volumes stay with the container record now: the create's hold is no longer needed. */
  release(containerId: string, resolved: ResolvedMounts): void {
    for (const name of resolved.held) this.volumes.release(name, containerId);
  }

  /** Undoes resolve() for a create that failed: releases the holds and removes the volumes it made. */
  async discard(containerId: string, resolved: ResolvedMounts): Promise<void> {
    this.release(containerId, resolved);
    for (const name of resolved.created) {
      await this.volumes.remove(name).catch((err: unknown) => log.warn('could not remove a volume of a failed create', { name, error: errorMessage(err) }));
    }
  }

  /** Before `runc create`: bind sources exist, volumes with options are mounted; the OCI mounts. */
  async prepareStart(record: ContainerRecord): Promise<StartMounts> {
    const mounts: Mount[] = [];
    let rootfsPropagation: StartMounts['rootfsPropagation'];
    for (const p of record.mounts ?? []) {
      switch (p.type) {
        case 'bind': {
          if (p.createSource) await mkdir(p.source, { recursive: true, mode: 0o755 });
          else await checkBindSource(p.source);
          if (p.propagation === 'shared' || p.propagation === 'rshared') {
            requirePropagation(p.source, ['shared']);
            rootfsPropagation = 'shared';
          } else if (p.propagation === 'slave' || p.propagation === 'rslave') {
            requirePropagation(p.source, ['shared', 'master']);
            rootfsPropagation ??= 'slave';
          }
          mounts.push({ destination: p.destination, type: 'bind', source: p.source, options: [p.nonRecursive ? 'bind' : 'rbind', ...(p.rw ? [] : ['ro']), p.propagation || 'rprivate'] });
          break;
        }
        case 'volume': {
          this.volumes.activate(p.name);
          mounts.push({ destination: p.destination, type: 'bind', source: this.volumes.dataPath(p.name), options: ['rbind', ...(p.rw ? [] : ['ro'])] });
          break;
        }
        case 'tmpfs':
          mounts.push(tmpfsMount(p.destination, p.tmpfsData));
          break;
      }
    }
    for (const [destination, data] of Object.entries(record.request.tmpfs ?? {})) mounts.push(tmpfsMount(destination, data));
    return rootfsPropagation ? { mounts, rootfsPropagation } : { mounts };
  }

  /** After the container stopped: unmounts volumes with driver options no running container still uses. */
  afterStop(record: ContainerRecord, running: () => readonly ContainerRecord[]): void {
    const volumes = (record.mounts ?? []).filter((p) => p.type === 'volume');
    // Most containers have no volume: the container list is only read when one might need unmounting.
    if (volumes.length === 0) return;
    const others = running().filter((c) => c.id !== record.id);
    for (const p of volumes) {
      if (!others.some((c) => usesVolume(c, p.name))) this.volumes.deactivate(p.name);
    }
  }

  /** After the record is gone (`rm -v`, `--rm`): its anonymous volumes go too, unless another container uses them. */
  async removeAnonymous(record: ContainerRecord): Promise<void> {
    for (const p of anonymousVolumes(record)) {
      try {
        await this.volumes.remove(p.name);
      } catch (err) {
        if (isBerthError(err, 'conflict') || isBerthError(err, 'not-found')) continue;
        log.warn('could not remove an anonymous volume', { name: p.name, error: errorMessage(err) });
      }
    }
  }
}

/** The container's anonymous volumes (`-v /path`, image VOLUMEs): removed with it by `rm -v` and `--rm`. */
export function anonymousVolumes(record: ContainerRecord): MountPoint[] {
  return (record.mounts ?? []).filter((p) => p.type === 'volume' && p.anonymous);
}

export function usesVolume(record: ContainerRecord, name: string): boolean {
  return (record.mounts ?? []).some((m) => m.type === 'volume' && m.name === name);
}

function tmpfsMount(destination: string, data: string): Mount {
  const options = mergeTmpfsOptions(['noexec', 'nosuid', 'nodev', 'rprivate', ...(data === '' ? [] : data.split(','))]);
  return { destination, type: 'tmpfs', source: 'tmpfs', options };
}

async function checkBindSource(source: string): Promise<void> {
  try {
    await stat(source);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') throw invalidArgument(`invalid mount config for type "bind": bind source path does not exist: ${source}`);
    throw err;
  }
}

/**
 * Shared or slave propagation only works when the host mount the source lives on propagates
 * (moby ensureShared / ensureSharedOrSlave); otherwise the request cannot be honoured.
 */
function requirePropagation(source: string, kinds: readonly ('shared' | 'master')[]): void {
  let best: MountInfo | undefined;
  for (const m of readMountInfoSync()) {
    const point = m.mountPoint;
    if (point === '' || !(source === point || source.startsWith(point === '/' ? '/' : `${point}/`))) continue;
    if (best && best.mountPoint.length > point.length) continue;
    best = m;
  }
  if (best && best.optionalFields.some((f) => kinds.some((k) => f.startsWith(`${k}:`)))) return;
  const what = kinds.length === 1 ? 'a shared' : 'a shared or slave';
  throw invalidArgument(`path ${source} is mounted on ${best?.mountPoint ?? '/'} but it is not ${what} mount`);
}

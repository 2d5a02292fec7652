/**
 * Container sizes for `ps -s` and `inspect -s`: SizeRw is the bytes in the container's upper
 * (writable) directory, SizeRootFs that plus the image layers it runs on. dockerd walks every
 * container's upper dir on every `ps -s`; with 1000 containers that is 1000 tree walks per
 * listing, so berth computes a size when it is first asked for and keeps it.
 *
 * How stale a cached figure can be (honestly):
 * - a stopped container's upper dir changes only through berth itself (copying into it); its
 *   size is recomputed when the container starts, stops or is asked for after `forget(id)`;
 * - a running container writes whenever it likes: its figure is at most RUNNING_TTL_MS old,
 *   and it is dropped when the container exits;
 * - layer sizes never change (layers are immutable), so they are cached for good.
 */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Digest } from '../core/digest.js';
import type { OverlaySnapshotter } from '../snapshots/overlay.js';
import type { ContainerManager } from './manager.js';
import type { ContainerRecord } from './types.js';

const RUNNING_TTL_MS = 30_000;
/** Tree walks at once when a listing finds many containers without a cached size. */
const PARALLEL_WALKS = 16;

export interface ContainerSize {
  sizeRw: number;
  sizeRootFs: number;
}

export class ContainerSizes {
  private readonly rw = new Map<string, { bytes: number; at: number }>();
  private readonly layers = new Map<Digest, number>();

  constructor(
    containers: ContainerManager,
    private readonly snapshots: OverlaySnapshotter,
  ) {
    const forget = (id: string): void => this.forget(id);
    containers.on('start', forget);
    containers.on('exit', forget);
    containers.on('remove', forget);
  }

  /** Drops a container's cached figure (its upper dir changed). */
  forget(id: string): void {
    this.rw.delete(id);
  }

  /** Sizes for many containers, walking at most PARALLEL_WALKS upper dirs at a time. */
  async sizesOf(records: readonly ContainerRecord[]): Promise<Map<string, ContainerSize>> {
    const result = new Map<string, ContainerSize>();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < records.length) {
        const record = records[next++] as ContainerRecord;
        result.set(record.id, await this.sizeOf(record));
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL_WALKS, records.length) }, worker));
    return result;
  }

  async sizeOf(record: ContainerRecord): Promise<ContainerSize> {
    const running = record.state.status === 'running' || record.state.status === 'paused';
    let cached = this.rw.get(record.id);
    if (!cached || (running && Date.now() - cached.at > RUNNING_TTL_MS)) {
      cached = { bytes: await treeSize(this.snapshots.activeUpperPath(record.id)), at: Date.now() };
      this.rw.set(record.id, cached);
    }
    let image = 0;
    for (const chainId of record.chainIds) image += await this.layerSize(chainId);
    return { sizeRw: cached.bytes, sizeRootFs: cached.bytes + image };
  }

  private async layerSize(chainId: Digest): Promise<number> {
    const known = this.layers.get(chainId);
    if (known !== undefined) return known;
    const size = (await this.snapshots.layerInfo(chainId))?.size ?? 0;
    this.layers.set(chainId, size);
    return size;
  }
}

/** moby's directory.Size: the bytes of every non-directory entry, hard links counted once. */
async function treeSize(dir: string, seen = new Set<string>()): Promise<number> {
  let total = 0;
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      total += await treeSize(path, seen);
      continue;
    }
    const st = await lstat(path).catch(() => undefined);
    if (!st) continue;
    const inode = `${st.dev}:${st.ino}`;
    if (st.nlink > 1) {
      if (seen.has(inode)) continue;
      seen.add(inode);
    }
    total += st.size;
  }
  return total;
}

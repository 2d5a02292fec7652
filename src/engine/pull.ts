/**
 * Pulling an image: resolve the reference, pick the platform, fetch config and layers
 * concurrently (verified, resumable), and unpack each layer into its own snapshot while it
 * downloads. Layers that are already unpacked (same chainID) are neither fetched nor unpacked.
 */
import { PassThrough } from 'node:stream';
import type { ContentStore } from '../content/store.js';
import { chainIds as computeChainIds, type Digest } from '../core/digest.js';
import { BerthError, invalidArgument } from '../core/errors.js';
import type { Descriptor, ImageConfig, ImageIndex, ImageManifest } from '../oci/image.js';
import { isIndexMediaType, isManifestMediaType, layerCompression } from '../oci/media-types.js';
import type { ImageRecord, ImageStore } from '../images/store.js';
import { parseReference, type ImageReference } from '../registry/reference.js';
import { selectPlatformManifest, type RegistryClient } from '../registry/client.js';
import type { OverlaySnapshotter } from '../snapshots/overlay.js';
import { progressBar, shortId, type ProgressSink } from './progress.js';

export interface PullDeps {
  content: ContentStore;
  registry: RegistryClient;
  snapshots: OverlaySnapshotter;
  images: ImageStore;
  /** Layers fetched at once (Docker's max-concurrent-downloads, 3). */
  concurrency: number;
}

export interface PullResult {
  image: ImageRecord;
  reference: ImageReference;
  upToDate: boolean;
}

export interface PreparedPull {
  reference: ImageReference;
  /** Digest of what the registry returned for the reference (manifest or index). */
  digest: Digest;
  manifestDigest: Digest;
  manifestMediaType: string;
  manifest: ImageManifest;
}

/**
 * The part of a pull that can fail with a clean HTTP error before any progress is streamed
 * (dockerd answers 404 for an unknown manifest, not a 200 with an error in the stream).
 */
export async function preparePull(deps: PullDeps, refString: string): Promise<PreparedPull> {
  const reference = parseReference(refString);
  const resolved = await deps.registry.resolve(reference);
  await deps.content.writeBlob(resolved.bytes, resolved.digest);
  let manifestDigest = resolved.digest;
  let manifestMediaType = resolved.mediaType;
  let manifestBytes = resolved.bytes;
  if (isIndexMediaType(resolved.mediaType)) {
    const index = JSON.parse(resolved.bytes.toString('utf8')) as ImageIndex;
    const chosen = selectPlatformManifest(index);
    const fetched = await deps.registry.fetchManifest(reference, chosen.digest);
    await deps.content.writeBlob(fetched.bytes, chosen.digest);
    manifestDigest = chosen.digest;
    manifestMediaType = fetched.mediaType;
    manifestBytes = fetched.bytes;
  }
  if (!isManifestMediaType(manifestMediaType)) {
    throw invalidArgument(`unsupported manifest media type ${manifestMediaType} for ${reference.familiar}`);
  }
  const manifest = JSON.parse(manifestBytes.toString('utf8')) as ImageManifest;
  if (!manifest.config || !Array.isArray(manifest.layers)) throw invalidArgument(`malformed manifest ${manifestDigest} for ${reference.familiar}`);
  for (const layer of manifest.layers) {
    if (layerCompression(layer.mediaType) === undefined) throw invalidArgument(`unsupported layer media type ${layer.mediaType} in ${reference.familiar}`);
  }
  return { reference, digest: resolved.digest, manifestDigest, manifestMediaType, manifest };
}

export async function executePull(deps: PullDeps, prepared: PreparedPull, progress: ProgressSink): Promise<PullResult> {
  const { reference, manifest } = prepared;
  progress({ status: `Pulling from ${reference.path}`, id: reference.tag ?? reference.familiar });

  await deps.registry.fetchBlob(reference, manifest.config, deps.content);
  const config = JSON.parse((await deps.content.readBytes(manifest.config.digest)).toString('utf8')) as ImageConfig;
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== manifest.layers.length) {
    throw invalidArgument(`image config lists ${diffIds.length} layers but the manifest has ${manifest.layers.length}`);
  }
  const chains = computeChainIds(diffIds);
  const existing = deps.images.find(manifest.config.digest);
  const present = await Promise.all(chains.map((c) => deps.snapshots.has(c)));
  const repoDigest = `${reference.name}@${prepared.digest}`;
  const names = reference.tag ? [`${reference.name}:${reference.tag}`] : [];

  if (existing && present.every(Boolean)) {
    deps.images.put({ ...existing, repoDigests: [repoDigest] }, names);
    progress({ status: `Digest: ${prepared.digest}` });
    progress({ status: `Status: Image is up to date for ${reference.familiar}` });
    return { image: deps.images.get(existing.id), reference, upToDate: true };
  }

  const sizes = new Array<number>(manifest.layers.length).fill(0);
  const queue = manifest.layers.map((layer, index) => ({ layer, index }));
  for (const { layer, index } of queue) {
    if (present[index]) progress({ status: 'Already exists', progressDetail: {}, id: shortId(layer.digest) });
  }
  const pending = queue.filter(({ index }) => !present[index]);
  for (const { layer } of pending) progress({ status: 'Pulling fs layer', progressDetail: {}, id: shortId(layer.digest) });

  const worker = async (): Promise<void> => {
    for (let next = pending.shift(); next; next = pending.shift()) {
      const chain = chains[next.index];
      const diffId = diffIds[next.index];
      if (!chain || !diffId) throw new BerthError('internal', 'layer index out of range');
      sizes[next.index] = await pullLayer(deps, reference, next.layer, chain, diffId, progress);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, deps.concurrency) }, worker));
  for (let i = 0; i < chains.length; i++) {
    if (present[i]) sizes[i] = (await deps.snapshots.layerInfo(chains[i] as Digest))?.size ?? 0;
  }

  const record: ImageRecord = {
    id: manifest.config.digest,
    manifestDigest: prepared.manifestDigest,
    manifestMediaType: prepared.manifestMediaType,
    config,
    layers: manifest.layers,
    chainIds: chains,
    size: sizes.reduce((a, b) => a + b, 0),
    repoDigests: [repoDigest],
    addedAt: Date.now(),
  };
  deps.images.put(record, names);
  progress({ status: `Digest: ${prepared.digest}` });
  progress({ status: `Status: Downloaded newer image for ${reference.familiar}` });
  return { image: deps.images.get(record.id), reference, upToDate: false };
}

async function pullLayer(
  deps: PullDeps,
  reference: ImageReference,
  layer: Descriptor,
  chain: Digest,
  diffId: Digest,
  progress: ProgressSink,
): Promise<number> {
  const id = shortId(layer.digest);
  const compression = layerCompression(layer.mediaType) ?? 'none';
  const pipe = new PassThrough({ highWaterMark: 1024 * 1024 });
  let lastReport = 0;
  const unpacked = deps.snapshots.unpackLayer(chain, pipe, compression, diffId);
  // The tee is destroyed with the download's error; the unpack then fails too, and the
  // download's error is the one worth reporting.
  unpacked.catch(() => undefined);
  await deps.registry.fetchBlob(reference, layer, deps.content, {
    tee: pipe,
    onProgress: (current) => {
      const now = Date.now();
      if (now - lastReport < 100 && current < layer.size) return;
      lastReport = now;
      progress({ status: 'Downloading', progressDetail: { current, total: layer.size }, progress: progressBar(current, layer.size), id });
    },
  });
  progress({ status: 'Verifying Checksum', progressDetail: {}, id });
  progress({ status: 'Download complete', progressDetail: {}, id });
  progress({ status: 'Extracting', progressDetail: { current: layer.size, total: layer.size }, progress: progressBar(layer.size, layer.size), id });
  const result = await unpacked;
  progress({ status: 'Pull complete', progressDetail: {}, id });
  return result.size;
}

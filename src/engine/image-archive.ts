/**
 * Images in and out of tar archives, and images made from containers: `docker load`, `save`,
 * `import` and `commit`. Archives are parsed and verified by images/archive-read.ts into a
 * staging directory first; only then are blobs ingested into the content store and layers
 * unpacked (with the same secure apply as a pull), under a content lease so garbage collection
 * cannot sweep them before the image record exists. Image records are written last: a failure
 * leaves no image and no name behind (unreferenced layers go with the next collection).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { arch } from 'node:os';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MOUNT_PLACEHOLDERS } from '../containers/diff.js';
import { autoDecompress, decompressor, type Compression } from '../core/compression.js';
import { chainIds, newHasher, type Digest } from '../core/digest.js';
import { BerthError, conflict, errorMessage, invalidArgument } from '../core/errors.js';
import { readImageArchive, type ArchiveImage } from '../images/archive-read.js';
import { writeImageArchive, type SaveImage } from '../images/archive-write.js';
import { applyChanges } from '../images/changes.js';
import type { ImageRecord } from '../images/store.js';
import type { HistoryEntry, ImageConfig, ImageManifest, ImageRuntimeConfig } from '../oci/image.js';
import { layerCompression, MediaType } from '../oci/media-types.js';
import { selectPlatformManifest } from '../registry/platform.js';
import { familiarName, parseReference, tryParseReference } from '../registry/reference.js';
import { upperDirTar } from '../snapshots/diff-tar.js';
import type { Engine } from './engine.js';
import { progressBar, shortId, type ProgressSink } from './progress.js';

const hostArch = arch() === 'x64' ? 'amd64' : arch() === 'ia32' ? '386' : arch();

/** A private directory under `<data-root>/tmp` for one operation, removed afterwards whatever happens. */
export async function withStaging<T>(engine: Engine, prefix: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const root = join(engine.config.dataRoot, 'tmp');
  await mkdir(root, { recursive: true, mode: 0o700 });
  const dir = await mkdtemp(join(root, `${prefix}-`));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `name:tag` fully qualified, or undefined for a reference without a tag (digest-only). */
function taggedName(ref: string): string | undefined {
  const parsed = tryParseReference(ref);
  if (!parsed) throw invalidArgument(`invalid image archive: invalid reference "${ref}"`);
  return parsed.tag && !parsed.digest ? `${parsed.name}:${parsed.tag}` : undefined;
}

/** Reads and verifies a `docker load` body (any errors here are the client's: 400). */
export async function readLoadArchive(body: Readable, staging: string): Promise<ArchiveImage[]> {
  const { stream } = await autoDecompress(body);
  return readImageArchive(stream, staging, { selectManifest: (index) => selectPlatformManifest(index), normalizeName: taggedName });
}

/** Streams a staged file, reporting Docker's "Loading layer" progress. */
function progressStream(file: string, total: number, id: string, progress: ProgressSink | undefined): Readable {
  const source = createReadStream(file, { highWaterMark: 1024 * 1024 });
  if (!progress) return source;
  let current = 0;
  let last = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      current += chunk.length;
      const now = Date.now();
      if (now - last >= 100 || current === total) {
        last = now;
        progress({ status: 'Loading layer', progressDetail: { current, total }, progress: progressBar(current, total), id });
      }
      cb(null, chunk);
    },
  });
  source.on('error', (err) => counter.destroy(err));
  return source.pipe(counter);
}

/** Ingests a staged layer blob and unpacks it as `chain` (unless that layer exists); returns its uncompressed size. */
async function storeLayer(
  engine: Engine,
  layer: { file: string; digest: Digest; size: number; compression: Compression; diffId: Digest },
  chain: Digest,
  progress?: ProgressSink,
): Promise<number> {
  await engine.content.ingest(`local-${layer.digest}`, { digest: layer.digest, size: layer.size }, async () => createReadStream(layer.file));
  const existing = await engine.snapshots.layerInfo(chain);
  if (existing) return existing.size;
  const input = progressStream(layer.file, layer.size, shortId(layer.diffId), progress);
  return (await engine.snapshots.unpackLayer(chain, input, layer.compression, layer.diffId)).size;
}

interface PendingImage {
  record: ImageRecord;
  names: string[];
}

/** Stores what readLoadArchive found; progress and the "Loaded image" lines go to `write`. */
export async function executeLoad(engine: Engine, archive: ArchiveImage[], quiet: boolean, write: ProgressSink): Promise<void> {
  const pending: PendingImage[] = [];
  for (const image of archive) {
    const diffIds = image.parsedConfig.rootfs.diff_ids;
    const chains = chainIds(diffIds);
    let size = 0;
    for (const [i, layer] of image.layers.entries()) {
      size += await storeLayer(engine, layer, chains[i] as Digest, quiet ? undefined : write);
    }
    await engine.content.writeBlob(image.config, image.configDigest);
    await engine.content.writeBlob(image.manifest, image.manifestDigest);
    pending.push({
      record: {
        id: image.configDigest,
        manifestDigest: image.manifestDigest,
        manifestMediaType: image.manifestMediaType,
        config: image.parsedConfig,
        layers: image.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
        chainIds: chains,
        size,
        repoDigests: [],
        addedAt: Date.now(),
      },
      names: image.names,
    });
  }
  for (const { record, names } of pending) {
    for (const name of names) {
      const previous = engine.images.idForName(name);
      if (previous && previous !== record.id) {
        write({ stream: `The image ${parseReference(name).familiar} already exists, renaming the old one with ID ${previous} to empty string\n` });
      }
    }
    engine.images.put(record, names);
    if (names.length === 0) write({ stream: `Loaded image ID: ${record.id}\n` });
    for (const name of names) write({ stream: `Loaded image: ${parseReference(name).familiar}\n` });
  }
}

// ---- save ---------------------------------------------------------------------------------------

/** A name written with an explicit tag (`repo:tag`, not `host:port/repo`). */
function hasExplicitTag(name: string): boolean {
  const slash = name.lastIndexOf('/');
  return name.indexOf(':', slash + 1) >= 0 && !name.includes('@');
}

/**
 * Resolves `docker save` names as dockerd does: a name without a tag means every tag of that
 * repository; `repo:tag` that tag; an ID or digest reference the image without tags.
 */
export async function prepareSave(engine: Engine, names: string[]): Promise<SaveImage[]> {
  if (names.length === 0) throw invalidArgument('no images specified');
  const chosen = new Map<Digest, { image: ImageRecord; tags: string[] }>();
  const add = (image: ImageRecord, tag?: string): void => {
    const entry = chosen.get(image.id) ?? { image, tags: [] };
    if (tag && !entry.tags.includes(tag)) entry.tags.push(tag);
    chosen.set(image.id, entry);
  };
  for (const name of names) {
    const ref = tryParseReference(name);
    const byId = engine.images.idForPrefix(name);
    if (byId && (name.startsWith('sha256:') || name.length >= 12 || !ref)) {
      add(engine.images.get(byId));
    } else if (ref && !ref.digest && !hasExplicitTag(name)) {
      const tagged = engine.images
        .list()
        .flatMap((img) => engine.images.namesFor(img.id).filter((n) => n.startsWith(`${ref.name}:`)).map((n) => ({ img, n })));
      if (tagged.length === 0) add(engine.resolveImage(name));
      for (const { img, n } of tagged) add(img, n);
    } else {
      const image = engine.resolveImage(name);
      add(image, ref && ref.tag && !ref.digest ? `${ref.name}:${ref.tag}` : undefined);
    }
  }
  const out: SaveImage[] = [];
  for (const { image, tags } of chosen.values()) {
    const config = await engine.content.readBytes(image.id);
    const diffIds = image.config.rootfs.diff_ids;
    const layers = [];
    for (const [i, chain] of image.chainIds.entries()) {
      const info = await engine.snapshots.layerInfo(chain);
      const blob = image.layers[i];
      const diffId = diffIds[i];
      if (!info || !blob || !diffId || !(await engine.content.has(blob.digest))) {
        throw new BerthError('internal', `image ${image.id}: layer ${i} is not stored completely`);
      }
      const compression = layerCompression(blob.mediaType) ?? 'none';
      layers.push({ diffId, size: info.size, open: () => uncompressedLayer(engine, blob.digest, compression, diffId) });
    }
    out.push({
      configDigest: image.id,
      config,
      created: new Date(image.config.created ?? 0),
      layers,
      refs: tags.map((t) => {
        const parsed = parseReference(t);
        return { canonical: t, familiar: parsed.familiar, familiarName: familiarName(parsed), tag: parsed.tag ?? 'latest' };
      }),
    });
  }
  return out;
}

/** The layer blob decompressed, checked against its diffID as it streams. */
function uncompressedLayer(engine: Engine, digest: Digest, compression: Compression, diffId: Digest): Readable {
  const source = engine.content.createReadStream(digest);
  const inflate = decompressor(compression);
  const hash = newHasher('sha256');
  const verify = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
    flush(cb) {
      const actual = `sha256:${hash.digest('hex')}`;
      cb(actual === diffId ? null : new BerthError('internal', `layer ${digest}: uncompressed digest ${actual} differs from its diffID ${diffId}`));
    },
  });
  source.on('error', (err) => inflate.destroy(err));
  inflate.on('error', (err) => verify.destroy(err));
  return source.pipe(inflate).pipe(verify);
}

export function saveArchive(images: SaveImage[]): Readable {
  return writeImageArchive(images);
}

// ---- import and commit ----------------------------------------------------------------------------

/** Spools a stream into `file`, returning its sha256 and size. */
async function spool(input: Readable, file: string): Promise<{ digest: Digest; size: number }> {
  const hash = newHasher('sha256');
  let size = 0;
  await pipeline(
    input,
    new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        size += chunk.length;
        cb(null, chunk);
      },
    }),
    createWriteStream(file, { mode: 0o600 }),
  );
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

/** Writes config and manifest blobs of a new image on `parentChains` + one uncompressed layer, and records it. */
async function storeNewImage(
  engine: Engine,
  config: ImageConfig,
  layers: ImageRecord['layers'],
  chains: Digest[],
  size: number,
  names: string[],
): Promise<Digest> {
  const configBytes = Buffer.from(JSON.stringify(config));
  const id = await engine.content.writeBlob(configBytes);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: id, size: configBytes.length },
    layers,
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  const manifestDigest = await engine.content.writeBlob(manifestBytes);
  engine.images.put({ id, manifestDigest, manifestMediaType: MediaType.ociManifest, config, layers, chainIds: chains, size, repoDigests: [], addedAt: Date.now() }, names);
  return id;
}

/** `repo` + `tag` (either may be empty) → the fully qualified `name:tag`, or none. */
export function targetName(repo: string | undefined, tag: string | undefined): string | undefined {
  if (!repo) {
    if (tag) throw invalidArgument('tag is not allowed without a repository');
    return undefined;
  }
  const ref = parseReference(tag ? `${repo}:${tag}` : repo);
  if (ref.digest) throw invalidArgument('refusing to create a tag with a digest reference');
  return `${ref.name}:${ref.tag ?? 'latest'}`;
}

export interface ImportOptions {
  name?: string;
  message: string;
  changes: string[];
}

/** `docker import`: a rootfs tarball (plain, gzip or zstd) becomes a one-layer image. */
export async function importImage(engine: Engine, body: Readable, options: ImportOptions): Promise<Digest> {
  const runtime = applyChanges({}, options.changes);
  return withStaging(engine, 'import', async (staging) => {
    const file = join(staging, 'layer.tar');
    const { stream } = await autoDecompress(body);
    const { digest, size } = await spool(stream, file);
    if (size === 0) throw invalidArgument('import: the tarball is empty');
    return engine.withContentLease(async () => {
      const chain = digest;
      const unpacked = await storeLayer(engine, { file, digest, size, compression: 'none', diffId: digest }, chain);
      const created = new Date().toISOString();
      const config: ImageConfig = {
        created,
        architecture: hostArch,
        os: 'linux',
        config: runtime,
        rootfs: { type: 'layers', diff_ids: [digest] },
        history: [{ created, comment: options.message }],
      };
      return storeNewImage(engine, config, [{ mediaType: MediaType.ociLayer, digest, size }], [chain], unpacked, options.name ? [options.name] : []);
    });
  });
}

export interface CommitOptions {
  container: string;
  name?: string;
  comment: string;
  author: string;
  pause: boolean;
  changes: string[];
  /** The request body: a container config whose fields win over the container's own. */
  config?: ImageRuntimeConfig;
}

/** moby daemon/commit.go merge(): fields the new config leaves unset come from the container's. */
function mergeConfig(user: ImageRuntimeConfig, container: ImageRuntimeConfig): ImageRuntimeConfig {
  const out: ImageRuntimeConfig = { ...container, ...Object.fromEntries(Object.entries(user).filter(([, v]) => v !== undefined)) };
  out.User = user.User || container.User;
  const env = [...(user.Env ?? [])];
  for (const e of container.Env ?? []) if (!env.some((u) => u.split('=')[0] === e.split('=')[0])) env.push(e);
  if (env.length) out.Env = env;
  if (container.Labels || user.Labels) out.Labels = { ...(container.Labels ?? {}), ...(user.Labels ?? {}) };
  if (container.ExposedPorts || user.ExposedPorts) out.ExposedPorts = { ...(container.ExposedPorts ?? {}), ...(user.ExposedPorts ?? {}) };
  if (container.Volumes || user.Volumes) out.Volumes = { ...(container.Volumes ?? {}), ...(user.Volumes ?? {}) };
  if (!user.Entrypoint?.length) {
    out.Cmd = user.Cmd?.length ? user.Cmd : (container.Cmd ?? null);
    out.Entrypoint = user.Entrypoint === undefined || user.Entrypoint === null ? (container.Entrypoint ?? null) : user.Entrypoint;
  } else {
    out.Cmd = user.Cmd ?? null;
  }
  out.WorkingDir = user.WorkingDir || container.WorkingDir;
  if (!user.StopSignal && container.StopSignal) out.StopSignal = container.StopSignal;
  return out;
}

/** Empty files runc created as mount points for the /etc files berth bind-mounts: not the user's changes. */
const runtimePlaceholders = MOUNT_PLACEHOLDERS.map((path) => path.slice(1));

/** `docker commit`: the container's upper directory becomes a new layer on top of its image. */
export async function commitContainer(engine: Engine, options: CommitOptions): Promise<Digest> {
  const record = engine.containers.get(options.container);
  const status = record.state.status;
  if (status === 'removing' || status === 'dead') throw conflict(`You cannot commit container ${record.id} which is ${status === 'dead' ? 'dead' : 'being removed'}`);
  const image = engine.images.find(record.imageId);
  // The new image's manifest lists the parent's layer blobs: without the image they are unknown.
  if (!image || image.layers.length !== record.chainIds.length) throw conflict(`the image of container ${record.id.slice(0, 12)} is gone: its layers cannot be described`);
  const req = record.request;
  const env = [...(record.imageConfig.Env ?? [])];
  for (const e of req.env) {
    const i = env.findIndex((x) => x.split('=')[0] === e.split('=')[0]);
    if (i >= 0) env[i] = e;
    else env.push(e);
  }
  const containerConfig: ImageRuntimeConfig = {
    ...record.imageConfig,
    User: req.user || record.imageConfig.User || '',
    Env: env,
    Cmd: req.cmd ?? (req.entrypoint ? null : (record.imageConfig.Cmd ?? null)),
    Entrypoint: req.entrypoint ?? record.imageConfig.Entrypoint ?? null,
    WorkingDir: req.workingDir || record.imageConfig.WorkingDir || '',
    Labels: { ...(record.imageConfig.Labels ?? {}), ...req.labels },
    ExposedPorts: { ...(record.imageConfig.ExposedPorts ?? {}), ...req.exposedPorts },
    Volumes: { ...(record.imageConfig.Volumes ?? {}), ...req.volumes },
    ...(req.stopSignal || record.imageConfig.StopSignal ? { StopSignal: req.stopSignal || record.imageConfig.StopSignal } : {}),
  };
  const runtime = mergeConfig(applyChanges(options.config ?? {}, options.changes), containerConfig);
  if (runtime.Labels && Object.keys(runtime.Labels).length === 0) delete runtime.Labels;
  if (runtime.ExposedPorts && Object.keys(runtime.ExposedPorts).length === 0) delete runtime.ExposedPorts;
  if (runtime.Volumes && Object.keys(runtime.Volumes).length === 0) delete runtime.Volumes;

  const parentDiffIds: Digest[] = [];
  for (const chain of record.chainIds) {
    const info = await engine.snapshots.layerInfo(chain);
    if (!info) throw conflict(`layer ${chain} of container ${record.id} is missing`);
    parentDiffIds.push(info.diffId);
  }
  const upper = engine.snapshots.activeUpperPath(record.id);
  const exclude = new Set<string>();
  for (const path of runtimePlaceholders) {
    const st = await lstat(join(upper, path)).catch(() => undefined);
    if (st?.isFile() && st.size === 0) exclude.add(path);
  }

  return withStaging(engine, 'commit', async (staging) => {
    const file = join(staging, 'layer.tar');
    const paused = options.pause && status === 'running';
    if (paused) await engine.containers.pause(record.id);
    let diff: { digest: Digest; size: number };
    try {
      diff = await spool(upperDirTar(upper, exclude), file);
    } catch (err) {
      throw new BerthError('internal', `commit: reading the changes of ${record.id.slice(0, 12)}: ${errorMessage(err)}`);
    } finally {
      if (paused) await engine.containers.unpause(record.id).catch(() => undefined);
    }
    return engine.withContentLease(async () => {
      const diffIds = [...parentDiffIds, diff.digest];
      const chains = chainIds(diffIds);
      const top = chains.at(-1) as Digest;
      const layerSize = await storeLayer(engine, { file, digest: diff.digest, size: diff.size, compression: 'none', diffId: diff.digest }, top);
      let parentSize = 0;
      for (const chain of record.chainIds) parentSize += (await engine.snapshots.layerInfo(chain))?.size ?? 0;
      const created = new Date().toISOString();
      const parentHistory: HistoryEntry[] = image.config.history ?? parentDiffIds.map(() => ({}));
      const cmd = containerConfig.Cmd ?? [];
      const history: HistoryEntry = { created, created_by: cmd.join(' '), ...(options.author ? { author: options.author } : {}), ...(options.comment ? { comment: options.comment } : {}) };
      const config: ImageConfig = {
        created,
        ...(options.author ? { author: options.author } : {}),
        architecture: image.config.architecture,
        os: 'linux',
        ...(image.config.variant ? { variant: image.config.variant } : {}),
        config: runtime,
        rootfs: { type: 'layers', diff_ids: diffIds },
        history: [...parentHistory, history],
      };
      const layers = [...image.layers, { mediaType: MediaType.ociLayer, digest: diff.digest, size: diff.size }];
      return storeNewImage(engine, config, layers, chains, parentSize + layerSize, options.name ? [options.name] : []);
    });
  });
}


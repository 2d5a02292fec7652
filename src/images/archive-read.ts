/**
 * Reading image archives for `docker load`: the docker-archive format (`manifest.json` with
 * `Config`/`RepoTags`/`Layers`, in both the old `<id>/layer.tar` layout and Docker 25+'s
 * OCI-layout-based one) and OCI image layout archives (`oci-layout` + `index.json` + `blobs/`,
 * as `skopeo copy … oci-archive:` writes them).
 *
 * The archive is untrusted. Its entries are spooled into a private staging directory under
 * numbered names (an entry's own name never becomes a path on disk), hashed while written, and
 * only then interpreted, because the index files may come after the blobs. Every blob an image
 * needs must be present and match its digest (and size, where a descriptor gives one); JSON
 * documents are size-limited; entry names that are absolute or climb out with `..` are refused.
 * Nothing here touches the content store or snapshots: the result is a plan the engine executes.
 */
import { createWriteStream } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { detectCompression, type Compression } from '../core/compression.js';
import { isDigest, newHasher, sha256, type Digest } from '../core/digest.js';
import { BerthError, errorMessage, invalidArgument } from '../core/errors.js';
import type { Descriptor, ImageConfig, ImageIndex, ImageManifest } from '../oci/image.js';
import { isIndexMediaType, isManifestMediaType, layerCompression, MediaType } from '../oci/media-types.js';

/** Largest JSON document (manifest.json, index.json, a manifest or a config) read from an archive. */
export const MAX_ARCHIVE_JSON = 4 * 1024 * 1024;
const MAX_ENTRIES = 100_000;
const MAX_LINK_HOPS = 16;

export interface ArchiveLayer {
  /** The staged file holding the layer blob as found in the archive. */
  file: string;
  /** Digest and size of that blob (compressed or not). */
  digest: Digest;
  size: number;
  mediaType: string;
  compression: Compression;
  diffId: Digest;
}

export interface ArchiveImage {
  config: Buffer;
  configDigest: Digest;
  parsedConfig: ImageConfig;
  manifest: Buffer;
  manifestDigest: Digest;
  manifestMediaType: string;
  layers: ArchiveLayer[];
  /** Fully qualified `name:tag` references to point at the image. */
  names: string[];
}

export interface ArchiveReadOptions {
  /** Picks the manifest for this host from an index nested in an OCI layout. */
  selectManifest: (index: ImageIndex) => Descriptor;
  /** Parses and normalises a reference, returning `name:tag` or undefined if it has no tag. */
  normalizeName: (ref: string) => string | undefined;
}

interface StagedFile {
  file: string;
  size: number;
  digest: Digest;
}

/** An archive whose content is wrong: always the client's fault (400). */
function bad(message: string): BerthError {
  return invalidArgument(`invalid image archive: ${message}`);
}

/** Cleans an entry name; refuses names that are absolute or escape the archive root. */
export function archiveEntryName(raw: string): string {
  if (raw.startsWith('/')) throw bad(`entry "${raw}" has an absolute path`);
  const cleaned = posix.normalize(raw).replace(/\/+$/, '');
  if (cleaned === '..' || cleaned.startsWith('../')) throw bad(`entry "${raw}" points outside the archive`);
  return cleaned === '.' ? '' : cleaned.replace(/^\.\//, '');
}

class StagedArchive {
  readonly files = new Map<string, StagedFile>();
  readonly links = new Map<string, string>();

  resolve(name: string): StagedFile | undefined {
    let current = archiveEntryName(name);
    for (let hop = 0; hop <= MAX_LINK_HOPS; hop++) {
      const file = this.files.get(current);
      if (file) return file;
      const target = this.links.get(current);
      if (target === undefined) return undefined;
      current = target;
    }
    throw bad(`too many levels of links resolving "${name}"`);
  }

  require(name: string, what: string): StagedFile {
    const found = this.resolve(name);
    if (!found) throw bad(`${what} "${name}" is missing from the archive`);
    return found;
  }

  /** A blob of an OCI layout: present, of the descriptor's size and digest. */
  blob(desc: Descriptor, what: string): StagedFile {
    if (!desc || typeof desc.digest !== 'string' || !isDigest(desc.digest)) throw bad(`${what} has an invalid digest "${String(desc?.digest)}"`);
    if (!desc.digest.startsWith('sha256:')) throw bad(`${what} ${desc.digest}: only sha256 digests are supported`);
    const staged = this.resolve(`blobs/sha256/${desc.digest.slice(7)}`);
    if (!staged) throw bad(`${what} ${desc.digest} is missing from the archive`);
    if (typeof desc.size === 'number' && staged.size !== desc.size) {
      throw bad(`${what} ${desc.digest}: size mismatch: descriptor says ${desc.size} bytes, the archive holds ${staged.size}`);
    }
    if (staged.digest !== desc.digest) throw bad(`${what}: digest mismatch: expected ${desc.digest}, got ${staged.digest}`);
    return staged;
  }

  async json<T>(staged: StagedFile, what: string): Promise<{ bytes: Buffer; value: T }> {
    if (staged.size > MAX_ARCHIVE_JSON) throw bad(`${what} is ${staged.size} bytes, more than the ${MAX_ARCHIVE_JSON} allowed`);
    const bytes = await readFile(staged.file);
    try {
      return { bytes, value: JSON.parse(bytes.toString('utf8')) as T };
    } catch (err) {
      throw bad(`${what} is not valid JSON: ${errorMessage(err)}`);
    }
  }
}

/** Spools the (already decompressed) archive stream into `stagingDir`. */
async function stage(input: Readable, stagingDir: string): Promise<StagedArchive> {
  const staged = new StagedArchive();
  const extract = tar.extract();
  const parsing = pipeline(input, extract as unknown as NodeJS.WritableStream);
  parsing.catch(() => undefined);
  let count = 0;
  try {
    for await (const entry of extract) {
      if (++count > MAX_ENTRIES) throw bad(`more than ${MAX_ENTRIES} entries`);
      const { header } = entry;
      const name = archiveEntryName(header.name);
      if (header.type === 'file' || header.type === 'contiguous-file') {
        const file = join(stagingDir, `f${count}`);
        const hash = newHasher('sha256');
        let size = 0;
        const hasher = new Transform({
          transform(chunk: Buffer, _enc, cb) {
            hash.update(chunk);
            size += chunk.length;
            cb(null, chunk);
          },
        });
        await pipeline(entry, hasher, createWriteStream(file, { mode: 0o600 }));
        staged.files.set(name, { file, size, digest: `sha256:${hash.digest('hex')}` });
        staged.links.delete(name);
      } else {
        if ((header.type === 'symlink' || header.type === 'link') && header.linkname) {
          const target = header.type === 'symlink' ? posix.join(posix.dirname(name), header.linkname) : header.linkname;
          if (header.type === 'symlink' && header.linkname.startsWith('/')) throw bad(`link "${header.name}" has an absolute target`);
          staged.links.set(name, archiveEntryName(target));
          staged.files.delete(name);
        }
        entry.resume();
        await new Promise<void>((resolve, reject) => {
          entry.once('end', resolve);
          entry.once('error', reject);
        });
      }
    }
    await parsing;
  } catch (err) {
    extract.destroy();
    await parsing.catch(() => undefined);
    if (err instanceof BerthError) throw err;
    throw bad(`not a readable tar archive: ${errorMessage(err)}`);
  }
  if (count === 0) throw bad('the archive is empty');
  return staged;
}

function checkConfig(value: unknown, what: string): ImageConfig {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw bad(`${what} is not a JSON object`);
  const config = value as Partial<ImageConfig>;
  const os = config.os ?? 'linux';
  if (os !== 'linux') throw bad(`cannot load ${String(os)} image on linux`);
  const diffIds = config.rootfs?.diff_ids;
  if (!Array.isArray(diffIds) || !diffIds.every((d) => typeof d === 'string' && isDigest(d))) throw bad(`${what} has no valid rootfs.diff_ids`);
  return config as ImageConfig;
}

async function fileCompression(file: string): Promise<Compression> {
  const fh = await open(file, 'r');
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await fh.read(head, 0, 4, 0);
    return detectCompression(head.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
}

const mediaTypeFor: Record<Compression, string> = { none: MediaType.ociLayer, gzip: MediaType.ociLayerGzip, zstd: MediaType.ociLayerZstd };

async function dockerArchiveImages(staged: StagedArchive, options: ArchiveReadOptions): Promise<ArchiveImage[]> {
  const { value: items } = await staged.json<unknown>(staged.require('manifest.json', 'manifest'), 'manifest.json');
  if (items === null) throw bad('manifest.json cannot be null (but can be [])');
  if (!Array.isArray(items)) throw bad('manifest.json is not a JSON array');
  const images: ArchiveImage[] = [];
  for (const [i, raw] of items.entries()) {
    const item = raw as { Config?: unknown; RepoTags?: unknown; Layers?: unknown };
    if (!item || typeof item.Config !== 'string') throw bad(`manifest.json entry ${i} has no Config`);
    if (!Array.isArray(item.Layers) || !item.Layers.every((l) => typeof l === 'string')) throw bad(`manifest.json entry ${i} has no Layers list`);
    const tags = item.RepoTags ?? [];
    if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string')) throw bad(`manifest.json entry ${i}: RepoTags must be a list of strings`);
    const configFile = staged.require(item.Config, 'image config');
    expectNamedDigest(item.Config, configFile, 'image config');
    const { bytes: config, value } = await staged.json<unknown>(configFile, `image config ${item.Config}`);
    const parsedConfig = checkConfig(value, `image config ${item.Config}`);
    const diffIds = parsedConfig.rootfs.diff_ids;
    const layerPaths = item.Layers as string[];
    if (layerPaths.length !== diffIds.length) throw bad(`layers length mismatch: manifest lists ${layerPaths.length}, the config ${diffIds.length}`);
    const layers: ArchiveLayer[] = [];
    for (const [n, path] of layerPaths.entries()) {
      const file = staged.require(path, 'layer');
      expectNamedDigest(path, file, 'layer');
      const compression = await fileCompression(file.file);
      const diffId = diffIds[n] as Digest;
      if (compression === 'none' && file.digest !== diffId) throw bad(`layer ${path}: digest mismatch: the config expects ${diffId}, got ${file.digest}`);
      layers.push({ file: file.file, digest: file.digest, size: file.size, mediaType: mediaTypeFor[compression], compression, diffId });
    }
    const configDigest = sha256(config);
    const manifestDoc: ImageManifest = {
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: configDigest, size: config.length },
      layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    };
    const manifest = Buffer.from(JSON.stringify(manifestDoc));
    const names = (tags as string[]).map((t) => {
      const name = options.normalizeName(t);
      if (!name) throw bad(`invalid tag "${t}"`);
      return name;
    });
    images.push({ config, configDigest, parsedConfig, manifest, manifestDigest: sha256(manifest), manifestMediaType: MediaType.ociManifest, layers, names });
  }
  return images;
}

/** `blobs/sha256/<hex>` names state their digest: the content must match it. */
function expectNamedDigest(path: string, file: StagedFile, what: string): void {
  const m = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(archiveEntryName(path));
  if (m && `sha256:${m[1]}` !== file.digest) throw bad(`${what} ${path}: digest mismatch: got ${file.digest}`);
}

async function ociLayoutImages(staged: StagedArchive, options: ArchiveReadOptions): Promise<ArchiveImage[]> {
  const { value: layout } = await staged.json<{ imageLayoutVersion?: unknown }>(staged.require('oci-layout', 'OCI layout marker'), 'oci-layout');
  if (layout?.imageLayoutVersion !== '1.0.0') throw bad(`unsupported OCI layout version ${JSON.stringify(layout?.imageLayoutVersion)}`);
  const { value: index } = await staged.json<ImageIndex>(staged.require('index.json', 'OCI index'), 'index.json');
  if (!index || !Array.isArray(index.manifests)) throw bad('index.json has no manifests list');
  const byManifest = new Map<Digest, ArchiveImage>();
  let skipped = 0;
  for (const entry of index.manifests) {
    let desc = entry;
    if (isIndexMediaType(entry?.mediaType ?? '')) {
      const { value: nested } = await staged.json<ImageIndex>(staged.blob(entry, 'index'), `index ${entry.digest}`);
      if (!nested || !Array.isArray(nested.manifests)) throw bad(`index ${entry.digest} has no manifests list`);
      try {
        desc = options.selectManifest(nested);
      } catch (err) {
        throw bad(`index ${entry.digest}: ${errorMessage(err)}`);
      }
    }
    if (!isManifestMediaType(desc?.mediaType ?? '')) throw bad(`unsupported manifest media type ${JSON.stringify(desc?.mediaType)}`);
    // A manifest listed for another platform is skipped (an archive may carry only this host's blobs).
    if (desc === entry && entry.platform && !matchesHost(entry, options)) {
      skipped++;
      continue;
    }
    const name = nameFromAnnotations(entry.annotations, options);
    const known = byManifest.get(desc.digest);
    if (known) {
      if (name && !known.names.includes(name)) known.names.push(name);
      continue;
    }
    const manifestFile = staged.blob(desc, 'manifest');
    const { bytes: manifest, value } = await staged.json<ImageManifest>(manifestFile, `manifest ${desc.digest}`);
    if (!value || !value.config || !Array.isArray(value.layers)) throw bad(`manifest ${desc.digest} is malformed`);
    const configFile = staged.blob(value.config, 'image config');
    const { bytes: config, value: rawConfig } = await staged.json<unknown>(configFile, `image config ${value.config.digest}`);
    const parsedConfig = checkConfig(rawConfig, `image config ${value.config.digest}`);
    if (parsedConfig.rootfs.diff_ids.length !== value.layers.length) {
      throw bad(`manifest ${desc.digest} lists ${value.layers.length} layers but its config ${parsedConfig.rootfs.diff_ids.length}`);
    }
    const layers = value.layers.map((layer, n): ArchiveLayer => {
      const compression = layerCompression(layer?.mediaType ?? '');
      if (compression === undefined) throw bad(`unsupported layer media type ${JSON.stringify(layer?.mediaType)}`);
      const file = staged.blob(layer, 'layer');
      return { file: file.file, digest: layer.digest, size: file.size, mediaType: layer.mediaType, compression, diffId: parsedConfig.rootfs.diff_ids[n] as Digest };
    });
    const image: ArchiveImage = {
      config,
      configDigest: value.config.digest,
      parsedConfig,
      manifest,
      manifestDigest: desc.digest,
      manifestMediaType: desc.mediaType,
      layers,
      names: name ? [name] : [],
    };
    byManifest.set(desc.digest, image);
  }
  if (byManifest.size === 0 && skipped > 0) throw bad('no image in the archive is for this platform');
  return [...byManifest.values()];
}

function matchesHost(desc: Descriptor, options: ArchiveReadOptions): boolean {
  try {
    options.selectManifest({ schemaVersion: 2, manifests: [desc] });
    return true;
  } catch {
    return false;
  }
}

/**
 * The name of an index entry: containerd's `io.containerd.image.name`, else an
 * `org.opencontainers.image.ref.name` that is a full reference (a bare tag names no repository).
 */
function nameFromAnnotations(annotations: Record<string, string> | undefined, options: ArchiveReadOptions): string | undefined {
  const full = annotations?.['io.containerd.image.name'];
  if (full) return options.normalizeName(full);
  const ref = annotations?.['org.opencontainers.image.ref.name'];
  if (ref && /[/:]/.test(ref)) return options.normalizeName(ref);
  return undefined;
}

/** Stages and interprets an archive. Throws 'invalid-argument' for anything wrong with it. */
export async function readImageArchive(input: Readable, stagingDir: string, options: ArchiveReadOptions): Promise<ArchiveImage[]> {
  const staged = await stage(input, stagingDir);
  if (staged.resolve('manifest.json')) return dockerArchiveImages(staged, options);
  if (staged.resolve('oci-layout')) return ociLayoutImages(staged, options);
  throw bad('neither a docker archive (manifest.json) nor an OCI image layout (oci-layout, index.json)');
}

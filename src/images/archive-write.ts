/**
 * Writing image archives for `docker save`, in the format dockerd 25+ writes
 * (daemon/internal/image/tarexport/save.go): an OCI image layout (`oci-layout`, `index.json`,
 * `blobs/sha256/…` holding an OCI manifest per image, the config and the uncompressed layer tars
 * named by their diffIDs) plus the docker-archive index `manifest.json` and the legacy
 * `repositories` file. Entries come in the order a sorted directory walk gives (blobs/ first),
 * so the archive of the same images is byte-identical every time.
 */
import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import { sha256, type Digest } from '../core/digest.js';
import { MediaType } from '../oci/media-types.js';

export interface SaveLayer {
  diffId: Digest;
  /** Uncompressed size: the tar entry's size. */
  size: number;
  /** The uncompressed layer tar; it must be exactly `size` bytes hashing to `diffId`. */
  open(): Readable;
}

export interface SaveImage {
  configDigest: Digest;
  config: Buffer;
  created: Date;
  layers: SaveLayer[];
  /** The tags to record: fully qualified name, familiar `name:tag`, and the tag. */
  refs: Array<{ canonical: string; familiar: string; familiarName: string; tag: string }>;
}

interface Blob {
  digest: Digest;
  mtime: Date;
  size: number;
  body: Buffer | SaveLayer;
}

const epoch = new Date(0);

/** Builds the archive; the returned stream ends after the last image, or errors if a layer does. */
export function writeImageArchive(images: SaveImage[]): Readable {
  const pack = tar.pack();
  const blobs = new Map<Digest, Blob>();
  const manifestItems: Array<Record<string, unknown>> = [];
  const indexEntries: Array<Record<string, unknown>> = [];
  const repositories: Record<string, Record<string, string>> = {};

  for (const image of images) {
    blobs.set(image.configDigest, { digest: image.configDigest, mtime: image.created, size: image.config.length, body: image.config });
    for (const layer of image.layers) {
      if (!blobs.has(layer.diffId)) blobs.set(layer.diffId, { digest: layer.diffId, mtime: image.created, size: layer.size, body: layer });
    }
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        config: { mediaType: MediaType.ociConfig, digest: image.configDigest, size: image.config.length },
        layers: image.layers.map((l) => ({ mediaType: MediaType.ociLayer, digest: l.diffId, size: l.size })),
      }),
    );
    const manifestDigest = sha256(manifest);
    blobs.set(manifestDigest, { digest: manifestDigest, mtime: epoch, size: manifest.length, body: manifest });
    const untagged = { mediaType: MediaType.ociManifest, digest: manifestDigest, size: manifest.length };
    const top = image.layers.at(-1);
    for (const ref of image.refs) {
      indexEntries.push({ ...untagged, annotations: { 'io.containerd.image.name': ref.canonical, 'org.opencontainers.image.ref.name': ref.tag } });
      if (top) (repositories[ref.familiarName] ??= {})[ref.tag] = top.diffId.slice(7);
    }
    if (image.refs.length === 0) indexEntries.push(untagged);
    const layerSources: Record<string, unknown> = {};
    for (const l of image.layers) layerSources[l.diffId] = { mediaType: MediaType.ociLayer, digest: l.diffId, size: l.size };
    manifestItems.push({
      Config: `blobs/sha256/${image.configDigest.slice(7)}`,
      RepoTags: image.refs.length ? image.refs.map((r) => r.familiar) : null,
      Layers: image.layers.map((l) => `blobs/sha256/${l.diffId.slice(7)}`),
      ...(image.layers.length ? { LayerSources: layerSources } : {}),
    });
  }

  const index = JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: indexEntries });
  const run = async (): Promise<void> => {
    const dir = (name: string): void => {
      pack.entry({ name, type: 'directory', mode: 0o755, mtime: epoch });
    };
    const file = (name: string, body: Buffer | string, mtime = epoch): void => {
      pack.entry({ name, mode: 0o644, mtime }, typeof body === 'string' ? Buffer.from(body) : body);
    };
    dir('blobs/');
    dir('blobs/sha256/');
    for (const blob of [...blobs.values()].sort((a, b) => (a.digest < b.digest ? -1 : 1))) {
      const name = `blobs/sha256/${blob.digest.slice(7)}`;
      if (Buffer.isBuffer(blob.body)) {
        file(name, blob.body, blob.mtime);
        continue;
      }
      const layer = blob.body;
      await new Promise<void>((resolve, reject) => {
        const sink = pack.entry({ name, mode: 0o644, mtime: blob.mtime, size: blob.size }, (err) => (err ? reject(err) : resolve()));
        const source = layer.open();
        // A client that goes away destroys the pack: the layer's file and decompressor go with it.
        const onClose = (): void => void source.destroy();
        pack.once('close', onClose);
        source.once('close', () => pack.off('close', onClose));
        source.on('error', (err) => {
          sink.destroy(err);
          reject(err);
        });
        source.pipe(sink as unknown as NodeJS.WritableStream);
      });
    }
    file('index.json', index);
    file('manifest.json', JSON.stringify(manifestItems) + '\n');
    file('oci-layout', '{"imageLayoutVersion": "1.0.0"}');
    if (Object.keys(repositories).length) file('repositories', JSON.stringify(repositories) + '\n');
    pack.finalize();
  };
  run().catch((err: unknown) => pack.destroy(err instanceof Error ? err : new Error(String(err))));
  return pack as unknown as Readable;
}

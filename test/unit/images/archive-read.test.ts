import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { archiveEntryName, readImageArchive, type ArchiveReadOptions } from '../../../src/images/archive-read.js';
import { isBerthError } from '../../../src/core/errors.js';
import type { Descriptor, ImageIndex } from '../../../src/oci/image.js';

type Entry = { name: string; body?: Buffer | string; linkname?: string; type?: 'symlink' };

async function makeTar(entries: Entry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((resolve) => pack.on('end', resolve));
  for (const e of entries) {
    if (e.type === 'symlink') pack.entry({ name: e.name, type: 'symlink', linkname: e.linkname ?? '' });
    else pack.entry({ name: e.name }, typeof e.body === 'string' ? Buffer.from(e.body) : (e.body ?? Buffer.alloc(0)));
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

const sha = (b: Buffer | string): `sha256:${string}` => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const options: ArchiveReadOptions = {
  selectManifest: (index: ImageIndex): Descriptor => {
    const found = index.manifests.find((m) => m.platform?.architecture === 'amd64');
    if (!found) throw new Error('no matching manifest for linux/amd64 in the manifest list entries');
    return found;
  },
  normalizeName: (ref) => (/[^a-z0-9:._/-]/.test(ref) ? undefined : ref.includes(':') ? `docker.io/library/${ref}` : `docker.io/library/${ref}:latest`),
};

describe('image archive reader', () => {
  let dir: string;
  let layer: Buffer;
  let config: Buffer;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-archive-unit-'));
    layer = await makeTar([{ name: 'hello', body: 'world' }]);
    config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha(layer)] } }));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const read = async (archive: Buffer): Promise<Awaited<ReturnType<typeof readImageArchive>>> => {
    const staging = await mkdtemp(join(dir, 's-'));
    return readImageArchive(Readable.from([archive]), staging, options);
  };
  const refused = async (archive: Buffer, message: RegExp): Promise<void> => {
    await assert.rejects(read(archive), (err: unknown) => isBerthError(err, 'invalid-argument') && message.test((err as Error).message));
  };

  it('cleans entry names and refuses escaping ones', () => {
    assert.equal(archiveEntryName('./blobs/sha256/x'), 'blobs/sha256/x');
    assert.equal(archiveEntryName('a/b/../c/'), 'a/c');
    assert.throws(() => archiveEntryName('/etc/passwd'), /absolute path/);
    assert.throws(() => archiveEntryName('a/../../b'), /outside the archive/);
  });

  it('reads the old docker save layout: <id>/layer.tar, <hex>.json, symlinked duplicate layers, gzip layers', async () => {
    const gz = gzipSync(layer);
    const twoLayers = Buffer.from(JSON.stringify({ os: 'linux', architecture: 'amd64', rootfs: { type: 'layers', diff_ids: [sha(layer), sha(layer)] } }));
    const archive = await makeTar([
      { name: 'aaa/layer.tar', body: gz },
      { name: 'bbb/layer.tar', type: 'symlink', linkname: '../aaa/layer.tar' },
      { name: `${sha(twoLayers).slice(7)}.json`, body: twoLayers },
      { name: 'manifest.json', body: JSON.stringify([{ Config: `${sha(twoLayers).slice(7)}.json`, RepoTags: ['old:1'], Layers: ['aaa/layer.tar', 'bbb/layer.tar'] }]) },
    ]);
    const [image] = await read(archive);
    assert.ok(image);
    assert.equal(image.configDigest, sha(twoLayers));
    assert.deepEqual(image.names, ['docker.io/library/old:1']);
    assert.deepEqual(image.layers.map((l) => [l.compression, l.digest, l.diffId, l.mediaType]), [
      ['gzip', sha(gz), sha(layer), 'application/vnd.oci.image.layer.v1.tar+gzip'],
      ['gzip', sha(gz), sha(layer), 'application/vnd.oci.image.layer.v1.tar+gzip'],
    ]);
    const manifest = JSON.parse(image.manifest.toString()) as { config: { digest: string } };
    assert.equal(manifest.config.digest, image.configDigest);
    assert.equal(image.manifestDigest, sha(image.manifest));
  });

  it('reads an OCI layout, choosing the host platform from a nested index, naming from annotations', async () => {
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length }, layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha(layer), size: layer.length }] }));
    const nested = Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha('not here'), size: 8, platform: { os: 'linux', architecture: 'arm64' } },
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha(manifest), size: manifest.length, platform: { os: 'linux', architecture: 'amd64' } },
    ] }));
    const index = JSON.stringify({ schemaVersion: 2, manifests: [
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha('other platform, blobs absent'), size: 9, platform: { os: 'linux', architecture: 'arm64' } },
      { mediaType: 'application/vnd.oci.image.index.v1+json', digest: sha(nested), size: nested.length, annotations: { 'org.opencontainers.image.ref.name': 'multi:v1' } },
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha(manifest), size: manifest.length, annotations: { 'org.opencontainers.image.ref.name': 'bare-tag' } },
    ] });
    const blob = (b: Buffer): Entry => ({ name: `blobs/sha256/${sha(b).slice(7)}`, body: b });
    const images = await read(await makeTar([blob(layer), blob(config), blob(manifest), blob(nested), { name: 'index.json', body: index }, { name: 'oci-layout', body: '{"imageLayoutVersion":"1.0.0"}' }]));
    assert.equal(images.length, 1, 'both entries are the same manifest');
    assert.deepEqual(images[0]?.names, ['docker.io/library/multi:v1']);
    assert.equal(images[0]?.manifestDigest, sha(manifest));
    assert.equal(images[0]?.layers[0]?.compression, 'none');
  });

  it('refuses archives that are malformed or lie about their content', async () => {
    const wrongCount = Buffer.from(JSON.stringify({ os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
    await refused(await makeTar([{ name: 'x.json', body: wrongCount }, { name: 'l.tar', body: layer }, { name: 'manifest.json', body: JSON.stringify([{ Config: 'x.json', Layers: ['l.tar'] }]) }]), /layers length mismatch/);
    await refused(await makeTar([{ name: 'x.json', body: config }, { name: 'l.tar', body: await makeTar([{ name: 'other' }]) }, { name: 'manifest.json', body: JSON.stringify([{ Config: 'x.json', Layers: ['l.tar'] }]) }]), /digest mismatch/);
    await refused(await makeTar([{ name: 'x.json', body: config }, { name: 'manifest.json', body: JSON.stringify([{ Config: 'x.json', Layers: ['gone.tar'] }]) }]), /layer "gone.tar" is missing/);
    await refused(await makeTar([{ name: `blobs/sha256/${'0'.repeat(64)}`, body: config }, { name: 'l.tar', body: layer }, { name: 'manifest.json', body: JSON.stringify([{ Config: `blobs/sha256/${'0'.repeat(64)}`, Layers: ['l.tar'] }]) }]), /digest mismatch/);
    await refused(await makeTar([{ name: 'manifest.json', body: 'null' }]), /cannot be null/);
    await refused(await makeTar([{ name: 'manifest.json', body: '{' }]), /not valid JSON/);
    await refused(await makeTar([{ name: 'w.json', body: JSON.stringify({ os: 'windows', rootfs: { type: 'layers', diff_ids: [] } }) }, { name: 'manifest.json', body: JSON.stringify([{ Config: 'w.json', Layers: [] }]) }]), /cannot load windows image/);
    await refused(await makeTar([{ name: 'x.json', body: config }, { name: 'l.tar', body: layer }, { name: 'manifest.json', body: JSON.stringify([{ Config: 'x.json', RepoTags: ['Bad Name'], Layers: ['l.tar'] }]) }]), /invalid tag/);
    await refused(await makeTar([{ name: 'oci-layout', body: '{"imageLayoutVersion":"9"}' }]), /unsupported OCI layout version/);
    await refused(await makeTar([{ name: 'a/../../b', body: 'x' }]), /outside the archive/);
    await refused(await makeTar([{ name: 'readme', body: 'x' }]), /neither a docker archive/);
    await refused(await makeTar([]), /empty/);
  });

  it('keeps staged files inside the staging directory under its own names', async () => {
    const staging = await mkdtemp(join(dir, 'names-'));
    await assert.rejects(readImageArchive(Readable.from([await makeTar([{ name: 'deep/dir/file', body: 'x' }, { name: 'other', body: 'y' }])]), staging, options));
    assert.deepEqual((await readdir(staging)).sort(), ['f1', 'f2']);
  });
});

/**
 * Hostile and corrupt images served by a real registry: a layer that tries to write outside
 * its snapshot, and a blob whose bytes do not match its digest. The pull must fail with a
 * clear error and leave nothing behind (no snapshot, no blob, nothing outside the root).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, readdir, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import tar from 'tar-stream';
import { startBerthd, repoRoot, type Berthd } from '../helpers/berthd.js';

const execFileAsync = promisify(execFile);
const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function tarOf(entries: Array<{ header: Partial<tar.Header> & { name: string }; body?: string }>): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((r) => pack.on('end', () => r()));
  for (const e of entries) pack.entry(e.header, e.body ?? '');
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** Writes an OCI image layout with one uncompressed layer (what skopeo then pushes as-is). */
async function layoutWith(dir: string, layer: Buffer): Promise<void> {
  const blobs = join(dir, 'blobs/sha256');
  await mkdir(blobs, { recursive: true });
  const put = async (b: Buffer): Promise<string> => {
    const d = sha(b);
    await writeFile(join(blobs, d.slice(7)), b);
    return d;
  };
  const layerDigest = await put(layer);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['true'] }, rootfs: { type: 'layers', diff_ids: [layerDigest] } }));
  const configDigest = await put(config);
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size: layer.length }],
  }));
  const manifestDigest = await put(manifest);
  await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  await writeFile(join(dir, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: manifestDigest, size: manifest.length, annotations: { 'org.opencontainers.image.ref.name': 'latest' } }],
  }));
}

describe('hostile and corrupt images from a registry', () => {
  let d: Berthd;
  let work: string;
  let registry: string;
  const registryDir = (): string => join(work, 'registry');

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'berth-hostile-'));
    const { stdout } = await execFileAsync('bash', [join(repoRoot, 'scripts/fixtures/registry.sh'), 'start', registryDir()]);
    registry = stdout.trim();
    d = await startBerthd();
  });
  after(async () => {
    await d.destroy();
    await execFileAsync('bash', [join(repoRoot, 'scripts/fixtures/registry.sh'), 'stop', registryDir()]).catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  });

  const push = async (name: string, layer: Buffer): Promise<void> => {
    const layout = join(work, name);
    await layoutWith(layout, layer);
    await execFileAsync('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${layout}:latest`, `docker://${registry}/${name}:latest`]);
  };

  const snapshotsAndBlobs = async (): Promise<string[]> => [
    ...(await readdir(join(d.root, 'data/snapshots/layers'))),
    ...(await readdir(join(d.root, 'data/content/blobs/sha256'))),
    ...(await readdir(join(d.root, 'data/snapshots/tmp'))),
  ].sort();

  it('refuses a layer whose entries climb out of the snapshot', async () => {
    const target = join(work, 'escaped-file');
    const depth = '../'.repeat(12);
    await push('escape', await tarOf([
      { header: { name: 'ok.txt', type: 'file', mode: 0o644 }, body: 'fine' },
      { header: { name: `${depth}${target.slice(1)}`, type: 'file', mode: 0o644 }, body: 'pwned' },
    ]));
    const before = await snapshotsAndBlobs();
    const pull = await d.docker(['pull', `${registry}/escape:latest`]);
    assert.equal(pull.code, 1);
    assert.match(pull.stderr + pull.stdout, /\.\.|outside|escape/i);
    assert.equal(existsSync(target), false);
    // Only verified blobs may stay (they are content, not unpacked data); no layer and no temp dir.
    const after = await snapshotsAndBlobs();
    assert.deepEqual(after.filter((e) => !before.includes(e) && !/^[a-f0-9]{64}$/.test(e)), []);
    assert.deepEqual(await readdir(join(d.root, 'data/snapshots/tmp')), []);
    const images = await d.docker(['images', '-q', `${registry}/escape`]);
    assert.equal(images.stdout.trim(), '');
  });

  it('refuses a symlink that points a later entry outside the snapshot', async () => {
    const outside = join(work, 'outside-dir');
    await mkdir(outside);
    await push('symlink', await tarOf([
      { header: { name: 'link', type: 'symlink', linkname: outside } },
      { header: { name: 'link/planted', type: 'file', mode: 0o644 }, body: 'pwned' },
    ]));
    const pull = await d.docker(['pull', `${registry}/symlink:latest`]);
    assert.equal(pull.code, 0, pull.stderr);
    // Like Docker, the absolute symlink is resolved as if the snapshot were `/`: the file lands inside it.
    assert.deepEqual(await readdir(outside), []);
    const layers = await readdir(join(d.root, 'data/snapshots/layers'));
    const planted = layers.map((l) => join(d.root, 'data/snapshots/layers', l, 'fs', outside, 'planted')).filter((p) => existsSync(p));
    assert.equal(planted.length, 1);
    assert.equal(await readFile(planted[0] as string, 'utf8'), 'pwned');
  });

  it('fails a pull whose blob does not match its digest and commits nothing', async () => {
    await push('corrupt', await tarOf([{ header: { name: 'data.txt', type: 'file', mode: 0o644 }, body: 'original bytes' }]));
    // Replace the layer's bytes inside the registry's storage with same-size garbage.
    const { stdout } = await execFileAsync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry}/corrupt:latest`]);
    const layerDigest = (JSON.parse(stdout) as { layers: Array<{ digest: string }> }).layers[0]?.digest ?? '';
    const hex = layerDigest.slice(7);
    const dataPath = join(registryDir(), 'storage/docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
    const original = await readFile(dataPath);
    await writeFile(dataPath, Buffer.alloc(original.length, 0x41));
    const before = await snapshotsAndBlobs();
    const pull = await d.docker(['pull', `${registry}/corrupt:latest`]);
    assert.equal(pull.code, 1);
    assert.match(pull.stderr + pull.stdout, /digest/i);
    const after = await snapshotsAndBlobs();
    assert.equal(after.includes(hex), false);
    assert.deepEqual(after.filter((e) => !before.includes(e) && !/^[a-f0-9]{64}$/.test(e)), []);
    assert.deepEqual(await readdir(join(d.root, 'data/snapshots/tmp')), []);
  });
});

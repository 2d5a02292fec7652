/**
 * The bundled default image `busybox:latest`, built from the host's busybox-static binary so
 * berth runs something useful with no registry at all. The layer is deterministic (fixed
 * mtimes, sorted entries): the same busybox binary always gives the same image ID.
 */
import { execFile } from 'node:child_process';
import { readFile, access } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import tar from 'tar-stream';
import type { ContentStore } from '../content/store.js';
import { chainIds, sha256, type Digest } from '../core/digest.js';
import type { ImageConfig, ImageManifest } from '../oci/image.js';
import { MediaType } from '../oci/media-types.js';
import type { ImageStore } from '../images/store.js';
import type { OverlaySnapshotter } from '../snapshots/overlay.js';

const execFileAsync = promisify(execFile);
export const DEFAULT_IMAGE_NAME = 'docker.io/library/busybox:latest';
const epoch = new Date('2024-01-01T00:00:00Z');

const passwd = 'root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n';
const group = 'root:x:0:\ndaemon:x:1:\ntty:x:5:\nnogroup:x:65534:\n';

async function buildLayer(busyboxPath: string): Promise<Buffer> {
  const binary = await readFile(busyboxPath);
  const { stdout } = await execFileAsync(busyboxPath, ['--list']);
  const applets = [...new Set(stdout.split('\n').map((s) => s.trim()).filter((s) => s && s !== 'busybox' && !s.includes('/')))].sort();
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((resolve, reject) => {
    pack.on('end', resolve);
    pack.on('error', reject);
  });
  const dir = (name: string, mode = 0o755): void => {
    pack.entry({ name, type: 'directory', mode, mtime: epoch, uid: 0, gid: 0 });
  };
  const file = (name: string, content: string | Buffer, mode = 0o644): void => {
    pack.entry({ name, type: 'file', mode, mtime: epoch, uid: 0, gid: 0 }, content);
  };
  dir('bin/');
  file('bin/busybox', binary, 0o755);
  for (const applet of applets) pack.entry({ name: `bin/${applet}`, type: 'symlink', linkname: 'busybox', mode: 0o777, mtime: epoch, uid: 0, gid: 0 });
  dir('dev/');
  dir('etc/');
  file('etc/group', group);
  file('etc/passwd', passwd);
  dir('home/');
  dir('proc/');
  dir('root/', 0o700);
  dir('sys/');
  dir('tmp/', 0o1777);
  dir('usr/');
  dir('var/');
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** Stores busybox:latest from the host's busybox-static unless that name already exists. */
export async function ensureDefaultImage(
  deps: { content: ContentStore; images: ImageStore; snapshots: OverlaySnapshotter },
  busyboxPath = '/bin/busybox',
): Promise<Digest | undefined> {
  const existing = deps.images.idForName(DEFAULT_IMAGE_NAME);
  if (existing) return existing;
  if (!(await access(busyboxPath).then(() => true, () => false))) return undefined;
  const layer = await buildLayer(busyboxPath);
  const diffId = sha256(layer);
  await deps.content.writeBlob(layer, diffId);
  const config: ImageConfig = {
    created: epoch.toISOString(),
    architecture: process.arch === 'x64' ? 'amd64' : process.arch,
    os: 'linux',
    config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'] },
    rootfs: { type: 'layers', diff_ids: [diffId] },
    history: [{ created: epoch.toISOString(), created_by: 'berth: busybox-static from the host', comment: 'bundled default image' }],
  };
  const configBytes = Buffer.from(JSON.stringify(config));
  const configDigest = await deps.content.writeBlob(configBytes);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: configDigest, size: configBytes.length },
    layers: [{ mediaType: MediaType.ociLayer, digest: diffId, size: layer.length }],
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  const manifestDigest = await deps.content.writeBlob(manifestBytes);
  const chains = chainIds([diffId]);
  const chain = chains[0] as Digest;
  if (!(await deps.snapshots.has(chain))) await deps.snapshots.unpackLayer(chain, Readable.from([layer]), 'none', diffId);
  deps.images.put(
    {
      id: configDigest,
      manifestDigest,
      manifestMediaType: MediaType.ociManifest,
      config,
      layers: manifest.layers,
      chainIds: chains,
      size: layer.length,
      repoDigests: [],
      addedAt: Date.now(),
    },
    [DEFAULT_IMAGE_NAME],
  );
  return configDigest;
}

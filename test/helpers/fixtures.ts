/**
 * Test fixtures: images built by umoci/GNU tar (never by berth) and a real distribution
 * registry on loopback to pull them from. See scripts/fixtures/.
 *
 *   const fx = await fixtures();
 *   fx.images.busybox            // "127.0.0.1:PORT/busybox:latest"
 *   fx.digests.busybox.layers    // exactly what a pull must store
 *   fx.layoutDir('busybox')      // the OCI image layout it was pushed from
 *
 * If BERTH_TEST_REGISTRY (host:port) is set, the suite runner's registry is used (the images
 * are pushed to it only if they are missing or differ). Otherwise this process builds the
 * images (cached in BERTH_FIXTURES_DIR, default <repo>/.cache/fixtures), starts its own
 * registry in a temp dir, pushes, and stops the registry when the process exits (a watchdog
 * also stops it if the process is killed). The result is memoised per process.
 */
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Digest } from '../../src/core/digest.js';

export type FixtureImage = 'busybox' | 'busyboxMulti' | 'busyboxDocker' | 'busyboxIndex' | 'debian' | 'debianPython';

export interface FixturePlatform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface ImageDigests {
  /** Digest of the manifest (or, for busyboxIndex, the index) the tag points to. */
  manifest: Digest;
  mediaType: string;
  /** Config and layers of the image; for an index, of the entry for the host platform. */
  config: Digest;
  /** Compressed layer blob digests, bottom first. */
  layers: Digest[];
  /** Uncompressed layer digests (config rootfs.diff_ids), bottom first. */
  diffIds: Digest[];
  /** Only for an index: every entry, in index order. */
  platforms?: Array<{ platform: FixturePlatform; manifest: Digest; config: Digest; layers: Digest[]; diffIds: Digest[] }>;
}

export interface Fixtures {
  /** "127.0.0.1:PORT" — plain HTTP, no auth, deletes enabled. */
  registry: string;
  /** Full references, all tagged latest. debian/debianPython only with BERTH_FIXTURES_DEBIAN=1. */
  images: {
    /** 1 layer: busybox-static + applet symlinks in /bin, passwd/group with berthuser (1000). Cmd ["sh"]. */
    busybox: string;
    /** 3 layers: busybox; +/data/{a,b} +/opq/{x,y}; whiteout data/.wh.a + opaque /opq with only z. */
    busyboxMulti: string;
    /** busybox as a Docker schema2 manifest (same config and layer blobs). */
    busyboxDocker: string;
    /** OCI index: busybox for the host arch + an arm64 (or amd64 on arm64 hosts) relabelled copy. */
    busyboxIndex: string;
    debian?: string;
    debianPython?: string;
  };
  digests: Record<'busybox' | 'busyboxMulti' | 'busyboxDocker' | 'busyboxIndex', ImageDigests> &
    Partial<Record<'debian' | 'debianPython', ImageDigests>>;
  /** OCI image layout of a fixture: 'busybox' | 'busybox-multi' | 'busybox-index' | 'debian' | 'debian-python'. */
  layoutDir(name: string): string;
  /** The fixtures cache (BERTH_FIXTURES_DIR or <repo>/.cache/fixtures). */
  cacheDir: string;
  /** dpkg architecture of this machine (amd64, arm64, ...). */
  hostArch: string;
}

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.manifest.v1+json',
  OCI_INDEX,
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

/** Repository name in the registry and layout name, per fixture. */
const repos: Record<FixtureImage, { repo: string; layout: string | null }> = {
  busybox: { repo: 'busybox', layout: 'busybox' },
  busyboxMulti: { repo: 'busybox-multi', layout: 'busybox-multi' },
  busyboxDocker: { repo: 'busybox-docker', layout: null },
  busyboxIndex: { repo: 'busybox-index', layout: 'busybox-index' },
  debian: { repo: 'debian', layout: 'debian' },
  debianPython: { repo: 'debian-python', layout: 'debian-python' },
};

function findRepoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg) && existsSync(path.join(dir, 'scripts', 'fixtures'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('fixtures: cannot find the berth repository root');
    dir = parent;
  }
}

const repoRoot = findRepoRoot();
const scriptsDir = path.join(repoRoot, 'scripts', 'fixtures');

function run(
  file: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<{ stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      {
        encoding: 'buffer',
        maxBuffer: 64 << 20,
        env: options.env ?? process.env,
        timeout: options.timeoutMs ?? 0,
        killSignal: 'SIGTERM',
      },
      (err, stdout, stderr) => {
        const errText = stderr.toString('utf8');
        if (err) {
          reject(new Error(`fixtures: ${[file, ...args].join(' ')} failed: ${err.message}\n${errText}`, { cause: err }));
        } else {
          if (process.env.BERTH_FIXTURES_VERBOSE) process.stderr.write(errText);
          resolve({ stdout, stderr: errText });
        }
      },
    );
  });
}

function sha256(data: Uint8Array): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

function asDigest(value: unknown, what: string): Digest {
  if (typeof value !== 'string' || !/^sha256:[a-f0-9]{64}$/.test(value)) {
    throw new Error(`fixtures: ${what} is not a sha256 digest: ${String(value)}`);
  }
  return value as Digest;
}

interface Descriptor {
  mediaType?: string;
  digest: string;
  size: number;
  platform?: FixturePlatform;
  annotations?: Record<string, string>;
}

interface ManifestDoc {
  mediaType?: string;
  config?: Descriptor;
  layers?: Descriptor[];
  manifests?: Descriptor[];
}

/** Reads a fixture's digests from its OCI image layout (the bytes that were pushed). */
async function layoutDigests(layout: string): Promise<ImageDigests> {
  const blob = async (digest: string): Promise<Buffer> => {
    const d = asDigest(digest, `blob in ${layout}`);
    const data = await readFile(path.join(layout, 'blobs', 'sha256', d.slice('sha256:'.length)));
    if (sha256(data) !== d) throw new Error(`fixtures: blob ${d} in ${layout} does not match its digest`);
    return data;
  };
  const index = JSON.parse(await readFile(path.join(layout, 'index.json'), 'utf8')) as ManifestDoc;
  const top = index.manifests?.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === 'latest');
  if (!top) throw new Error(`fixtures: ${layout} has no tag "latest"`);
  const image = async (digest: string): Promise<{ config: Digest; layers: Digest[]; diffIds: Digest[] }> => {
    const manifest = JSON.parse((await blob(digest)).toString('utf8')) as ManifestDoc;
    if (!manifest.config || !manifest.layers) throw new Error(`fixtures: ${digest} in ${layout} is not an image manifest`);
    const config = asDigest(manifest.config.digest, 'config digest');
    const configDoc = JSON.parse((await blob(config)).toString('utf8')) as { rootfs?: { diff_ids?: string[] } };
    return {
      config,
      layers: manifest.layers.map((l) => asDigest(l.digest, 'layer digest')),
      diffIds: (configDoc.rootfs?.diff_ids ?? []).map((d) => asDigest(d, 'diff_id')),
    };
  };
  const manifest = asDigest(top.digest, 'manifest digest');
  const mediaType = top.mediaType ?? 'application/vnd.oci.image.manifest.v1+json';
  if (mediaType !== OCI_INDEX) return { manifest, mediaType, ...(await image(manifest)) };
  const doc = JSON.parse((await blob(manifest)).toString('utf8')) as ManifestDoc;
  const platforms: NonNullable<ImageDigests['platforms']> = [];
  for (const entry of doc.manifests ?? []) {
    if (!entry.platform) throw new Error(`fixtures: index entry ${entry.digest} in ${layout} has no platform`);
    platforms.push({ platform: entry.platform, manifest: asDigest(entry.digest, 'index entry'), ...(await image(entry.digest)) });
  }
  const host = platforms.find((p) => p.platform.os === 'linux' && p.platform.architecture === hostArch()) ?? platforms[0];
  if (!host) throw new Error(`fixtures: empty index in ${layout}`);
  return { manifest, mediaType, config: host.config, layers: host.layers, diffIds: host.diffIds, platforms };
}

/** Reads an image's digests from the registry with `skopeo inspect --raw` (exact bytes). */
async function registryDigests(ref: string): Promise<ImageDigests> {
  const skopeo = (...args: string[]) => run('skopeo', ['inspect', '--tls-verify=false', ...args, `docker://${ref}`]);
  const raw = (await skopeo('--raw')).stdout;
  const doc = JSON.parse(raw.toString('utf8')) as ManifestDoc;
  if (!doc.config || !doc.layers) throw new Error(`fixtures: ${ref} is not an image manifest`);
  const configDoc = JSON.parse((await skopeo('--raw', '--config')).stdout.toString('utf8')) as {
    rootfs?: { diff_ids?: string[] };
  };
  return {
    manifest: sha256(raw),
    mediaType: doc.mediaType ?? 'application/vnd.oci.image.manifest.v1+json',
    config: asDigest(doc.config.digest, 'config digest'),
    layers: doc.layers.map((l) => asDigest(l.digest, 'layer digest')),
    diffIds: (configDoc.rootfs?.diff_ids ?? []).map((d) => asDigest(d, 'diff_id')),
  };
}

/** Digest of what the registry serves for repo:latest, or null if absent. */
async function registryManifestDigest(registry: string, repo: string): Promise<string | null> {
  const res = await fetch(`http://${registry}/v2/${repo}/manifests/latest`, {
    method: 'HEAD',
    headers: { Accept: MANIFEST_ACCEPT },
  });
  return res.ok ? res.headers.get('docker-content-digest') : null;
}

let hostArchCache: string | undefined;
function hostArch(): string {
  if (hostArchCache === undefined) {
    const out = spawnSync('dpkg', ['--print-architecture'], { encoding: 'utf8' });
    hostArchCache =
      out.status === 0 && out.stdout.trim() !== ''
        ? out.stdout.trim()
        : ({ x64: 'amd64', arm64: 'arm64', arm: 'armhf', ia32: 'i386' } as Record<string, string>)[process.arch] ?? process.arch;
  }
  return hostArchCache;
}

export function fixturesCacheDir(): string {
  return path.resolve(process.env.BERTH_FIXTURES_DIR || path.join(repoRoot, '.cache', 'fixtures'));
}

/** Builds the image layouts if they are missing or stale (a no-op taking ~0.1 s otherwise). */
export async function buildFixtureImages(): Promise<void> {
  await run('bash', [path.join(scriptsDir, 'build-images.sh')], { timeoutMs: 60 * 60_000 });
}

let ownRegistryDir: string | undefined;
let exitHooksInstalled = false;

/** Stops the registry this process started (if any). Synchronous so it can run at exit. */
export function stopFixtureRegistry(): void {
  const dir = ownRegistryDir;
  if (dir === undefined) return;
  ownRegistryDir = undefined;
  memo = undefined;
  spawnSync('bash', [path.join(scriptsDir, 'registry.sh'), 'stop', dir], { stdio: 'ignore', timeout: 30_000 });
  rmSync(dir, { recursive: true, force: true });
}

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.once('exit', stopFixtureRegistry);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      stopFixtureRegistry();
      process.kill(process.pid, signal); // the default action now that our listener is gone
    });
  }
}

async function startOwnRegistry(): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'berth-test-registry-'));
  ownRegistryDir = dir;
  installExitHooks();
  const { stdout } = await run('bash', [path.join(scriptsDir, 'registry.sh'), 'start', dir], {
    env: { ...process.env, BERTH_REGISTRY_WATCH_PID: String(process.pid), BERTH_REGISTRY_WATCH_RMDIR: '1' },
    timeoutMs: 120_000,
  });
  const registry = stdout.toString('utf8').trim().split('\n').pop() ?? '';
  if (!/^127\.0\.0\.1:\d+$/.test(registry)) throw new Error(`fixtures: registry.sh start printed "${registry}"`);
  await run('bash', [path.join(scriptsDir, 'push.sh'), dir], { timeoutMs: 20 * 60_000 });
  return registry;
}

async function load(): Promise<Fixtures> {
  await buildFixtureImages();
  const cacheDir = fixturesCacheDir();
  const imagesDir = path.join(cacheDir, 'images');
  const debian = process.env.BERTH_FIXTURES_DEBIAN === '1';
  const wanted: FixtureImage[] = ['busybox', 'busyboxMulti', 'busyboxDocker', 'busyboxIndex'];
  if (debian) wanted.push('debian', 'debianPython');

  const fromLayouts = new Map<FixtureImage, ImageDigests>();
  for (const name of wanted) {
    const layout = repos[name].layout;
    if (layout !== null) fromLayouts.set(name, await layoutDigests(path.join(imagesDir, layout)));
  }

  let registry = process.env.BERTH_TEST_REGISTRY?.trim();
  if (registry) {
    // The suite runner's registry: push only if something is missing or differs.
    const checks = await Promise.all(
      wanted.map(async (name) => {
        const have = await registryManifestDigest(registry as string, repos[name].repo);
        const want = fromLayouts.get(name)?.manifest;
        return have !== null && (want === undefined || have === want);
      }),
    );
    if (checks.includes(false)) await run('bash', [path.join(scriptsDir, 'push.sh'), registry], { timeoutMs: 20 * 60_000 });
  } else {
    registry = await startOwnRegistry();
  }

  const images: Fixtures['images'] = {
    busybox: `${registry}/busybox:latest`,
    busyboxMulti: `${registry}/busybox-multi:latest`,
    busyboxDocker: `${registry}/busybox-docker:latest`,
    busyboxIndex: `${registry}/busybox-index:latest`,
  };
  if (debian) {
    images.debian = `${registry}/debian:latest`;
    images.debianPython = `${registry}/debian-python:latest`;
  }
  const digest = (name: FixtureImage): ImageDigests => {
    const d = fromLayouts.get(name);
    if (!d) throw new Error(`fixtures: no digests for ${name}`);
    return d;
  };
  const digests: Fixtures['digests'] = {
    busybox: digest('busybox'),
    busyboxMulti: digest('busyboxMulti'),
    busyboxIndex: digest('busyboxIndex'),
    busyboxDocker: await registryDigests(images.busyboxDocker),
  };
  if (debian) {
    digests.debian = digest('debian');
    digests.debianPython = digest('debianPython');
  }
  return {
    registry,
    images,
    digests,
    cacheDir,
    hostArch: hostArch(),
    layoutDir(name: string): string {
      const dir = path.join(imagesDir, name);
      if (!/^[a-z0-9-]+$/.test(name) || !existsSync(path.join(dir, 'index.json'))) {
        throw new Error(`fixtures: no OCI layout "${name}" in ${imagesDir}`);
      }
      return dir;
    },
  };
}

let memo: Promise<Fixtures> | undefined;

/** The test fixtures (built, pushed and served once per process). */
export function fixtures(): Promise<Fixtures> {
  if (memo === undefined) {
    memo = load().catch((err: unknown) => {
      memo = undefined;
      stopFixtureRegistry();
      throw err;
    });
  }
  return memo;
}

/** The exact bytes of a blob in a fixture layout (e.g. to compare with what a pull stored). */
export function layoutBlob(layoutDir: string, digest: string): Buffer {
  const d = asDigest(digest, 'digest');
  return readFileSync(path.join(layoutDir, 'blobs', 'sha256', d.slice('sha256:'.length)));
}

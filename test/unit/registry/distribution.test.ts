/**
 * Against a real distribution registry (Debian's docker-registry) on 127.0.0.1, with images
 * made by umoci and pushed by skopeo — tools that are not berth.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { access, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { constants } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { RegistryClient, selectPlatformManifest } from '../../../src/registry/client.js';
import { parseReference } from '../../../src/registry/reference.js';
import { ContentStore } from '../../../src/content/store.js';
import { sha256, type Digest } from '../../../src/core/digest.js';
import { isBerthError } from '../../../src/core/errors.js';
import { MediaType } from '../../../src/oci/media-types.js';
import type { ImageIndex, ImageManifest, ImageConfig } from '../../../src/oci/image.js';
import { freePort } from './helpers.js';

const run = promisify(execFile);

async function haveTools(): Promise<boolean> {
  for (const bin of ['/usr/bin/docker-registry', '/usr/bin/skopeo', '/usr/bin/umoci']) {
    try {
      await access(bin, constants.X_OK);
    } catch {
      return false;
    }
  }
  return true;
}

interface LayoutIndexEntry {
  mediaType: string;
  digest: Digest;
  size: number;
  annotations?: Record<string, string>;
  platform?: { architecture: string; os: string };
}

describe('RegistryClient against docker-registry + skopeo + umoci', async () => {
  const available = await haveTools();
  let dir: string;
  let registry: ChildProcess | undefined;
  let host: string;
  let client: RegistryClient;
  let layoutIndex: { manifests: LayoutIndexEntry[] };
  const layoutDigest = (name: string): Digest => {
    const e = layoutIndex.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === name);
    assert.ok(e, `layout has ${name}`);
    return e.digest;
  };

  before(async () => {
    if (!available) return;
    dir = await mkdtemp(join(tmpdir(), 'berth-distribution-'));
    const layout = join(dir, 'oci');
    const files = join(dir, 'files');
    await mkdir(files);
    await writeFile(join(files, 'hello.txt'), 'hello from berth tests\n');
    await writeFile(join(files, 'big.bin'), randomBytes(1024 * 1024));
    await writeFile(join(files, 'arm.txt'), 'arm64 only\n');
    await run('umoci', ['init', '--layout', layout]);
    await run('umoci', ['new', '--image', `${layout}:amd`]);
    await run('umoci', ['config', '--image', `${layout}:amd`, '--architecture', 'amd64', '--os', 'linux', '--config.cmd', '/bin/true']);
    await run('umoci', ['insert', '--rootless', '--image', `${layout}:amd`, join(files, 'hello.txt'), '/hello.txt']);
    await run('umoci', ['insert', '--rootless', '--image', `${layout}:amd`, join(files, 'big.bin'), '/big.bin']);
    await run('umoci', ['new', '--image', `${layout}:arm`]);
    await run('umoci', ['config', '--image', `${layout}:arm`, '--architecture', 'arm64', '--os', 'linux']);
    await run('umoci', ['insert', '--rootless', '--image', `${layout}:arm`, join(files, 'arm.txt'), '/arm.txt']);

    // Hand-written OCI index over both images (arm64 listed first), tagged "multi" in the layout.
    layoutIndex = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8'));
    const entries = ['arm', 'amd'].map((name) => {
      const e = layoutIndex.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === name);
      assert.ok(e);
      return { mediaType: e.mediaType, digest: e.digest, size: e.size, platform: { architecture: name === 'amd' ? 'amd64' : 'arm64', os: 'linux' } };
    });
    const indexBytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: entries }));
    const indexDigest = sha256(indexBytes);
    await writeFile(join(layout, 'blobs', 'sha256', indexDigest.slice(7)), indexBytes);
    layoutIndex.manifests.push({
      mediaType: MediaType.ociIndex,
      digest: indexDigest,
      size: indexBytes.length,
      annotations: { 'org.opencontainers.image.ref.name': 'multi' },
    });
    await writeFile(join(layout, 'index.json'), JSON.stringify(layoutIndex));

    const port = await freePort();
    host = `127.0.0.1:${port}`;
    const configPath = join(dir, 'registry.yml');
    await writeFile(
      configPath,
      [
        'version: 0.1',
        'log:',
        '  level: error',
        'storage:',
        '  filesystem:',
        `    rootdirectory: ${join(dir, 'registry-data')}`,
        'http:',
        `  addr: ${host}`,
        '',
      ].join('\n'),
    );
    registry = spawn('/usr/bin/docker-registry', ['serve', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    registry.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        const res = await fetch(`http://${host}/v2/`);
        if (res.status === 200) break;
      } catch {
        // not up yet
      }
      if (registry.exitCode !== null || Date.now() > deadline) throw new Error(`docker-registry did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const copy = (src: string, dest: string, extra: string[] = []) =>
      run('skopeo', ['--insecure-policy', 'copy', '--quiet', '--dest-tls-verify=false', ...extra, src, dest]);
    await copy(`oci:${layout}:amd`, `docker://${host}/test/img:v1`);
    await copy(`oci:${layout}:amd`, `docker://${host}/test/img:v2s2`, ['--format', 'v2s2']);
    await copy(`oci:${layout}:multi`, `docker://${host}/test/multi:1`, ['--multi-arch', 'all']);
    client = new RegistryClient({ insecureRegistries: [], retryDelayMs: 10 });
  });

  after(async () => {
    await client?.close();
    if (registry && registry.exitCode === null && registry.pid !== undefined) {
      const exited = new Promise((resolve) => registry?.once('exit', resolve));
      process.kill(registry.pid, 'SIGTERM');
      await exited;
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('resolve by tag and by digest (OCI manifest exactly as pushed)', { skip: !available && 'docker-registry/skopeo/umoci not installed' }, async () => {
    const byTag = await client.resolve(`${host}/test/img:v1`);
    assert.equal(byTag.digest, layoutDigest('amd'), 'same digest as umoci wrote');
    assert.equal(byTag.mediaType, MediaType.ociManifest);
    const byDigest = await client.resolve(`${host}/test/img@${byTag.digest}`);
    assert.deepEqual(byDigest.bytes, byTag.bytes);
    assert.equal(byDigest.digest, byTag.digest);
  });

  test('ingest config and layers into the ContentStore; stored digests equal the manifest', { skip: !available }, async () => {
    const store = new ContentStore(join(dir, 'content-pull'));
    await store.init();
    const ref = parseReference(`${host}/test/img:v1`);
    const resolved = await client.resolve(ref);
    await store.writeBlob(resolved.bytes, resolved.digest);
    const manifest = JSON.parse(resolved.bytes.toString()) as ImageManifest;
    assert.equal(manifest.layers.length, 2);
    await Promise.all([manifest.config, ...manifest.layers].map((d) => client.fetchBlob(ref, d, store)));
    for (const d of [manifest.config, ...manifest.layers]) {
      assert.ok(await store.has(d.digest));
      assert.equal(await store.size(d.digest), d.size);
      const bytes = await readFile(store.blobPath(d.digest));
      assert.equal(`sha256:${createHash('sha256').update(bytes).digest('hex')}`, d.digest);
    }
    const cfg = JSON.parse((await store.readBytes(manifest.config.digest)).toString()) as ImageConfig;
    assert.equal(cfg.architecture, 'amd64');
    assert.deepEqual(cfg.config?.Cmd, ['/bin/true']);
    assert.equal(cfg.rootfs.diff_ids.length, 2);
    assert.deepEqual((await store.list()).sort(), [resolved.digest, manifest.config.digest, ...manifest.layers.map((l) => l.digest)].sort());
  });

  test('Docker schema2 manifest (skopeo --format v2s2)', { skip: !available }, async () => {
    const resolved = await client.resolve(`${host}/test/img:v2s2`);
    assert.equal(resolved.mediaType, MediaType.dockerManifest);
    const manifest = JSON.parse(resolved.bytes.toString()) as ImageManifest;
    assert.equal(manifest.config.mediaType, MediaType.dockerConfig);
    assert.equal(manifest.layers[0]?.mediaType, MediaType.dockerLayerGzip);
  });

  test('multi-arch index: select platform, fetch that manifest by digest', { skip: !available }, async () => {
    const resolved = await client.resolve(`${host}/test/multi:1`);
    assert.equal(resolved.mediaType, MediaType.ociIndex);
    const index = JSON.parse(resolved.bytes.toString()) as ImageIndex;
    const amd = selectPlatformManifest(index, { os: 'linux', architecture: 'x86_64' });
    const arm = selectPlatformManifest(index, { os: 'linux', architecture: 'aarch64' });
    assert.equal(amd.digest, layoutDigest('amd'));
    assert.equal(arm.digest, layoutDigest('arm'));
    const fetched = await client.fetchManifest(`${host}/test/multi`, arm.digest);
    assert.equal(sha256(fetched.bytes), arm.digest);
    const armManifest = JSON.parse(fetched.bytes.toString()) as ImageManifest;
    const store = new ContentStore(join(dir, 'content-arm'));
    await store.init();
    await client.fetchBlob(`${host}/test/multi`, armManifest.config, store);
    const cfg = JSON.parse((await store.readBytes(armManifest.config.digest)).toString()) as ImageConfig;
    assert.equal(cfg.architecture, 'arm64');
  });

  test('unknown tag and unknown repository → not-found with the registry message', { skip: !available }, async () => {
    await assert.rejects(client.resolve(`${host}/test/img:nosuchtag`), (e: unknown) => {
      assert.ok(isBerthError(e, 'not-found'));
      assert.equal(e.message, `manifest for ${host}/test/img:nosuchtag not found: manifest unknown`);
      return true;
    });
    await assert.rejects(client.resolve(`${host}/nosuchrepo`), (e: unknown) => {
      assert.ok(isBerthError(e, 'not-found'));
      assert.match(e.message, new RegExp(`^manifest for ${host.replace(/\./g, '\\.')}/nosuchrepo:latest not found: `));
      return true;
    });
  });

  test('an interrupted layer download resumes from the stored offset with a real Range request', { skip: !available }, async () => {
    const ref = parseReference(`${host}/test/img:v1`);
    const manifest = JSON.parse((await client.resolve(ref)).bytes.toString()) as ImageManifest;
    const big = [...manifest.layers].sort((a, b) => b.size - a.size)[0];
    assert.ok(big && big.size > 500_000, 'the random 1 MiB layer');
    const store = new ContentStore(join(dir, 'content-resume'));
    await store.init();
    const cut = Math.floor(big.size / 3);
    // First try: the stream dies after `cut` bytes, no retries.
    const broken = async (offset: number): Promise<Readable> => {
      const body = await client.openBlob(ref, big, offset);
      let seen = 0;
      async function* truncated(): AsyncGenerator<Buffer> {
        try {
          for await (const chunk of body as AsyncIterable<Buffer>) {
            const room = cut - seen;
            if (chunk.length >= room) {
              yield chunk.subarray(0, room);
              throw Object.assign(new Error('simulated connection reset'), { code: 'ECONNRESET' });
            }
            seen += chunk.length;
            yield chunk;
          }
        } finally {
          body.destroy();
        }
      }
      return Readable.from(truncated());
    };
    await assert.rejects(store.ingest('layer', big, broken), /simulated connection reset/);
    assert.equal((await store.ingestStatus('layer'))?.offset, cut);
    const offsets: number[] = [];
    await store.ingest('layer', big, (offset) => {
      offsets.push(offset);
      return client.openBlob(ref, big, offset);
    });
    assert.deepEqual(offsets, [cut]);
    assert.equal(sha256(await readFile(store.blobPath(big.digest))), big.digest);
  });
});

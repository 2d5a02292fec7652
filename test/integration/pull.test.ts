/** Pulling from a real registry (Debian's docker-registry with images built by umoci/skopeo). */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { chainIds } from '../../src/core/digest.js';
import { applyLayer } from '../../src/core/tar-apply.js';
import { readMountInfo } from '../../src/core/mountinfo.js';
import { mountsUnder, processesMentioning, startBerthd, type Berthd } from '../helpers/berthd.js';
import { fixtures, type Fixtures } from '../helpers/fixtures.js';
import { loopDevicesBelow } from '../helpers/loop.js';
import { treeListing } from '../helpers/tree-listing.js';

async function blobsIn(d: Berthd): Promise<Set<string>> {
  return new Set((await readdir(join(d.root, 'data/content/blobs/sha256'))).map((h) => `sha256:${h}`));
}

describe('pull from a registry', () => {
  let d: Berthd;
  let fx: Fixtures;
  before(async () => {
    fx = await fixtures();
    d = await startBerthd();
  });
  after(async () => {
    await d.destroy();
    assert.deepEqual(await mountsUnder(d.root), [], 'destroy leaves no mount');
    assert.deepEqual(await loopDevicesBelow(d.root), [], 'destroy leaves no loop device');
  });

  it('stores exactly the manifest, config and layer digests the registry serves, and unpacks whiteouts', async () => {
    const pull = await d.docker(['pull', fx.images.busyboxMulti]);
    assert.equal(pull.code, 0, pull.stderr);
    const want = fx.digests.busyboxMulti;
    assert.match(pull.stdout, new RegExp(`Digest: ${want.manifest}`));
    assert.match(pull.stdout, /Status: Downloaded newer image for /);
    const blobs = await blobsIn(d);
    for (const digest of [want.manifest, want.config, ...want.layers]) assert.ok(blobs.has(digest), `missing blob ${digest}`);
    const inspect = await d.docker(['image', 'inspect', '-f', '{{.Id}} {{json .RootFS.Layers}} {{json .RepoDigests}}', fx.images.busyboxMulti]);
    assert.equal(inspect.code, 0, inspect.stderr);
    const [id, layers, repoDigests] = inspect.stdout.trim().split(' ');
    assert.equal(id, want.config);
    assert.deepEqual(JSON.parse(layers ?? '[]'), want.diffIds);
    assert.deepEqual(JSON.parse(repoDigests ?? '[]'), [`${fx.images.busyboxMulti.replace(/:latest$/, '')}@${want.manifest}`]);

    // Layer 3 whites out /data/a and makes /opq opaque (only z survives).
    const ls = await d.docker(['run', '--rm', '--entrypoint', 'sh', fx.images.busyboxMulti, '-c', 'ls /data; echo --; ls /opq']);
    assert.equal(ls.code, 0, ls.stderr);
    assert.equal(ls.stdout, 'b\n--\nz\n');
  });

  it('stores layers as loop-mounted squashfs images by default, and docker info says so', async () => {
    const info = await d.docker(['info', '--format', '{{json .DriverStatus}}']);
    assert.equal(info.code, 0, info.stderr);
    assert.deepEqual((JSON.parse(info.stdout) as string[][]).find(([key]) => key === 'Layer Format'), ['Layer Format', 'squashfs (lz4, loop-mounted)']);
    const layersDir = join(d.root, 'data/snapshots/layers');
    const layers = await readdir(layersDir);
    assert.ok(layers.length > 0);
    const mounts = await readMountInfo();
    for (const layer of layers) {
      assert.ok((await readdir(join(layersDir, layer))).includes('layer.sqfs'), layer);
      assert.equal(mounts.find((m) => m.mountPoint === join(layersDir, layer, 'fs'))?.fsType, 'squashfs', layer);
    }
  });

  it('squashfs layers hold exactly what the dir format extracts from the same blobs (whiteouts included)', async () => {
    const pull = await d.docker(['pull', fx.images.busyboxMulti]);
    assert.equal(pull.code, 0, pull.stderr);
    const want = fx.digests.busyboxMulti;
    const scratch = await mkdtemp(join(tmpdir(), 'berth-formats-'));
    let last: string[] = [];
    try {
      for (const [i, chain] of chainIds(want.diffIds).entries()) {
        const blob = join(d.root, 'data/content/blobs/sha256', (want.layers[i] ?? '').slice('sha256:'.length));
        const dest = join(scratch, String(i));
        await mkdir(dest);
        const gzip = (await readFile(blob)).subarray(0, 2).equals(Buffer.from([0x1f, 0x8b]));
        await applyLayer(dest, createReadStream(blob), gzip ? 'gzip' : 'none');
        const squashfs = join(d.root, 'data/snapshots/layers', chain.slice('sha256:'.length), 'fs');
        last = await treeListing(squashfs);
        assert.deepEqual(last, await treeListing(dest), `layer ${i + 1}`);
      }
      assert.ok(last.some((line) => line.startsWith('data/a 20000 ')), 'the top layer has a whiteout device');
      assert.ok(last.some((line) => /^opq .*trusted\.overlay\.opaque=79/.test(line)), 'and an opaque directory');
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  });

  it('merges the image config the way Docker does', async () => {
    const img = fx.images.busyboxMulti;
    const def = await d.docker(['run', '--rm', img]);
    assert.equal(def.stdout, 'ep default-cmd\n');
    const args = await d.docker(['run', '--rm', img, 'given']);
    assert.equal(args.stdout, 'ep given\n');
    const who = await d.docker(['run', '--rm', '-e', 'EXTRA=1', '--entrypoint', 'sh', img, '-c', 'echo $(id -un):$(id -u):$(id -G) $(pwd) $FOO $EXTRA']);
    assert.equal(who.code, 0, who.stderr);
    assert.equal(who.stdout, 'berthuser:1000:1000 2000 /data image 1\n');
    const override = await d.docker(['run', '--rm', '-e', 'FOO=mine', '-u', 'root', '--entrypoint', 'sh', img, '-c', 'echo $FOO $(id -u)']);
    assert.equal(override.stdout, 'mine 0\n');
    const unknownUser = await d.docker(['run', '--rm', '-u', 'nobody-here', img]);
    assert.notEqual(unknownUser.code, 0);
    assert.match(unknownUser.stderr, /unable to find user nobody-here/);
    // The conmon started while the bundle was made is stopped before it ran the runtime.
    assert.deepEqual(await processesMentioning(join(d.root, 'data', 'containers')), []);
  });

  it('pulls a missing image when run needs it, as docker run does', async () => {
    const r = await d.docker(['run', '--rm', fx.images.busyboxDocker, 'echo', 'pulled-on-demand']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Unable to find image/);
    assert.equal(r.stdout.split('\n').at(-2), 'pulled-on-demand');
  });

  it('shows the image history newest first, with layer sizes', async () => {
    const history = await d.docker(['history', '--no-trunc', '--format', '{{.ID}}|{{.Size}}|{{.CreatedBy}}', fx.images.busyboxMulti]);
    assert.equal(history.code, 0, history.stderr);
    const rows = history.stdout.trim().split('\n');
    assert.ok(rows.length >= 3, history.stdout);
    assert.equal(rows[0]?.split('|')[0], fx.digests.busyboxMulti.config);
    assert.ok(rows.slice(1).every((r) => r.startsWith('<missing>|')), history.stdout);
    const sized = rows.filter((r) => r.split('|')[1] !== '0B');
    assert.equal(sized.length, fx.digests.busyboxMulti.layers.length, history.stdout);
  });

  it('shares layers between images and reports them as already present', async () => {
    const pull = await d.docker(['pull', fx.images.busybox]);
    assert.equal(pull.code, 0, pull.stderr);
    // busybox's only layer is busybox-multi's base layer, pulled above.
    assert.doesNotMatch(pull.stdout, /Pull complete/);
    const again = await d.docker(['pull', fx.images.busybox]);
    assert.match(again.stdout, /Image is up to date for /);
  });

  it('pulls by digest, Docker schema2 manifests, and picks this platform from an index', async () => {
    const byDigest = `${fx.images.busybox.replace(/:latest$/, '')}@${fx.digests.busybox.manifest}`;
    const r1 = await d.docker(['pull', byDigest]);
    assert.equal(r1.code, 0, r1.stderr);
    const r2 = await d.docker(['pull', fx.images.busyboxDocker]);
    assert.equal(r2.code, 0, r2.stderr);
    const id2 = await d.docker(['image', 'inspect', '-f', '{{.Id}}', fx.images.busyboxDocker]);
    assert.equal(id2.stdout.trim(), fx.digests.busyboxDocker.config);
    const r3 = await d.docker(['pull', fx.images.busyboxIndex]);
    assert.equal(r3.code, 0, r3.stderr);
    assert.match(r3.stdout, new RegExp(`Digest: ${fx.digests.busyboxIndex.manifest}`));
    const arch = await d.docker(['image', 'inspect', '-f', '{{.Architecture}} {{.Id}}', fx.images.busyboxIndex]);
    assert.equal(arch.stdout.trim(), `amd64 ${fx.digests.busyboxIndex.config}`);
    const run = await d.docker(['run', '--rm', byDigest, 'echo', 'by-digest']);
    assert.equal(run.stdout, 'by-digest\n');
  });

  it('names the registry and the cause when a pull fails, and stores nothing', async () => {
    const before = await blobsIn(d);
    const unknownTag = await d.docker(['pull', `${fx.registry}/busybox:no-such-tag`]);
    assert.equal(unknownTag.code, 1);
    assert.match(unknownTag.stderr, new RegExp(`manifest for ${fx.registry}/busybox:no-such-tag not found`));
    const port = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => resolve(p));
      });
    });
    const unreachable = await d.docker(['pull', `127.0.0.1:${port}/busybox:latest`]);
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr, new RegExp(`127\\.0\\.0\\.1:${port}.*(unreachable|refused)`, 'i'));
    assert.deepEqual(await blobsIn(d), before);
  });

  it('prunes dangling images, and with -a every unused image', async () => {
    const multi = fx.digests.busyboxMulti;
    const repo = fx.images.busyboxMulti.replace(/:latest$/, '');
    // Drop every name of busybox-multi, then pull it by digest only: an image without a tag.
    assert.equal((await d.docker(['rmi', '-f', multi.config])).code, 0);
    assert.equal((await d.docker(['pull', `${repo}@${multi.manifest}`])).code, 0);
    const listed = await d.docker(['images', '--filter', 'dangling=true', '-q', '--no-trunc']);
    assert.equal(listed.stdout.trim(), multi.config);
    const prune = await d.docker(['image', 'prune', '-f']);
    assert.equal(prune.code, 0, prune.stderr);
    assert.match(prune.stdout, new RegExp(`deleted: ${multi.config}`));
    assert.notEqual((await d.docker(['image', 'inspect', multi.config])).code, 0);
    // busybox stays: it has a name.
    assert.equal((await d.docker(['image', 'inspect', fx.images.busybox])).code, 0);
    const badFilter = await d.api('POST', `/images/prune?filters=${encodeURIComponent('{"dangling":["maybe"]}')}`);
    assert.equal(badFilter.status, 400);
  });

  it('tags, lists and removes images; refuses to remove one a container uses', async () => {
    assert.equal((await d.docker(['tag', fx.images.busybox, 'mine/bb:v1'])).code, 0);
    const images = await d.docker(['images']);
    assert.match(images.stdout, /REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE/);
    assert.match(images.stdout, /mine\/bb\s+v1\s+[a-f0-9]{12}/);
    const created = await d.docker(['create', 'mine/bb:v1', 'true']);
    assert.equal(created.code, 0, created.stderr);
    const untag = await d.docker(['rmi', 'mine/bb:v1']);
    assert.equal(untag.code, 0, untag.stderr);
    assert.match(untag.stdout, /Untagged: mine\/bb:v1/);
    // busybox, busybox-docker and busybox-index share one config, hence one image ID.
    const id = fx.digests.busybox.config;
    const refused = await d.docker(['rmi', id]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /container [a-f0-9]{12} is using its referenced image/);
    await d.docker(['rm', created.stdout.trim()]);
    const multi = await d.docker(['rmi', id]);
    assert.notEqual(multi.code, 0);
    assert.match(multi.stderr, /referenced in multiple repositories/);
    const removed = await d.docker(['rmi', '-f', id]);
    assert.equal(removed.code, 0, removed.stderr);
    assert.match(removed.stdout, new RegExp(`Deleted: ${id}`));
    const gone = await d.docker(['image', 'inspect', fx.images.busybox]);
    assert.notEqual(gone.code, 0);
  });
});

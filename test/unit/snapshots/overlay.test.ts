import assert from 'node:assert/strict';
import { copyFile, lstat, mkdir, open, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { gzipSync } from 'node:zlib';
import { chainIds, type Digest } from '../../../src/core/digest.js';
import { isBerthError } from '../../../src/core/errors.js';
import { mountLoopImage, umount2 } from '../../../src/core/libc.js';
import { readMountInfo } from '../../../src/core/mountinfo.js';
import { OverlaySnapshotter, type LayerFormat } from '../../../src/snapshots/overlay.js';
import { loopDevicesBelow } from '../../helpers/loop.js';
import { exists, makeTar, mountPoints, sha256Of, streamOf, tempDir, type TarEntry } from './helpers.js';

const LAYER_FORMATS: readonly LayerFormat[] = ['dir', 'squashfs'];

async function setup(t: TestContext, layerFormat: LayerFormat = 'dir'): Promise<{ dir: string; snap: OverlaySnapshotter }> {
  const dir = await tempDir(t, 'berth-overlay-');
  const snap = new OverlaySnapshotter(join(dir, 'snapshots'), { layerFormat });
  await snap.init();
  return { dir, snap };
}

/** Mounts below dir other than the (squashfs) layers' own. */
async function mountsBelowExceptLayers(snap: OverlaySnapshotter, dir: string): Promise<string[]> {
  return (await mountPoints()).filter((m) => m.startsWith(`${dir}/`) && !m.startsWith(join(snap.root, 'layers') + '/'));
}

/** Unpack tars as a layer stack; returns their chain IDs (base first). */
async function unpackStack(snap: OverlaySnapshotter, tars: Buffer[]): Promise<Digest[]> {
  const chains = chainIds(tars.map(sha256Of));
  for (const [i, tarBuf] of tars.entries()) {
    const chain = chains[i] as Digest;
    const r = await snap.unpackLayer(chain, streamOf(gzipSync(tarBuf)), 'gzip', sha256Of(tarBuf));
    assert.equal(r.diffId, sha256Of(tarBuf));
    assert.equal(r.size, tarBuf.length);
  }
  return chains;
}

/** Mount `key` on a fresh target and make sure it is unmounted when the test ends. */
async function mountOn(t: TestContext, snap: OverlaySnapshotter, dir: string, key: string): Promise<string> {
  const target = join(dir, `mnt-${key}`);
  await mkdir(target);
  t.after(async () => {
    await snap.unmountActive(key, target).catch(() => undefined);
  });
  await snap.mountActive(key, target);
  return target;
}

// The layer tests run against both layer formats.
for (const layerFormat of LAYER_FORMATS) {
  test(`unpackLayer commits atomically; has/layerPath/listLayers/layerInfo [${layerFormat}]`, async (t) => {
    const { snap } = await setup(t, layerFormat);
    const tarBuf = await makeTar([{ name: 'hello', data: 'world' }]);
    const [chain] = chainIds([sha256Of(tarBuf)]) as [Digest];
    assert.equal(await snap.has(chain), false);
    const r = await snap.unpackLayer(chain, streamOf(tarBuf), 'none');
    assert.deepEqual(r, { diffId: sha256Of(tarBuf), size: tarBuf.length });
    assert.equal(await snap.has(chain), true);
    assert.equal(await readFile(join(snap.layerPath(chain), 'hello'), 'utf8'), 'world');
    assert.deepEqual(await snap.listLayers(), [chain]);
    assert.deepEqual(await snap.layerInfo(chain), { chainId: chain, diffId: r.diffId, size: r.size });
    assert.deepEqual(await readdir(join(snap.root, 'tmp')), []);
    assert.equal((await lstat(snap.root)).mode & 0o777, 0o700);

    // already present: the input is not read, it is destroyed, and the stored result returned
    const unread = new Readable({ read() {} });
    const again = await snap.unpackLayer(chain, unread, 'none');
    assert.deepEqual(again, r);
    assert.equal(unread.destroyed, true);

    await snap.removeLayer(chain);
    assert.equal(await snap.has(chain), false);
    await snap.removeLayer(chain); // idempotent
    assert.deepEqual(await snap.listLayers(), []);
  });

  test(`wrong expectedDiffId or a hostile layer leaves nothing behind [${layerFormat}]`, async (t) => {
    const { snap } = await setup(t, layerFormat);
    const tarBuf = await makeTar([{ name: 'f', data: 'x' }]);
    const chain = sha256Of(Buffer.from('some other chain'));
    await assert.rejects(snap.unpackLayer(chain, streamOf(tarBuf), 'none', sha256Of(Buffer.from('nope'))), (err: unknown) => {
      assert.ok(isBerthError(err, 'invalid-argument'));
      assert.match((err as Error).message, /diffID mismatch/);
      return true;
    });
    assert.equal(await snap.has(chain), false);
    assert.equal(exists(join(snap.root, 'layers', chain.slice(7))), false);
    assert.deepEqual(await readdir(join(snap.root, 'layers')), []);
    assert.deepEqual(await readdir(join(snap.root, 'tmp')), []);

    const evil = await makeTar([{ name: '../../../escape', data: 'x' }]);
    await assert.rejects(snap.unpackLayer(chain, streamOf(evil), 'none'), /escapes/);
    assert.deepEqual(await readdir(join(snap.root, 'layers')), []);
    assert.deepEqual(await readdir(join(snap.root, 'tmp')), []);
  });

  test(`concurrent unpacks of one chainID extract once [${layerFormat}]`, async (t) => {
    const { snap } = await setup(t, layerFormat);
    const tarBuf = await makeTar([{ name: 'big', data: Buffer.alloc(2 << 20, 1) }]);
    const [chain] = chainIds([sha256Of(tarBuf)]) as [Digest];
    const second = new Readable({ read() {} }); // never produces data: must not be needed
    const [a, b] = await Promise.all([
      snap.unpackLayer(chain, streamOf(tarBuf, 65536), 'none'),
      snap.unpackLayer(chain, second, 'none'),
    ]);
    assert.deepEqual(a, b);
    assert.equal(second.destroyed, true);
    assert.deepEqual(await readdir(join(snap.root, 'tmp')), []);

    // when the first fails, a waiting caller retries with its own input
    const other = await makeTar([{ name: 'x', data: 'y' }]);
    const [chain2] = chainIds([sha256Of(other)]) as [Digest];
    const failing = new Readable({
      read() {
        this.destroy(new Error('download failed'));
      },
    });
    const results = await Promise.allSettled([
      snap.unpackLayer(chain2, failing, 'none'),
      snap.unpackLayer(chain2, streamOf(other), 'none', sha256Of(other)),
    ]);
    assert.equal(results[0].status, 'rejected');
    assert.equal(results[1].status, 'fulfilled');
    assert.equal(await snap.has(chain2), true);
  });

  test(`two layers + active snapshot: merged view, whiteouts applied, writes land in upper [${layerFormat}]`, async (t) => {
    const { dir, snap } = await setup(t, layerFormat);
    const base: TarEntry[] = [
      { name: 'etc/', type: 'directory' },
      { name: 'etc/passwd', data: 'root:x:0:0\n' },
      { name: 'etc/shadow', data: 'secret' },
      { name: 'opt/', type: 'directory' },
      { name: 'opt/old1', data: '1' },
      { name: 'opt/old2', data: '2' },
      { name: 'bin/', type: 'directory' },
      { name: 'bin/sh', data: '#!', mode: 0o755 },
    ];
    const top: TarEntry[] = [
      { name: 'etc/', type: 'directory' },
      { name: 'etc/.wh.shadow' },
      { name: 'etc/passwd', data: 'root:x:0:0\napp:x:1000:1000\n' },
      { name: 'opt/', type: 'directory' },
      { name: 'opt/.wh..wh..opq' },
      { name: 'opt/new', data: 'n' },
      { name: '.wh.bin' },
    ];
    const chains = await unpackStack(snap, [await makeTar(base), await makeTar(top)]);
    await snap.prepareActive('c1', chains);
    await assert.rejects(snap.prepareActive('c1', chains), (err: unknown) => isBerthError(err, 'already-exists'));
    const target = await mountOn(t, snap, dir, 'c1');

    const mounts = await readMountInfo();
    const ours = mounts.find((m) => m.mountPoint === target);
    assert.ok(ours, 'overlay is mounted');
    assert.equal(ours.fsType, 'overlay');
    assert.ok(ours.superOptions.includes(`lowerdir=${snap.layerPath(chains[1] as Digest)}:${snap.layerPath(chains[0] as Digest)}`));

    assert.equal(await readFile(join(target, 'etc/passwd'), 'utf8'), 'root:x:0:0\napp:x:1000:1000\n');
    assert.equal(exists(join(target, 'etc/shadow')), false, 'whiteout hides the lower file');
    assert.deepEqual((await readdir(join(target, 'opt'))).sort(), ['new'], 'opaque dir hides lower children');
    assert.equal(exists(join(target, 'bin')), false, 'whiteout hides the lower directory');

    await writeFile(join(target, 'etc/hostname'), 'box\n');
    await writeFile(join(target, 'etc/passwd'), 'changed');
    const upper = snap.activeUpperPath('c1');
    assert.equal(await readFile(join(upper, 'etc/hostname'), 'utf8'), 'box\n');
    assert.equal(await readFile(join(upper, 'etc/passwd'), 'utf8'), 'changed');
    assert.equal(
      await readFile(join(snap.layerPath(chains[1] as Digest), 'etc/passwd'), 'utf8'),
      'root:x:0:0\napp:x:1000:1000\n',
      'lower layer untouched',
    );

    // a layer in use cannot be removed; a mounted snapshot cannot be removed
    await assert.rejects(snap.removeLayer(chains[0] as Digest), (err: unknown) => isBerthError(err, 'failed-precondition'));
    await assert.rejects(snap.removeActive('c1'), (err: unknown) => isBerthError(err, 'failed-precondition'));

    await snap.unmountActive('c1', target);
    assert.ok(!(await mountPoints()).includes(target), 'no mount left');
    await snap.unmountActive('c1', target); // idempotent
    await snap.removeActive('c1');
    assert.equal(exists(join(snap.root, 'active', 'c1')), false);
    await snap.removeActive('c1'); // idempotent
    assert.deepEqual(await snap.listActive(), []);
    assert.deepEqual(await readdir(join(snap.root, 'tmp')), []);
    assert.deepEqual(await mountsBelowExceptLayers(snap, dir), [], 'no overlay left below the test dir');

    await snap.removeLayer(chains[0] as Digest);
    await snap.removeLayer(chains[1] as Digest);
    assert.deepEqual(await snap.listLayers(), []);
    assert.ok(!(await mountPoints()).some((m) => m.startsWith(dir)), 'nothing mounted below the test dir');
    assert.deepEqual(await loopDevicesBelow(dir), [], 'no loop device left');
  });

  test(`single layer and no layer at all still mount as overlay with upper/work [${layerFormat}]`, async (t) => {
    const { dir, snap } = await setup(t, layerFormat);
    const chains = await unpackStack(snap, [await makeTar([{ name: './', type: 'directory', mode: 0o751 }, { name: 'a', data: 'a' }])]);
    await snap.prepareActive('one', chains);
    const one = await mountOn(t, snap, dir, 'one');
    assert.equal(await readFile(join(one, 'a'), 'utf8'), 'a');
    assert.equal((await lstat(one)).mode & 0o777, 0o751, 'merged root takes the top layer root attributes');
    await writeFile(join(one, 'b'), 'b');
    assert.equal(await readFile(join(snap.activeUpperPath('one'), 'b'), 'utf8'), 'b');
    assert.equal((await readMountInfo()).find((m) => m.mountPoint === one)?.fsType, 'overlay');

    await snap.prepareActive('none', []);
    const none = await mountOn(t, snap, dir, 'none');
    assert.deepEqual(await readdir(none), []);
    await writeFile(join(none, 'c'), 'c');
    assert.deepEqual(await readdir(join(snap.root, 'empty')), [], 'the shared empty lower stays empty');

    await snap.unmountActive('one', one);
    await snap.unmountActive('none', none);
    await snap.removeActive('one');
    await snap.removeActive('none');
    assert.deepEqual(await mountsBelowExceptLayers(snap, dir), []);
    await snap.removeLayer(chains[0] as Digest);
    assert.ok(!(await mountPoints()).some((m) => m.startsWith(dir)));
    assert.deepEqual(await loopDevicesBelow(dir), []);
  });
}

test('init removes leftovers of a crash', async (t) => {
  const { snap } = await setup(t);
  await mkdir(join(snap.root, 'tmp', 'unpack-deadbeef', 'fs', 'etc'), { recursive: true });
  await writeFile(join(snap.root, 'tmp', 'unpack-deadbeef', 'fs', 'etc', 'half'), 'x');
  await writeFile(join(snap.root, 'empty', 'junk'), 'x');
  await snap.init();
  assert.deepEqual(await readdir(join(snap.root, 'tmp')), []);
  assert.deepEqual(await readdir(join(snap.root, 'empty')), []);
});

test('a 100-layer image mounts (lowerdir longer than a page)', async (t) => {
  const { dir, snap } = await setup(t);
  const tars: Buffer[] = [];
  for (let i = 0; i < 100; i++) {
    tars.push(
      await makeTar([
        { name: 'layers/', type: 'directory' },
        { name: `layers/f${i}`, data: String(i) },
        { name: 'top', data: `layer ${i}` },
      ]),
    );
  }
  const chains = await unpackStack(snap, tars);
  const plain = chains.map((c) => snap.layerPath(c)).join(':').length;
  assert.ok(plain > 4096, `absolute lowerdir list is ${plain} bytes`);
  await snap.prepareActive('many', chains);
  const target = await mountOn(t, snap, dir, 'many');
  assert.equal((await readdir(join(target, 'layers'))).length, 100);
  assert.equal(await readFile(join(target, 'top'), 'utf8'), 'layer 99');
  assert.equal(await readFile(join(target, 'layers/f0'), 'utf8'), '0');
  await writeFile(join(target, 'top'), 'mine');
  assert.equal(await readFile(join(snap.activeUpperPath('many'), 'top'), 'utf8'), 'mine');
  await snap.unmountActive('many', target);
  await snap.removeActive('many');
  assert.ok(!(await mountPoints()).some((m) => m.startsWith(dir)));
});

test('argument validation', async (t) => {
  const { snap } = await setup(t);
  assert.throws(() => new OverlaySnapshotter('relative/path'), /absolute/);
  assert.throws(() => new OverlaySnapshotter('/tmp/a,b'), /must not contain/);
  assert.throws(() => snap.activeUpperPath('../x'), /invalid active snapshot key/);
  assert.throws(() => snap.layerPath('sha256:xyz' as Digest), /invalid chain ID/);
  await assert.rejects(snap.prepareActive('k', [sha256Of(Buffer.from('missing'))]), (err: unknown) => isBerthError(err, 'not-found'));
  await assert.rejects(snap.mountActive('nope', '/tmp'), (err: unknown) => isBerthError(err, 'not-found'));
});

test('squashfs layers: image mounted when committed, remounted by init, crash leftovers unmounted, unmounted on removal', async (t) => {
  const { dir, snap } = await setup(t, 'squashfs');
  const [chain] = await unpackStack(snap, [await makeTar([{ name: 'etc/os-release', data: 'ID=test\n' }])]);
  const layer = chain as Digest;
  const layerDir = join(snap.root, 'layers', layer.slice(7));
  assert.ok(exists(join(layerDir, 'layer.sqfs')));
  const mounted = async (): Promise<string | undefined> => (await readMountInfo()).find((m) => m.mountPoint === snap.layerPath(layer))?.fsType;
  assert.equal(await mounted(), 'squashfs');
  assert.equal(await readFile(join(snap.layerPath(layer), 'etc/os-release'), 'utf8'), 'ID=test\n');

  // a reboot, or a crash between the commit rename and the mount: init mounts it again
  umount2(snap.layerPath(layer));
  assert.deepEqual(await loopDevicesBelow(dir), []);
  const restarted = new OverlaySnapshotter(snap.root, { layerFormat: 'squashfs' });
  await restarted.init();
  assert.equal(await mounted(), 'squashfs');
  await restarted.init(); // already mounted: not mounted twice
  assert.equal((await readMountInfo()).filter((m) => m.mountPoint === snap.layerPath(layer)).length, 1);

  // a crash between the mount in staging and the commit rename: init unmounts and removes it
  const crashed = join(snap.root, 'tmp', 'unpack-crashed');
  await mkdir(join(crashed, 'fs'), { recursive: true });
  await copyFile(join(layerDir, 'layer.sqfs'), join(crashed, 'layer.sqfs'));
  mountLoopImage(join(crashed, 'layer.sqfs'), join(crashed, 'fs'), 'squashfs', 0);
  await restarted.init();
  assert.deepEqual(await readdir(join(snap.root, 'tmp')), []);
  assert.equal((await loopDevicesBelow(join(snap.root, 'tmp'))).length, 0);

  // removal while something still uses the layer's files: detached lazily, loop device freed after
  const busy = await open(join(snap.layerPath(layer), 'etc/os-release'), 'r');
  await restarted.removeLayer(layer);
  assert.equal(await restarted.has(layer), false);
  assert.ok(!(await mountPoints()).some((m) => m.startsWith(dir)));
  await busy.close();
  assert.deepEqual(await loopDevicesBelow(dir), []);
});

test('squashfs: an image that does not mount at init is logged and refused, not fatal; removable', async (t) => {
  const { dir, snap } = await setup(t, 'squashfs');
  const [good, bad] = await unpackStack(snap, [await makeTar([{ name: 'a', data: 'a' }]), await makeTar([{ name: 'b', data: 'b' }])]);
  const badLayer = bad as Digest;
  umount2(snap.layerPath(badLayer));
  await writeFile(join(snap.root, 'layers', badLayer.slice(7), 'layer.sqfs'), Buffer.alloc(8192, 0x5a));
  const restarted = new OverlaySnapshotter(snap.root, { layerFormat: 'squashfs' });
  await restarted.init();
  await restarted.prepareActive('c', [good as Digest, badLayer]);
  await assert.rejects(restarted.mountActive('c', dir), (err: unknown) => {
    assert.ok(isBerthError(err, 'failed-precondition'));
    assert.match((err as Error).message, /cannot be mounted.*pull it again/);
    return true;
  });
  await restarted.removeActive('c');
  await restarted.removeLayer(badLayer);
  await restarted.removeLayer(good as Digest);
  assert.deepEqual(await restarted.listLayers(), []);
  assert.ok(!(await mountPoints()).some((m) => m.startsWith(dir)));
  assert.deepEqual(await loopDevicesBelow(dir), []);
});

test('mixed layouts: dir layers keep working under a squashfs snapshotter, and the reverse', async (t) => {
  const { dir, snap } = await setup(t, 'dir');
  const base = await makeTar([{ name: 'etc/', type: 'directory' }, { name: 'etc/a', data: 'from dir layer' }, { name: 'etc/gone', data: 'x' }]);
  const top = await makeTar([{ name: 'etc/', type: 'directory' }, { name: 'etc/.wh.gone' }, { name: 'etc/b', data: 'from squashfs layer' }]);
  const [baseChain, topChain] = chainIds([sha256Of(base), sha256Of(top)]) as [Digest, Digest];
  await snap.unpackLayer(baseChain, streamOf(base), 'none');
  const squashfs = new OverlaySnapshotter(snap.root, { layerFormat: 'squashfs' });
  await squashfs.init();
  await squashfs.unpackLayer(topChain, streamOf(top), 'none');
  assert.equal(exists(join(snap.root, 'layers', baseChain.slice(7), 'layer.sqfs')), false);
  assert.equal(exists(join(snap.root, 'layers', topChain.slice(7), 'layer.sqfs')), true);
  await squashfs.prepareActive('mixed', [baseChain, topChain]);
  const target = await mountOn(t, squashfs, dir, 'mixed');
  assert.deepEqual((await readdir(join(target, 'etc'))).sort(), ['a', 'b']);
  await squashfs.unmountActive('mixed', target);
  await squashfs.removeActive('mixed');
  // a dir snapshotter on the same root mounts and removes the squashfs layer too
  const again = new OverlaySnapshotter(snap.root, { layerFormat: 'dir' });
  umount2(squashfs.layerPath(topChain));
  await again.init();
  assert.equal(await readFile(join(again.layerPath(topChain), 'etc/b'), 'utf8'), 'from squashfs layer');
  await again.removeLayer(topChain);
  await again.removeLayer(baseChain);
  assert.ok(!(await mountPoints()).some((m) => m.startsWith(dir)));
  assert.deepEqual(await loopDevicesBelow(dir), []);
});

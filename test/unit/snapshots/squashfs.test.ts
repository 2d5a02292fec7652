import assert from 'node:assert/strict';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { gzipSync } from 'node:zlib';
import { isBerthError } from '../../../src/core/errors.js';
import { mountLoopImage, umount2 } from '../../../src/core/libc.js';
import { applyLayer, type ApplyOptions } from '../../../src/core/tar-apply.js';
import { applyLayerToSquashfs, squashfsSupport } from '../../../src/snapshots/squashfs.js';
import { loopDevicesBelow } from '../../helpers/loop.js';
import { treeListing } from '../../helpers/tree-listing.js';
import { exists, makeTar, mountPoints, paxRecord, sha256Of, streamOf, tempDir, type TarEntry } from './helpers.js';

const T = new Date(1_600_000_000_500);
const DIR_T = new Date(1_500_000_000_000);

/** Apply a tar as a squashfs image mounted in box (tempDir unmounts it when the test ends). */
async function squashfsTree(box: string, tarBuf: Buffer, options: ApplyOptions = {}): Promise<string> {
  const image = join(box, 'layer.sqfs');
  const target = join(box, 'sqfs');
  await mkdir(target);
  const result = await applyLayerToSquashfs(image, streamOf(gzipSync(tarBuf)), 'gzip', options);
  assert.deepEqual(result, { diffId: sha256Of(tarBuf), size: tarBuf.length });
  mountLoopImage(image, target, 'squashfs', 0);
  return target;
}

async function dirTree(box: string, tarBuf: Buffer, options: ApplyOptions = {}): Promise<string> {
  const dest = join(box, 'dir');
  await mkdir(dest);
  await applyLayer(dest, streamOf(tarBuf), 'none', options);
  return dest;
}

async function expectSameTree(t: TestContext, entries: TarEntry[], options: ApplyOptions = {}): Promise<string[]> {
  const box = await tempDir(t, 'berth-sqfs-');
  const tarBuf = await makeTar(entries);
  const expected = await treeListing(await dirTree(box, tarBuf, options));
  const actual = await treeListing(await squashfsTree(box, tarBuf, options));
  assert.deepEqual(actual, expected);
  return actual;
}

async function expectSameError(t: TestContext, entries: TarEntry[], error: RegExp, options: ApplyOptions = {}): Promise<void> {
  const box = await tempDir(t, 'berth-sqfs-');
  const tarBuf = await makeTar(entries);
  const check = (err: unknown): boolean => {
    assert.ok(isBerthError(err, 'invalid-argument'), `expected invalid-argument, got ${String(err)}`);
    assert.match((err as Error).message, error);
    return true;
  };
  await assert.rejects(dirTree(box, tarBuf, options), check);
  await assert.rejects(applyLayerToSquashfs(join(box, 'layer.sqfs'), streamOf(tarBuf), 'none', options), check);
}

test('squashfs layers are usable on this machine (the suite needs them)', async () => {
  assert.deepEqual(await squashfsSupport(), { available: true });
});

test('squashfs tree equals the dir tree: files, modes incl. setuid/setgid/sticky, owners, times, links, devices, xattrs', async (t) => {
  // VFS_CAP_REVISION_2 | effective, permitted CAP_NET_RAW: binary, with NUL bytes
  const capability = Buffer.from([0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00, ...Buffer.alloc(12)]);
  const lines = await expectSameTree(t, [
    { name: './', type: 'directory', mode: 0o751, uid: 0, gid: 0, mtime: DIR_T },
    { name: 'bin/', type: 'directory', mtime: DIR_T },
    { name: 'bin/su', data: 'su', mode: 0o4755, mtime: T },
    { name: 'bin/wall', data: 'wall', mode: 0o2755, gid: 5, mtime: T },
    { name: 'tmp/', type: 'directory', mode: 0o1777, mtime: DIR_T },
    { name: 'srv/shared/', type: 'directory', mode: 0o2775, uid: 1000, gid: 1000, mtime: DIR_T },
    { name: 'srv/shared/implicit/file', data: 'below a setgid dir', uid: 1000, gid: 1001, mtime: T },
    { name: 'home/user/.profile', data: 'x', uid: 1000, gid: 1000, mode: 0o600, mtime: T },
    { name: 'home/user/', type: 'directory', uid: 1000, gid: 1000, mode: 0o700, mtime: DIR_T },
    { name: 'home/', type: 'directory', mode: 0o755, mtime: DIR_T },
    { name: 'home/user/', type: 'directory', uid: 1000, gid: 1000, mode: 0o750, mtime: DIR_T },
    { name: 'big', data: Buffer.alloc(300_000, 7), mtime: T },
    { name: 'empty', data: '', mtime: T },
    { name: 'link-to-big', type: 'link', linkname: 'big' },
    { name: 'link-to-link', type: 'link', linkname: 'link-to-big' },
    { name: 'sym', type: 'symlink', linkname: '../../outside/abs', mtime: T },
    { name: 'link-to-sym', type: 'link', linkname: 'sym' },
    { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666, mtime: T },
    { name: 'dev/sda', type: 'block-device', devmajor: 8, devminor: 0, mode: 0o660, gid: 6, mtime: T },
    { name: 'dev/fifo', type: 'fifo', mode: 0o640, mtime: T },
    { name: 'subsecond', data: 's', pax: { mtime: '1600000000.987654321' } },
    { name: 'big-ids', data: 'i', uid: 3_000_000, gid: 4_000_000, mtime: T },
    { name: `long/${'d'.repeat(120)}/${'f'.repeat(150)}`, data: 'long name', mtime: T },
    { name: 'naïve-ünïcode', data: 'u', mtime: T },
    {
      name: 'xattrs',
      data: 'x',
      mtime: T,
      pax: { 'SCHILY.xattr.user.comment': 'hello', 'SCHILY.xattr.trusted.overlay.opaque': 'y', 'LIBARCHIVE.xattr.user.b64': Buffer.from('libarchive').toString('base64') },
    },
    { name: 'pax', type: 'pax-header', data: Buffer.concat([paxRecord('SCHILY.xattr.security.capability', capability), paxRecord('SCHILY.xattr.trusted.bin', Buffer.from([0xff, 0xfe, 0x80, 0]))]) },
    { name: 'ping', data: 'cap', mode: 0o755, mtime: T },
    { name: 'replaced', type: 'symlink', linkname: 'somewhere' },
    { name: 'replaced', data: 'a file replaced the symlink', mtime: T },
    { name: 'was-dir/', type: 'directory' },
    { name: 'was-dir/sub/', type: 'directory' },
    { name: 'was-dir', type: 'symlink', linkname: 'bin', mtime: T },
  ]);
  assert.ok(lines.some((l) => l.startsWith('ping ') && l.includes('security.capability=01000002')), 'binary xattr kept');
  assert.ok(!lines.some((l) => l.includes('trusted.overlay')), 'trusted.overlay.* from the tar dropped');
  assert.ok(lines.some((l) => l.startsWith('xattrs ') && l.includes(`user.b64=${Buffer.from('libarchive').toString('hex')}`)));
});

test('squashfs whiteouts equal the dir format: .wh. devices, opaque dirs, recreated dirs, aufs metadata', async (t) => {
  const lines = await expectSameTree(t, [
    { name: 'etc/', type: 'directory', mtime: DIR_T },
    { name: 'etc/.wh.shadow', uid: 7, gid: 8 },
    { name: 'opt/', type: 'directory', mtime: DIR_T },
    { name: 'opt/.wh..wh..opq' },
    { name: 'opt/new', data: 'n', mtime: T },
    { name: '.wh.gone' },
    { name: '.wh.recreated' },
    { name: 'recreated/', type: 'directory', mtime: DIR_T },
    { name: 'recreated/f', data: 'f', mtime: T },
    { name: 'kept', data: 'k', mtime: T },
    { name: '.wh.kept' },
    { name: '.wh.file-later' },
    { name: 'file-later', data: 'replaces the whiteout', mtime: T },
    { name: '.wh..wh.plnk', data: 'aufs' },
    { name: '.wh..wh.aufs/inner', data: 'aufs' },
    { name: 'kept/.wh.below-a-file' },
    { name: 'implicit/.wh..wh..opq' },
  ]);
  assert.ok(lines.some((l) => /^etc\/shadow 20000 7:8 dev 0 /.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => l.startsWith('opt ') && l.includes('trusted.overlay.opaque=79')));
  assert.ok(lines.some((l) => l.startsWith('recreated ') && l.includes('trusted.overlay.opaque=79')));
  assert.ok(lines.some((l) => l.startsWith('implicit ') && l.includes('trusted.overlay.opaque=79')));
  assert.ok(!lines.some((l) => l.includes('.wh.')), 'no marker is stored');
});

test('squashfs: symlinked parents resolve inside the image as if its root were /', async (t) => {
  const tmpOutside = `/tmp/berth-sqfs-escape-${process.pid}`;
  const lines = await expectSameTree(t, [
    { name: 'evil', type: 'symlink', linkname: tmpOutside, mtime: T },
    { name: 'evil/file', data: 'abs symlink clamped', mtime: T },
    { name: 'up', type: 'symlink', linkname: '../../..', mtime: T },
    { name: 'up/file', data: 'dotdot symlink clamped', mtime: T },
    { name: 'usr/lib/', type: 'directory', mtime: DIR_T },
    { name: 'lib', type: 'symlink', linkname: 'usr/lib', mtime: T },
    { name: 'lib/libc.so', data: 'real image layout', mtime: T },
    { name: 'chain1', type: 'symlink', linkname: 'chain2/sub', mtime: T },
    { name: 'chain2', type: 'symlink', linkname: '/lib/../../..', mtime: T },
    { name: 'chain1/f', data: 'chained', mtime: T },
    { name: 'hl-through-link', type: 'link', linkname: 'lib/libc.so' },
    { name: 'evil/.wh.x' },
  ]);
  assert.equal(exists(tmpOutside), false);
  assert.ok(lines.some((l) => l.startsWith(`${tmpOutside.slice(1)}/file `)), lines.join('\n'));
  assert.ok(lines.some((l) => l.startsWith(`${tmpOutside.slice(1)}/x 20000 `)), 'whiteout through the symlink');
  assert.ok(lines.some((l) => l.startsWith('usr/lib/libc.so ') && l.includes('nlink=2')));
});

test('squashfs rejects what the dir format rejects, with the same errors', async (t) => {
  const cases: Array<{ entries: TarEntry[]; error: RegExp; options?: ApplyOptions }> = [
    { entries: [{ name: '../escape', data: 'x' }], error: /escapes the layer root/ },
    { entries: [{ name: 'a/../../escape', data: 'x' }], error: /escapes the layer root/ },
    { entries: [{ name: '/abs-escape', data: 'x' }], error: /absolute/ },
    { entries: [{ name: 'pw', type: 'link', linkname: '../../etc/passwd' }], error: /escapes/ },
    { entries: [{ name: 'pw', type: 'link', linkname: '/etc/passwd' }], error: /absolute/ },
    { entries: [{ name: 'pw', type: 'link', linkname: 'missing' }], error: /does not exist in the layer/ },
    { entries: [{ name: 'h', type: 'link', linkname: 'f' }, { name: 'f', data: 'later' }], error: /does not exist in the layer/ },
    {
      entries: [
        { name: 'etcl', type: 'symlink', linkname: '/etc' },
        { name: 'pw', type: 'link', linkname: 'etcl/passwd' },
      ],
      error: /does not exist in the layer/,
    },
    { entries: [{ name: 'd/', type: 'directory' }, { name: 'h', type: 'link', linkname: 'd' }], error: /points at a directory/ },
    { entries: [{ name: 'h', type: 'link', linkname: './' }], error: /points at the layer root/ },
    {
      entries: [
        { name: 'l1', type: 'symlink', linkname: 'l2' },
        { name: 'l2', type: 'symlink', linkname: 'l1' },
        { name: 'l1/file', data: 'x' },
      ],
      error: /too many levels/,
    },
    { entries: [{ name: 'sda', type: 'block-device', devmajor: 8 }], error: /device nodes are not allowed/, options: { allowDevices: false } },
    { entries: [{ name: 'tty', type: 'character-device', devmajor: 4 }], error: /device nodes are not allowed/, options: { allowDevices: false } },
    { entries: [{ name: 's', type: 'symlink', linkname: '' }], error: /empty target/ },
    { entries: [{ name: 'f', data: 'x' }, { name: 'f/g', data: 'y' }], error: /not a directory/ },
    { entries: [{ name: '.wh.' }], error: /invalid whiteout/ },
    { entries: [{ name: 'd/.wh..' }], error: /invalid whiteout/ },
    { entries: [{ name: './', type: 'symlink', linkname: 'x' }], error: /layer root but is not a directory/ },
  ];
  for (const c of cases) await expectSameError(t, c.entries, c.error, c.options);
});

test('squashfs refuses, with an actionable error, what it cannot represent', async (t) => {
  const cases: TarEntry[][] = [
    [{ name: 'f', data: 'one' }, { name: 'f', data: 'two' }],
    [{ name: 'f', data: 'one' }, { name: 'f/', type: 'directory' }],
    [{ name: 'f', data: 'one' }, { name: 'f', type: 'symlink', linkname: 'x' }],
    [{ name: 'd/f', data: 'one' }, { name: 'd', type: 'symlink', linkname: 'x' }],
    [{ name: 's', type: 'symlink', linkname: 'x' }, { name: 'h', type: 'link', linkname: 's' }, { name: 's', type: 'fifo' }],
  ];
  for (const entries of cases) {
    const box = await tempDir(t, 'berth-sqfs-');
    const tarBuf = await makeTar(entries);
    await dirTree(box, tarBuf); // the dir format takes them
    await assert.rejects(applyLayerToSquashfs(join(box, 'layer.sqfs'), streamOf(tarBuf), 'none'), (err: unknown) => {
      assert.ok(isBerthError(err, 'invalid-argument'), String(err));
      assert.match((err as Error).message, /squashfs layer cannot represent .*overlay\.layer_format=dir/);
      return true;
    });
  }
});

test('tar2sqfs failing is a BerthError with its own message', async (t) => {
  const box = await tempDir(t, 'berth-sqfs-');
  const bin = join(box, 'bin');
  await mkdir(bin);
  await writeFile(join(bin, 'tar2sqfs'), '#!/bin/sh\nhead -c 1000 >/dev/null\necho "simulated packer failure" >&2\nexit 3\n');
  await chmod(join(bin, 'tar2sqfs'), 0o755);
  const path = process.env.PATH;
  process.env.PATH = `${bin}:${path ?? ''}`;
  t.after(() => {
    process.env.PATH = path;
  });
  const tarBuf = await makeTar([{ name: 'big', data: Buffer.alloc(4 << 20, 1) }]);
  await assert.rejects(applyLayerToSquashfs(join(box, 'layer.sqfs'), streamOf(tarBuf), 'none'), (err: unknown) => {
    assert.ok(isBerthError(err, 'internal'), String(err));
    assert.match((err as Error).message, /tar2sqfs exited 3: simulated packer failure/);
    return true;
  });
});

test('mountLoopImage: read-only, and the loop device goes with the mount', async (t) => {
  const box = await tempDir(t, 'berth-sqfs-');
  const target = await squashfsTree(box, await makeTar([{ name: 'f', data: 'x' }]));
  assert.ok((await mountPoints()).includes(target));
  assert.equal((await loopDevicesBelow(box)).length, 1);
  await assert.rejects(writeFile(join(target, 'g'), 'y'), /EROFS/);
  umount2(target);
  assert.deepEqual(await loopDevicesBelow(box), []);
  assert.throws(() => mountLoopImage(join(box, 'missing.sqfs'), target, 'squashfs', 0), /ENOENT/);
  await writeFile(join(box, 'garbage.sqfs'), Buffer.alloc(8192, 0x5a));
  assert.throws(() => mountLoopImage(join(box, 'garbage.sqfs'), target, 'squashfs', 0), /mount/);
  assert.deepEqual(await loopDevicesBelow(box), [], 'a failed mount frees its loop device');
});

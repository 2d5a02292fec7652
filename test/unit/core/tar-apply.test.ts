import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { lstat, mkdir, readdir, readFile, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { isBerthError } from '../../../src/core/errors.js';
import { lgetxattr } from '../../../src/core/libc.js';
import { applyLayer, cleanEntryName } from '../../../src/core/tar-apply.js';
import { exists, makeTar, paxRecord, sha256Of, streamOf, tempDir, type TarEntry } from '../snapshots/helpers.js';

const T = new Date(1_600_000_000_000);
const DIR_T = new Date(1_500_000_000_000);

async function expectInvalid(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isBerthError(err, 'invalid-argument'), `expected invalid-argument, got ${String(err)}`);
    assert.match((err as Error).message, pattern);
    return true;
  });
}

/** A sandbox with `dest` inside, so escapes can be detected next to it. */
async function sandbox(t: Parameters<typeof tempDir>[0]): Promise<{ box: string; dest: string }> {
  const box = await tempDir(t);
  const dest = join(box, 'a', 'b', 'dest');
  await mkdir(dest, { recursive: true });
  return { box, dest };
}

test('regular entries: files, modes, owners, times, symlinks, hardlinks, fifo, devices, xattrs', async (t) => {
  const { dest } = await sandbox(t);
  const capability = Buffer.from([0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00, 0xff, 0xfe, 0x80, 0x00]);
  const entries: TarEntry[] = [
    { name: './', type: 'directory', mode: 0o755, mtime: DIR_T },
    { name: 'bin/', type: 'directory', mode: 0o755, mtime: DIR_T },
    { name: 'bin/tool', data: '#!/bin/sh\necho hi\n', mode: 0o4755, uid: 1000, gid: 1001, mtime: T },
    { name: 'bin/sg', data: 'x', mode: 0o2711, uid: 0, gid: 50 },
    { name: 'tmp/', type: 'directory', mode: 0o1777, mtime: DIR_T },
    { name: 'etc/', type: 'directory', mode: 0o750, uid: 7, gid: 8, mtime: DIR_T },
    { name: 'etc/conf', data: 'conf', mode: 0o600, uid: 33, gid: 33, pax: { 'SCHILY.xattr.user.comment': 'hello' } },
    { name: 'etc/link', type: 'symlink', linkname: '/etc/conf', uid: 5, gid: 6 },
    { name: 'etc/dangling', type: 'symlink', linkname: '../../../../nowhere' },
    { name: 'etc/hard', type: 'link', linkname: 'etc/conf' },
    { name: 'dev/', type: 'directory', mode: 0o755 },
    { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
    { name: 'dev/loop9', type: 'block-device', devmajor: 7, devminor: 9, mode: 0o660, gid: 6 },
    { name: 'dev/fifo', type: 'fifo', mode: 0o620 },
    { name: 'implicit/parent/file', data: 'deep' },
    { name: 'big', data: Buffer.alloc(3 * 1024 * 1024 + 17, 0x61) },
  ];
  const tarBuf = await makeTar(entries);
  // a file whose binary xattr comes in a hand-made PAX header (tar-stream would UTF-8-mangle it)
  const withPax = await makeTar([
    ...entries,
    { name: 'PaxHeaders/capfile', type: 'pax-header', data: paxRecord('SCHILY.xattr.trusted.berth-test', capability) },
    { name: 'capfile', data: 'cap', mode: 0o755 },
  ]);
  void tarBuf;
  const result = await applyLayer(dest, streamOf(withPax), 'none');
  assert.equal(result.diffId, sha256Of(withPax));
  assert.equal(result.size, withPax.length);

  const tool = await stat(join(dest, 'bin/tool'));
  assert.equal(tool.mode & 0o7777, 0o4755);
  assert.equal(tool.uid, 1000);
  assert.equal(tool.gid, 1001);
  assert.equal(tool.mtimeMs, T.getTime());
  assert.equal(await readFile(join(dest, 'bin/tool'), 'utf8'), '#!/bin/sh\necho hi\n');
  const sg = await stat(join(dest, 'bin/sg'));
  assert.equal(sg.mode & 0o7777, 0o2711);
  assert.equal(sg.gid, 50);

  assert.equal((await stat(join(dest, 'tmp'))).mode & 0o7777, 0o1777);
  const etc = await stat(join(dest, 'etc'));
  assert.equal(etc.mode & 0o7777, 0o750);
  assert.equal(etc.uid, 7);
  assert.equal(etc.gid, 8);
  // directory mtimes are applied at the end, after children were created
  assert.equal(etc.mtimeMs, DIR_T.getTime());
  assert.equal((await stat(join(dest, 'bin'))).mtimeMs, DIR_T.getTime());
  assert.equal((await stat(dest)).mtimeMs, DIR_T.getTime());

  const conf = await stat(join(dest, 'etc/conf'));
  assert.equal(conf.mode & 0o7777, 0o600);
  assert.equal(conf.uid, 33);
  assert.equal(conf.nlink, 2);
  assert.equal((await stat(join(dest, 'etc/hard'))).ino, conf.ino);
  assert.equal(lgetxattr(join(dest, 'etc/conf'), 'user.comment')?.toString(), 'hello');
  assert.deepEqual(lgetxattr(join(dest, 'capfile'), 'trusted.berth-test'), capability);

  assert.equal(await readlink(join(dest, 'etc/link')), '/etc/conf');
  const link = await lstat(join(dest, 'etc/link'));
  assert.ok(link.isSymbolicLink());
  assert.equal(link.uid, 5);
  assert.equal(link.gid, 6);
  assert.equal(await readlink(join(dest, 'etc/dangling')), '../../../../nowhere');

  const nul = await lstat(join(dest, 'dev/null'));
  assert.ok(nul.isCharacterDevice());
  assert.equal(nul.rdev, (1 << 8) | 3);
  assert.equal(nul.mode & 0o7777, 0o666);
  const loop = await lstat(join(dest, 'dev/loop9'));
  assert.ok(loop.isBlockDevice());
  assert.equal(loop.rdev, (7 << 8) | 9);
  assert.equal(loop.gid, 6);
  const fifo = await lstat(join(dest, 'dev/fifo'));
  assert.ok(fifo.isFIFO());
  assert.equal(fifo.mode & 0o7777, 0o620);

  assert.equal(await readFile(join(dest, 'implicit/parent/file'), 'utf8'), 'deep');
  assert.equal((await stat(join(dest, 'implicit/parent'))).mode & 0o777, 0o755);
  const big = await readFile(join(dest, 'big'));
  assert.equal(big.length, 3 * 1024 * 1024 + 17);
  assert.ok(big.every((b) => b === 0x61));
});

test('gzip and zstd layers: diffID is the sha256 of the uncompressed tar', async (t) => {
  const tarBuf = await makeTar([
    { name: 'a/', type: 'directory' },
    { name: 'a/file', data: 'x'.repeat(100_000) },
  ]);
  const gz = gzipSync(tarBuf);
  const { dest } = await sandbox(t);
  const result = await applyLayer(dest, streamOf(gz, 1000), 'gzip');
  assert.equal(result.diffId, sha256Of(tarBuf));
  assert.equal(result.size, tarBuf.length);
  assert.equal((await readFile(join(dest, 'a/file'), 'utf8')).length, 100_000);

  const zstd = spawnSync('zstd', ['-q', '-c'], { input: tarBuf });
  if (zstd.status === 0) {
    const dest2 = join(dest, '..', 'dest-zstd');
    await mkdir(dest2);
    const r2 = await applyLayer(dest2, streamOf(zstd.stdout), 'zstd');
    assert.equal(r2.diffId, sha256Of(tarBuf));
    assert.equal(r2.size, tarBuf.length);
    const dest3 = join(dest, '..', 'dest-zstd-bad');
    await mkdir(dest3);
    await expectInvalid(applyLayer(dest3, streamOf(Buffer.from('not zstd data at all')), 'zstd'), /zstd/);
  } else {
    t.diagnostic('zstd not installed: zstd part skipped');
  }

  const dest4 = join(dest, '..', 'dest-badgz');
  await mkdir(dest4);
  await expectInvalid(applyLayer(dest4, streamOf(Buffer.from('definitely not gzip')), 'gzip'), /decompress/);
  const dest5 = join(dest, '..', 'dest-trunc');
  await mkdir(dest5);
  await expectInvalid(applyLayer(dest5, streamOf(tarBuf.subarray(0, 700)), 'none'), /malformed tar/);
});

test('input stream errors are passed through unchanged', async (t) => {
  const { dest } = await sandbox(t);
  const boom = new Error('network went away');
  const input = new Readable({
    read() {
      this.destroy(boom);
    },
  });
  await assert.rejects(applyLayer(dest, input, 'none'), (err) => err === boom);
});

test('whiteouts become overlay whiteouts; opaque dirs get the xattr; markers are never written', async (t) => {
  const { dest } = await sandbox(t);
  const tarBuf = await makeTar([
    { name: 'etc/', type: 'directory' },
    { name: 'etc/.wh.passwd', uid: 12, gid: 34 },
    { name: '.wh.gone' },
    { name: 'opq/', type: 'directory' },
    { name: 'opq/kept', data: 'same layer' },
    { name: 'opq/.wh..wh..opq' },
    { name: 'same', data: 'kept' },
    { name: '.wh.same' }, // whiteout after a same-layer entry: the entry wins
    { name: '.wh.redo' }, // delete, then recreate as a directory => opaque directory
    { name: 'redo/', type: 'directory' },
    { name: 'redo/new', data: 'n' },
    { name: '.wh.gonedir' },
    { name: 'gonedir/.wh.inner' }, // below a whited-out path: ignored
    { name: '.wh..wh.plnk/', type: 'directory' }, // aufs metadata: ignored
    { name: '.wh..wh.plnk/123.456', data: 'x' },
  ]);
  await applyLayer(dest, streamOf(tarBuf), 'none');
  const passwd = await lstat(join(dest, 'etc/passwd'));
  assert.ok(passwd.isCharacterDevice());
  assert.equal(passwd.rdev, 0);
  assert.equal(passwd.uid, 12);
  assert.equal(passwd.gid, 34);
  const gone = await lstat(join(dest, 'gone'));
  assert.ok(gone.isCharacterDevice());
  assert.equal(gone.rdev, 0);
  assert.equal(lgetxattr(join(dest, 'opq'), 'trusted.overlay.opaque')?.toString(), 'y');
  assert.equal(await readFile(join(dest, 'opq/kept'), 'utf8'), 'same layer');
  assert.equal(await readFile(join(dest, 'same'), 'utf8'), 'kept');
  assert.ok((await lstat(join(dest, 'redo'))).isDirectory());
  assert.equal(lgetxattr(join(dest, 'redo'), 'trusted.overlay.opaque')?.toString(), 'y');
  assert.equal(lgetxattr(join(dest, 'etc'), 'trusted.overlay.opaque'), undefined);
  assert.ok((await lstat(join(dest, 'gonedir'))).isCharacterDevice());
  const all = await listAll(dest);
  assert.ok(!all.some((p) => p.includes('.wh.')), `markers written: ${all.join(' ')}`);

  for (const bad of ['.wh.', 'dir/.wh.', '.wh..', 'x/.wh..']) {
    const d = join(dest, '..', `bad-${Math.random().toString(36).slice(2)}`);
    await mkdir(d);
    await expectInvalid(applyLayer(d, streamOf(await makeTar([{ name: bad }])), 'none'), /whiteout/);
  }
});

test('existing entries are replaced; directories merge', async (t) => {
  const { dest } = await sandbox(t);
  const tarBuf = await makeTar([
    { name: 'x', data: 'file first' },
    { name: 'x/', type: 'directory', mode: 0o700 }, // dir replaces file
    { name: 'x/child', data: 'c' },
    { name: 'y/', type: 'directory' },
    { name: 'y/child', data: 'c' },
    { name: 'y', data: 'file replaces dir' },
    { name: 'z/', type: 'directory', mode: 0o755 },
    { name: 'z/keep', data: 'k' },
    { name: 'z/', type: 'directory', mode: 0o711, uid: 3 }, // dir over dir: metadata only
    { name: 'l', type: 'symlink', linkname: 'x' },
    { name: 'l', data: 'file replaces symlink' },
  ]);
  await applyLayer(dest, streamOf(tarBuf), 'none');
  const x = await lstat(join(dest, 'x'));
  assert.ok(x.isDirectory());
  assert.equal(x.mode & 0o777, 0o700);
  assert.equal(await readFile(join(dest, 'x/child'), 'utf8'), 'c');
  assert.equal(await readFile(join(dest, 'y'), 'utf8'), 'file replaces dir');
  const z = await lstat(join(dest, 'z'));
  assert.equal(z.mode & 0o777, 0o711);
  assert.equal(z.uid, 3);
  assert.equal(await readFile(join(dest, 'z/keep'), 'utf8'), 'k');
  assert.ok((await lstat(join(dest, 'l'))).isFile());
  assert.equal(await readFile(join(dest, 'l'), 'utf8'), 'file replaces symlink');
});

test('hostile names are rejected and nothing is written outside dest', async (t) => {
  const cases: Array<{ label: string; entries: TarEntry[]; error: RegExp }> = [
    { label: 'dotdot', entries: [{ name: '../escape', data: 'x' }], error: /escapes the layer root/ },
    { label: 'deep dotdot', entries: [{ name: 'a/../../escape', data: 'x' }], error: /escapes the layer root/ },
    { label: 'dotdot dir', entries: [{ name: '../escape/', type: 'directory' }], error: /escapes/ },
    { label: 'absolute', entries: [{ name: '/abs-escape', data: 'x' }], error: /absolute/ },
    { label: 'hardlink out', entries: [{ name: 'pw', type: 'link', linkname: '../../etc/passwd' }], error: /escapes/ },
    { label: 'hardlink abs', entries: [{ name: 'pw', type: 'link', linkname: '/etc/passwd' }], error: /absolute/ },
    {
      label: 'hardlink through symlink',
      entries: [
        { name: 'etcl', type: 'symlink', linkname: '/etc' },
        { name: 'pw', type: 'link', linkname: 'etcl/passwd' },
      ],
      error: /does not exist in the layer/,
    },
    {
      label: 'hardlink through dotdot symlink',
      entries: [
        { name: 'up', type: 'symlink', linkname: '../../../../../../../../etc' },
        { name: 'pw', type: 'link', linkname: 'up/passwd' },
      ],
      error: /does not exist in the layer/,
    },
    {
      label: 'symlink loop',
      entries: [
        { name: 'l1', type: 'symlink', linkname: 'l2' },
        { name: 'l2', type: 'symlink', linkname: 'l1' },
        { name: 'l1/file', data: 'x' },
      ],
      error: /too many levels/,
    },
    { label: 'device refused', entries: [{ name: 'sda', type: 'block-device', devmajor: 8 }], error: /device/ },
    { label: 'empty symlink', entries: [{ name: 's', type: 'symlink', linkname: '' }], error: /empty target/ },
    {
      label: 'file under a file',
      entries: [
        { name: 'f', data: 'x' },
        { name: 'f/g', data: 'y' },
      ],
      error: /not a directory/,
    },
  ];
  const passwdBefore = await stat('/etc/passwd');
  for (const c of cases) {
    const { box, dest } = await sandbox(t);
    const tarBuf = await makeTar(c.entries);
    const options = c.label === 'device refused' ? { allowDevices: false } : {};
    await expectInvalid(applyLayer(dest, streamOf(tarBuf), 'none', options), c.error);
    assert.equal(exists(join(dest, '..', 'escape')), false, c.label);
    assert.equal(exists(join(box, 'escape')), false, c.label);
    assert.equal(exists('/abs-escape'), false, c.label);
    // only dest (and its ancestors inside the box) exist in the box
    assert.deepEqual(await readdir(join(box, 'a', 'b')), ['dest'], c.label);
  }
  const passwdAfter = await stat('/etc/passwd');
  assert.equal(passwdAfter.nlink, passwdBefore.nlink);
});

test('symlinked parents are resolved inside dest (clamped like securejoin), never followed out', async (t) => {
  const { box, dest } = await sandbox(t);
  const outside = join(box, 'outside-target');
  const tmpOutside = `/tmp/berth-escape-${process.pid}-${Date.now()}`;
  const tarBuf = await makeTar([
    { name: 'evil', type: 'symlink', linkname: tmpOutside },
    { name: 'evil/file', data: 'abs symlink clamped' },
    { name: 'up', type: 'symlink', linkname: '../../..' },
    { name: 'up/file', data: 'dotdot symlink clamped' },
    { name: 'rel', type: 'symlink', linkname: '../outside-target' },
    { name: 'rel/file', data: 'relative escape clamped' },
    { name: 'usr/lib/', type: 'directory' },
    { name: 'lib', type: 'symlink', linkname: 'usr/lib' },
    { name: 'lib/libc.so', data: 'real image layout' },
    { name: 'chain1', type: 'symlink', linkname: 'chain2/sub' },
    { name: 'chain2', type: 'symlink', linkname: '/lib/../../..' },
    { name: 'chain1/f', data: 'chained' },
    { name: 'replace-me', type: 'symlink', linkname: tmpOutside },
    { name: 'replace-me', data: 'replaced symlink, not followed' },
    { name: 'dirlink', type: 'symlink', linkname: tmpOutside },
    { name: 'dirlink/', type: 'directory' },
    { name: 'dirlink/inner', data: 'inside real dir' },
    { name: 'hl-through-link', type: 'link', linkname: 'lib/libc.so' },
  ]);
  t.after(async () => {
    const { rm } = await import('node:fs/promises');
    await rm(tmpOutside, { recursive: true, force: true });
  });
  await applyLayer(dest, streamOf(tarBuf), 'none');
  assert.equal(exists(tmpOutside), false);
  assert.equal(exists(outside), false);
  assert.equal(exists(join(box, 'a', 'file')), false);
  assert.equal(exists(join(box, 'file')), false);
  assert.equal(await readFile(join(dest, tmpOutside, 'file'), 'utf8'), 'abs symlink clamped');
  assert.equal(await readFile(join(dest, 'file'), 'utf8'), 'dotdot symlink clamped');
  assert.equal(await readFile(join(dest, 'outside-target/file'), 'utf8'), 'relative escape clamped');
  assert.equal(await readFile(join(dest, 'usr/lib/libc.so'), 'utf8'), 'real image layout');
  assert.equal(await readFile(join(dest, 'sub/f'), 'utf8'), 'chained');
  assert.equal(await readlink(join(dest, 'evil')), tmpOutside, 'symlinks are kept verbatim');
  assert.equal(await readFile(join(dest, 'replace-me'), 'utf8'), 'replaced symlink, not followed');
  assert.ok((await lstat(join(dest, 'dirlink'))).isDirectory());
  assert.equal(await readFile(join(dest, 'dirlink/inner'), 'utf8'), 'inside real dir');
  assert.equal((await stat(join(dest, 'hl-through-link'))).ino, (await stat(join(dest, 'usr/lib/libc.so'))).ino);
});

test('cleanEntryName', () => {
  assert.equal(cleanEntryName('./a//b/./c/'), 'a/b/c');
  assert.equal(cleanEntryName('a/x/../b'), 'a/b');
  assert.equal(cleanEntryName('./'), '');
  assert.equal(cleanEntryName('.'), '');
  assert.throws(() => cleanEntryName('..'), /escapes/);
  assert.throws(() => cleanEntryName('a/../../b'), /escapes/);
  assert.throws(() => cleanEntryName('/a'), /absolute/);
  assert.throws(() => cleanEntryName(''), /empty/);
});

async function listAll(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    out.push(rel);
    if (entry.isDirectory()) out.push(...(await listAll(join(dir, entry.name), rel)));
  }
  return out;
}

test('docker cp options: literal .wh. files, one owner for everything, noOverwriteDirNonDir', async (t) => {
  const { dest } = await sandbox(t);
  await mkdir(join(dest, 'existing-dir'));
  const tarBuf = await makeTar([
    { name: '.wh.hidden', data: 'not a whiteout' },
    { name: 'sub/', type: 'directory', mode: 0o755, uid: 1234, gid: 5678 },
    { name: 'sub/file', data: 'x', uid: 1234, gid: 5678, pax: { uid: '1234', gid: '5678' } },
  ]);
  await applyLayer(dest, streamOf(tarBuf), 'none', { convertWhiteouts: false, owner: { uid: 0, gid: 0 }, noOverwriteDirNonDir: true });
  assert.equal(await readFile(join(dest, '.wh.hidden'), 'utf8'), 'not a whiteout');
  for (const path of ['sub', 'sub/file']) {
    const st = await lstat(join(dest, path));
    assert.deepEqual([st.uid, st.gid], [0, 0], path);
  }
  await expectInvalid(
    applyLayer(dest, streamOf(await makeTar([{ name: 'existing-dir', data: 'file over a dir' }])), 'none', { noOverwriteDirNonDir: true }),
    /cannot overwrite directory/,
  );
  await expectInvalid(
    applyLayer(dest, streamOf(await makeTar([{ name: 'sub/file/', type: 'directory' }])), 'none', { noOverwriteDirNonDir: true }),
    /cannot overwrite non-directory/,
  );
  assert.equal((await stat(join(dest, 'existing-dir'))).isDirectory(), true);
  assert.equal(await readFile(join(dest, 'sub/file'), 'utf8'), 'x');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile, lstat, readlink, chmod, chown } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyImageContent, resolveInRoot } from '../../../src/volumes/copy-up.js';

async function scratch(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'berth-copyup-'));
}

test('resolveInRoot keeps every symlink inside the root', async () => {
  const dir = await scratch();
  try {
    const root = join(dir, 'rootfs');
    await mkdir(join(root, 'real', 'sub'), { recursive: true });
    await symlink('/real', join(root, 'abs'));
    await symlink('../../../../..', join(root, 'up'));
    await symlink('/etc', join(root, 'hostetc'));
    await symlink('loop2', join(root, 'loop1'));
    await symlink('loop1', join(root, 'loop2'));
    assert.equal(await resolveInRoot(root, '/abs/sub'), join(root, 'real', 'sub'));
    assert.equal(await resolveInRoot(root, '/up/real'), join(root, 'real'));
    assert.equal(await resolveInRoot(root, '/../../real/./sub/'), join(root, 'real', 'sub'));
    // /etc of the host is never reached: the link is resolved as root/etc, which does not exist.
    assert.equal(await resolveInRoot(root, '/hostetc'), undefined);
    assert.equal(await resolveInRoot(root, '/missing/x'), undefined);
    await assert.rejects(resolveInRoot(root, '/loop1'), /too many levels of symbolic links/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('copyImageContent copies owners, modes, symlinks into an empty volume only', async () => {
  const dir = await scratch();
  try {
    const root = join(dir, 'rootfs');
    const data = join(root, 'data');
    await mkdir(join(data, 'sub'), { recursive: true });
    await chmod(data, 0o1777);
    await writeFile(join(data, 'sub', 'f'), 'x');
    await chown(join(data, 'sub', 'f'), 1000, 2000);
    await chmod(join(data, 'sub', 'f'), 0o640);
    await symlink('/etc/passwd', join(data, 'link'));
    const volume = join(dir, 'vol');
    await mkdir(volume);
    assert.equal(await copyImageContent(root, '/data', volume), true);
    const f = await stat(join(volume, 'sub', 'f'));
    assert.deepEqual([f.uid, f.gid, f.mode & 0o7777], [1000, 2000, 0o640]);
    assert.equal((await stat(volume)).mode & 0o7777, 0o1777);
    assert.ok((await lstat(join(volume, 'link'))).isSymbolicLink());
    assert.equal(await readlink(join(volume, 'link')), '/etc/passwd');
    // Not empty any more: a second copy changes nothing.
    await writeFile(join(data, 'later'), 'y');
    assert.equal(await copyImageContent(root, '/data', volume), false);
    assert.deepEqual((await readdir(volume)).sort(), ['link', 'sub']);
    // A missing path or a file at the mount point copies nothing.
    const other = join(dir, 'vol2');
    await mkdir(other);
    assert.equal(await copyImageContent(root, '/nope', other), false);
    assert.equal(await copyImageContent(root, '/data/sub/f', other), false);
    assert.equal(await readFile(join(volume, 'sub', 'f'), 'utf8'), 'x');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

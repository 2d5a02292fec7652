import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { link, lstat, mkdir, mkdtemp, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tar from 'tar-stream';
import { lgetxattr, lsetxattr, mknod, S_IFCHR } from '../../../src/core/libc.js';
import { applyLayer } from '../../../src/snapshots/apply.js';
import { upperDirTar } from '../../../src/snapshots/diff-tar.js';

async function listTar(upper: string, exclude?: Set<string>): Promise<Array<{ name: string; type: string; linkname: string | null }>> {
  const extract = tar.extract();
  const out: Array<{ name: string; type: string; linkname: string | null }> = [];
  const done = (async () => {
    for await (const entry of extract) {
      out.push({ name: entry.header.name, type: entry.header.type ?? '', linkname: entry.header.linkname ?? null });
      entry.resume();
    }
  })();
  upperDirTar(upper, exclude).pipe(extract as unknown as NodeJS.WritableStream);
  await done;
  return out;
}

describe('upper dir → layer tar (commit)', () => {
  let dir: string;
  let upper: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-diff-tar-'));
    upper = join(dir, 'upper');
    await mkdir(join(upper, 'etc'), { recursive: true });
    await writeFile(join(upper, 'etc', 'app.conf'), 'setting=1\n', { mode: 0o640 });
    mknod(join(upper, 'etc', 'group'), S_IFCHR | 0o000, 0, 0); // deleted
    await writeFile(join(upper, 'etc', 'hosts'), ''); // runtime mount point placeholder
    await mkdir(join(upper, 'opq'));
    lsetxattr(join(upper, 'opq'), 'trusted.overlay.opaque', Buffer.from('y'));
    await writeFile(join(upper, 'opq', 'only'), 'kept');
    await writeFile(join(upper, 'a'), 'linked');
    await link(join(upper, 'a'), join(upper, 'b'));
    await symlink('etc/app.conf', join(upper, 'conf-link'));
    execFileSync('mkfifo', [join(upper, 'pipe')]);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes whiteouts first, an opaque marker after its directory, hard links as links, and leaves out excluded paths', async () => {
    const entries = await listTar(upper, new Set(['etc/hosts']));
    const names = entries.map((e) => e.name);
    assert.deepEqual(names, ['a', 'b', 'conf-link', 'etc/', 'etc/.wh.group', 'etc/app.conf', 'opq/', 'opq/.wh..wh..opq', 'opq/only', 'pipe']);
    assert.deepEqual(entries.find((e) => e.name === 'b'), { name: 'b', type: 'link', linkname: 'a' });
    assert.equal(entries.find((e) => e.name === 'conf-link')?.linkname, 'etc/app.conf');
    assert.equal(entries.find((e) => e.name === 'pipe')?.type, 'fifo');
  });

  it('round-trips through the layer apply into the same overlay upper content', async () => {
    const dest = join(dir, 'applied');
    await mkdir(dest);
    const result = await applyLayer(dest, upperDirTar(upper), 'none');
    assert.match(result.diffId, /^sha256:[a-f0-9]{64}$/);
    assert.equal(await readFile(join(dest, 'etc', 'app.conf'), 'utf8'), 'setting=1\n');
    assert.equal((await lstat(join(dest, 'etc', 'app.conf'))).mode & 0o777, 0o640);
    const wh = await lstat(join(dest, 'etc', 'group'));
    assert.ok(wh.isCharacterDevice() && wh.rdev === 0, 'the whiteout is an overlay whiteout again');
    assert.equal(lgetxattr(join(dest, 'opq'), 'trusted.overlay.opaque')?.toString(), 'y');
    assert.equal((await lstat(join(dest, 'a'))).ino, (await lstat(join(dest, 'b'))).ino);
    assert.equal(await readlink(join(dest, 'conf-link')), 'etc/app.conf');
    assert.ok((await lstat(join(dest, 'pipe'))).isFIFO());
  });
});

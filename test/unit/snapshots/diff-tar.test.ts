import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { link, lstat, mkdir, mkdtemp, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tar from 'tar-stream';
import { lgetxattr, lsetxattr, mknod, S_IFCHR } from '../../../src/core/libc.js';
import { applyLayer } from '../../../src/core/tar-apply.js';
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

// vfs_cap_data v2, effective: cap_setuid (bit 7) and cap_net_raw (bit 13) permitted — bytes above 0x7f.
const capability = Buffer.from([0x01, 0x00, 0x00, 0x02, 0x80, 0x20, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
const longDir = `${'d'.repeat(60)}/${'e'.repeat(60)}`;

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
    await writeFile(join(upper, 'ping'), 'binary');
    lsetxattr(join(upper, 'ping'), 'security.capability', capability);
    await mkdir(join(upper, longDir), { recursive: true });
    await writeFile(join(upper, longDir, 'caf\u00e9.txt'), 'long and non-ASCII');
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes whiteouts first, an opaque marker after its directory, hard links as links, and leaves out excluded paths', async () => {
    const entries = await listTar(upper, new Set(['etc/hosts']));
    const names = entries.map((e) => e.name);
    assert.deepEqual(names, [
      'a', 'b', 'conf-link', `${'d'.repeat(60)}/`, `${longDir}/`, `${longDir}/caf\u00e9.txt`,
      'etc/', 'etc/.wh.group', 'etc/app.conf', 'opq/', 'opq/.wh..wh..opq', 'opq/only', 'ping', 'pipe',
    ]);
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
    assert.deepEqual(lgetxattr(join(dest, 'ping'), 'security.capability'), capability, 'file capabilities survive byte for byte');
    assert.equal(await readFile(join(dest, longDir, 'caf\u00e9.txt'), 'utf8'), 'long and non-ASCII');
    // and GNU tar reads the archive the same way
    const listing = execFileSync('sh', ['-c', 'tar -tvf -'], { input: await new Promise<Buffer>((resolve) => {
      const parts: Buffer[] = [];
      const stream = upperDirTar(upper);
      stream.on('data', (c: Buffer) => parts.push(c));
      stream.on('end', () => resolve(Buffer.concat(parts)));
    }) }).toString();
    assert.match(listing, /caf\u00e9\.txt/);
    assert.match(listing, /^hrw-r--r-- .* b link to a$/m);
  });
});

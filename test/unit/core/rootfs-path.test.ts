/** Resolving container paths inside a rootfs: hostile symlinks and `..` never reach the host. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fdPath } from '../../../src/core/tar-tree.js';
import { isNoSuchPath, resolveInRoot } from '../../../src/core/rootfs-path.js';
import { BerthError } from '../../../src/core/errors.js';

describe('resolveInRoot', () => {
  let root: string;
  before(() => {
    root = fs.realpathSync(fs.mkdtempSync(join(tmpdir(), 'berth-rootfs-')));
    fs.mkdirSync(join(root, 'etc'));
    fs.writeFileSync(join(root, 'etc/passwd'), 'container passwd\n');
    fs.mkdirSync(join(root, 'a/b'), { recursive: true });
    fs.symlinkSync('/', join(root, 'rootlink'));
    fs.symlinkSync('/etc', join(root, 'etclink'));
    fs.symlinkSync('../../../../../../etc', join(root, 'a/b/up'));
    fs.symlinkSync('/tmp', join(root, 'hosttmp')); // the host has /tmp, this rootfs has not
    fs.symlinkSync('loop2', join(root, 'loop1'));
    fs.symlinkSync('loop1', join(root, 'loop2'));
    fs.symlinkSync('etc/passwd', join(root, 'filelink'));
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  /** Resolves and returns where it landed (as the container sees it) and the real host directory used. */
  const land = (path: string, followFinal = false): { containerPath: string; name: string; hostDir: string } => {
    const r = resolveInRoot(root, path, { followFinal });
    try {
      return { containerPath: r.containerPath, name: r.name, hostDir: fs.realpathSync(fdPath(r.dirFd)) };
    } finally {
      r.close();
    }
  };
  const inside = (hostDir: string): boolean => hostDir === root || hostDir.startsWith(`${root}/`);

  it('follows an absolute symlink to / back to the rootfs, not the host', () => {
    const r = land('/rootlink/etc/passwd');
    assert.equal(r.containerPath, '/etc/passwd');
    assert.equal(r.hostDir, join(root, 'etc'));
    const read = resolveInRoot(root, '/rootlink/etc/passwd');
    assert.equal(fs.readFileSync(read.hostPath(), 'utf8'), 'container passwd\n');
    read.close();
  });

  it('clamps .. at the rootfs, in the path and in relative symlink targets', () => {
    assert.deepEqual(land('/../../../../etc/passwd').containerPath, '/etc/passwd');
    const viaLink = land('/a/b/up/passwd');
    assert.equal(viaLink.containerPath, '/etc/passwd');
    assert.ok(inside(viaLink.hostDir));
    assert.equal(land('a/../../..').containerPath, '/');
    assert.equal(land('a/../../..').hostDir, root);
  });

  it('does not follow the last component unless asked', () => {
    assert.deepEqual([land('/etclink').containerPath, land('/etclink').name], ['/etclink', 'etclink']);
    const followed = land('/etclink', true);
    assert.equal(followed.containerPath, '/etc');
    assert.equal(followed.hostDir, join(root, 'etc'));
    assert.equal(land('/filelink', true).containerPath, '/etc/passwd');
  });

  it('never uses a host directory the rootfs lacks', () => {
    assert.throws(() => resolveInRoot(root, '/hosttmp/x/y'), (e: unknown) => e instanceof BerthError && e.code === 'not-found');
    assert.throws(() => resolveInRoot(root, '/hosttmp/anything'), (e: unknown) => e instanceof BerthError && e.code === 'not-found');
    const missingFinal = land('/hosttmp', true);
    assert.deepEqual([missingFinal.containerPath, missingFinal.name, missingFinal.hostDir], ['/tmp', 'tmp', root]);
  });

  it('rejects symlink loops, paths through files and NUL bytes', () => {
    assert.throws(() => resolveInRoot(root, '/loop1/x'), /too many levels of symbolic links/);
    assert.throws(() => resolveInRoot(root, '/etc/passwd/x'), /not a directory/);
    assert.throws(() => resolveInRoot(root, '/etc\0/x'), /NUL/);
  });

  it('continues in a mount\'s host source, and leaves it by .. or an absolute symlink', () => {
    const volume = fs.mkdtempSync(join(tmpdir(), 'berth-volume-'));
    try {
      fs.writeFileSync(join(volume, 'in-volume'), 'v');
      fs.symlinkSync('/etc', join(volume, 'to-etc'));
      const mounts = [{ destination: '/a/b', source: volume, rw: false }];
      const at = (path: string, followFinal = false): { containerPath: string; hostDir: string; rw: boolean | undefined } => {
        const r = resolveInRoot(root, path, { followFinal, mounts });
        try {
          return { containerPath: r.containerPath, hostDir: fs.realpathSync(fdPath(r.dirFd)), rw: r.mount?.rw };
        } finally {
          r.close();
        }
      };
      assert.deepEqual(at('/a/b/in-volume'), { containerPath: '/a/b/in-volume', hostDir: fs.realpathSync(volume), rw: false });
      assert.deepEqual(at('/a/b'), { containerPath: '/a/b', hostDir: fs.realpathSync(volume), rw: false });
      assert.deepEqual(at('/a/b/../b/../../etc/passwd'), { containerPath: '/etc/passwd', hostDir: join(root, 'etc'), rw: undefined });
      assert.deepEqual(at('/a/b/to-etc/passwd'), { containerPath: '/etc/passwd', hostDir: join(root, 'etc'), rw: undefined });
      assert.throws(() => resolveInRoot(root, '/a/b/x', { mounts: [{ destination: '/a/b', source: '', rw: true }] }), /tmpfs/);
    } finally {
      fs.rmSync(volume, { recursive: true, force: true });
    }
  });

  it('tells "nothing at that path" apart from other failures (isNoSuchPath)', () => {
    const failure = (path: string): unknown => {
      try {
        resolveInRoot(root, path).close();
      } catch (err) {
        return err;
      }
      return assert.fail(`${path} resolved`);
    };
    assert.equal(isNoSuchPath(failure('/missing/x')), true);
    assert.equal(isNoSuchPath(failure('/etc/passwd/x')), true);
    assert.equal(isNoSuchPath(failure('/loop1/x')), false);
  });

  it('leaves no file descriptors open', () => {
    const before = fs.readdirSync('/proc/self/fd').length;
    for (let i = 0; i < 20; i++) {
      land('/rootlink/a/b/up/passwd');
      assert.throws(() => resolveInRoot(root, '/loop1/x'));
      assert.throws(() => resolveInRoot(root, '/hosttmp/x/y'));
    }
    assert.equal(fs.readdirSync('/proc/self/fd').length, before);
  });
});

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isBerthError } from '../../../src/core/errors.js';
import { readFileInRoot, resolveUser, resolveUserFromData } from '../../../src/runtime/user.js';

const passwd = [
  'root:x:0:0:root:/root:/bin/sh',
  'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin',
  'alice:x:1000:1000:Alice:/home/alice:/bin/sh',
  '  bob:x:1001:1001::/home/bob:/bin/sh  ',
  '',
  '1234:x:2000:2000::/home/numeric:/bin/sh',
].join('\n');

const group = [
  'root:x:0:',
  'wheel:x:10:root,alice',
  'audio:x:29:alice',
  'alice:x:1000:',
  'bob:x:1001:',
  'staff:x:50:',
].join('\r\n');

const invalid = (message: string) => (err: unknown) => isBerthError(err, 'invalid-argument') && err.message === message;

describe('resolveUserFromData (runc GetExecUser + moby getUser)', () => {
  test('empty User is root, with the groups listing root', () => {
    assert.deepEqual(resolveUserFromData('', passwd, group), { uid: 0, gid: 0, sgids: [10], additionalGids: [0, 10], home: '/root' });
  });

  test('name and uid resolve through passwd; supplementary groups from group', () => {
    const alice = { uid: 1000, gid: 1000, sgids: [10, 29], additionalGids: [1000, 10, 29], home: '/home/alice' };
    assert.deepEqual(resolveUserFromData('alice', passwd, group), alice);
    assert.deepEqual(resolveUserFromData('1000', passwd, group), alice);
    assert.deepEqual(resolveUserFromData('bob', passwd, group), { uid: 1001, gid: 1001, sgids: [], additionalGids: [1001], home: '/home/bob' });
  });

  test('a numeric user is always a uid, never a name', () => {
    assert.equal(resolveUserFromData('1234', passwd, group).uid, 1234);
    assert.equal(resolveUserFromData('1234', passwd, group).home, '');
  });

  test('name:group, uid:gid, uid:group, name:gid; explicit group means no supplementary groups', () => {
    assert.deepEqual(resolveUserFromData('alice:staff', passwd, group), { uid: 1000, gid: 50, sgids: [], additionalGids: [50], home: '/home/alice' });
    assert.deepEqual(resolveUserFromData('1000:29', passwd, group).gid, 29);
    assert.deepEqual(resolveUserFromData('1000:wheel', passwd, group).gid, 10);
    assert.deepEqual(resolveUserFromData('alice:4444', passwd, group), { uid: 1000, gid: 4444, sgids: [], additionalGids: [4444], home: '/home/alice' });
  });

  test('numeric ids missing from passwd/group are allowed (gid 0 unless given)', () => {
    assert.deepEqual(resolveUserFromData('4242', passwd, group), { uid: 4242, gid: 0, sgids: [], additionalGids: [0], home: '' });
    assert.deepEqual(resolveUserFromData('4242:4343', passwd, group), { uid: 4242, gid: 4343, sgids: [], additionalGids: [4343], home: '' });
  });

  test('unknown names fail with runc messages', () => {
    assert.throws(() => resolveUserFromData('nobody', passwd, group), invalid('unable to find user nobody: no matching entries in passwd file'));
    assert.throws(() => resolveUserFromData('alice:nogroup', passwd, group), invalid('unable to find group nogroup: no matching entries in group file'));
    assert.throws(() => resolveUserFromData('-1', passwd, group), invalid('uids and gids must be in range 0-2147483647'));
    assert.throws(() => resolveUserFromData('2147483648', passwd, group), invalid('uids and gids must be in range 0-2147483647'));
  });

  test('missing files: only numeric users resolve', () => {
    assert.deepEqual(resolveUserFromData('', undefined, undefined), { uid: 0, gid: 0, sgids: [], additionalGids: [0], home: '' });
    assert.deepEqual(resolveUserFromData('123:456', undefined, undefined), { uid: 123, gid: 456, sgids: [], additionalGids: [456], home: '' });
    assert.throws(() => resolveUserFromData('alice', undefined, undefined), invalid('unable to find user alice: no matching entries in passwd file'));
    assert.throws(() => resolveUserFromData('1:wheel', undefined, undefined), invalid('unable to find group wheel: no matching entries in group file'));
  });

  test('groupAdd by name or gid; numeric ones need not exist', () => {
    assert.deepEqual(resolveUserFromData('bob', passwd, group, ['audio', '777', '10']).additionalGids, [1001, 29, 777, 10]);
    assert.deepEqual(resolveUserFromData('alice', passwd, group, ['wheel']).additionalGids, [1000, 10, 29]);
    assert.throws(() => resolveUserFromData('bob', passwd, group, ['nosuch']), invalid('Unable to find group nosuch'));
  });
});

describe('resolveUser reads the rootfs without leaving it', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-user-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function makeRoot(name: string): Promise<string> {
    const root = join(dir, name);
    await mkdir(join(root, 'etc'), { recursive: true });
    return root;
  }

  test('plain files', async () => {
    const root = await makeRoot('plain');
    await writeFile(join(root, 'etc/passwd'), passwd);
    await writeFile(join(root, 'etc/group'), group);
    assert.deepEqual(await resolveUser(root, 'alice'), {
      uid: 1000,
      gid: 1000,
      sgids: [10, 29],
      additionalGids: [1000, 10, 29],
      home: '/home/alice',
    });
    assert.deepEqual((await resolveUser(root, '', [])).additionalGids, [0, 10]);
    await assert.rejects(resolveUser(root, 'mallory'), invalid('unable to find user mallory: no matching entries in passwd file'));
  });

  test('no /etc/passwd: numeric only', async () => {
    const root = await makeRoot('empty');
    assert.deepEqual(await resolveUser(root, ''), { uid: 0, gid: 0, sgids: [], additionalGids: [0], home: '' });
    assert.equal((await resolveUser(root, '65534:65534')).gid, 65534);
    await assert.rejects(resolveUser(root, 'alice'), invalid('unable to find user alice: no matching entries in passwd file'));
  });

  test('symlinks are resolved inside the rootfs', async () => {
    const outside = join(dir, 'outside-passwd');
    await writeFile(outside, 'evil:x:0:0::/:/bin/sh\n');
    const rel = await makeRoot('escape-relative');
    await symlink('../../../../../../../../outside-passwd', join(rel, 'etc/passwd'));
    await assert.rejects(resolveUser(rel, 'evil'), invalid('unable to find user evil: no matching entries in passwd file'));

    const abs = await makeRoot('escape-absolute');
    await symlink(outside, join(abs, 'etc/passwd'));
    await assert.rejects(resolveUser(abs, 'evil'), invalid('unable to find user evil: no matching entries in passwd file'));

    // A symlink that stays inside the root is followed (absolute targets mean the rootfs's /).
    const inside = await makeRoot('inside');
    await mkdir(join(inside, 'usr/share/base'), { recursive: true });
    await writeFile(join(inside, 'usr/share/base/passwd'), passwd);
    await symlink('/usr/share/base/passwd', join(inside, 'etc/passwd'));
    await symlink('../usr/share/base/../base/passwd', join(inside, 'etc/group'));
    assert.equal((await resolveUser(inside, 'alice')).uid, 1000);

    // /etc itself a symlink: `/etc` means the rootfs's own /etc, so etc -> /etc is a loop,
    // and an escaping relative target lands back inside the rootfs.
    const etcLoop = join(dir, 'etcloop');
    await mkdir(etcLoop);
    await symlink('/etc', join(etcLoop, 'etc'));
    await assert.rejects(resolveUser(etcLoop, 'root'), (err: unknown) => isBerthError(err, 'invalid-argument') && /too many levels/.test(err.message));
    const etcRel = join(dir, 'etcrel');
    await mkdir(join(etcRel, 'realetc'), { recursive: true });
    await writeFile(join(etcRel, 'realetc/passwd'), 'carol:x:77:88::/home/carol:/bin/sh\n');
    await symlink('../../../../realetc', join(etcRel, 'etc'));
    assert.deepEqual(await resolveUser(etcRel, 'carol'), { uid: 77, gid: 88, sgids: [], additionalGids: [88], home: '/home/carol' });
  });

  test('a FIFO or directory at /etc/passwd is ignored, never blocks', async () => {
    const root = await makeRoot('fifo');
    const made = spawnSync('mkfifo', [join(root, 'etc/passwd')]);
    assert.equal(made.status, 0);
    await mkdir(join(root, 'etc/group'));
    assert.equal(readFileInRoot(root, '/etc/passwd'), undefined);
    assert.equal(readFileInRoot(root, '/etc/group'), undefined);
    assert.equal((await resolveUser(root, '')).uid, 0);
  });
});

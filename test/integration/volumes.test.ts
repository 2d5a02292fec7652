/**
 * Volumes, binds and tmpfs through real clients (docker CLI, docker-py, berth CLI) against a
 * real berthd: runc does the mounting, the assertions look at what the container and the host
 * see.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fixtures, type Fixtures } from '../helpers/fixtures.js';
import { dockerOk, mountsUnder, startBerthd, unmountUnder, type Berthd } from '../helpers/berthd.js';

const execFileAsync = promisify(execFile);

interface VolumeDoc {
  Name: string;
  Driver: string;
  Mountpoint: string;
  Scope: string;
  CreatedAt: string;
  Labels: Record<string, string> | null;
  Options: Record<string, string> | null;
}

interface MountDoc {
  Type: string;
  Name?: string;
  Source: string;
  Destination: string;
  Driver?: string;
  Mode: string;
  RW: boolean;
  Propagation: string;
}

describe('volumes, binds and tmpfs', () => {
  let d: Berthd;
  let fx: Fixtures;
  let work: string;
  const volumesDir = (): string => join(d.root, 'data', 'volumes');

  const ok = (args: string[]): Promise<string> => dockerOk(d, args);
  const volumeNames = async (): Promise<string[]> => (await ok(['volume', 'ls', '-q'])).split('\n').filter(Boolean);
  const inspectMounts = async (name: string): Promise<MountDoc[]> => JSON.parse(await ok(['inspect', '--format', '{{json .Mounts}}', name])) as MountDoc[];

  before(async () => {
    fx = await fixtures();
    d = await startBerthd();
    work = await mkdtemp(join(tmpdir(), 'berth-volumes-it-'));
  });
  after(async () => {
    await d.destroy();
    await unmountUnder(work);
    await rm(work, { recursive: true, force: true });
  });

  it('volume create, ls (with filters), inspect and rm answer like dockerd', async () => {
    assert.equal(await ok(['volume', 'create', '--label', 'env=test', '-o', 'type=tmpfs', '-o', 'device=tmpfs', '-o', 'o=size=2m', 'tv']), 'tv\n');
    assert.equal(await ok(['volume', 'create', 'plain']), 'plain\n');
    assert.equal(await ok(['volume', 'create', 'plain']), 'plain\n', 'create is idempotent');
    assert.equal(await ok(['volume', 'ls']), 'DRIVER    VOLUME NAME\nlocal     plain\nlocal     tv\n');
    assert.equal(await ok(['volume', 'ls', '-q', '--filter', 'label=env=test']), 'tv\n');
    assert.equal(await ok(['volume', 'ls', '-q', '--filter', 'label=env']), 'tv\n');
    assert.equal(await ok(['volume', 'ls', '-q', '--filter', 'name=lai']), 'plain\n');
    assert.equal(await ok(['volume', 'ls', '-q', '--filter', 'driver=local']), 'plain\ntv\n');
    assert.equal(await ok(['volume', 'ls', '-q', '--filter', 'dangling=true']), 'plain\ntv\n');
    assert.equal(await ok(['volume', 'ls', '-q', '--filter', 'dangling=false']), '');

    const [doc] = JSON.parse(await ok(['volume', 'inspect', 'tv'])) as VolumeDoc[];
    assert.ok(doc);
    assert.equal(doc.Name, 'tv');
    assert.equal(doc.Driver, 'local');
    assert.equal(doc.Scope, 'local');
    assert.equal(doc.Mountpoint, join(volumesDir(), 'tv', '_data'));
    assert.deepEqual(doc.Labels, { env: 'test' });
    assert.deepEqual(doc.Options, { type: 'tmpfs', device: 'tmpfs', o: 'size=2m' });
    assert.match(doc.CreatedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const plain = await d.api('GET', '/volumes/plain');
    assert.equal(plain.status, 200);
    assert.equal(plain.json<VolumeDoc>().Labels, null);
    assert.equal(plain.json<VolumeDoc>().Options, null);
    const list = await d.api('GET', '/volumes');
    assert.deepEqual(Object.keys(list.json<Record<string, unknown>>()), ['Volumes', 'Warnings']);

    // A volume with driver options is mounted only while a container uses it.
    const df = await ok(['run', '--rm', '-v', 'tv:/d', 'busybox', 'sh', '-c', 'df -k /d | tail -1']);
    assert.match(df, /^tmpfs\s+2048\s/);
    assert.deepEqual(await mountsUnder(volumesDir()), []);

    assert.equal(await ok(['volume', 'rm', 'tv', 'plain']), 'tv\nplain\n');
    assert.equal(existsSync(join(volumesDir(), 'plain')), false);
    const missing = await d.docker(['volume', 'rm', 'nosuch']);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr.trim(), 'Error response from daemon: get nosuch: no such volume');
    assert.equal((await d.api('DELETE', '/volumes/nosuch')).status, 404);
    assert.equal((await d.api('GET', '/volumes/nosuch')).status, 404);
    assert.equal((await d.docker(['volume', 'rm', '-f', 'nosuch'])).code, 0);
  });

  it('a named volume is shared between containers and survives container removal and a berthd restart', async () => {
    await ok(['run', '-d', '--name', 'writer', '-v', 'shared:/data', 'busybox', 'sh', '-c', 'echo one > /data/f; sleep 300']);
    let seen = '';
    for (let i = 0; i < 50 && seen !== 'one\n'; i++) {
      seen = (await d.docker(['run', '--rm', '-v', 'shared:/data', 'busybox', 'cat', '/data/f'])).stdout;
    }
    assert.equal(seen, 'one\n');
    const [mount] = await inspectMounts('writer');
    assert.deepEqual(mount, { Type: 'volume', Name: 'shared', Source: join(volumesDir(), 'shared', '_data'), Destination: '/data', Driver: 'local', Mode: 'z', RW: true, Propagation: '' });
    assert.equal(await ok(['inspect', '--format', '{{json .HostConfig.Binds}}', 'writer']), '["shared:/data"]\n');
    await ok(['rm', '-f', '-v', 'writer']);
    assert.ok((await volumeNames()).includes('shared'), 'rm -v keeps named volumes');

    await d.stop();
    await d.start();
    assert.ok((await volumeNames()).includes('shared'));
    assert.equal(await ok(['run', '--rm', '-v', 'shared:/data:ro', 'busybox', 'cat', '/data/f']), 'one\n');
    await ok(['volume', 'rm', 'shared']);
  });

  it('a tmpfs-backed volume stays mounted while its container runs, also across berthd being killed, and is unmounted when it exits', async () => {
    await ok(['volume', 'create', '-o', 'type=tmpfs', '-o', 'device=tmpfs', '-o', 'o=size=1m', 'tvol']);
    await ok(['run', '-d', '--name', 'tuser', '-v', 'tvol:/t', 'busybox', 'sh', '-c', 'echo kept > /t/f; sleep 3']);
    assert.deepEqual(await mountsUnder(volumesDir()), [join(volumesDir(), 'tvol', '_data')]);
    await d.kill9();
    await new Promise((r) => setTimeout(r, 4000));
    await d.start();
    assert.equal(await ok(['wait', 'tuser']), '0\n');
    assert.deepEqual(await mountsUnder(volumesDir()), [], 'recovery unmounts the volume of a container that exited while berthd was down');
    await ok(['rm', 'tuser']);
    await ok(['volume', 'rm', 'tvol']);
  });

  it('copy-up fills a new volume with the image content at its mount point (owners, modes, symlinks); nocopy leaves it empty', async () => {
    assert.match(await ok(['run', '--rm', '-v', 'etcvol:/etc', 'busybox', 'cat', '/etc/passwd']), /^nobody:x:65534:65534:/m);
    const passwd = await stat(join(volumesDir(), 'etcvol', '_data', 'passwd'));
    assert.equal(passwd.mode & 0o7777, 0o644);
    // The fixture busybox (built by umoci) has /home/berthuser owned by 1000:1000.
    await ok(['pull', '-q', fx.images.busybox]);
    assert.equal(await ok(['run', '--rm', '-v', 'homevol:/home', fx.images.busybox, 'stat', '-c', '%u:%g %a', '/home/berthuser']), '1000:1000 755\n');
    const home = await stat(join(volumesDir(), 'homevol', '_data', 'berthuser'));
    assert.deepEqual([home.uid, home.gid], [1000, 1000]);
    assert.equal(await ok(['run', '--rm', '-v', 'tmpvol:/tmp', 'busybox', 'stat', '-c', '%a', '/tmp']), '1777\n');
    assert.equal(await ok(['run', '--rm', '--mount', 'type=volume,src=binvol,dst=/bin', 'busybox', '/bin/busybox', 'readlink', '/bin/sh']), 'busybox\n');

    await ok(['run', '--rm', '-v', 'emptyvol:/etc:nocopy', 'busybox', 'true']);
    await ok(['run', '--rm', '--mount', 'type=volume,src=emptyvol2,dst=/etc,volume-nocopy', 'busybox', 'true']);
    for (const name of ['emptyvol', 'emptyvol2']) {
      assert.equal(existsSync(join(volumesDir(), name, '_data', 'passwd')), false, `${name} must stay without the image's files`);
    }
    // A volume that already has content is never overwritten.
    await ok(['run', '--rm', '-v', 'filled:/x', 'busybox', 'sh', '-c', 'echo mine > /x/own']);
    assert.equal(await ok(['run', '--rm', '-v', 'filled:/etc', 'busybox', 'ls', '/etc']), 'hostname\nhosts\nown\nresolv.conf\n');
    await ok(['volume', 'rm', 'etcvol', 'homevol', 'tmpvol', 'binvol', 'emptyvol', 'emptyvol2', 'filled']);
  });

  it('image VOLUMEs become anonymous volumes filled from the image; rm -v and --rm remove them, named volumes stay', async () => {
    // An image with VOLUME /data (the busybox-multi fixture's /data holds only b) and a hostile
    // VOLUME /evil, a symlink aiming at a host directory; made by umoci, not by berth.
    const hostTarget = join(work, 'host-target');
    await mkdir(hostTarget);
    await writeFile(join(hostTarget, 'secret'), 'host only\n');
    const layout = join(work, 'volume-image');
    const bundle = join(work, 'volume-image-bundle');
    await execFileAsync('cp', ['-a', fx.layoutDir('busybox-multi'), layout]);
    await execFileAsync('umoci', ['unpack', '--image', `${layout}:latest`, bundle]);
    await symlink(`../../../../../../../..${hostTarget}`, join(bundle, 'rootfs', 'evil'));
    await execFileAsync('umoci', ['repack', '--image', `${layout}:latest`, bundle]);
    await rm(bundle, { recursive: true, force: true });
    await execFileAsync('umoci', ['config', '--image', `${layout}:latest`, '--config.volume', '/data', '--config.volume', '/evil']);
    const image = `${fx.registry}/berth-volume-image:latest`;
    await execFileAsync('skopeo', ['--insecure-policy', 'copy', '-q', '--dest-tls-verify=false', `oci:${layout}:latest`, `docker://${image}`]);
    await ok(['pull', '-q', image]);
    const before = await volumeNames();

    assert.equal(await ok(['run', '--name', 'anon1', '-u', '0', '--entrypoint', 'sh', image, '-c', 'ls /data; ls -A /evil; echo planted > /evil/planted']), 'b\n');
    assert.deepEqual(await readdir(hostTarget), ['secret'], 'the image symlink must not lead the volume (or its copy-up) to the host');
    const mounts = await inspectMounts('anon1');
    assert.deepEqual(mounts.map((m) => m.Destination).sort(), ['/data', '/evil']);
    const mount = mounts.find((m) => m.Destination === '/data');
    assert.ok(mount);
    assert.match(mount.Name ?? '', /^[a-f0-9]{64}$/);
    assert.deepEqual({ ...mount, Name: '', Source: '' }, { Type: 'volume', Name: '', Source: '', Destination: '/data', Driver: 'local', Mode: '', RW: true, Propagation: '' });
    assert.equal(await ok(['volume', 'inspect', '--format', '{{json .Labels}}', mount.Name ?? '']), '{"com.docker.volume.anonymous":""}\n');
    assert.equal(await ok(['inspect', '--format', '{{json .Config.Volumes}}', 'anon1']), '{"/data":{},"/evil":{}}\n');
    await ok(['rm', '-v', 'anon1']);
    assert.deepEqual(await volumeNames(), before);

    await ok(['run', '--rm', '--entrypoint', 'true', image]);
    await ok(['run', '--rm', '-v', '/cache', 'busybox', 'true']);
    assert.deepEqual(await volumeNames(), before, '--rm removes anonymous volumes');

    await ok(['create', '--name', 'anon2', '-v', '/cache', 'busybox', 'true']);
    await ok(['rm', 'anon2']);
    assert.equal((await volumeNames()).length, before.length + 1, 'rm without -v keeps anonymous volumes');
    await ok(['volume', 'prune', '-f']);

    assert.equal(await ok(['run', '--name', 'named1', '-v', 'keepme:/data', '--entrypoint', 'ls', image, '/data']), 'b\n');
    await ok(['rm', '-v', 'named1']);
    assert.deepEqual(await volumeNames(), [...before, 'keepme'].sort(), 'rm -v removes the anonymous /evil volume, keeps the named one');
    await ok(['volume', 'rm', 'keepme']);
    await ok(['rmi', image]);
  });

  it('bind mounts: read-only refuses writes, read-write writes reach the host; -v creates a missing source, --mount refuses it', async () => {
    const src = join(work, 'src');
    await mkdir(src);
    await writeFile(join(src, 'file'), 'host\n');
    const ro = await d.docker(['run', '--rm', '-v', `${src}:/h:ro`, 'busybox', 'sh', '-c', 'cat /h/file; echo x > /h/new']);
    assert.notEqual(ro.code, 0);
    assert.equal(ro.stdout, 'host\n');
    assert.match(ro.stderr, /Read-only file system/);
    assert.equal(existsSync(join(src, 'new')), false);
    const roMount = await d.docker(['run', '--rm', '--mount', `type=bind,src=${src},dst=/h,readonly`, 'busybox', 'sh', '-c', 'echo x > /h/new']);
    assert.notEqual(roMount.code, 0);
    assert.equal(existsSync(join(src, 'new')), false);

    await ok(['run', '--name', 'rw1', '-v', `${src}:/h`, 'busybox', 'sh', '-c', 'echo written > /h/new']);
    assert.equal(await readFile(join(src, 'new'), 'utf8'), 'written\n');
    assert.deepEqual(await inspectMounts('rw1'), [{ Type: 'bind', Source: src, Destination: '/h', Mode: '', RW: true, Propagation: 'rprivate' }]);
    await ok(['rm', 'rw1']);

    const created = join(work, 'made', 'by', 'run');
    await ok(['run', '--rm', '-v', `${created}:/m`, 'busybox', 'true']);
    assert.ok((await stat(created)).isDirectory());

    const absent = join(work, 'absent');
    const refused = await d.docker(['run', '--rm', '--mount', `type=bind,src=${absent},dst=/m`, 'busybox', 'true']);
    assert.equal(refused.code, 125);
    assert.match(refused.stderr, new RegExp(`bind source path does not exist: ${absent}`));
    const api = await d.api('POST', '/containers/create', { Image: 'busybox', HostConfig: { Mounts: [{ Type: 'bind', Source: absent, Target: '/m' }] } });
    assert.equal(api.status, 400);
    assert.equal(existsSync(absent), false);

    // The host's / is a private mount here: shared propagation cannot be honoured, and says so.
    const shared = await d.docker(['run', '--rm', '--mount', `type=bind,src=${src},dst=/h,bind-propagation=rshared`, 'busybox', 'true']);
    assert.notEqual(shared.code, 0);
    assert.match(shared.stderr, /is not a shared mount/);
  });

  it('tmpfs mounts honour their size and mode', async () => {
    const small = await d.docker(['run', '--rm', '--tmpfs', '/t:size=1m', 'busybox', 'sh', '-c', 'df -k /t | tail -1; dd if=/dev/zero of=/t/big bs=1024 count=2048']);
    assert.notEqual(small.code, 0, 'writing 2 MiB into a 1 MiB tmpfs must fail');
    assert.match(small.stdout, /^tmpfs\s+1024\s/);
    assert.match(small.stderr, /No space left on device/);
    const mount = await ok(['run', '--rm', '--mount', 'type=tmpfs,dst=/t,tmpfs-size=2m,tmpfs-mode=1770', 'busybox', 'sh', '-c', 'grep " /t " /proc/mounts; stat -c %a /t']);
    assert.match(mount, /^tmpfs \/t tmpfs rw,nosuid,nodev,noexec,relatime,size=2048k,mode=1770 0 0\n1770\n$/);
    assert.equal(await ok(['run', '--rm', '--tmpfs', '/t:exec', 'busybox', 'sh', '-c', 'grep " /t " /proc/mounts | grep -c noexec || true']), '0\n');
  });

  it('--volumes-from shares another container\'s mounts, read-only with :ro', async () => {
    await ok(['create', '--name', 'datasrc', '-v', 'fromvol:/data', '-v', '/anon2', 'busybox', 'true']);
    await ok(['run', '--rm', '--volumes-from', 'datasrc', 'busybox', 'sh', '-c', 'echo x > /data/x; echo y > /anon2/y']);
    const ro = await d.docker(['run', '--name', 'reader', '--volumes-from', 'datasrc:ro', 'busybox', 'sh', '-c', 'cat /data/x /anon2/y; echo z > /data/z']);
    assert.equal(ro.stdout, 'x\ny\n');
    assert.notEqual(ro.code, 0);
    assert.equal(await ok(['inspect', '--format', '{{json .HostConfig.VolumesFrom}}', 'reader']), '["datasrc:ro"]\n');
    assert.deepEqual((await inspectMounts('reader')).map((m) => [m.Destination, m.RW]).sort(), [['/anon2', false], ['/data', false]]);
    const missing = await d.api('POST', '/containers/create', { Image: 'busybox', HostConfig: { VolumesFrom: ['nosuchctr'] } });
    assert.equal(missing.status, 404);
    assert.equal(missing.json<{ message: string }>().message, 'No such container: nosuchctr');
    await ok(['rm', '-v', 'reader']);
    await ok(['rm', '-v', 'datasrc']);
    await ok(['volume', 'rm', 'fromvol']);
  });

  it('volume rm of a volume any container uses is a 409; prune removes unused anonymous volumes (all with -a)', async () => {
    const id = (await ok(['create', '--name', 'holder', '-v', 'busy:/d', 'busybox', 'true'])).trim();
    const rmBusy = await d.docker(['volume', 'rm', 'busy']);
    assert.equal(rmBusy.code, 1);
    assert.equal(rmBusy.stderr.trim(), `Error response from daemon: remove busy: volume is in use - [${id}]`);
    const api = await d.api('DELETE', '/volumes/busy?force=1');
    assert.equal(api.status, 409);
    assert.equal(api.json<{ message: string }>().message, `remove busy: volume is in use - [${id}]`);

    await ok(['create', '--name', 'anonsrc', '-v', '/x', 'busybox', 'true']);
    const [anon] = await inspectMounts('anonsrc');
    await ok(['rm', 'anonsrc']);
    await ok(['volume', 'create', 'unused']);
    await ok(['run', '--rm', '-v', 'unused:/u', 'busybox', 'sh', '-c', 'echo 12345 > /u/f']);
    assert.equal(await ok(['volume', 'prune', '-f']), `Deleted Volumes:\n${anon?.Name}\n\nTotal reclaimed space: 0B\n`);
    assert.deepEqual(await volumeNames(), ['busy', 'unused']);
    assert.equal(await ok(['volume', 'prune', '-f', '-a']), 'Deleted Volumes:\nunused\n\nTotal reclaimed space: 6B\n');
    assert.deepEqual(await volumeNames(), ['busy']);
    await ok(['rm', 'holder']);
    await ok(['volume', 'rm', 'busy']);
  });

  it('refuses bad input with a clear 400 and leaves nothing half-created', async () => {
    for (const name of ['a/b', '.hidden', '../../escape', 'x']) {
      const r = await d.api('POST', '/volumes/create', { Name: name });
      assert.equal(r.status, 400, name);
      assert.match(r.json<{ message: string }>().message, /includes invalid characters for a local volume name/);
    }
    assert.equal(existsSync(join(d.root, 'data', 'escape')), false);
    assert.equal((await d.api('POST', '/volumes/create', { Name: 'opts', DriverOpts: { foo: 'bar' } })).status, 400);
    assert.equal((await d.api('POST', '/volumes/create', { Name: 'opts', Driver: 'nfs-plugin' })).status, 404);

    const create = (hostConfig: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<{ status: number; json<T>(): T }> =>
      d.api('POST', '/containers/create', { Image: 'busybox', Cmd: ['true'], ...extra, HostConfig: hostConfig });
    const cases: Array<[Record<string, unknown>, RegExp, Record<string, unknown>?]> = [
      [{ Binds: ['vol1:relative'] }, /mount path must be absolute/],
      [{ Binds: [`${work}:/`] }, /destination can't be '\/'/],
      [{ Mounts: [{ Type: 'bind', Source: work, Target: '/' }] }, /destination can't be '\/'/],
      [{ Mounts: [{ Type: 'weird', Target: '/x' }] }, /mount type unknown/],
      [{ Binds: ['vol1:/x:bogus'] }, /invalid mode: bogus/],
      [{ Mounts: [{ Type: 'tmpfs', Target: '/x', TmpfsOptions: { Options: [['bogus']] } }] }, /invalid option/],
      [{ Tmpfs: { relative: '' } }, /mount path must be absolute/],
      [{ Binds: ['vol1:/d', `${work}:/d`] }, /Duplicate mount point: \/d/],
      [{ Binds: ['vol1:/d'], Mounts: [{ Type: 'tmpfs', Target: '/d/' }] }, /Duplicate mount point: \/d/],
      [{}, /mount path must be absolute/, { Volumes: { 'not/absolute': {} } }],
    ];
    for (const [hostConfig, message, extra] of cases) {
      const r = await create(hostConfig, extra);
      assert.equal(r.status, 400, JSON.stringify(hostConfig));
      assert.match(r.json<{ message: string }>().message, message);
    }
    // The first volume is made before the second one fails: the failed create takes it back.
    const half = await create({
      Mounts: [
        { Type: 'volume', Source: 'okvol', Target: '/a' },
        { Type: 'volume', Source: 'badvol', Target: '/b', VolumeOptions: { DriverConfig: { Name: 'nosuchdriver' } } },
      ],
    });
    assert.equal(half.status, 404);
    assert.deepEqual(await volumeNames(), []);
    assert.equal((await d.api('GET', '/containers/json?all=1')).json<unknown[]>().length, 0);
    assert.deepEqual(await readdir(volumesDir()), []);
  });

  it('docker-py creates, uses, inspects and removes volumes and mounts', async () => {
    const script = `
import json, docker
from docker.types import Mount
c = docker.from_env()
v = c.volumes.create('pyvol', labels={'from': 'py'})
writer = c.containers.run('busybox', ['sh', '-c', 'echo py > /data/f; cat /data/f'], volumes={'pyvol': {'bind': '/data', 'mode': 'rw'}}, detach=True)
writer.wait()
out = writer.logs()
writer.remove()
ctr = c.containers.create('busybox', ['true'], volumes=['pyvol:/data:ro'], mounts=[Mount('/t', None, type='tmpfs', tmpfs_size=1048576)])
ctr.reload()
try:
    v.remove()
    in_use = None
except docker.errors.APIError as e:
    in_use = e.status_code
ctr.remove()
listed = [x.name for x in c.volumes.list(filters={'label': 'from=py'})]
v.reload()
labels = v.attrs['Labels']
v.remove()
print(json.dumps({'out': out.decode(), 'mounts': ctr.attrs['Mounts'], 'binds': ctr.attrs['HostConfig']['Binds'], 'in_use': in_use, 'listed': listed, 'labels': labels, 'left': [x.name for x in c.volumes.list()]}))
`;
    const { stdout } = await execFileAsync('python3', ['-c', script], { env: { ...process.env, DOCKER_HOST: d.host } });
    const result = JSON.parse(stdout) as { out: string; mounts: MountDoc[]; binds: string[]; in_use: number; listed: string[]; labels: Record<string, string>; left: string[] };
    assert.equal(result.out, 'py\n');
    assert.equal(result.in_use, 409);
    assert.deepEqual(result.listed, ['pyvol']);
    assert.deepEqual(result.labels, { from: 'py' });
    assert.deepEqual(result.left, []);
    assert.deepEqual(result.binds, ['pyvol:/data:ro']);
    const byDest = Object.fromEntries(result.mounts.map((m) => [m.Destination, m]));
    assert.deepEqual(byDest['/data'], { Type: 'volume', Name: 'pyvol', Source: join(volumesDir(), 'pyvol', '_data'), Destination: '/data', Driver: 'local', Mode: 'ro', RW: false, Propagation: '' });
    assert.deepEqual(byDest['/t'], { Type: 'tmpfs', Source: '', Destination: '/t', Mode: '', RW: true, Propagation: '' });
  });

  it('docker-compose (v1) creates the project\'s named volume, uses it, and down -v removes it', async () => {
    const project = join(work, 'compose');
    await mkdir(project);
    await writeFile(
      join(project, 'docker-compose.yml'),
      [
        'version: "3.7"',
        'services:',
        '  app:',
        '    image: busybox',
        '    network_mode: none',
        '    command: sh -c "echo composed >> /data/f; cat /data/f; df -k /run | tail -1"',
        '    volumes:',
        '      - appdata:/data',
        '      - /cache',
        '    tmpfs:',
        '      - /run:size=1m',
        'volumes:',
        '  appdata:',
        '',
      ].join('\n'),
    );
    const compose = (args: string[]): Promise<{ stdout: string; stderr: string }> =>
      execFileAsync('docker-compose', ['-p', 'vt', ...args], { cwd: project, env: { ...process.env, DOCKER_HOST: d.host } });
    await compose(['up', '-d']);
    let logs = '';
    for (let i = 0; i < 50 && !/tmpfs\s+1024/.test(logs); i++) {
      await new Promise((r) => setTimeout(r, 200));
      logs = (await compose(['logs', '--no-color', 'app'])).stdout;
    }
    assert.match(logs, /composed/);
    assert.match(logs, /tmpfs\s+1024\s/);
    const volume = JSON.parse(await ok(['volume', 'inspect', 'vt_appdata'])) as VolumeDoc[];
    assert.equal(volume[0]?.Labels?.['com.docker.compose.project'], 'vt');
    await compose(['down', '-v']);
    assert.deepEqual(await volumeNames(), []);
  });

  it('berth CLI: volume commands and --mount/-v with docker\'s output', async () => {
    const b = async (args: string[]): Promise<string> => {
      const r = await d.berth(args);
      assert.equal(r.code, 0, `berth ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    assert.equal(await b(['volume', 'create', '--label', 'k=v', 'bv']), 'bv\n');
    assert.equal(await b(['volume', 'ls']), 'DRIVER    VOLUME NAME\nlocal     bv\n');
    assert.equal(await b(['volume', 'inspect', '--format', '{{.Name}} {{.Driver}} {{.Labels}}', 'bv']), 'bv local map[k:v]\n');
    await b(['run', '--rm', '--mount', 'type=volume,src=bv,dst=/d', 'busybox', 'sh', '-c', 'echo berth > /d/f']);
    assert.equal(await b(['run', '--rm', '-v', 'bv:/d:ro', 'busybox', 'cat', '/d/f']), 'berth\n');
    assert.equal(await b(['run', '--rm', '--tmpfs', '/t:size=1m', 'busybox', 'sh', '-c', 'df -k /t | tail -1 | awk \'{print $2}\'']), '1024\n');
    const inUse = await d.berth(['run', '-d', '--name', 'bholder', '-v', 'bv:/d', 'busybox', 'sleep', '300']);
    assert.equal(inUse.code, 0, inUse.stderr);
    const refused = await d.berth(['volume', 'rm', 'bv']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^Error response from daemon: remove bv: volume is in use - \[[a-f0-9]{64}\]$/m);
    await b(['rm', '-f', 'bholder']);
    assert.equal(await b(['volume', 'rm', 'bv']), 'bv\n');
    assert.equal(await b(['volume', 'prune', '-f']), 'Total reclaimed space: 0B\n');
  });
});

/** --pid, --ipc and --uts: the host's namespaces, another container's, and no /dev/shm (docker CLI, berth CLI, the API). */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { mountsUnder, mountsUnderExceptLayers, startBerthd, type Berthd } from '../helpers/berthd.js';
import { assertSameAsDocker } from '../helpers/cli-compare.js';

describe('namespace modes', () => {
  let d: Berthd;
  before(async () => {
    d = await startBerthd();
  });
  after(async () => {
    await d.destroy();
  });

  /** The namespace IDs a one-off container sees, e.g. `pid:[4026531836]`, by type. */
  const namespacesIn = async (cli: 'docker' | 'berth', flags: string[]): Promise<Record<string, string>> => {
    const r = await d[cli](['run', '--rm', ...flags, 'busybox', 'sh', '-c', 'for t in pid ipc uts; do echo "$t $(readlink /proc/self/ns/$t)"; done']);
    assert.equal(r.code, 0, r.stderr);
    return Object.fromEntries(r.stdout.trim().split('\n').map((line) => line.split(' ') as [string, string]));
  };
  const host = (type: string): string => readlinkSync(`/proc/self/ns/${type}`);

  it('takes --userns host: the host user namespace, where every berth container runs', async () => {
    const r = await d.berth(['run', '--name', 'userns', '--userns', 'host', 'busybox', 'readlink', '/proc/self/ns/user']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), readlinkSync('/proc/self/ns/user'));
    assert.equal((await d.docker(['inspect', '-f', '{{.HostConfig.UsernsMode}}', 'userns'])).stdout.trim(), 'host');
    assert.equal((await d.docker(['rm', 'userns'])).code, 0);
  });

  it("joins the host's PID, IPC and UTS namespaces with host, and has its own by default", async () => {
    const own = await namespacesIn('docker', []);
    for (const type of ['pid', 'ipc', 'uts']) assert.notEqual(own[type], host(type), `${type}: a namespace of its own`);
    const shared = await namespacesIn('docker', ['--pid', 'host', '--ipc', 'host', '--uts', 'host']);
    for (const type of ['pid', 'ipc', 'uts']) assert.equal(shared[type], host(type), `${type}: the host's`);
    // One at a time, through the berth CLI: the others stay private.
    assert.deepEqual(await namespacesIn('berth', ['--pid', 'host']), { ...own, pid: host('pid') });

    const name = (await d.berth(['run', '--rm', '--uts', 'host', 'busybox', 'hostname'])).stdout.trim();
    assert.equal(name, hostname(), 'the kernel hostname is the host’s');
    // The host's /dev/shm is the container's.
    const file = `berth-test-${randomBytes(4).toString('hex')}`;
    writeFileSync(`/dev/shm/${file}`, 'from the host\n');
    try {
      const r = await d.docker(['run', '--rm', '--ipc', 'host', 'busybox', 'cat', `/dev/shm/${file}`]);
      assert.equal(r.stdout, 'from the host\n', r.stderr);
    } finally {
      rmSync(`/dev/shm/${file}`, { force: true });
    }
  });

  it("joins another running container's PID namespace, and a shareable one's IPC namespace and /dev/shm", async () => {
    const donor = await d.docker(['run', '-d', '--name', 'donor', '--ipc', 'shareable', 'busybox', 'sh', '-c', 'echo shared > /dev/shm/note; exec sleep 300']);
    assert.equal(donor.code, 0, donor.stderr);
    const inDonor = (await d.docker(['exec', 'donor', 'sh', '-c', 'readlink /proc/self/ns/pid; readlink /proc/self/ns/ipc'])).stdout.trim().split('\n');
    const joined = await d.docker([
      'run', '--rm', '--pid', 'container:donor', '--ipc', 'container:donor', 'busybox',
      'sh', '-c', 'readlink /proc/self/ns/pid; readlink /proc/self/ns/ipc; cat /proc/1/comm; cat /dev/shm/note',
    ]);
    assert.equal(joined.code, 0, joined.stderr);
    assert.deepEqual(joined.stdout.trim().split('\n'), [...inDonor, 'sleep', 'shared']);

    const inspect = (await d.docker(['inspect', '-f', '{{.HostConfig.IpcMode}} {{.HostConfig.PidMode}} {{.HostConfig.UTSMode}}', 'donor'])).stdout.trim();
    assert.equal(inspect, 'shareable');

    // A private donor's IPC cannot be joined; a stopped donor's namespaces neither.
    assert.equal((await d.docker(['run', '-d', '--name', 'private', 'busybox', 'sleep', '300'])).code, 0);
    const refused = await d.docker(['run', '--rm', '--ipc', 'container:private', 'busybox', 'true']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /can't join IPC of container private: non-shareable IPC \(hint: use IpcMode:shareable for the donor container\)/);
    const donorId = donor.stdout.trim();
    assert.equal((await mountsUnder(d.root)).filter((m) => m.endsWith(`${donorId}/shm`)).length, 1, 'its /dev/shm is a host-side tmpfs while it runs');
    assert.equal((await d.docker(['stop', '-t', '0', 'donor'])).code, 0);
    // The teardown after a stop runs in the background: give it a moment.
    const shmMounted = async (): Promise<boolean> => (await mountsUnder(d.root)).some((m) => m.endsWith(`${donorId}/shm`));
    for (let i = 0; i < 50 && (await shmMounted()); i++) await new Promise((res) => setTimeout(res, 100));
    assert.equal(await shmMounted(), false, 'its /dev/shm is unmounted once it stopped');
    const stopped = await d.docker(['run', '--rm', '--pid', 'container:donor', 'busybox', 'true']);
    assert.notEqual(stopped.code, 0);
    assert.match(stopped.stderr, /container [0-9a-f]{64} is not running/);
    assert.equal((await d.docker(['rm', '-f', 'donor', 'private'])).code, 0);
    assert.deepEqual(await mountsUnderExceptLayers(join(d.root, 'data')), []);
  });

  it("gives a cgroup namespace of its own with --cgroupns private, the host's with host, and by default what dockerd gives (private on cgroup v2 only)", async () => {
    const cgroupns = async (flags: string[]): Promise<string> => {
      const r = await d.berth(['run', '--rm', ...flags, 'busybox', 'readlink', '/proc/self/ns/cgroup']);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout.trim();
    };
    assert.notEqual(await cgroupns(['--cgroupns', 'private']), host('cgroup'));
    assert.equal(await cgroupns(['--cgroupns', 'host']), host('cgroup'));
    const v2 = (await d.docker(['info', '-f', '{{.CgroupVersion}}'])).stdout.trim() === '2';
    assert.equal((await cgroupns([])) === host('cgroup'), !v2);
    const created = await d.docker(['create', '--cgroupns', 'private', 'busybox', 'true']);
    assert.equal(created.code, 0, created.stderr);
    assert.equal((await d.docker(['inspect', '-f', '{{.HostConfig.CgroupnsMode}}', created.stdout.trim()])).stdout.trim(), 'private');
    assert.equal((await d.docker(['rm', created.stdout.trim()])).code, 0);
  });

  it('has no /dev/shm with --ipc none', async () => {
    const none = await d.docker(['run', '--rm', '--ipc', 'none', 'busybox', 'sh', '-c', 'grep -c " /dev/shm " /proc/mounts || true']);
    assert.equal(none.stdout.trim(), '0', none.stderr);
    const own = await d.docker(['run', '--rm', 'busybox', 'grep', '-c', ' /dev/shm ', '/proc/mounts']);
    assert.equal(own.stdout.trim(), '1', own.stderr);
  });

  it('refuses bad modes as dockerd and the docker CLI do', async () => {
    for (const [field, value, message] of [
      ['PidMode', 'bogus', 'invalid PID mode: bogus'],
      ['IpcMode', 'container:', 'invalid IPC mode: container:'],
      ['UTSMode', 'container:x', 'invalid UTS mode: container:x'],
    ] as const) {
      const r = await d.api('POST', '/containers/create', { Image: 'busybox', HostConfig: { [field]: value } });
      assert.equal(r.status, 400, r.body);
      assert.equal(r.json<{ message: string }>().message, message);
    }
    const conflict = await d.api('POST', '/containers/create', { Image: 'busybox', Hostname: 'named', HostConfig: { UTSMode: 'host' } });
    assert.equal(conflict.status, 400);
    assert.equal(conflict.json<{ message: string }>().message, 'conflicting options: hostname and the UTS mode');
    await assertSameAsDocker(d, ['run', '--pid', 'bogus', 'busybox', 'true']);
    await assertSameAsDocker(d, ['create', '--ipc', 'nope', 'busybox', 'true']);
    await assertSameAsDocker(d, ['run', '--uts', 'container:x', 'busybox', 'true']);
    await assertSameAsDocker(d, ['run', '--cgroupns', 'shared', 'busybox', 'true']);
    await assertSameAsDocker(d, ['create', '--pid', 'bogus', 'busybox', 'true']);
    await assertSameAsDocker(d, ['run', '--userns', 'private', 'busybox', 'true']);
    const userns = await d.api('POST', '/containers/create', { Image: 'busybox', HostConfig: { UsernsMode: 'private' } });
    assert.deepEqual([userns.status, userns.json<{ message: string }>().message], [501, 'not supported by berth yet: HostConfig.UsernsMode']);
    const cgroupns = await d.api('POST', '/containers/create', { Image: 'busybox', HostConfig: { CgroupnsMode: 'shared' } });
    assert.equal(cgroupns.status, 400);
    assert.equal(cgroupns.json<{ message: string }>().message, 'invalid cgroup namespace mode: shared');
  });
});

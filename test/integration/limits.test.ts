/**
 * Resource limits, security options and --init through real clients (docker CLI, docker-py,
 * berth): what the container sees and what its cgroup holds.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { removeCgroup, startBerthd, type Berthd, type CommandResult } from '../helpers/berthd.js';
import { assertSameAsDocker } from '../helpers/cli-compare.js';

function python(d: Berthd, code: string): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile('python3', ['-c', code], { env: { ...process.env, DOCKER_HOST: d.host }, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('limits and security options', () => {
  let d: Berthd;
  let parent: string;
  const cgroupFile = async (controller: string, id: string, file: string): Promise<string> =>
    (await readFile(join('/sys/fs/cgroup', controller, parent, id, file), 'utf8')).trim();
  const idOf = async (name: string): Promise<string> => (await d.docker(['inspect', '-f', '{{.Id}}', name])).stdout.trim();

  before(async () => {
    d = await startBerthd();
    parent = `berth-test-${basename(d.root)}`;
  });
  after(async () => {
    await d.destroy();
  });

  it('writes --memory, --cpus, --cpu-shares, --cpuset-cpus and --pids-limit to the cgroup, and update changes them live', async () => {
    const run = await d.docker(['run', '-d', '--name', 'lim', '-m', '32m', '--cpus', '0.5', '--cpu-shares', '512', '--cpuset-cpus', '0', '--pids-limit', '10', 'busybox', 'sleep', '300']);
    assert.equal(run.code, 0, run.stderr);
    const id = run.stdout.trim();
    assert.equal(await cgroupFile('memory', id, 'memory.limit_in_bytes'), String(32 * 1024 * 1024));
    assert.equal(await cgroupFile('memory', id, 'memory.memsw.limit_in_bytes'), String(64 * 1024 * 1024));
    assert.equal(await cgroupFile('cpu', id, 'cpu.cfs_quota_us'), '50000');
    assert.equal(await cgroupFile('cpu', id, 'cpu.cfs_period_us'), '100000');
    assert.equal(await cgroupFile('cpu', id, 'cpu.shares'), '512');
    assert.equal(await cgroupFile('cpuset', id, 'cpuset.cpus'), '0');
    assert.equal(await cgroupFile('pids', id, 'pids.max'), '10');
    const inspect = await d.docker(['inspect', '-f', '{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.NanoCpus}} {{.HostConfig.CpuShares}} {{.HostConfig.PidsLimit}}', 'lim']);
    assert.equal(inspect.stdout.trim(), `${32 * 1024 * 1024} ${64 * 1024 * 1024} 500000000 512 10`);

    const update = await d.docker(['update', '--memory', '48m', '--cpu-shares', '256', '--pids-limit', '20', 'lim']);
    assert.equal(update.code, 0, update.stderr);
    assert.equal(await cgroupFile('memory', id, 'memory.limit_in_bytes'), String(48 * 1024 * 1024));
    assert.equal(await cgroupFile('cpu', id, 'cpu.shares'), '256');
    assert.equal(await cgroupFile('pids', id, 'pids.max'), '20');
    assert.equal((await d.docker(['update', '--pids-limit', '-1', 'lim'])).code, 0);
    assert.equal(await cgroupFile('pids', id, 'pids.max'), 'max');

    // docker-py's update, then a restart: the record keeps the new limits.
    const py = await python(d, `import docker; c = docker.from_env().containers.get('lim'); print(c.update(cpu_shares=128, mem_limit='40m'))`);
    assert.equal(py.code, 0, py.stderr);
    assert.equal(await cgroupFile('cpu', id, 'cpu.shares'), '128');
    const restart = await d.docker(['restart', '-t', '0', 'lim']);
    assert.equal(restart.code, 0, restart.stderr);
    assert.equal(await cgroupFile('memory', id, 'memory.limit_in_bytes'), String(40 * 1024 * 1024));
    assert.equal(await cgroupFile('cpu', id, 'cpu.shares'), '128');

    const conflicting = await d.docker(['update', '--cpu-quota', '20000', 'lim']);
    assert.notEqual(conflicting.code, 0);
    assert.match(conflicting.stderr, /CPU Quota cannot be updated as NanoCPUs has already been set/);
    // What berth does not implement is refused, not ignored.
    const realtime = await d.docker(['update', '--cpu-rt-runtime', '1000', 'lim']);
    assert.notEqual(realtime.code, 0);
    assert.match(realtime.stderr, /not supported by berth yet: CpuRealtimeRuntime/);
    await d.docker(['rm', '-f', 'lim']);
  });

  it("places a container with --cgroup-parent under that cgroup instead of berthd's, and OOMKilled is read there", async () => {
    const own = `/${parent}-own`;
    try {
      const run = await d.berth(['run', '--name', 'parented', '--cgroup-parent', own, '-m', '8m', 'busybox', 'sh', '-c', 'grep -E "^[0-9]+:memory:" /proc/self/cgroup; tail /dev/zero']);
      assert.equal(run.code, 137, run.stderr);
      const id = await idOf('parented');
      // cgroup v1 without a cgroup namespace: the path as the host names it.
      assert.match(run.stdout, new RegExp(`^\\d+:memory:${own}/${id}$`, 'm'));
      const state = (await d.docker(['inspect', '-f', '{{.HostConfig.CgroupParent}} {{.State.OOMKilled}}', 'parented'])).stdout.trim();
      assert.equal(state, `${own} true`);
      await assertSameAsDocker(d, ['run', '--rm', '--cgroup-parent', 'system.slice', 'busybox', 'true']);
      await assertSameAsDocker(d, ['run', '--rm', '--cgroup-parent', '/a/../../b', 'busybox', 'true']);
      assert.equal((await d.docker(['rm', 'parented'])).code, 0);
    } finally {
      await removeCgroup(own);
    }
  });

  it('applies --device-cgroup-rule, --security-opt systempaths=unconfined and --annotation', async () => {
    const probe = 'grep -c -e " /proc/keys " -e " /proc/sys " /proc/self/mountinfo; mknod /tmp/lc c 10 237 && (exec 3</tmp/lc && echo opened)';
    const confined = await d.docker(['run', '--rm', 'busybox', 'sh', '-c', probe]);
    assert.equal(confined.stdout, '2\n', 'Docker\'s masked and read-only paths are mounts; the loop-control device is not allowed');
    assert.match(confined.stderr, /can't open \/tmp\/lc: Operation not permitted/);
    const open = await d.berth(['run', '--rm', '--security-opt', 'systempaths=unconfined', '--device-cgroup-rule', 'c 10:237 r', 'busybox', 'sh', '-c', probe]);
    assert.equal(open.stdout, '0\nopened\n', open.stderr);

    const run = await d.docker(['run', '-d', '--name', 'annotated', '--annotation', 'org.example.team=storage', '--annotation', 'flag', '--security-opt', 'systempaths=unconfined', '--device-cgroup-rule', 'b *:* r', 'busybox', 'sleep', '300']);
    assert.equal(run.code, 0, run.stderr);
    const inspect = (await d.berth(['inspect', '-f', '{{json .HostConfig.Annotations}} {{json .HostConfig.DeviceCgroupRules}} {{json .HostConfig.MaskedPaths}} {{json .HostConfig.ReadonlyPaths}}', 'annotated'])).stdout.trim();
    assert.equal(inspect, '{"flag":"","org.example.team":"storage"} ["b *:* r"] [] []');
    const config = JSON.parse(await readFile(join(d.root, 'data', 'containers', run.stdout.trim(), 'config.json'), 'utf8')) as { annotations?: unknown };
    assert.deepEqual(config.annotations, { flag: '', 'org.example.team': 'storage' }, 'the runtime gets the annotations');
    assert.equal((await d.docker(['rm', '-f', 'annotated'])).code, 0);

    await assertSameAsDocker(d, ['run', '--rm', '--device-cgroup-rule', 'x 1:3 rwm', 'busybox', 'true']);
    const create = async (hostConfig: Record<string, unknown>): Promise<[number, string]> => {
      const r = await d.api('POST', '/containers/create', { Image: 'busybox', HostConfig: hostConfig });
      return [r.status, r.json<{ message: string }>().message];
    };
    assert.deepEqual(await create({ DeviceCgroupRules: ['c 1:3'] }), [400, "invalid device cgroup rule format: 'c 1:3'"]);
    assert.deepEqual(await create({ Annotations: { '': 'x' } }), [400, 'invalid Annotations: the empty string is not permitted as an annotation key']);
    assert.deepEqual(await create({ MaskedPaths: ['proc/kcore'] }), [400, 'invalid MaskedPaths entry "proc/kcore": must be an absolute path']);
  });

  it('kills a container that exceeds --memory and reports OOMKilled', async () => {
    const r = await d.docker(['run', '--name', 'oom', '-m', '8m', 'busybox', 'tail', '/dev/zero']);
    assert.equal(r.code, 137, r.stderr);
    const state = await d.docker(['inspect', '-f', '{{.State.OOMKilled}} {{.State.ExitCode}}', 'oom']);
    assert.equal(state.stdout.trim(), 'true 137');
    const py = await python(d, `import docker; print(docker.from_env().containers.get('oom').attrs['State']['OOMKilled'])`);
    assert.equal(py.stdout.trim(), 'True', py.stderr);
    await d.docker(['rm', 'oom']);
    const fine = await d.docker(['run', '--name', 'nooom', '-m', '16m', 'busybox', 'true']);
    assert.equal(fine.code, 0, fine.stderr);
    assert.equal((await d.docker(['inspect', '-f', '{{.State.OOMKilled}}', 'nooom'])).stdout.trim(), 'false');
    await d.docker(['rm', 'nooom']);
  });

  it('enforces --pids-limit', async () => {
    // Not much lower: runc's init is a Go program whose threads count until it execs the
    // process, and a limit of 5 sometimes stopped runc itself (pthread_create failed).
    const r = await d.docker(['run', '--rm', '--pids-limit', '20', 'busybox', 'sh', '-c', 'i=0; while [ $i -lt 40 ]; do sleep 5 & i=$((i+1)); done; echo started']);
    assert.match(r.stderr + r.stdout, /can't fork/);
  });

  it('mounts the rootfs read-only with --read-only (docker-py)', async () => {
    const py = await python(
      d,
      `import docker
c = docker.from_env()
try:
    c.containers.run('busybox', ['touch', '/x'], read_only=True, remove=True)
    print('wrote')
except docker.errors.ContainerError as e:
    print('refused', e.exit_status, e.stderr.decode().strip())`,
    );
    assert.equal(py.code, 0, py.stderr);
    assert.match(py.stdout, /refused 1 .*Read-only file system/);
  });

  it('applies --cap-drop/--cap-add, --privileged, seccomp=unconfined, a seccomp profile file and no-new-privileges', async () => {
    const caps = await d.docker(['run', '--rm', '--cap-drop', 'ALL', '--cap-add', 'NET_ADMIN', 'busybox', 'grep', 'CapEff', '/proc/self/status']);
    assert.match(caps.stdout, /CapEff:\s+0000000000001000/);
    const chown = await d.docker(['run', '--rm', '--cap-drop', 'chown', 'busybox', 'grep', 'CapEff', '/proc/self/status']);
    assert.match(chown.stdout, /CapEff:\s+00000000a80425fa/);
    const hostCaps = /CapBnd:\s+([0-9a-f]+)/.exec(await readFile(`/proc/${d.pid()}/status`, 'utf8'))?.[1];
    const priv = await d.docker(['run', '--rm', '--privileged', 'busybox', 'sh', '-c', 'grep -E "CapEff|Seccomp:" /proc/self/status; mount | grep " /sys "; ls /dev/loop-control /dev/kmsg']);
    assert.equal(priv.code, 0, priv.stderr);
    assert.match(priv.stdout, new RegExp(`CapEff:\\s+${hostCaps}`));
    assert.match(priv.stdout, /Seccomp:\s+0/);
    assert.match(priv.stdout, /sysfs on \/sys type sysfs \(rw,/);
    const unconfined = await d.docker(['run', '--rm', '--security-opt', 'seccomp=unconfined', '--security-opt', 'no-new-privileges', 'busybox', 'grep', '-E', 'Seccomp:|NoNewPrivs', '/proc/self/status']);
    assert.match(unconfined.stdout, /NoNewPrivs:\s+1/);
    assert.match(unconfined.stdout, /Seccomp:\s+0/);

    const dir = await mkdtemp(join(tmpdir(), 'berth-seccomp-'));
    try {
      const profile = join(dir, 'no-mkdir.json');
      await writeFile(profile, JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }] }));
      const denied = await d.docker(['run', '--rm', '--security-opt', `seccomp=${profile}`, 'busybox', 'mkdir', '/tmp/x']);
      assert.equal(denied.code, 1);
      assert.match(denied.stderr, /Operation not permitted/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const unknownCap = await d.docker(['run', '--rm', '--cap-add', 'NOT_A_CAP', 'busybox', 'true']);
    assert.equal(unknownCap.code, 125);
    assert.match(unknownCap.stderr, /unknown capability: "CAP_NOT_A_CAP"/);
  });

  it('sets --ulimit within the hard limit and refuses one above it with a clear 400', async () => {
    const ok = await d.docker(['run', '--rm', '--ulimit', 'nofile=512:1024', 'busybox', 'grep', 'open files', '/proc/self/limits']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /Max open files\s+512\s+1024/);
    const hard = /Max open files\s+\d+\s+(\d+)/.exec(await readFile(`/proc/${d.pid()}/limits`, 'utf8'))?.[1];
    const canRaise = ((BigInt('0x' + (/CapEff:\s+([0-9a-f]+)/.exec(await readFile(`/proc/${d.pid()}/status`, 'utf8'))?.[1] ?? '0')) >> 24n) & 1n) === 1n;
    if (hard !== undefined && !canRaise) {
      const above = await d.api('POST', '/containers/create', { Image: 'busybox', Cmd: ['true'], HostConfig: { Ulimits: [{ Name: 'nofile', Soft: 1024, Hard: Number(hard) + 1 }] } });
      assert.equal(above.status, 400);
      assert.match(above.json<{ message: string }>().message, /ulimit nofile: hard limit \d+ is above the engine's own hard limit/);
      const cli = await d.docker(['run', '--rm', '--ulimit', `nofile=1024:${Number(hard) + 1}`, 'busybox', 'true']);
      assert.equal(cli.code, 125);
      assert.match(cli.stderr, /ulimit nofile/);
    }
    const badName = await d.api('POST', '/containers/create', { Image: 'busybox', HostConfig: { Ulimits: [{ Name: 'bogus', Soft: 1, Hard: 1 }] } });
    assert.equal(badName.status, 400);
    assert.match(badName.body, /invalid ulimit type: bogus/);
    const softAboveHard = await d.api('POST', '/containers/create', { Image: 'busybox', HostConfig: { Ulimits: [{ Name: 'nofile', Soft: 10, Hard: 5 }] } });
    assert.equal(softAboveHard.status, 400);
  });

  it('validates limits like dockerd', async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ Memory: 4 * 1024 * 1024 }, /Minimum memory limit allowed is 6MB/],
      [{ Memory: 64 * 1024 * 1024, MemorySwap: 32 * 1024 * 1024 }, /Minimum memoryswap limit should be larger than memory limit/],
      [{ MemorySwap: 32 * 1024 * 1024 }, /You should always set the Memory limit when using Memoryswap limit/],
      [{ NanoCpus: 500_000_000, CpuQuota: 50_000 }, /Conflicting options: Nano CPUs and CPU Quota cannot both be set/],
      [{ NanoCpus: 500_000_000, CpuPeriod: 50_000 }, /Conflicting options: Nano CPUs and CPU Period cannot both be set/],
      [{ NanoCpus: 1000e9 }, /Range of CPUs is from 0.01 to/],
      [{ CpuShares: -5 }, /cpu-shares: must not be negative/],
      [{ CpuPeriod: 10 }, /CPU cfs period can not be less than 1ms/],
      [{ CpusetCpus: '99' }, /Requested CPUs are not available/],
      [{ CpusetCpus: 'x-y' }, /Invalid value x-y for cpuset cpus/],
      [{ Memory: 'lots' }, /cannot unmarshal string into Go struct field HostConfig.Memory/],
      [{ Sysctls: { 'kernel.panic': '1' } }, /is not in a separate kernel namespace/],
      [{ SecurityOpt: ['bogus'] }, /invalid --security-opt 1: "bogus"/],
      [{ Devices: [{ PathOnHost: '/dev/does-not-exist', PathInContainer: '/dev/x', CgroupPermissions: 'rwm' }] }, /error gathering device information/],
      [{ RestartPolicy: { Name: 'on-failure', MaximumRetryCount: -1 } }, /maximum retry count cannot be negative/],
      [{ RestartPolicy: { Name: 'sometimes' } }, /unknown policy 'sometimes'/],
      [{ AutoRemove: true, RestartPolicy: { Name: 'always' } }, /can't create 'AutoRemove' container with restart policy/],
    ];
    for (const [hostConfig, message] of cases) {
      const r = await d.api('POST', '/containers/create', { Image: 'busybox', Cmd: ['true'], HostConfig: hostConfig });
      assert.equal(r.status, 400, `${JSON.stringify(hostConfig)}: ${r.body}`);
      assert.match(r.json<{ message: string }>().message, message);
    }
    const list = await d.api('GET', '/containers/json?all=1');
    assert.deepEqual(list.json<unknown[]>(), []);
  });

  it('maps --device and --sysctl into the container', async () => {
    const r = await d.docker(['run', '--rm', '--device', '/dev/null:/dev/mynull:rw', '--sysctl', 'kernel.shmmni=100', 'busybox', 'sh', '-c', 'ls -l /dev/mynull; echo x > /dev/mynull && echo wrote; cat /proc/sys/kernel/shmmni']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^crw.* 1,\s+3 .*\/dev\/mynull$/m);
    assert.match(r.stdout, /^wrote$/m);
    assert.match(r.stdout, /^100$/m);
  });

  it('runs catatonit as PID 1 with --init: reaps, forwards signals, passes the exit code', async () => {
    const r = await d.docker(['run', '--rm', '--init', 'busybox', 'sh', '-c', 'tr "\\0" " " < /proc/1/cmdline; echo; sh -c "sleep 0.2 &"; sleep 1; ps -o stat,comm | grep -c "^Z" ; exit 7']);
    assert.equal(r.code, 7, r.stderr);
    assert.match(r.stdout, /^\/sbin\/docker-init -- sh -c /);
    assert.match(r.stdout, /^0$/m);
    const bg = await d.docker(['run', '-d', '--name', 'init-term', '--init', 'busybox', 'sh', '-c', 'trap "exit 42" TERM; while true; do sleep 0.1; done']);
    assert.equal(bg.code, 0, bg.stderr);
    await new Promise((res) => setTimeout(res, 500));
    const stop = await d.docker(['stop', 'init-term']);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal((await d.docker(['inspect', '-f', '{{.State.ExitCode}} {{.HostConfig.Init}}', 'init-term'])).stdout.trim(), '42 true');
    await d.docker(['rm', 'init-term']);
  });

  it('applies --label, --stop-signal, --stop-timeout, --group-add and --shm-size', async () => {
    const run = await d.docker(['run', '-d', '--name', 'misc', '-l', 'tier=web', '--stop-signal', 'SIGUSR1', '--stop-timeout', '1', '--group-add', '1234', '--shm-size', '16m', 'busybox', 'sh', '-c', 'trap "exit 9" USR1; while true; do sleep 0.1; done']);
    assert.equal(run.code, 0, run.stderr);
    const i = await d.docker(['inspect', '-f', '{{.Config.Labels.tier}} {{.Config.StopSignal}} {{.Config.StopTimeout}} {{.HostConfig.ShmSize}}', 'misc']);
    assert.equal(i.stdout.trim(), `web SIGUSR1 1 ${16 * 1024 * 1024}`);
    const ex = await d.docker(['exec', 'misc', 'sh', '-c', 'id -G; df -k /dev/shm | tail -1']);
    assert.match(ex.stdout, /\b1234\b/);
    assert.match(ex.stdout, /^shm\s+16384\s/m);
    const stop = await d.docker(['stop', 'misc']);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal((await d.docker(['inspect', '-f', '{{.State.ExitCode}}', 'misc'])).stdout.trim(), '9');
    await d.docker(['rm', 'misc']);
  });

  it('takes the same flags through the berth CLI', async () => {
    const run = await d.berth(['run', '-d', '--name', 'bl', '-m', '24m', '--cpu-shares', '300', '--ulimit', 'nofile=256:512', '--cap-drop', 'ALL', 'busybox', 'sleep', '300']);
    assert.equal(run.code, 0, run.stderr);
    const id = await idOf('bl');
    assert.equal(await cgroupFile('memory', id, 'memory.limit_in_bytes'), String(24 * 1024 * 1024));
    assert.equal(await cgroupFile('cpu', id, 'cpu.shares'), '300');
    const update = await d.berth(['update', '--memory', '32m', '--memory-swap', '64m', 'bl']);
    assert.equal(update.code, 0, update.stderr);
    assert.equal(update.stdout, 'bl\n');
    assert.equal(await cgroupFile('memory', id, 'memory.limit_in_bytes'), String(32 * 1024 * 1024));
    const ex = await d.berth(['exec', 'bl', 'grep', '-E', 'open files|CapEff', '/proc/1/limits', '/proc/1/status']);
    assert.match(ex.stdout, /Max open files\s+256\s+512/);
    assert.match(ex.stdout, /CapEff:\s+0000000000000000/);
    const low = await d.berth(['run', '--rm', '-m', '1m', 'busybox', 'true']);
    assert.equal(low.code, 125);
    assert.match(low.stderr, /Minimum memory limit allowed is 6MB/);
    await d.berth(['rm', '-f', 'bl']);
  });
});

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadRuntimeSpecValidator } from '../../helpers/runtime-schema.js';
import { isBerthError } from '../../../src/core/errors.js';
import {
  emptyResources,
  mergeResourcesUpdate,
  ociResources,
  ociResourcesForUpdate,
  ociRlimits,
  parseHardLimits,
  parseUintList,
  parseUlimit,
  RLIM_INFINITY,
  validateResources,
  type ContainerResources,
  type ResourceHost,
} from '../../../src/runtime/resources.js';
import { parseSecurityOpts, validateSysctls } from '../../../src/runtime/security.js';
import { generateSpec, INIT_PATH, toRuntimeJson, type SpecInput } from '../../../src/runtime/spec.js';

const MiB = 1024 * 1024;
const host: ResourceHost = {
  cgroupV2: false,
  cpus: '0-1',
  mems: '0',
  canRaiseLimits: false,
  hardLimits: { nofile: 20000, core: Infinity, nproc: 1000 },
  oomScoreAdj: 0,
};
const res = (patch: Partial<ContainerResources>): ContainerResources => ({ ...emptyResources(), ...patch });
const invalid = (fn: () => unknown, message: RegExp): void =>
  assert.throws(fn, (err: unknown) => isBerthError(err, 'invalid-argument') && message.test((err as Error).message));

describe('resource validation (dockerd verifyPlatformContainerResources)', () => {
  test('memory: minimum, swap ordering, swap default of twice the memory', () => {
    invalid(() => validateResources(res({ memory: 4 * MiB }), host, 2), /Minimum memory limit allowed is 6MB/);
    invalid(() => validateResources(res({ memory: -1 }), host, 2), /Minimum memory limit allowed is 6MB/);
    invalid(() => validateResources(res({ memory: 64 * MiB, memorySwap: 32 * MiB }), host, 2), /memoryswap limit should be larger/);
    invalid(() => validateResources(res({ memorySwap: 32 * MiB }), host, 2), /always set the Memory limit/);
    invalid(() => validateResources(res({ memoryReservation: MiB }), host, 2), /Minimum memory reservation allowed is 6MB/);
    invalid(() => validateResources(res({ memory: 8 * MiB, memoryReservation: 16 * MiB }), host, 2), /can not be less than memory reservation/);
    assert.equal(validateResources(res({ memory: 32 * MiB }), host, 2).resources.memorySwap, 64 * MiB);
    assert.equal(validateResources(res({ memory: 32 * MiB, memorySwap: -1 }), host, 2).resources.memorySwap, -1);
  });

  test('cpu: --cpus range and its conflicts, period and quota bounds, cpusets', () => {
    invalid(() => validateResources(res({ nanoCpus: 1e9, cpuQuota: 50000 }), host, 2), /Nano CPUs and CPU Quota cannot both be set/);
    invalid(() => validateResources(res({ nanoCpus: 1e9, cpuPeriod: 50000 }), host, 2), /Nano CPUs and CPU Period cannot both be set/);
    invalid(() => validateResources(res({ nanoCpus: 3e9 }), host, 2), /Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available/);
    invalid(() => validateResources(res({ cpuPeriod: 999 }), host, 2), /CPU cfs period can not be less than 1ms/);
    invalid(() => validateResources(res({ cpuQuota: 999 }), host, 2), /CPU cfs quota can not be less than 1ms/);
    invalid(() => validateResources(res({ cpuShares: -1 }), host, 2), /must not be negative/);
    invalid(() => validateResources(res({ cpusetCpus: '3' }), host, 2), /Requested CPUs are not available - requested 3, available: 0-1/);
    invalid(() => validateResources(res({ cpusetMems: '1' }), host, 2), /Requested memory nodes are not available/);
    invalid(() => validateResources(res({ cpusetCpus: '1-0' }), host, 2), /Invalid value 1-0 for cpuset cpus/);
    assert.deepEqual([...(parseUintList('0-2,5') ?? [])], [0, 1, 2, 5]);
    assert.equal(parseUintList('a'), undefined);
  });

  test('ulimits: names, soft ≤ hard, and the hard limit berthd cannot raise', () => {
    invalid(() => validateResources(res({ ulimits: [{ name: 'bogus', soft: 1, hard: 1 }] }), host, 2), /invalid ulimit type: bogus/);
    invalid(() => validateResources(res({ ulimits: [{ name: 'nofile', soft: 10, hard: 5 }] }), host, 2), /soft limit must be less than or equal to hard limit/);
    invalid(() => validateResources(res({ ulimits: [{ name: 'nofile', soft: 1024, hard: 40000 }] }), host, 2), /ulimit nofile: hard limit 40000 is above the engine's own hard limit 20000/);
    invalid(() => validateResources(res({ ulimits: [{ name: 'nproc', soft: -1, hard: -1 }] }), host, 2), /ulimit nproc: hard limit unlimited/);
    assert.doesNotThrow(() => validateResources(res({ ulimits: [{ name: 'nofile', soft: 1024, hard: 40000 }] }), { ...host, canRaiseLimits: true }, 2));
    assert.doesNotThrow(() => validateResources(res({ ulimits: [{ name: 'core', soft: -1, hard: -1 }] }), host, 2));
    assert.deepEqual(parseUlimit('nofile=1024:2048'), { name: 'nofile', soft: 1024, hard: 2048 });
    assert.deepEqual(parseUlimit('core=unlimited'), { name: 'core', soft: -1, hard: -1 });
    assert.deepEqual(parseHardLimits('Limit  Soft Limit Hard Limit Units\nMax open files            1024                 20000                files     \nMax core file size        0                    unlimited            bytes     \n'), { nofile: 20000, core: Infinity });
  });

  test('update: non-zero fields replace, --cpus and a CPU quota exclude each other across updates', () => {
    const current = validateResources(res({ memory: 32 * MiB, nanoCpus: 5e8 }), host, 2).resources;
    const next = mergeResourcesUpdate(current, { memory: 48 * MiB, cpuShares: 256 }, host, 2).resources;
    assert.equal(next.memory, 48 * MiB);
    assert.equal(next.memorySwap, 64 * MiB);
    assert.equal(next.cpuShares, 256);
    assert.equal(next.nanoCpus, 5e8);
    assert.throws(() => mergeResourcesUpdate(current, { memory: 128 * MiB }, host, 2), /update the memoryswap at the same time/);
    assert.throws(() => mergeResourcesUpdate(current, { cpuQuota: 20000 }, host, 2), (e: unknown) => isBerthError(e, 'conflict'));
    assert.equal(mergeResourcesUpdate(current, { pidsLimit: 0 }, host, 2).resources.pidsLimit, 0);
  });
});

describe('resources in the OCI spec (moby WithResources / WithRlimits)', () => {
  test('--cpus becomes a 100 ms period quota; memory, swap, pids and cpusets map directly', () => {
    const r = validateResources(res({ memory: 32 * MiB, memoryReservation: 16 * MiB, nanoCpus: 1.5e9, cpuShares: 512, cpusetCpus: '0', pidsLimit: 10, oomKillDisable: true }), host, 2).resources;
    assert.deepEqual(ociResources(r, false), {
      memory: { limit: 32 * MiB, reservation: 16 * MiB, swap: 64 * MiB, disableOOMKiller: true },
      cpu: { shares: 512, period: 100000, quota: 150000, cpus: '0' },
      pids: { limit: 10 },
    });
    assert.deepEqual(ociResources(res({ cpuQuota: 20000, cpuPeriod: 50000 }), false), { cpu: { quota: 20000, period: 50000 } });
    assert.deepEqual(ociResources(emptyResources(), false), {});
    assert.equal(ociResources(res({ oomKillDisable: true, memory: 8 * MiB }), true).memory?.disableOOMKiller, undefined);
  });

  test('ulimits become RLIMIT_* with RLIM_INFINITY written exactly for runc', () => {
    const rlimits = ociRlimits([{ name: 'nofile', soft: 1024, hard: 2048 }, { name: 'core', soft: -1, hard: -1 }]);
    assert.deepEqual(rlimits[0], { type: 'RLIMIT_NOFILE', hard: 2048, soft: 1024 });
    assert.equal(rlimits[1]?.hard, RLIM_INFINITY);
    const json = toRuntimeJson({ process: { rlimits } });
    assert.match(json, /"type":"RLIMIT_CORE","hard":18446744073709551615,"soft":18446744073709551615/);
    assert.match(json, /"hard":2048,"soft":1024/);
  });

  const base: SpecInput = {
    containerId: 'c0ffee0000000000000000000000000000000000000000000000000000000000',
    rootfs: '/var/lib/berth/containers/x/rootfs',
    cmd: ['sleep', '1'],
    user: { uid: 0, gid: 0 },
    networkMode: 'none',
    cgroupsPath: '/berth/x',
    cgroupV2: false,
    host: { capabilities: ['CAP_CHOWN', 'CAP_KILL', 'CAP_SYS_ADMIN'], kernelRelease: '6.1.0', arch: 'x64', seccomp: true, thermalThrottlePaths: [] },
  };
  const validate = loadRuntimeSpecValidator();

  test('--init bind-mounts the init read-only and puts it in front of the command with --', () => {
    const spec = generateSpec({ ...base, initBinary: '/usr/bin/catatonit' });
    assert.deepEqual(spec.process?.args, [INIT_PATH, '--', 'sleep', '1']);
    assert.deepEqual(spec.mounts?.find((m) => m.destination === INIT_PATH), { destination: '/sbin/docker-init', type: 'bind', source: '/usr/bin/catatonit', options: ['bind', 'ro'] });
    assert.ok(validate(JSON.parse(toRuntimeJson(spec))), JSON.stringify(validate.errors));
  });

  test('resources, rlimits, oom_score_adj, device rules and devices land where runc reads them', () => {
    const spec = generateSpec({
      ...base,
      resources: { memory: { limit: 32 * MiB }, pids: { limit: 5 } },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 2048, soft: 1024 }],
      oomScoreAdj: 500,
      devices: [{ path: '/dev/mynull', type: 'c', major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 }],
      deviceRules: [{ allow: true, type: 'c', major: 1, minor: 3, access: 'rw' }],
    });
    assert.deepEqual(spec.linux?.resources?.memory, { limit: 32 * MiB });
    assert.deepEqual(spec.linux?.resources?.pids, { limit: 5 });
    assert.deepEqual(spec.linux?.resources?.devices?.at(-1), { allow: true, type: 'c', major: 1, minor: 3, access: 'rw' });
    assert.equal(spec.linux?.resources?.devices?.[0]?.allow, false);
    assert.deepEqual(spec.process?.rlimits, [{ type: 'RLIMIT_NOFILE', hard: 2048, soft: 1024 }]);
    assert.equal(spec.process?.oomScoreAdj, 500);
    assert.equal(spec.linux?.devices?.[0]?.path, '/dev/mynull');
    assert.ok(validate(JSON.parse(toRuntimeJson(spec))), JSON.stringify(validate.errors));
  });

  test('privileged: every host capability, no seccomp, no masked or read-only paths, all devices allowed, rw /sys', () => {
    const spec = generateSpec({ ...base, privileged: true });
    assert.deepEqual(spec.process?.capabilities?.bounding, ['CAP_CHOWN', 'CAP_KILL', 'CAP_SYS_ADMIN']);
    assert.equal(spec.linux?.seccomp, undefined);
    assert.equal(spec.linux?.maskedPaths, undefined);
    assert.equal(spec.linux?.readonlyPaths, undefined);
    assert.deepEqual(spec.linux?.resources?.devices, [{ allow: true, access: 'rwm' }]);
    assert.ok(!(spec.mounts?.find((m) => m.destination === '/sys')?.options ?? []).includes('ro'));
  });

  test('security options and sysctls', () => {
    assert.deepEqual(parseSecurityOpts(['no-new-privileges', 'seccomp=unconfined']), { noNewPrivileges: true, seccomp: 'unconfined' });
    assert.equal(parseSecurityOpts(['no-new-privileges=false']).noNewPrivileges, false);
    const profile = parseSecurityOpts(['seccomp={"defaultAction":"SCMP_ACT_ALLOW"}']).seccomp;
    assert.equal(typeof profile === 'object' && profile.defaultAction, 'SCMP_ACT_ALLOW');
    invalid(() => parseSecurityOpts(['bogus']), /invalid --security-opt 1: "bogus"/);
    invalid(() => parseSecurityOpts(['foo=bar']), /invalid --security-opt 2: "foo=bar"/);
    invalid(() => parseSecurityOpts(['seccomp={not json']), /Decoding seccomp profile failed/);
    assert.doesNotThrow(() => validateSysctls({ 'kernel.shmmax': '1', 'net.ipv4.ip_forward': '1', 'fs.mqueue.msg_max': '10' }, false));
    invalid(() => validateSysctls({ 'net.ipv4.ip_forward': '1' }, true), /not allowed in host network namespace/);
    invalid(() => validateSysctls({ 'vm.swappiness': '1' }, false), /is not in a separate kernel namespace/);
  });
});

describe('block I/O limits (verifyPlatformContainerResources, WithResources blockIO)', () => {
  const all = { weight: true, weightDevice: true, readBps: true, writeBps: true, readIOps: true, writeIOps: true };
  const sda = { path: '/dev/sda', rate: 1048576 };

  test('what the kernel cannot do is dropped with dockerd\'s warning; a weight out of range is refused', () => {
    const asked = res({ blkioWeight: 300, blkioWeightDevice: [{ path: '/dev/sda', weight: 200 }], blkioDeviceReadBps: [sda], blkioDeviceWriteIOps: [{ path: '/dev/sda', rate: 10 }] });
    const none = validateResources(asked, host, 2);
    assert.deepEqual([none.resources.blkioWeight, none.resources.blkioWeightDevice, none.resources.blkioDeviceReadBps, none.resources.blkioDeviceWriteIOps], [0, [], [], []]);
    assert.deepEqual(none.warnings, [
      'Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.',
      'Your kernel does not support Block I/O weight_device or the cgroup is not mounted. Weight-device discarded.',
      'Your kernel does not support BPS Block I/O read limit or the cgroup is not mounted. Block I/O BPS read limit discarded.',
      'Your kernel does not support IOPS Block write limit or the cgroup is not mounted. Block I/O IOPS write limit discarded.',
    ]);
    const kept = validateResources(asked, { ...host, blkio: all }, 2);
    assert.deepEqual(kept.warnings, []);
    assert.deepEqual(kept.resources.blkioDeviceReadBps, [sda]);
    invalid(() => validateResources(res({ blkioWeight: 5 }), { ...host, blkio: all }, 2), /^Range of blkio weight is from 10 to 1000$/);
    invalid(() => validateResources(res({ blkioWeightDevice: [{ path: '/dev/sda', weight: 1001 }] }), { ...host, blkio: all }, 2), /^invalid weight for device: \/dev\/sda:1001$/);
    invalid(() => validateResources(res({ blkioDeviceReadIOps: [{ path: '/dev/sda', rate: -1 }] }), { ...host, blkio: all }, 2), /^invalid rate for device: \/dev\/sda:-1$/);
  });

  test('the limits reach the spec by device numbers; an update carries only the weight', () => {
    const r = res({ blkioWeight: 300, blkioWeightDevice: [{ path: '/dev/sda', weight: 200 }], blkioDeviceReadBps: [sda], blkioDeviceWriteBps: [{ path: '/dev/vdb', rate: 2 }] });
    const numbers = new Map([['/dev/sda', { major: 8, minor: 0 }], ['/dev/vdb', { major: 254, minor: 16 }]]);
    assert.deepEqual(ociResources(r, false, numbers).blockIO, {
      weight: 300,
      weightDevice: [{ major: 8, minor: 0, weight: 200 }],
      throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }],
      throttleWriteBpsDevice: [{ major: 254, minor: 16, rate: 2 }],
    });
    assert.deepEqual(ociResourcesForUpdate(r, false).blockIO, { weight: 300 });
    assert.equal(ociResources(emptyResources(), false).blockIO, undefined);
    assert.throws(() => ociResources(r, false, new Map()), /block device \/dev\/sda was not resolved/);
    // Records made before berth had block I/O limits have none of the fields.
    assert.equal(ociResources({ ...emptyResources(), blkioWeight: undefined }, false).blockIO, undefined);
  });

  test('an update may change the weight and keeps the device limits', () => {
    const current = res({ blkioDeviceReadBps: [sda] });
    const { resources, warnings } = mergeResourcesUpdate(current, { blkioWeight: 400 }, { ...host, blkio: all }, 2);
    assert.deepEqual([resources.blkioWeight, resources.blkioDeviceReadBps, warnings], [400, [sda], []]);
    const noWeight = mergeResourcesUpdate(current, { blkioWeight: 400 }, { ...host, blkio: { ...all, weight: false } }, 2);
    assert.deepEqual([noWeight.resources.blkioWeight, noWeight.resources.blkioDeviceReadBps], [0, [sda]]);
    assert.deepEqual(noWeight.warnings, ['Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.']);
  });
});

test('--device-cgroup-rule becomes an allow rule; * leaves the number out (every device)', async () => {
  const { deviceRulesFromCgroupRules } = await import('../../../src/runtime/devices.js');
  assert.deepEqual(deviceRulesFromCgroupRules(['c 1:3 mr', 'b *:* m', 'a 7:* rwm']), [
    { allow: true, type: 'c', major: 1, minor: 3, access: 'mr' },
    { allow: true, type: 'b', access: 'm' },
    { allow: true, type: 'a', major: 7, access: 'rwm' },
  ]);
  assert.throws(() => deviceRulesFromCgroupRules(['c 1:3']), /invalid device cgroup rule format: 'c 1:3'/);
});

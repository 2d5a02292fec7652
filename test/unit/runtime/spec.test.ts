import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadRuntimeSpecValidator } from '../../helpers/runtime-schema.js';
import { isBerthError } from '../../../src/core/errors.js';
import type { ImageRuntimeConfig } from '../../../src/oci/image.js';
import type { Mount, Spec } from '../../../src/oci/runtime-spec.js';
import {
  ALL_CAPABILITIES,
  DEFAULT_CAPABILITIES,
  DEFAULT_MASKED_PATHS,
  DEFAULT_PATH_ENV,

  capabilitiesFromMask,
  generateSpec,
  mergeEnv,
  parseCpuList,
  replaceOrAppendEnvValues,
  resolveArgs,
  tweakCapabilities,
  type SpecInput,
} from '../../../src/runtime/spec.js';

const validateConfig = loadRuntimeSpecValidator();

function assertValid(spec: Spec): void {
  const doc: unknown = JSON.parse(JSON.stringify(spec));
  const ok = validateConfig(doc);
  assert.ok(ok, JSON.stringify(validateConfig.errors, null, 2));
}

const image: ImageRuntimeConfig = {
  Env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'LANG=C.UTF-8', 'FOO=image'],
  Entrypoint: ['/docker-entrypoint.sh'],
  Cmd: ['nginx', '-g', 'daemon off;'],
  WorkingDir: '/srv',
};

const host = {
  capabilities: [...ALL_CAPABILITIES],
  thermalThrottlePaths: [],
  kernelRelease: '6.1.0-13-amd64',
  arch: 'x64',
  inUserNamespace: false,
  seccomp: true,
};

function input(over: Partial<SpecInput> = {}): SpecInput {
  return {
    containerId: 'f00dfacecafe0123456789abcdef0123456789abcdef0123456789abcdef0123',
    rootfs: '/var/lib/berth/snapshots/42/fs',
    image,
    user: { uid: 0, gid: 0, additionalGids: [0, 10] },
    networkMode: 'none',
    cgroupsPath: '/berth/f00dfacecafe',
    cgroupV2: false,
    etcFiles: {
      hostname: '/var/lib/berth/containers/f00d/hostname',
      hosts: '/var/lib/berth/containers/f00d/hosts',
      resolvConf: '/var/lib/berth/containers/f00d/resolv.conf',
    },
    host,
    ...over,
  };
}

describe('Entrypoint / Cmd (Docker merge rules)', () => {
  const table: Array<[string, ImageRuntimeConfig | undefined, string[] | null | undefined, string[] | null | undefined, string[]]> = [
    ['image entrypoint + cmd', image, undefined, undefined, ['/docker-entrypoint.sh', 'nginx', '-g', 'daemon off;']],
    ['user cmd replaces image cmd', image, ['sh'], undefined, ['/docker-entrypoint.sh', 'sh']],
    ['user entrypoint drops image cmd', image, undefined, ['/bin/echo'], ['/bin/echo']],
    ['user entrypoint + user cmd', image, ['hi'], ['/bin/echo'], ['/bin/echo', 'hi']],
    ['--entrypoint "" + cmd', image, ['ls', '-l'], [''], ['ls', '-l']],
    ['entrypoint [] keeps image cmd', image, undefined, [], ['nginx', '-g', 'daemon off;']],
    ['null entrypoint inherits', image, null, null, ['/docker-entrypoint.sh', 'nginx', '-g', 'daemon off;']],
    ['empty cmd uses image cmd', image, [], undefined, ['/docker-entrypoint.sh', 'nginx', '-g', 'daemon off;']],
    ['image cmd only', { Cmd: ['sh'] }, undefined, undefined, ['sh']],
    ['image entrypoint only', { Entrypoint: ['/init'] }, undefined, undefined, ['/init']],
    ['no image', undefined, ['/bin/true'], undefined, ['/bin/true']],
  ];
  for (const [name, img, cmd, ep, want] of table) {
    test(name, () => {
      assert.deepEqual(resolveArgs(img, cmd, ep), want);
      assert.deepEqual(generateSpec(input({ image: img, cmd, entrypoint: ep })).process?.args, want);
    });
  }

  test('nothing to run is "no command specified"', () => {
    const none = (err: unknown) => isBerthError(err, 'invalid-argument') && err.message === 'no command specified';
    assert.throws(() => resolveArgs({}, undefined, undefined), none);
    assert.throws(() => resolveArgs({ Cmd: ['sh'] }, undefined, ['']), none); // --entrypoint "" drops image Cmd
    assert.throws(() => generateSpec(input({ image: { Cmd: null, Entrypoint: null } })), none);
  });
});

describe('environment', () => {
  test('mergeEnv: user first, image keys the user did not set', () => {
    assert.deepEqual(mergeEnv(['FOO=user', 'NEW=1'], ['PATH=/x', 'FOO=image']), ['FOO=user', 'NEW=1', 'PATH=/x']);
    assert.deepEqual(mergeEnv([], ['A=1']), ['A=1']);
  });

  test('replaceOrAppendEnvValues replaces in place, appends, unsets bare keys', () => {
    assert.deepEqual(replaceOrAppendEnvValues(['PATH=/a', 'HOSTNAME=h', 'TERM=xterm'], ['TERM', 'X=1', 'PATH=/b']), [
      'PATH=/b',
      'HOSTNAME=h',
      'X=1',
    ]);
  });

  test('process env: PATH, HOSTNAME, then merged Env; user wins', () => {
    const spec = generateSpec(input({ env: ['FOO=user', 'EMPTY='], hostname: 'web' }));
    assert.deepEqual(spec.process?.env, ['PATH=/usr/local/bin:/usr/bin:/bin', 'HOSTNAME=web', 'FOO=user', 'EMPTY=', 'LANG=C.UTF-8']);
  });

  test('default PATH when the image has none; TERM=xterm with a tty; hostname defaults to the short id', () => {
    const spec = generateSpec(input({ image: { Cmd: ['sh'] }, tty: true, hostname: undefined }));
    assert.deepEqual(spec.process?.env, [`PATH=${DEFAULT_PATH_ENV}`, 'HOSTNAME=f00dfacecafe', 'TERM=xterm']);
    assert.equal(spec.hostname, 'f00dfacecafe');
    assert.equal(spec.process?.terminal, true);
  });
});

describe('working directory', () => {
  test('request, image, then /', () => {
    assert.equal(generateSpec(input()).process?.cwd, '/srv');
    assert.equal(generateSpec(input({ workingDir: '/tmp/x/../y/' })).process?.cwd, '/tmp/y');
    assert.equal(generateSpec(input({ image: { Cmd: ['sh'] } })).process?.cwd, '/');
    assert.equal(generateSpec(input({ image: { Cmd: ['sh'], WorkingDir: 'app' } })).process?.cwd, '/app');
  });
  test('relative request working dir is rejected', () => {
    assert.throws(
      () => generateSpec(input({ workingDir: 'rel' })),
      (err: unknown) => isBerthError(err, 'invalid-argument') && /needs to be an absolute path/.test(err.message),
    );
  });
});

describe('security defaults', () => {
  const spec = generateSpec(input());

  test('the 14 default capabilities, bounding = permitted = effective, no inheritable/ambient', () => {
    const caps = spec.process?.capabilities;
    assert.equal(DEFAULT_CAPABILITIES.length, 14);
    assert.deepEqual(caps, { bounding: DEFAULT_CAPABILITIES, effective: DEFAULT_CAPABILITIES, permitted: DEFAULT_CAPABILITIES });
  });

  test('no rlimits, no oomScoreAdj, noNewPrivileges false, user passed through', () => {
    assert.equal(spec.process?.rlimits, undefined);
    assert.equal(spec.process?.oomScoreAdj, undefined);
    assert.equal(spec.process?.noNewPrivileges, false);
    assert.deepEqual(spec.process?.user, { uid: 0, gid: 0, additionalGids: [0, 10] });
    assert.equal(spec.ociVersion, '1.0.2-dev');
    assert.deepEqual(spec.root, { path: '/var/lib/berth/snapshots/42/fs' });
  });

  test('masked and readonly paths, seccomp default', () => {
    assert.deepEqual(spec.linux?.maskedPaths, DEFAULT_MASKED_PATHS);
    assert.ok(spec.linux?.maskedPaths?.includes('/proc/kcore'));
    assert.deepEqual(spec.linux?.readonlyPaths, ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']);
    assert.equal(spec.linux?.seccomp?.defaultAction, 'SCMP_ACT_ERRNO');
    const withThermal = generateSpec(input({ host: { ...host, thermalThrottlePaths: ['/sys/devices/system/cpu/cpu0/thermal_throttle'] } }));
    assert.equal(withThermal.linux?.maskedPaths?.at(-1), '/sys/devices/system/cpu/cpu0/thermal_throttle');
  });

  test('device cgroup: deny all, then the default allow list, fuse denied', () => {
    assert.deepEqual(spec.linux?.resources?.devices, [
      { allow: false, access: 'rwm' },
      { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' },
      { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
      { allow: true, type: 'c', major: 1, minor: 9, access: 'rwm' },
      { allow: true, type: 'c', major: 1, minor: 8, access: 'rwm' },
      { allow: true, type: 'c', major: 5, minor: 0, access: 'rwm' },
      { allow: true, type: 'c', major: 5, minor: 1, access: 'rwm' },
      { allow: false, type: 'c', major: 10, minor: 229, access: 'rwm' },
    ]);
    assert.equal(spec.linux?.cgroupsPath, '/berth/f00dfacecafe');
  });

  test('mounts: Docker defaults then the /etc files', () => {
    const byDest = (d: string): Mount | undefined => spec.mounts?.find((m) => m.destination === d);
    assert.deepEqual(
      spec.mounts?.map((m) => m.destination),
      ['/proc', '/dev', '/dev/pts', '/sys', '/sys/fs/cgroup', '/dev/mqueue', '/dev/shm', '/etc/resolv.conf', '/etc/hostname', '/etc/hosts'],
    );
    assert.deepEqual(byDest('/dev/shm'), {
      destination: '/dev/shm',
      type: 'tmpfs',
      source: 'shm',
      options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=67108864'],
    });
    assert.deepEqual(byDest('/sys')?.options, ['nosuid', 'noexec', 'nodev', 'ro']);
    assert.deepEqual(byDest('/sys/fs/cgroup'), { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro', 'nosuid', 'noexec', 'nodev'] });
    assert.deepEqual(byDest('/etc/hosts'), {
      destination: '/etc/hosts',
      type: 'bind',
      source: '/var/lib/berth/containers/f00d/hosts',
      options: ['rbind', 'rprivate'],
    });
  });

  test('namespaces and sysctls for a private network namespace on cgroup v1', () => {
    assert.deepEqual(spec.linux?.namespaces, [{ type: 'mount' }, { type: 'network' }, { type: 'uts' }, { type: 'pid' }, { type: 'ipc' }]);
    assert.deepEqual(spec.linux?.sysctl, { 'net.ipv4.ping_group_range': '0 2147483647', 'net.ipv4.ip_unprivileged_port_start': '0' });
  });
});

describe('options', () => {
  test('cap-add / cap-drop (names normalised) and ALL', () => {
    const caps = generateSpec(input({ capAdd: ['net_admin', 'CAP_SYS_PTRACE'], capDrop: ['MKNOD', 'cap_net_raw'] })).process?.capabilities;
    assert.ok(caps?.bounding?.includes('CAP_NET_ADMIN'));
    assert.ok(caps?.bounding?.includes('CAP_SYS_PTRACE'));
    assert.ok(!caps?.bounding?.includes('CAP_MKNOD'));
    assert.ok(!caps?.bounding?.includes('CAP_NET_RAW'));
    assert.equal(caps?.bounding?.length, 14);
    assert.deepEqual(tweakCapabilities(DEFAULT_CAPABILITIES, ['chown'], ['ALL']), ['CAP_CHOWN']);
    assert.deepEqual(tweakCapabilities(DEFAULT_CAPABILITIES, ['ALL'], ['sys_admin']).length, ALL_CAPABILITIES.length - 1);
    assert.throws(
      () => generateSpec(input({ capAdd: ['FLY'] })),
      (err: unknown) => isBerthError(err, 'invalid-argument') && err.message === 'unknown capability: "CAP_FLY"',
    );
    // Capability-gated seccomp rules follow the final set.
    const ptrace = generateSpec(input({ capAdd: ['SYS_PTRACE'] }));
    assert.ok(ptrace.linux?.seccomp?.syscalls?.some((r) => r.names.includes('kcmp')));
    const drop = generateSpec(input({ capDrop: ['ALL'] })).process?.capabilities;
    assert.deepEqual(drop, { bounding: [], effective: [], permitted: [] });
  });

  test('readonly rootfs: root.readonly, ro on non-writable defaults and the /etc files', () => {
    const spec = generateSpec(input({ readonlyRootfs: true }));
    assert.deepEqual(spec.root, { path: '/var/lib/berth/snapshots/42/fs', readonly: true });
    const opts = (d: string) => spec.mounts?.find((m) => m.destination === d)?.options ?? [];
    assert.ok(!opts('/proc').includes('ro'));
    assert.ok(!opts('/dev/shm').includes('ro'));
    assert.ok(opts('/sys').includes('ro'));
    assert.deepEqual(opts('/etc/resolv.conf'), ['rbind', 'ro', 'rprivate']);
  });

  test('shm size and user mounts overriding defaults', () => {
    const spec = generateSpec(
      input({
        shmSize: 1024 * 1024,
        mounts: [
          { destination: '/data/deep/dir', type: 'bind', source: '/srv/deep', options: ['rbind', 'rprivate'] },
          { destination: '/dev/mqueue', type: 'bind', source: '/dev/mqueue', options: ['rbind'] },
          { destination: '/data', type: 'bind', source: '/srv/data', options: ['rbind', 'ro', 'rprivate'] },
        ],
      }),
    );
    const dests = spec.mounts?.map((m) => m.destination);
    assert.deepEqual(dests, [
      '/proc',
      '/dev',
      '/dev/pts',
      '/sys',
      '/sys/fs/cgroup',
      '/dev/shm',
      '/data',
      '/dev/mqueue',
      '/etc/resolv.conf',
      '/etc/hostname',
      '/etc/hosts',
      '/data/deep/dir',
    ]);
    assert.ok(spec.mounts?.find((m) => m.destination === '/dev/shm')?.options?.includes('size=1048576'));
    assert.equal(spec.mounts?.find((m) => m.destination === '/dev/mqueue')?.type, 'bind');
    assert.throws(() => generateSpec(input({ shmSize: 0 })));
  });

  test('host networking: no network namespace, no network sysctls; netns path; cgroup v2 adds cgroupns', () => {
    const hostNet = generateSpec(input({ networkMode: 'host' }));
    assert.ok(!hostNet.linux?.namespaces?.some((n) => n.type === 'network'));
    assert.equal(hostNet.linux?.sysctl, undefined);
    const joined = generateSpec(input({ networkMode: { netnsPath: '/run/berth/netns/pod1' }, cgroupV2: true }));
    assert.deepEqual(joined.linux?.namespaces, [
      { type: 'mount' },
      { type: 'network', path: '/run/berth/netns/pod1' },
      { type: 'uts' },
      { type: 'pid' },
      { type: 'ipc' },
      { type: 'cgroup' },
    ]);
    const sysctls = generateSpec(input({ sysctls: { 'net.ipv4.ip_unprivileged_port_start': '1024', 'kernel.msgmax': '65536' } })).linux?.sysctl;
    assert.deepEqual(sysctls, {
      'net.ipv4.ping_group_range': '0 2147483647',
      'net.ipv4.ip_unprivileged_port_start': '1024',
      'kernel.msgmax': '65536',
    });
  });

  test('--pid, --ipc, --uts: the host namespace is left out, another one joined by path; no hostname without a UTS namespace; /dev/shm none or bound', () => {
    const spec = generateSpec(input({ pidNamespace: 'host', ipcNamespace: { path: '/proc/42/ns/ipc' }, utsNamespace: 'host', shm: { source: '/var/lib/berth/c/shm' } }));
    assert.deepEqual(spec.linux?.namespaces, [{ type: 'mount' }, { type: 'network' }, { type: 'ipc', path: '/proc/42/ns/ipc' }]);
    assert.equal(spec.hostname, undefined);
    assert.deepEqual(spec.mounts?.find((m) => m.destination === '/dev/shm'), { destination: '/dev/shm', type: 'bind', source: '/var/lib/berth/c/shm', options: ['rbind', 'nosuid', 'noexec', 'nodev'] });
    assert.equal(validateConfig(spec), true);
    const none = generateSpec(input({ shm: 'none', pidNamespace: { path: '/proc/7/ns/pid' } }));
    assert.equal(none.mounts?.some((m) => m.destination === '/dev/shm'), false);
    assert.deepEqual(none.linux?.namespaces?.find((n) => n.type === 'pid'), { type: 'pid', path: '/proc/7/ns/pid' });
    assert.equal(typeof none.hostname, 'string');
    assert.throws(() => generateSpec(input({ pidNamespace: { path: 'proc/7/ns/pid' } })), /must be absolute/);
    // --cgroupns: private on cgroup v1 too, host on v2 too.
    assert.ok(generateSpec(input({ cgroupNamespace: true })).linux?.namespaces?.some((n) => n.type === 'cgroup'));
    assert.ok(!generateSpec(input({ cgroupNamespace: false, cgroupV2: true })).linux?.namespaces?.some((n) => n.type === 'cgroup'));
  });

  test('privileged: host capabilities, no seccomp, no masked/readonly paths, rw sys and cgroup, all devices', () => {
    const hostCaps = ALL_CAPABILITIES.filter((c) => c !== 'CAP_SYS_RESOURCE');
    const spec = generateSpec(input({ privileged: true, host: { ...host, capabilities: hostCaps } }));
    assert.deepEqual(spec.process?.capabilities?.bounding, hostCaps);
    assert.equal(spec.linux?.seccomp, undefined);
    assert.equal(spec.linux?.maskedPaths, undefined);
    assert.equal(spec.linux?.readonlyPaths, undefined);
    assert.ok(!spec.mounts?.find((m) => m.destination === '/sys')?.options?.includes('ro'));
    assert.ok(!spec.mounts?.find((m) => m.destination === '/sys/fs/cgroup')?.options?.includes('ro'));
    assert.deepEqual(spec.linux?.resources?.devices, [{ allow: true, access: 'rwm' }]);
  });

  test('seccomp unconfined / custom; no seccomp support on the host', () => {
    assert.equal(generateSpec(input({ seccomp: 'unconfined' })).linux?.seccomp, undefined);
    const custom = generateSpec(input({ seccomp: { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] } }));
    assert.deepEqual(custom.linux?.seccomp, { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] });
    assert.equal(generateSpec(input({ host: { ...host, seccomp: false } })).linux?.seccomp, undefined);
    assert.throws(() => generateSpec(input({ host: { ...host, seccomp: false }, seccomp: { defaultAction: 'SCMP_ACT_ALLOW' } })));
  });

  test('resources, annotations, domainname, console size', () => {
    const spec = generateSpec(
      input({
        resources: { memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 100 }, cpu: { shares: 512 } },
        annotations: { 'org.example/key': 'v' },
        domainname: 'example.org',
        tty: true,
        consoleSize: { height: 24, width: 80 },
      }),
    );
    assert.deepEqual(spec.linux?.resources?.memory, { limit: 67108864 });
    assert.deepEqual(spec.linux?.resources?.pids, { limit: 100 });
    assert.equal(spec.linux?.resources?.devices?.length, 8);
    assert.deepEqual(spec.annotations, { 'org.example/key': 'v' });
    assert.equal(spec.domainname, 'example.org');
    assert.deepEqual(spec.process?.consoleSize, { height: 24, width: 80 });
  });

  test('bad input', () => {
    assert.throws(() => generateSpec(input({ rootfs: 'relative/rootfs' })), /must be absolute/);
    assert.throws(() => generateSpec(input({ user: { uid: -1, gid: 0 } })), /invalid uid/);
    assert.throws(() => generateSpec(input({ networkMode: { netnsPath: 'rel' } })), /must be absolute/);
  });
});

describe('host facts helpers', () => {
  test('parseCpuList and capabilitiesFromMask', () => {
    assert.deepEqual(parseCpuList('0-3,5\n'), [0, 1, 2, 3, 5]);
    assert.deepEqual(parseCpuList('0'), [0]);
    const caps = capabilitiesFromMask('000001fffeffffff');
    assert.equal(caps.length, ALL_CAPABILITIES.length - 1);
    assert.ok(!caps.includes('CAP_SYS_RESOURCE'));
    assert.deepEqual(capabilitiesFromMask('00000000a80425fb').sort(), [...DEFAULT_CAPABILITIES].sort());
  });
});

describe('JSON schema (runtime-spec config-schema.json)', () => {
  const cases: Array<[string, Partial<SpecInput>]> = [
    ['default', {}],
    ['tty, readonly, cap changes, user', { tty: true, readonlyRootfs: true, capAdd: ['NET_ADMIN'], capDrop: ['MKNOD'], user: { uid: 1000, gid: 1000, additionalGids: [1000, 10, 29] } }],
    ['privileged host network', { privileged: true, networkMode: 'host' }],
    ['netns path, cgroup v2, resources', { networkMode: { netnsPath: '/run/netns/x' }, cgroupV2: true, resources: { memory: { limit: 1 << 26 }, pids: { limit: 50 } } }],
    ['unconfined, mounts, annotations', { seccomp: 'unconfined', annotations: { a: 'b' }, mounts: [{ destination: '/data', type: 'bind', source: '/srv', options: ['rbind'] }] }],
    ['arm64 host', { host: { ...host, arch: 'arm64' } }],
    ['no etc files, image without env', { etcFiles: undefined, image: { Cmd: ['/bin/sh'] } }],
  ];
  for (const [name, over] of cases) {
    test(name, () => assertValid(generateSpec(input(over))));
  }

  test('the validator rejects broken documents', () => {
    assert.equal(validateConfig({ process: { cwd: '/' } }), false); // no ociVersion
    assert.equal(validateConfig({ ociVersion: '1.0.2', linux: { namespaces: [{ type: 'bogus' }] } }), false);
    assert.equal(validateConfig({ ociVersion: '1.0.2', linux: { seccomp: { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: [], action: 'SCMP_ACT_ALLOW' }] } } }), false);
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createBodyToRequest, statusText } from '../../../src/api/docker/convert.js';
import type { ContainerRecord } from '../../../src/containers/types.js';
import { BerthError } from '../../../src/core/errors.js';

const invalid = (fn: () => unknown, pattern: RegExp): void =>
  assert.throws(fn, (err: unknown) => err instanceof BerthError && err.code === 'invalid-argument' && pattern.test(err.message));

describe('POST /containers/create body', () => {
  it('takes the docker CLI body as recorded from a real exchange', () => {
    const req = createBodyToRequest({
      Hostname: '', User: '', AttachStdout: true, Tty: false, OpenStdin: false, Env: null, Cmd: ['echo', 'hi'], Image: 'busybox:local',
      Entrypoint: null, Labels: {}, HostConfig: { NetworkMode: 'default', RestartPolicy: { Name: 'no', MaximumRetryCount: 0 }, AutoRemove: true, ShmSize: 0, ConsoleSize: [0, 0] },
    });
    assert.equal(req.image, 'busybox:local');
    assert.deepEqual(req.cmd, ['echo', 'hi']);
    assert.equal(req.entrypoint, null);
    assert.equal(req.autoRemove, true);
    assert.equal(req.network.mode, 'default');
    assert.equal(req.consoleSize, undefined);
  });

  it('accepts the complete body docker run sends (all defaults set)', () => {
    // Recorded from docker CLI 28.2 → dockerd (../shared/reference/docker-api-traces/02a-run-rm-echo.log).
    const recorded = {"Hostname":"","Domainname":"","User":"","AttachStdin":false,"AttachStdout":true,"AttachStderr":true,"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":null,"Cmd":["echo","hi"],"Image":"busybox:local","Volumes":{},"WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":{},"HostConfig":{"Binds":null,"ContainerIDFile":"","LogConfig":{"Type":"","Config":{}},"NetworkMode":"default","PortBindings":{},"RestartPolicy":{"Name":"no","MaximumRetryCount":0},"AutoRemove":true,"VolumeDriver":"","VolumesFrom":null,"ConsoleSize":[0,0],"CapAdd":null,"CapDrop":null,"CgroupnsMode":"","Dns":[],"DnsOptions":[],"DnsSearch":[],"ExtraHosts":null,"GroupAdd":null,"IpcMode":"","Cgroup":"","Links":null,"OomScoreAdj":0,"PidMode":"","Privileged":false,"PublishAllPorts":false,"ReadonlyRootfs":false,"SecurityOpt":null,"UTSMode":"","UsernsMode":"","ShmSize":0,"Isolation":"","CpuShares":0,"Memory":0,"NanoCpus":0,"CgroupParent":"","BlkioWeight":0,"BlkioWeightDevice":[],"BlkioDeviceReadBps":[],"BlkioDeviceWriteBps":[],"BlkioDeviceReadIOps":[],"BlkioDeviceWriteIOps":[],"CpuPeriod":0,"CpuQuota":0,"CpuRealtimePeriod":0,"CpuRealtimeRuntime":0,"CpusetCpus":"","CpusetMems":"","Devices":[],"DeviceCgroupRules":null,"DeviceRequests":null,"MemoryReservation":0,"MemorySwap":0,"MemorySwappiness":-1,"OomKillDisable":false,"PidsLimit":0,"Ulimits":[],"CpuCount":0,"CpuPercent":0,"IOMaximumIOps":0,"IOMaximumBandwidth":0,"MaskedPaths":null,"ReadonlyPaths":null},"NetworkingConfig":{"EndpointsConfig":{"default":{"IPAMConfig":null,"Links":null,"Aliases":null,"MacAddress":"","DriverOpts":null,"GwPriority":0,"NetworkID":"","EndpointID":"","Gateway":"","IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"DNSNames":null}}}};
    const req = createBodyToRequest(recorded);
    assert.deepEqual(req.cmd, ['echo', 'hi']);
  });

  it('refuses options berth does not implement yet instead of ignoring them', () => {
    const refused = (hostConfig: Record<string, unknown>, pattern: RegExp): void =>
      assert.throws(
        () => createBodyToRequest({ Image: 'b', HostConfig: hostConfig }),
        (err: unknown) => err instanceof BerthError && err.code === 'not-implemented' && pattern.test(err.message),
      );
    refused({ DeviceRequests: [{ Driver: 'nvidia' }] }, /HostConfig.DeviceRequests/);
    refused({ Links: ['db:db'] }, /Links/);
    refused({ UsernsMode: 'private', CgroupParent: 'relative' }, /^not supported by berth yet: HostConfig.UsernsMode$/);
    assert.equal(createBodyToRequest({ Image: 'b', HostConfig: { UsernsMode: 'host' } }).usernsMode, 'host');
    refused({ CgroupParent: 'machine.slice' }, /^not supported by berth yet: a relative HostConfig.CgroupParent \(machine.slice\)/);
    refused({ DeviceCgroupRules: ['c 1:3 mr'], Annotations: { a: 'b' }, StorageOpt: { size: '1G' } }, /^not supported by berth yet: HostConfig.StorageOpt$/);
    refused({ Runtime: 'crun', Isolation: 'hyperv', MaskedPaths: ['/etc'] }, /^not supported by berth yet: HostConfig.Runtime, HostConfig.Isolation$/);
    // What clients send when nothing was asked for passes.
    createBodyToRequest({
      Image: 'b',
      HostConfig: { LogConfig: { Type: '', Config: {} }, BlkioWeightDevice: [], CpuCount: 0, MaskedPaths: null, Runtime: 'runc', Isolation: '' },
    });
    createBodyToRequest({ Image: 'b', HostConfig: { LogConfig: { Type: 'json-file', Config: null } } });
  });

  it('takes the block I/O limits as given (devices are checked when resolved)', () => {
    const r = createBodyToRequest({
      Image: 'b',
      HostConfig: { BlkioWeight: 300, BlkioWeightDevice: [{ Path: '/dev/sda', Weight: 200 }], BlkioDeviceReadBps: [{ Path: '/dev/sda', Rate: 1024 }], BlkioDeviceWriteIOps: null },
    }).resources;
    assert.deepEqual([r?.blkioWeight, r?.blkioWeightDevice, r?.blkioDeviceReadBps, r?.blkioDeviceWriteIOps], [300, [{ path: '/dev/sda', weight: 200 }], [{ path: '/dev/sda', rate: 1024 }], []]);
    assert.throws(() => createBodyToRequest({ Image: 'b', HostConfig: { BlkioDeviceReadBps: { Path: '/dev/sda' } } }), /cannot unmarshal object into Go struct field HostConfig.BlkioDeviceReadBps of type array/);
  });

  it('takes an absolute cgroup parent and refuses one that could leave the hierarchy', () => {
    const parentOf = (CgroupParent: unknown): string | undefined => createBodyToRequest({ Image: 'b', HostConfig: { CgroupParent } }).cgroupParent;
    assert.equal(parentOf(''), undefined);
    assert.equal(parentOf('/batch/jobs/'), '/batch/jobs');
    assert.equal(parentOf('/'), '/');
    assert.throws(() => parentOf('/batch/../../etc'), /invalid cgroup parent "\/batch\/..\/..\/etc"/);
    assert.throws(() => parentOf('/a b'), /invalid cgroup parent/);
  });

  it('takes device cgroup rules, masked and read-only paths (an empty list is kept: it masks nothing) and annotations', () => {
    const req = createBodyToRequest({ Image: 'b', HostConfig: { DeviceCgroupRules: ['c 1:3 mr', 'b *:* m'], MaskedPaths: [], ReadonlyPaths: ['/proc/sys'], Annotations: { 'org.example': 'x' } } });
    assert.deepEqual([req.deviceCgroupRules, req.maskedPaths, req.readonlyPaths, req.annotations], [['c 1:3 mr', 'b *:* m'], [], ['/proc/sys'], { 'org.example': 'x' }]);
    const plain = createBodyToRequest({ Image: 'b', HostConfig: { DeviceCgroupRules: null, MaskedPaths: null } });
    assert.deepEqual([plain.deviceCgroupRules, plain.maskedPaths, plain.annotations], [undefined, undefined, undefined]);
  });

  it('gives a container with Config.NetworkDisabled no network, whatever the body names; refuses HostConfig.Cgroup', () => {
    const req = createBodyToRequest({ Image: 'b', NetworkDisabled: true, HostConfig: { NetworkMode: 'mynet' }, NetworkingConfig: { EndpointsConfig: { mynet: {} } } });
    assert.deepEqual([req.network.mode, req.network.endpoints, req.networkDisabled], ['none', [], true]);
    assert.equal(createBodyToRequest({ Image: 'b', NetworkDisabled: false }).networkDisabled, undefined);
    assert.throws(
      () => createBodyToRequest({ Image: 'b', HostConfig: { Cgroup: 'container:db' } }),
      (err: unknown) => err instanceof BerthError && err.code === 'not-implemented' && err.message === 'not supported by berth yet: HostConfig.Cgroup',
    );
  });

  it('refuses endpoint settings berth does not carry out (links, driver options, gateway priority, link-local addresses)', () => {
    const refusedWith = (settings: Record<string, unknown>, message: string): void =>
      assert.throws(
        () => createBodyToRequest({ Image: 'b', HostConfig: { NetworkMode: 'bridge' }, NetworkingConfig: { EndpointsConfig: { bridge: settings } } }),
        (err: unknown) => err instanceof BerthError && err.code === 'not-implemented' && err.message === message,
      );
    refusedWith({ Links: ['db:db'], GwPriority: 10 }, 'not supported by berth yet: EndpointSettings.Links, EndpointSettings.GwPriority (network bridge)');
    refusedWith({ DriverOpts: { 'com.example': '1' }, IPAMConfig: { LinkLocalIPs: ['169.254.1.1'] } }, 'not supported by berth yet: EndpointSettings.DriverOpts, EndpointSettings.IPAMConfig.LinkLocalIPs (network bridge)');
    createBodyToRequest({ Image: 'b', NetworkingConfig: { EndpointsConfig: { bridge: { Links: null, DriverOpts: null, GwPriority: 0, IPAMConfig: { LinkLocalIPs: [] } } } } });
  });

  it('carries LogConfig as given (the engine merges the daemon defaults and checks it)', () => {
    const logConfigOf = (logConfig: unknown): unknown => createBodyToRequest({ Image: 'b', HostConfig: { LogConfig: logConfig } }).logConfig;
    assert.equal(logConfigOf({ Type: '', Config: {} }), undefined);
    assert.equal(logConfigOf(null), undefined);
    assert.deepEqual(logConfigOf({ Type: '', Config: { 'max-size': '10m' } }), { type: '', config: { 'max-size': '10m' } });
    assert.deepEqual(logConfigOf({ Type: 'none' }), { type: 'none', config: {} });
    assert.throws(() => logConfigOf({ Config: { 'max-size': 10 } }), /cannot unmarshal number into Go struct field LogConfig.HostConfig.LogConfig.Config of type string/);
  });

  it('takes PID, IPC and UTS namespace modes and refuses bad ones with dockerd\'s messages', () => {
    const req = createBodyToRequest({ Image: 'b', HostConfig: { PidMode: 'container:db', IpcMode: 'shareable', UTSMode: 'host' } });
    assert.deepEqual([req.pidMode, req.ipcMode, req.utsMode], ['container:db', 'shareable', 'host']);
    const plain = createBodyToRequest({ Image: 'b', HostConfig: { PidMode: '', IpcMode: '' } });
    assert.deepEqual([plain.pidMode, plain.ipcMode, plain.utsMode], [undefined, undefined, undefined]);
    const invalid = (body: Record<string, unknown>, message: string): void =>
      assert.throws(() => createBodyToRequest({ Image: 'b', ...body }), (err: unknown) => err instanceof BerthError && err.code === 'invalid-argument' && err.message === message);
    invalid({ HostConfig: { PidMode: 'container:' } }, 'invalid PID mode: container:');
    invalid({ HostConfig: { IpcMode: 'public' } }, 'invalid IPC mode: public');
    invalid({ HostConfig: { UTSMode: 'private' } }, 'invalid UTS mode: private');
    invalid({ Hostname: 'h', HostConfig: { UTSMode: 'host' } }, 'conflicting options: hostname and the UTS mode');
    invalid({ HostConfig: { CgroupnsMode: 'shared' } }, 'invalid cgroup namespace mode: shared');
    assert.equal(createBodyToRequest({ Image: 'b', HostConfig: { CgroupnsMode: 'private' } }).cgroupnsMode, 'private');
  });

  it('takes limits, security options, init and a healthcheck', () => {
    const req = createBodyToRequest({
      Image: 'b',
      Healthcheck: { Test: ['CMD', 'true'], Interval: 1e9 },
      HostConfig: { Memory: 1 << 25, PidsLimit: 10, Init: true, SecurityOpt: ['no-new-privileges'], Sysctls: { 'kernel.shmmax': '1' }, RestartPolicy: { Name: 'always' }, Ulimits: [{ Name: 'nofile', Soft: 1, Hard: 2 }] },
    });
    assert.equal(req.resources?.memory, 1 << 25);
    assert.equal(req.resources?.pidsLimit, 10);
    assert.deepEqual(req.resources?.ulimits, [{ name: 'nofile', soft: 1, hard: 2 }]);
    assert.equal(req.init, true);
    assert.deepEqual(req.securityOpt, ['no-new-privileges']);
    assert.deepEqual(req.sysctls, { 'kernel.shmmax': '1' });
    assert.deepEqual(req.healthcheck, { Test: ['CMD', 'true'], Interval: 1e9 });
    assert.deepEqual(req.restartPolicy, { name: 'always', maximumRetryCount: 0 });
    invalid(() => createBodyToRequest({ Image: 'b', HostConfig: { Ulimits: 'nofile' } }), /Ulimits/);
  });

  it('takes Binds, Mounts, Tmpfs, VolumesFrom and Config.Volumes, refusing bad ones with a 400', () => {
    const req = createBodyToRequest({
      Image: 'b',
      Volumes: { '/anon': {} },
      HostConfig: { Binds: ['data:/d:ro', '/h:/h'], Mounts: [{ Type: 'tmpfs', Target: '/t', TmpfsOptions: { SizeBytes: 1024 } }], Tmpfs: { '/run/': 'size=1m' }, VolumesFrom: ['other:ro'] },
    });
    assert.deepEqual(req.binds, ['data:/d:ro', '/h:/h']);
    assert.deepEqual(req.mounts, [{ Type: 'tmpfs', Target: '/t', TmpfsOptions: { SizeBytes: 1024 } }]);
    assert.deepEqual(req.tmpfs, { '/run': 'size=1m' });
    assert.deepEqual(req.volumesFrom, ['other:ro']);
    assert.deepEqual(req.volumes, { '/anon': {} });
    invalid(() => createBodyToRequest({ Image: 'b', Volumes: { relative: {} } }), /mount path must be absolute/);
    invalid(() => createBodyToRequest({ Image: 'b', HostConfig: { Binds: ['x/y:/d'] } }), /invalid characters/);
    invalid(() => createBodyToRequest({ Image: 'b', HostConfig: { Mounts: [{ Type: 'bind', Source: '/h', Target: '/' }] } }), /destination can't be/);
    invalid(() => createBodyToRequest({ Image: 'b', HostConfig: { Mounts: {} } }), /HostConfig.Mounts/);
    invalid(() => createBodyToRequest({ Image: 'b', HostConfig: { VolumesFrom: ['c:shared'] } }), /invalid mode/);
    invalid(() => createBodyToRequest({ Image: 'b', HostConfig: { Binds: ['/a:/d'], Tmpfs: { '/d': '' } } }), /Duplicate mount point/);
  });

  it('refuses wrong types, bad values and unsupported modes with a clear message', () => {
    invalid(() => createBodyToRequest({ Cmd: ['x'] }), /image name is required/);
    invalid(() => createBodyToRequest({ Image: 'b', Cmd: 5 }), /Cmd/);
    invalid(() => createBodyToRequest({ Image: 'b', Tty: 'yes' }), /Tty/);
    invalid(() => createBodyToRequest({ Image: 'b', WorkingDir: 'relative' }), /absolute path/);
    invalid(() => createBodyToRequest({ Image: 'b', StopSignal: 'SIGNOPE' }), /Invalid signal/);
    invalid(() => createBodyToRequest({ Image: 'b', HostConfig: { ShmSize: -1 } }), /SHM size/);
    invalid(() => createBodyToRequest({ Image: 'b', HostConfig: { RestartPolicy: { Name: 'sometimes' } } }), /restart policy/);
    invalid(() => createBodyToRequest({ Image: 'b', HostConfig: { NetworkMode: 'container:' } }), /container name or ID is required/);
    invalid(() => createBodyToRequest({ Image: 'b', HostConfig: { PortBindings: { 'abc/tcp': [] } } }), /invalid port specification/);
    invalid(() => createBodyToRequest({ Image: 'b', HostConfig: { PortBindings: { '80/tcp': [{ HostPort: '99999' }] } } }), /invalid hostPort/);
    invalid(() => createBodyToRequest({ Image: 'b', HostConfig: { NetworkMode: 'host', PortBindings: { '80/tcp': [{ HostPort: '80' }] } } }), /host network mode/);
    invalid(() => createBodyToRequest({ Image: 'b', HostConfig: { Dns: ['not-an-ip'] } }), /not an ip address/);
    invalid(() => createBodyToRequest({ Image: 'b', ExposedPorts: { '80/foo': {} } }), /invalid proto/);
    invalid(() => createBodyToRequest({ Image: 'b', HostConfig: { ExtraHosts: ['nocolon'] } }), /add-host/);
    invalid(() => createBodyToRequest({ Image: 'b', Env: ['=x'] }), /environment variable/);
    invalid(() => createBodyToRequest([]), /object/);
  });
});

describe('ps STATUS text', () => {
  const record = (state: Partial<ContainerRecord['state']>): ContainerRecord =>
    ({ state: { status: 'created', pid: 0, conmonPid: 0, exitCode: 0, error: '', startedAt: '', finishedAt: '', oomKilled: false, ...state } }) as ContainerRecord;
  it('reads like dockerd', () => {
    const now = Date.parse('2026-01-01T00:10:00Z');
    assert.equal(statusText(record({ status: 'created' }), now), 'Created');
    assert.equal(statusText(record({ status: 'running', startedAt: '2026-01-01T00:09:57Z' }), now), 'Up 3 seconds');
    assert.equal(statusText(record({ status: 'exited', exitCode: 3, finishedAt: '2026-01-01T00:08:30Z' }), now), 'Exited (3) About a minute ago');
    assert.equal(statusText(record({ status: 'paused', startedAt: '2026-01-01T00:00:00Z' }), now), 'Up 10 minutes (Paused)');
  });
});

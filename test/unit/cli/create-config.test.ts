import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildCreateRequest, normalizeCapability, parseEnvFile } from '../../../src/cli/create-config.js';
import { parsePublish } from '../../../src/cli/port-specs.js';
import { getTimestamp } from '../../../src/cli/timestamps.js';
import { familiarString, parseNormalizedNamed, tagNameOnly, canonicalString, fullName } from '../../../src/cli/reference.js';

// The body docker 28.2.2 sent for `docker run --rm busybox:local echo hi` (trace 02a).
const DOCKER_RUN_RM_ECHO =
  '{"Hostname":"","Domainname":"","User":"","AttachStdin":false,"AttachStdout":true,"AttachStderr":true,"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":null,"Cmd":["echo","hi"],"Image":"busybox:local","Volumes":{},"WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":{},"HostConfig":{"Binds":null,"ContainerIDFile":"","LogConfig":{"Type":"","Config":{}},"NetworkMode":"default","PortBindings":{},"RestartPolicy":{"Name":"no","MaximumRetryCount":0},"AutoRemove":true,"VolumeDriver":"","VolumesFrom":null,"ConsoleSize":[0,0],"CapAdd":null,"CapDrop":null,"CgroupnsMode":"","Dns":[],"DnsOptions":[],"DnsSearch":[],"ExtraHosts":null,"GroupAdd":null,"IpcMode":"","Cgroup":"","Links":null,"OomScoreAdj":0,"PidMode":"","Privileged":false,"PublishAllPorts":false,"ReadonlyRootfs":false,"SecurityOpt":null,"UTSMode":"","UsernsMode":"","ShmSize":0,"Isolation":"","CpuShares":0,"Memory":0,"NanoCpus":0,"CgroupParent":"","BlkioWeight":0,"BlkioWeightDevice":[],"BlkioDeviceReadBps":[],"BlkioDeviceWriteBps":[],"BlkioDeviceReadIOps":[],"BlkioDeviceWriteIOps":[],"CpuPeriod":0,"CpuQuota":0,"CpuRealtimePeriod":0,"CpuRealtimeRuntime":0,"CpusetCpus":"","CpusetMems":"","Devices":[],"DeviceCgroupRules":null,"DeviceRequests":null,"MemoryReservation":0,"MemorySwap":0,"MemorySwappiness":-1,"OomKillDisable":false,"PidsLimit":0,"Ulimits":[],"CpuCount":0,"CpuPercent":0,"IOMaximumIOps":0,"IOMaximumBandwidth":0,"MaskedPaths":null,"ReadonlyPaths":null},"NetworkingConfig":{"EndpointsConfig":{"default":{"IPAMConfig":null,"Links":null,"Aliases":null,"MacAddress":"","DriverOpts":null,"GwPriority":0,"NetworkID":"","EndpointID":"","Gateway":"","IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"DNSNames":null}}}}';

test('run --rm busybox:local echo hi produces the exact body docker sends', () => {
  const req = buildCreateRequest('busybox:local', ['echo', 'hi'], { rm: true }, { env: {}, command: 'run' });
  assert.equal(JSON.stringify(req.body), DOCKER_RUN_RM_ECHO);
  assert.deepEqual(req.query, {});
  assert.deepEqual(req.attach, { stdin: false, stdout: true, stderr: true });
});

test('-i, -t, -d and the attach/stdin flags', () => {
  const it = buildCreateRequest('busybox', ['sh'], { interactive: true, tty: true, rm: true, name: 'tty1' }, { env: {}, command: 'run', consoleSize: [30, 100] });
  assert.equal(it.body['AttachStdin'], true);
  assert.equal(it.body['OpenStdin'], true);
  assert.equal(it.body['StdinOnce'], true);
  assert.equal(it.body['Tty'], true);
  assert.deepEqual((it.body['HostConfig'] as Record<string, unknown>)['ConsoleSize'], [30, 100]);
  assert.deepEqual(it.query, { name: 'tty1' });
  const d = buildCreateRequest('busybox', ['sleep', '300'], { detach: true, name: 'st1' }, { env: {}, command: 'run' });
  assert.equal(d.body['AttachStdout'], false);
  assert.equal(d.body['AttachStderr'], false);
  assert.equal(d.body['StdinOnce'], false);
});

test('the options of trace 09c map to the same fields', () => {
  const req = buildCreateRequest(
    'busybox:local',
    ['-c', 'sleep 60'],
    {
      hostname: 'hh',
      user: '0:0',
      env: ['A=B', 'C'],
      workdir: '/tmp',
      entrypoint: 'sh',
      label: ['k=v'],
      stopSignal: 'SIGINT',
      stopTimeout: '5',
      capAdd: ['NET_ADMIN'],
      shmSize: '32m',
      memory: '64m',
      cpus: '0.5',
      pidsLimit: '50',
      restart: 'on-failure:3',
      publish: ['127.0.0.1:8443:443', '5353:53/udp'],
      init: true,
      dns: ['8.8.8.8'],
      addHost: ['foo:1.2.3.4'],
      securityOpt: ['no-new-privileges'],
      tmpfs: ['/run'],
    },
    { env: {}, command: 'run' },
  );
  const b = req.body;
  const hc = b['HostConfig'] as Record<string, unknown>;
  assert.equal(b['Hostname'], 'hh');
  assert.equal(b['User'], '0:0');
  assert.deepEqual(b['Env'], ['A=B', 'C']);
  assert.deepEqual(b['Entrypoint'], ['sh']);
  assert.deepEqual(b['Labels'], { k: 'v' });
  assert.equal(b['StopSignal'], 'SIGINT');
  assert.equal(b['StopTimeout'], 5);
  assert.deepEqual(b['ExposedPorts'], { '443/tcp': {}, '53/udp': {} });
  assert.deepEqual(hc['PortBindings'], { '443/tcp': [{ HostIp: '127.0.0.1', HostPort: '8443' }], '53/udp': [{ HostIp: '', HostPort: '5353' }] });
  assert.deepEqual(hc['CapAdd'], ['CAP_NET_ADMIN']);
  assert.equal(hc['ShmSize'], 33554432);
  assert.equal(hc['Memory'], 67108864);
  assert.equal(hc['NanoCpus'], 500000000);
  assert.equal(hc['PidsLimit'], 50);
  assert.deepEqual(hc['RestartPolicy'], { Name: 'on-failure', MaximumRetryCount: 3 });
  assert.equal(hc['Init'], true);
  assert.deepEqual(hc['Tmpfs'], { '/run': '' });
  assert.deepEqual(hc['ExtraHosts'], ['foo:1.2.3.4']);
  assert.deepEqual(hc['SecurityOpt'], ['no-new-privileges']);
});

test('label files: bare keys dropped, files before --label, bad lines named as docker names them', () => {
  const files = new Map([['l', '# c\n  tier=web\nbare\ncolor=blue\n'], ['bad', 'bad key=1\n']]);
  const r = buildCreateRequest('busybox', [], { labelFile: ['l'], label: ['color=red'] }, { env: {}, fileContents: files, command: 'create' });
  assert.deepEqual(r.body['Labels'], { tier: 'web', color: 'red' });
  assert.throws(
    () => buildCreateRequest('busybox', [], { labelFile: ['bad'] }, { env: {}, fileContents: files, command: 'create' }),
    /^FlagError: invalid env file \(bad\): variable 'bad key' contains whitespaces$/,
  );
  assert.throws(() => buildCreateRequest('busybox', [], { labelFile: ['gone'] }, { env: {}, fileContents: files, command: 'create' }), /open gone: no such file or directory/);
});

test('env: KEY alone takes our value; env files; networks; capabilities', () => {
  const r = buildCreateRequest('busybox', [], { env: ['HOME', 'NOPE', 'X=1'], envFile: ['f'], network: 'none' }, {
    env: { HOME: '/root' },
    fileContents: new Map([['f', '# c\n\nFOO=bar\n  BAZ=q x\nHOME\n']]),
    command: 'run',
  });
  assert.deepEqual(r.body['Env'], ['FOO=bar', 'BAZ=q x', 'HOME=/root', 'HOME=/root', 'NOPE', 'X=1']);
  assert.equal((r.body['HostConfig'] as Record<string, unknown>)['NetworkMode'], 'none');
  // One --network without endpoint options: docker 28.2.2 sends no endpoint for it.
  assert.deepEqual(Object.keys((r.body['NetworkingConfig'] as { EndpointsConfig: object }).EndpointsConfig), []);
  assert.throws(() => parseEnvFile('BAD KEY=1', {}), /contains whitespaces/);
  assert.equal(normalizeCapability('net_raw'), 'CAP_NET_RAW');
  assert.equal(normalizeCapability('ALL'), 'ALL');
  assert.deepEqual(parsePublish(['8000-8001:80-81']).bindings, {
    '80/tcp': [{ HostIp: '', HostPort: '8000' }],
    '81/tcp': [{ HostIp: '', HostPort: '8001' }],
  });
  assert.throws(() => buildCreateRequest('b', [], { stopTimeout: 'abc' }, { env: {}, command: 'run' }), /invalid argument "abc" for "--stop-timeout" flag/);
});

test('references: normalised as distribution/reference does', () => {
  const r = parseNormalizedNamed('busybox');
  assert.equal(fullName(r), 'docker.io/library/busybox');
  assert.equal(familiarString(tagNameOnly(r)), 'busybox:latest');
  assert.equal(canonicalString(tagNameOnly(r)), 'docker.io/library/busybox:latest');
  assert.equal(fullName(parseNormalizedNamed('127.0.0.1:5000/busybox:1')), '127.0.0.1:5000/busybox');
  assert.equal(fullName(parseNormalizedNamed('localhost/x')), 'localhost/x');
  assert.equal(fullName(parseNormalizedNamed('user/app')), 'docker.io/user/app');
  assert.equal(familiarString(parseNormalizedNamed('index.docker.io/library/alpine:3')), 'alpine:3');
  assert.throws(() => parseNormalizedNamed('UPPER'), /invalid reference format: repository name \(library\/UPPER\) must be lowercase/);
  assert.throws(() => parseNormalizedNamed('bad:tag:x'), /invalid reference format/);
});

test('--since/--until values (timetypes.GetTimestamp)', () => {
  const now = new Date('2026-11-22T14:43:18Z');
  assert.equal(getTimestamp('1s', now), '1795358597');
  assert.equal(getTimestamp('10m', now), String(Math.floor(now.getTime() / 1000) - 600));
  assert.equal(getTimestamp('2026-11-22T14:43:18Z', now), '1795358598.000000000');
  assert.equal(getTimestamp('2026-11-22T14:43:18.5Z', now), '1795358598.500000000');
  assert.equal(getTimestamp('1795358598', now), '1795358598');
  assert.throws(() => getTimestamp('yesterday', now), /failed to parse value as time or duration/);
});

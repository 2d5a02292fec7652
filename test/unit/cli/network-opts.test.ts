import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildCreateRequest } from '../../../src/cli/create-config.js';
import { isValidMac, networkingConfig, validateDnsSearch } from '../../../src/cli/network-opts.js';

// What docker CLI 28.2.2 sent to berthd for
//   docker create --network un --network-alias a1 --network-alias a2,a3 --ip 10.82.0.200 --ip6 fd00::5
//     --mac-address 02:42:ac:11:00:99 --dns-search example.com --dns-option ndots:2 --expose 7000-7001
//     --expose 9000/udp -P -p 8000-8001:80-81 -p 127.0.0.1::53/udp -p 90 -p 7000-7010:22 -p [::1]:8080:8080 busybox true
const DOCKER_CREATE_NETWORK_FLAGS =
  '{"Hostname":"","Domainname":"","User":"","AttachStdin":false,"AttachStdout":true,"AttachStderr":true,"ExposedPorts":{"22/tcp":{},"53/udp":{},"7000/tcp":{},"7001/tcp":{},"80/tcp":{},"8080/tcp":{},"81/tcp":{},"90/tcp":{},"9000/udp":{}},"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":null,"Cmd":["true"],"Image":"busybox","Volumes":{},"WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":{},"HostConfig":{"Binds":null,"ContainerIDFile":"","LogConfig":{"Type":"","Config":{}},"NetworkMode":"un","PortBindings":{"22/tcp":[{"HostIp":"","HostPort":"7000-7010"}],"53/udp":[{"HostIp":"127.0.0.1","HostPort":""}],"80/tcp":[{"HostIp":"","HostPort":"8000"}],"8080/tcp":[{"HostIp":"::1","HostPort":"8080"}],"81/tcp":[{"HostIp":"","HostPort":"8001"}],"90/tcp":[{"HostIp":"","HostPort":""}]},"RestartPolicy":{"Name":"no","MaximumRetryCount":0},"AutoRemove":false,"VolumeDriver":"","VolumesFrom":null,"ConsoleSize":[0,0],"CapAdd":null,"CapDrop":null,"CgroupnsMode":"","Dns":[],"DnsOptions":["ndots:2"],"DnsSearch":["example.com"],"ExtraHosts":null,"GroupAdd":null,"IpcMode":"","Cgroup":"","Links":null,"OomScoreAdj":0,"PidMode":"","Privileged":false,"PublishAllPorts":true,"ReadonlyRootfs":false,"SecurityOpt":null,"UTSMode":"","UsernsMode":"","ShmSize":0,"Isolation":"","CpuShares":0,"Memory":0,"NanoCpus":0,"CgroupParent":"","BlkioWeight":0,"BlkioWeightDevice":[],"BlkioDeviceReadBps":[],"BlkioDeviceWriteBps":[],"BlkioDeviceReadIOps":[],"BlkioDeviceWriteIOps":[],"CpuPeriod":0,"CpuQuota":0,"CpuRealtimePeriod":0,"CpuRealtimeRuntime":0,"CpusetCpus":"","CpusetMems":"","Devices":[],"DeviceCgroupRules":null,"DeviceRequests":null,"MemoryReservation":0,"MemorySwap":0,"MemorySwappiness":-1,"OomKillDisable":false,"PidsLimit":0,"Ulimits":[],"CpuCount":0,"CpuPercent":0,"IOMaximumIOps":0,"IOMaximumBandwidth":0,"MaskedPaths":null,"ReadonlyPaths":null},"NetworkingConfig":{"EndpointsConfig":{"un":{"IPAMConfig":{"IPv4Address":"10.82.0.200","IPv6Address":"fd00::5"},"Links":null,"Aliases":["a1","a2,a3"],"MacAddress":"02:42:ac:11:00:99","DriverOpts":null,"GwPriority":0,"NetworkID":"","EndpointID":"","Gateway":"","IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"DNSNames":null}}}}';

test('the network and port flags produce the exact body docker sends', () => {
  const req = buildCreateRequest(
    'busybox',
    ['true'],
    {
      network: 'un',
      networkAlias: ['a1', 'a2,a3'],
      ip: '10.82.0.200',
      ip6: 'fd00::5',
      macAddress: '02:42:ac:11:00:99',
      dnsSearch: ['example.com'],
      dnsOption: ['ndots:2'],
      expose: ['7000-7001', '9000/udp'],
      publishAll: true,
      publish: ['8000-8001:80-81', '127.0.0.1::53/udp', '90', '7000-7010:22', '[::1]:8080:8080'],
    },
    { env: {}, command: 'create' },
  );
  assert.equal(JSON.stringify(req.body), DOCKER_CREATE_NETWORK_FLAGS);
});

test('one --network without endpoint options sends no endpoint; no --network always sends "default"', () => {
  for (const network of ['un', 'host', 'bridge', 'default', 'container:c1']) {
    assert.deepEqual(networkingConfig({ network }), { mode: network, config: { EndpointsConfig: {} } });
  }
  const none = networkingConfig({});
  assert.equal(none.mode, 'default');
  assert.deepEqual(Object.keys(none.config.EndpointsConfig), ['default']);
  const ip = networkingConfig({ ip: '10.0.0.1' }).config.EndpointsConfig['default'] as Record<string, unknown>;
  assert.deepEqual(ip['IPAMConfig'], { IPv4Address: '10.0.0.1' });
  const bridge = networkingConfig({ network: 'bridge', ip6: 'fd00::1' }).config.EndpointsConfig['bridge'] as Record<string, unknown>;
  assert.deepEqual(bridge['IPAMConfig'], { IPv6Address: 'fd00::1' });
});

test('aliases only on user-defined networks; MAC addresses checked as net.ParseMAC does', () => {
  const aliasError = { message: 'network-scoped aliases are only supported for user-defined networks' };
  assert.throws(() => networkingConfig({ networkAlias: ['x'] }), aliasError);
  assert.throws(() => networkingConfig({ network: 'bridge', networkAlias: ['x'] }), aliasError);
  assert.throws(() => networkingConfig({ network: 'container:c', networkAlias: ['x'] }), aliasError);
  assert.deepEqual((networkingConfig({ network: 'front', networkAlias: ['x'] }).config.EndpointsConfig['front'] as Record<string, unknown>)['Aliases'], ['x']);
  assert.throws(() => networkingConfig({ macAddress: 'zz' }), { message: 'zz is not a valid mac address' });
  for (const mac of ['02:42:ac:11:00:99', '02-42-ac-11-00-99', '0242.ac11.0099', '02:42:AC:11:00:99:aa:bb']) assert.ok(isValidMac(mac), mac);
  for (const mac of ['02:42:ac:11:00', '02:42-ac:11:00:99', '0242.ac11.00990', 'gg:42:ac:11:00:99', '02:42:ac:11:00:99:aa']) assert.ok(!isValidMac(mac), mac);
});

test('--dns-search: domains (trailing dot dropped), ".", and the flag error for anything else', () => {
  assert.equal(validateDnsSearch('example.com'), 'example.com');
  assert.equal(validateDnsSearch('example.com.'), 'example.com');
  assert.equal(validateDnsSearch('.'), '.');
  assert.throws(() => validateDnsSearch('-bad'), { message: 'invalid argument "-bad" for "--dns-search" flag: -bad is not a valid domain' });
  assert.throws(() => validateDnsSearch('123'), /123 is not a valid domain/);
  assert.throws(() => validateDnsSearch('a b'), /a b is not a valid domain/);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePortRange, parsePublish, splitProtoPort } from '../../../src/cli/port-specs.js';

// Every expectation below is what docker CLI 28.2.2 sent (or printed) for the same flags.

test('-p forms: ip:host:ctr, ip::ctr, bare ctr, [ipv6], proto, long syntax', () => {
  const { exposed, bindings } = parsePublish([
    '127.0.0.1:8443:443',
    '127.0.0.1::53/udp',
    '90',
    '[::1]:8080:8080',
    '::1:81:81',
    '80/UDP',
    '8000-8001:80/sctp',
    'target=9000,published=19000',
    'target=53,protocol=udp',
  ]);
  assert.deepEqual(bindings, {
    '443/tcp': [{ HostIp: '127.0.0.1', HostPort: '8443' }],
    '53/udp': [
      { HostIp: '127.0.0.1', HostPort: '' },
      { HostIp: '', HostPort: '' },
    ],
    '80/sctp': [{ HostIp: '', HostPort: '8000-8001' }],
    '80/udp': [{ HostIp: '', HostPort: '' }],
    '8080/tcp': [{ HostIp: '::1', HostPort: '8080' }],
    '81/tcp': [{ HostIp: '::1', HostPort: '81' }],
    '90/tcp': [{ HostIp: '', HostPort: '' }],
    '9000/tcp': [{ HostIp: '', HostPort: '19000' }],
  });
  // Go's encoding/json sorts map keys: "80/…" before "8080/…" before "81/…".
  assert.deepEqual(Object.keys(exposed), ['443/tcp', '53/udp', '80/sctp', '80/udp', '8080/tcp', '81/tcp', '90/tcp', '9000/tcp']);
});

test('ranges: pairwise, a host range for one container port, and collapsed into one binding each', () => {
  assert.deepEqual(parsePublish(['8000-8001:80-81']).bindings, {
    '80/tcp': [{ HostIp: '', HostPort: '8000' }],
    '81/tcp': [{ HostIp: '', HostPort: '8001' }],
  });
  assert.deepEqual(parsePublish(['7000-7010:22']).bindings, { '22/tcp': [{ HostIp: '', HostPort: '7000-7010' }] });
  assert.deepEqual(parsePublish(['80-81:8080']).bindings, { '8080/tcp': [{ HostIp: '', HostPort: '80-81' }] });
  assert.deepEqual(Object.keys(parsePublish(['1-2-3']).exposed), ['1/tcp', '2/tcp']);
  assert.deepEqual(Object.keys(parsePublish(['080', '80/']).exposed), ['80/tcp']);
});

test('--expose merges into ExposedPorts only, keeping the protocol as written', () => {
  const { exposed, bindings } = parsePublish(['90'], ['7000-7001', '9000/udp', '80/UDP']);
  assert.deepEqual(Object.keys(exposed), ['7000/tcp', '7001/tcp', '80/UDP', '90/tcp', '9000/udp']);
  assert.deepEqual(Object.keys(bindings), ['90/tcp']);
});

test("bad -p and --expose values fail with docker's words", () => {
  const cases: Array<[string[], string[], string]> = [
    [['80/foo'], [], 'invalid proto: foo'],
    [['80/FOO'], [], 'invalid proto: FOO'],
    [['1.2.3:80:80'], [], 'invalid IP address: 1.2.3'],
    [['1:2:3:4'], [], 'invalid IP address: 1:2'],
    [['[::1:80:80'], [], "invalid IP address [::1: address [::1:: missing ']' in address"],
    [['70000:80'], [], 'invalid hostPort: 70000'],
    [['127.0.0.1:80'], [], 'invalid hostPort: 127.0.0.1'],
    [['+80'], [], 'invalid containerPort: +80'],
    [['8000-8001:80-82'], [], 'invalid ranges specified for container and host Ports: 80-82 and 8000-8001'],
    [[''], [], 'no port specified: <empty>'],
    [['/tcp'], [], 'no port specified: /tcp<empty>'],
    [['a=b'], [], 'no port specified: :/tcp<empty>'],
    [[], ['1:2'], 'invalid port format for --expose: 1:2'],
    [[], ['70000'], 'invalid range format for --expose: 70000, error: strconv.ParseUint: parsing "70000": value out of range'],
    [[], ['5-3'], 'invalid range format for --expose: 5-3, error: invalid range specified for port: 5-3'],
    [[], [''], 'invalid range format for --expose: , error: empty string specified for ports'],
    [[], ['abc'], 'invalid range format for --expose: abc, error: strconv.ParseUint: parsing "abc": invalid syntax'],
  ];
  for (const [publish, expose, message] of cases) {
    assert.throws(() => parsePublish(publish, expose), { message }, JSON.stringify([publish, expose]));
  }
});

test('the nat helpers', () => {
  assert.deepEqual(splitProtoPort('80/tcp/x'), { proto: 'tcp', port: '80' });
  assert.deepEqual(splitProtoPort('/udp'), { proto: '', port: '' });
  assert.deepEqual(parsePortRange('8000-8010'), { start: 8000, end: 8010 });
  assert.throws(() => parsePortRange('-5'), /parsing "": invalid syntax/);
});

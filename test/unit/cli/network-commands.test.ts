import { test } from 'node:test';
import assert from 'node:assert/strict';
import { networkConnectBody, networkCreateBody } from '../../../src/cli/commands/network.js';
import { portLines } from '../../../src/cli/commands/port.js';
import { CliError } from '../../../src/cli/errors.js';
import { renderRows } from '../../../src/cli/format.js';
import { consolidateIpam } from '../../../src/cli/network-ipam.js';
import { goTimeString, NETWORK_HEADERS, networkFormat, networkRows, type NetworkSummary } from '../../../src/cli/network-format.js';
import { argCountMessage, buildProgram } from '../../../src/cli/program.js';
import { naturalLess } from '../../../src/cli/sortorder.js';

// Bodies docker CLI 28.2.2 sent to berthd (API 1.50) for the commands named.
const DOCKER_NETWORK_CREATE_PLAIN =
  '{"Driver":"bridge","Scope":"","IPAM":{"Driver":"default","Options":{},"Config":[]},"Internal":false,"Attachable":false,"Ingress":false,"ConfigOnly":false,"ConfigFrom":null,"Options":{},"Labels":{},"Name":"n1"}';
// network create --subnet 10.77.0.0/24 --gateway 10.77.0.1 --ip-range 10.77.0.128/25 --internal --attachable --ipv6
//   --label a=b --label c -o com.docker.network.driver.mtu=1400 -d bridge n2
const DOCKER_NETWORK_CREATE_FULL =
  '{"Driver":"bridge","Scope":"","EnableIPv6":true,"IPAM":{"Driver":"default","Options":{},"Config":[{"Subnet":"10.77.0.0/24","IPRange":"10.77.0.128/25","Gateway":"10.77.0.1"}]},"Internal":true,"Attachable":true,"Ingress":false,"ConfigOnly":false,"ConfigFrom":null,"Options":{"com.docker.network.driver.mtu":"1400"},"Labels":{"a":"b","c":""},"Name":"n2"}';
// network connect --alias x,y --alias z --ip 10.81.0.50 cn c1
const DOCKER_NETWORK_CONNECT =
  '{"Container":"c1","EndpointConfig":{"IPAMConfig":{"IPv4Address":"10.81.0.50"},"Links":null,"Aliases":["x","y","z"],"MacAddress":"","DriverOpts":{},"GwPriority":0,"NetworkID":"","EndpointID":"","Gateway":"","IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"DNSNames":null}}';
// network connect cn c1 (trace 09a has the same shape)
const DOCKER_NETWORK_CONNECT_PLAIN =
  '{"Container":"c1","EndpointConfig":{"IPAMConfig":{},"Links":null,"Aliases":[],"MacAddress":"","DriverOpts":{},"GwPriority":0,"NetworkID":"","EndpointID":"","Gateway":"","IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"DNSNames":null}}';

test('network create and connect bodies are the ones docker sends', () => {
  assert.equal(JSON.stringify(networkCreateBody('n1', {})), DOCKER_NETWORK_CREATE_PLAIN);
  const full = networkCreateBody('n2', {
    subnet: ['10.77.0.0/24'],
    gateway: ['10.77.0.1'],
    ipRange: ['10.77.0.128/25'],
    internal: true,
    attachable: true,
    ipv6: true,
    label: ['c', 'a=b'],
    opt: ['com.docker.network.driver.mtu=1400'],
    driver: 'bridge',
  });
  assert.equal(JSON.stringify(full), DOCKER_NETWORK_CREATE_FULL);
  assert.equal(JSON.stringify(networkConnectBody('c1', { alias: ['x,y', 'z'], ip: '10.81.0.50' })), DOCKER_NETWORK_CONNECT);
  assert.equal(JSON.stringify(networkConnectBody('c1', {})), DOCKER_NETWORK_CONNECT_PLAIN);
});

test('network create: bad labels are flag errors (125), bad IPAM combinations plain errors (1)', () => {
  const fails = (f: Parameters<typeof networkCreateBody>[1], message: string, exitCode: number): void => {
    assert.throws(() => networkCreateBody('x', f), (e: unknown) => e instanceof CliError && e.message.split('\n')[0] === message && e.exitCode === exitCode);
  };
  fails({ label: ['=x'] }, `invalid argument "=x" for "--label" flag: invalid label '=x': empty name`, 125);
  fails({ label: [' a = b'] }, `invalid argument " a = b" for "--label" flag: label 'a ' contains whitespaces`, 125);
  fails({ gateway: ['10.2.0.1'] }, 'every ip-range or gateway must have a corresponding subnet', 1);
  fails({ subnet: ['10.1.0.0/24'], gateway: ['10.2.0.1'] }, 'no matching subnet for gateway 10.2.0.1', 1);
  fails({ subnet: ['10.1.0.0/24,10.1.0.0/16'] }, 'multiple overlapping subnet configuration is not supported', 1);
  fails({ subnet: ['10.1.0.0/24'], ipRange: ['bad'] }, 'invalid CIDR address: bad', 1);
  fails({ subnet: ['bad'], ipRange: ['10.0.0.0/24'] }, 'invalid subnet: invalid CIDR address: bad', 1);
  fails({ subnet: ['10.1.0.0/24'], gateway: ['10.1.0.1', '10.1.0.2'] }, 'every ip-range or gateway must have a corresponding subnet', 1);
  fails({ subnet: ['10.1.0.0/24', '10.2.0.0/24'], gateway: ['10.1.0.1', '10.1.0.2'] }, 'cannot configure multiple gateways (10.1.0.2, 10.1.0.1) for the same subnet (10.1.0.0/24)', 1);
  // A lone subnet is the daemon's to judge, as with docker.
  assert.deepEqual(consolidateIpam(['bad'], [], []), [{ Subnet: 'bad' }]);
  assert.deepEqual(consolidateIpam(['10.91.0.0/24', 'fd00:1::/64'], [], ['fd00:1::1', '10.91.0.5']), [
    { Subnet: '10.91.0.0/24', Gateway: '10.91.0.5' },
    { Subnet: 'fd00:1::/64', Gateway: 'fd00:1::1' },
  ]);
});

test('network ls: natural name order, docker table, quiet/raw/json formats and Go time text', () => {
  const nets: NetworkSummary[] = [
    { Name: 'n10', Id: 'b'.repeat(64), Created: '2026-11-22T21:28:58.210Z', Scope: 'local', Driver: 'bridge', EnableIPv4: true, EnableIPv6: true, Internal: true, Labels: { c: '', a: 'b' } },
    { Name: 'n9', Id: 'a'.repeat(64), Created: '2026-11-22T21:28:50.9Z', Scope: 'local', Driver: 'bridge', EnableIPv4: true, EnableIPv6: false, Internal: false, Labels: {} },
  ];
  const rows = networkRows(nets, true);
  assert.equal(
    renderRows(networkFormat(undefined, false), rows, NETWORK_HEADERS),
    'NETWORK ID     NAME      DRIVER    SCOPE\naaaaaaaaaaaa   n9        bridge    local\nbbbbbbbbbbbb   n10       bridge    local\n',
  );
  assert.equal(renderRows(networkFormat(undefined, true), rows, NETWORK_HEADERS), 'aaaaaaaaaaaa\nbbbbbbbbbbbb\n');
  assert.equal(renderRows(networkFormat('{{.Name}}', true), rows, NETWORK_HEADERS), 'n9\nn10\n');
  assert.equal(renderRows(networkFormat('raw', true), rows, NETWORK_HEADERS), 'network_id: aaaaaaaaaaaa\nnetwork_id: bbbbbbbbbbbb\n');
  assert.equal(
    renderRows('{{json .}}', rows.slice(1), NETWORK_HEADERS),
    '{"CreatedAt":"2026-11-22 21:28:58.21 +0000 UTC","Driver":"bridge","ID":"bbbbbbbbbbbb","IPv4":"true","IPv6":"true","Internal":"true","Labels":"a=b,c=","Name":"n10","Scope":"local"}\n',
  );
  assert.equal(renderRows('{{.Label "a"}}|{{.Label "nope"}}', rows.slice(1), NETWORK_HEADERS), 'b|\n');
  assert.equal(goTimeString('2026-11-22T21:28:58.000Z'), '2026-11-22 21:28:58 +0000 UTC');
  assert.equal(goTimeString('2026-11-22T14:19:07.243507915Z'), '2026-11-22 14:19:07.243507915 +0000 UTC');
  assert.equal(goTimeString('2026-11-22T14:19:07.5+02:00'), '2026-11-22 14:19:07.5 +0200 +0200');
  assert.equal(goTimeString(undefined), '0001-01-01 00:00:00 +0000 UTC');
});

test('natural order as sortorder.NaturalLess', () => {
  assert.ok(naturalLess('n9', 'n10'));
  assert.ok(!naturalLess('n10', 'n9'));
  assert.ok(naturalLess('443/tcp -> x', 'a'));
  assert.ok(naturalLess('n01', 'n001'));
  assert.ok(naturalLess('bridge', 'host'));
  assert.ok(naturalLess('abc', 'abcd'));
});

test('port: every mapping in natural order, one port, and the errors', () => {
  const ports = {
    '443/tcp': [{ HostIp: '0.0.0.0', HostPort: '44771' }],
    '80/tcp': [
      { HostIp: '0.0.0.0', HostPort: '18080' },
      { HostIp: '::', HostPort: '18080' },
    ],
    '7000/tcp': null,
    '90/udp': [{ HostIp: '127.0.0.1', HostPort: '18090' }],
  };
  assert.deepEqual(portLines(ports, 'web'), ['80/tcp -> 0.0.0.0:18080', '80/tcp -> [::]:18080', '90/udp -> 127.0.0.1:18090', '443/tcp -> 0.0.0.0:44771']);
  assert.deepEqual(portLines(ports, 'web', '80'), ['0.0.0.0:18080', '[::]:18080']);
  assert.deepEqual(portLines(ports, 'web', '90/udp'), ['127.0.0.1:18090']);
  assert.throws(() => portLines(ports, 'web', '7000'), { message: "Error: No public port '7000' published for web" });
  assert.throws(() => portLines(ports, 'web', '80/udp'), { message: "Error: No public port '80/udp' published for web" });
  assert.throws(() => portLines(ports, 'web', 'abc'), { message: 'Error: invalid port (abc): strconv.ParseUint: parsing "abc": invalid syntax' });
  assert.throws(() => portLines(ports, 'web', '99999'), { message: 'Error: invalid port (99999): strconv.ParseUint: parsing "99999": value out of range' });
});

test('the network commands, port and the new run flags parse as docker names them', () => {
  const parse = (argv: string[]): { args: unknown[] } => {
    const program = buildProgram(argv[0]);
    let got: unknown[] | undefined;
    const leaf = (cmd: ReturnType<typeof buildProgram>, words: string[]): ReturnType<typeof buildProgram> => {
      const sub = cmd.commands.find((c) => c.name() === words[0] || c.aliases().includes(words[0] ?? ''));
      return sub && sub.commands.length > 0 ? leaf(sub, words.slice(1)) : (sub ?? cmd);
    };
    leaf(program, argv).action((...args: unknown[]) => {
      got = args.slice(0, -1);
    });
    program.parse(argv, { from: 'user' });
    assert.ok(got);
    return { args: got };
  };
  const create = parse(['network', 'create', '--subnet', '10.1.0.0/24', '--label', 'a=b', '-o', 'x=y', '--ipv6', '-d', 'bridge', 'n1']).args;
  assert.equal(create[0], 'n1');
  assert.deepEqual(create[1], { subnet: ['10.1.0.0/24'], label: ['a=b'], opt: ['x=y'], ipv6: true, driver: 'bridge', ipamDriver: 'default' });
  const rm = parse(['network', 'remove', '-f', 'a', 'b']).args;
  assert.deepEqual(rm, [['a', 'b'], { force: true }]);
  const ls = parse(['network', 'list', '-q', '--no-trunc', '-f', 'name=x']).args;
  assert.deepEqual(ls, [{ quiet: true, trunc: false, filter: ['name=x'] }]);
  const port = parse(['container', 'port', 'web', '80/udp']).args;
  assert.deepEqual(port, ['web', '80/udp', {}]);
  const run = parse(['run', '-P', '--expose', '80', '--network-alias', 'a', '--ip', '10.0.0.2', '--ip6', 'fd00::2', '--mac-address', 'm', '--dns-search', 'x', '--dns-option', 'y', 'busybox']).args;
  const opts = run[2] as Record<string, unknown>;
  assert.equal(opts['publishAll'], true);
  assert.deepEqual([opts['expose'], opts['networkAlias'], opts['ip'], opts['ip6'], opts['macAddress'], opts['dnsSearch'], opts['dnsOption']], [['80'], ['a'], '10.0.0.2', 'fd00::2', 'm', ['x'], ['y']]);
  assert.equal(
    argCountMessage('port', 'berth port CONTAINER [PRIVATE_PORT[/PROTO]]'),
    "berth: 'berth port' requires at least 1 and at most 2 arguments\n\nUsage:  berth port CONTAINER [PRIVATE_PORT[/PROTO]]\n\nRun 'berth port --help' for more information",
  );
  assert.match(argCountMessage('network create', 'berth network create [OPTIONS] NETWORK'), /^berth: 'berth network create' requires 1 argument\n/);
  assert.match(argCountMessage('network connect', 'x'), /requires 2 arguments/);
  assert.match(argCountMessage('network prune', 'x'), /accepts no arguments/);
});

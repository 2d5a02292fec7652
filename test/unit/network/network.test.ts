/** Pure parts of networking: prefixes, the DNS answers, the CNI chain berth writes, create-body parsing. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import dnsPacket from 'dns-packet';
import { cidrContains, formatCidr, formatIp, nthAddress, overlaps, parseCidr, parseIp } from '../../../src/network/ipnet.js';
import { DnsServer, ipFromReverseName, type DnsZone } from '../../../src/network/dns.js';
import { allocationBounds, conflistFor } from '../../../src/network/manager.js';
import { filterTime } from '../../../src/api/docker/http.js';
import type { NetworkRecord } from '../../../src/network/networks.js';
import { networkRequestFromBody, parsePortKey } from '../../../src/api/docker/convert-network.js';
import { BerthError } from '../../../src/core/errors.js';

describe('ipnet', () => {
  it('parses, normalizes and formats IPv4 and IPv6 prefixes', () => {
    assert.equal(formatCidr(parseCidr('10.88.3.7/16')), '10.88.0.0/16');
    assert.equal(formatCidr(parseCidr('fd00:0:0:1::5/64')), 'fd00:0:0:1::/64');
    assert.equal(formatIp(6, parseIp('::ffff:1.2.3.4').value), '::ffff:102:304');
    assert.equal(nthAddress(parseCidr('10.89.4.0/24'), 1), '10.89.4.1');
    assert.equal(nthAddress(parseCidr('fd12::/64'), 1), 'fd12::1');
    for (const bad of ['10.0.0.0', '10.0.0.0/33', '300.1.1.1/8', 'x/8', '10.0.0.0/8/1']) assert.throws(() => parseCidr(bad), /invalid CIDR/);
  });
  it('tells overlap and containment', () => {
    assert.equal(overlaps(parseCidr('10.88.0.0/16'), parseCidr('10.88.5.0/24')), true);
    assert.equal(overlaps(parseCidr('10.88.0.0/16'), parseCidr('10.89.0.0/24')), false);
    assert.equal(overlaps(parseCidr('10.0.0.0/8'), parseCidr('fd00::/8')), false);
    assert.equal(cidrContains(parseCidr('10.99.0.0/24'), '10.99.0.77'), true);
    assert.equal(cidrContains(parseCidr('10.99.0.0/24'), '10.99.1.1'), false);
  });
});

describe('berth DNS answers', () => {
  const zone: DnsZone = {
    lookup: (net, name) => (net === 'n1' && name === 'web' ? { v4: ['10.89.0.2'], v6: [] } : undefined),
    reverse: (net, ip) => (net === 'n1' && ip === '10.89.0.2' ? 'web' : undefined),
    upstreams: () => [],
  };
  const server = new DnsServer(zone);
  interface Reply {
    id: number;
    rcode: string;
    answers: Array<{ data: unknown }>;
  }
  const ask = async (name: string, type: 'A' | 'AAAA' | 'PTR' | 'MX'): Promise<Reply> => {
    const query = dnsPacket.encode({ type: 'query', id: 42, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name }] });
    const reply = await server.answer('n1', query, '10.89.0.3');
    assert.ok(reply);
    // dns-packet decodes the rcode, which its typings leave out.
    return dnsPacket.decode(reply) as unknown as Reply;
  };
  it('answers container names on the network, case-insensitively', async () => {
    const reply = await ask('WEB', 'A');
    assert.equal(reply.id, 42);
    assert.deepEqual(reply.answers.map((a) => a.data), ['10.89.0.2']);
    assert.equal((await ask('web.', 'AAAA')).answers.length, 0);
    assert.equal((await ask('web', 'MX')).rcode, 'NOERROR');
  });
  it('answers reverse lookups and refuses other names when there is no upstream', async () => {
    assert.deepEqual((await ask('2.0.89.10.in-addr.arpa', 'PTR')).answers.map((a) => a.data), ['web']);
    assert.equal((await ask('example.org', 'A')).rcode, 'REFUSED');
    assert.equal(ipFromReverseName('1.0.0.127.in-addr.arpa'), '127.0.0.1');
  });
  it('ignores garbage', async () => {
    assert.equal(await server.answer('n1', Buffer.from('nonsense'), '10.89.0.3'), undefined);
  });
});

describe('CNI chain', () => {
  const network: NetworkRecord = {
    id: 'a'.repeat(64), name: 'n1', driver: 'bridge', created: '', bridge: 'br-aaaaaaaaaaaa', subnets: [{ subnet: '10.89.0.0/24', gateway: '10.89.0.1' }],
    userSubnets: false, enableIPv6: false, internal: false, attachable: false, labels: {}, options: {}, isDefault: false, mtu: 1500, ipMasquerade: true,
  };
  it('is bridge + host-local, portmap only with ports, firewall isolation, tuning only for a MAC', () => {
    const plain = conflistFor(network, '/run/x/ipam', false, false);
    assert.deepEqual(plain.plugins.map((p) => p.type), ['bridge', 'firewall']);
    assert.equal(plain.name, 'berth-aaaaaaaaaaaa');
    const bridge = plain.plugins[0] as Record<string, unknown>;
    assert.deepEqual(bridge.ipam, { type: 'host-local', ranges: [[{ subnet: '10.89.0.0/24', gateway: '10.89.0.1' }]], dataDir: '/run/x/ipam' });
    assert.equal(bridge.isDefaultGateway, true);
    assert.equal((plain.plugins[1] as Record<string, unknown>).ingressPolicy, 'same-bridge');
    assert.deepEqual(conflistFor(network, '/i', true, true).plugins.map((p) => p.type), ['bridge', 'portmap', 'firewall', 'tuning']);
    const internal = conflistFor({ ...network, internal: true }, '/i', false, false).plugins[0] as Record<string, unknown>;
    assert.equal(internal.isDefaultGateway, false);
  });
});

describe('container create: network fields', () => {
  it('reads modes, endpoints, ports, DNS and extra hosts', () => {
    const req = networkRequestFromBody(
      { NetworkingConfig: { EndpointsConfig: { n1: { Aliases: ['web'], IPAMConfig: { IPv4Address: '10.9.0.5' } }, n2: {} } } },
      { NetworkMode: 'n1', PortBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }], '53/udp': [{ HostPort: '' }], '81': [{ HostPort: '9000-9010' }] }, Dns: ['10.0.0.1'], ExtraHosts: ['gw:host-gateway', 'db=10.1.1.1'] },
    );
    assert.equal(req.mode, 'n1');
    assert.deepEqual(req.endpoints.map((e) => [e.network, e.aliases, e.ipv4Address]), [['n1', ['web'], '10.9.0.5'], ['n2', [], '']]);
    assert.deepEqual([...req.portBindings].sort((a, b) => a.containerPort - b.containerPort), [
      { containerPort: 53, protocol: 'udp', hostIp: '', hostPortStart: 0, hostPortEnd: 0 },
      { containerPort: 80, protocol: 'tcp', hostIp: '127.0.0.1', hostPortStart: 8080, hostPortEnd: 8080 },
      { containerPort: 81, protocol: 'tcp', hostIp: '', hostPortStart: 9000, hostPortEnd: 9010 },
    ]);
    assert.deepEqual(req.extraHosts, ['gw:host-gateway', 'db:10.1.1.1']);
    assert.equal(networkRequestFromBody({}, { NetworkMode: 'default' }).endpoints[0]?.network, 'bridge');
    assert.deepEqual(networkRequestFromBody({}, { NetworkMode: 'host' }).endpoints, []);
  });
  it('refuses bad ports', () => {
    for (const key of ['0/tcp', '70000', '80/icmp', 'x']) assert.throws(() => parsePortKey(key), (e: unknown) => e instanceof BerthError && e.code === 'invalid-argument');
  });
});

describe('--ip-range and filter times', () => {
  it('keeps the subnet and bounds the allocation inside it', () => {
    assert.deepEqual(allocationBounds(parseCidr('10.78.0.0/24'), parseCidr('10.78.0.128/25')), { rangeStart: '10.78.0.128', rangeEnd: '10.78.0.254' });
    assert.deepEqual(allocationBounds(parseCidr('10.78.0.0/24'), parseCidr('10.78.0.0/26')), { rangeStart: '10.78.0.1', rangeEnd: '10.78.0.63' });
  });
  it('reads timestamps and Go durations the way dockerd does', () => {
    const now = Date.parse('2026-01-02T00:00:00Z');
    assert.equal(filterTime('1h30m', 'until', now), now - 5_400_000);
    assert.equal(filterTime('1767225600', 'until', now), 1_767_225_600_000);
    assert.equal(filterTime('2026-01-01T00:00:00Z', 'until', now), Date.parse('2026-01-01T00:00:00Z'));
    assert.throws(() => filterTime('yesterday', 'until', now), /invalid filter 'until=yesterday'/);
  });
});

/** Docker API documents ↔ berth's network requests and records: container create fields, inspect/list sections, /networks bodies. */
import { isIP } from 'node:net';
import { createHash } from 'node:crypto';
import { BerthError, invalidArgument } from '../../core/errors.js';
import type { ContainerRecord } from '../../containers/types.js';
import type { Engine } from '../../engine/engine.js';
import type { CreateNetworkRequest, NetworkRecord } from '../../network/networks.js';
import type { ContainerNetworkRequest, EndpointRequest, Endpoint, PortBindingRequest, PortProtocol } from '../../network/types.js';

type Json = Record<string, unknown>;

const asObject = (value: unknown, field: string): Json => {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw invalidArgument(`json: cannot unmarshal ${Array.isArray(value) ? 'array' : typeof value} into Go struct field ${field} of type object`);
  return value as Json;
};
const asString = (value: unknown, field: string): string => {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw invalidArgument(`json: cannot unmarshal ${typeof value} into Go struct field ${field} of type string`);
  return value;
};
const asStrings = (value: unknown, field: string): string[] => {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
  throw invalidArgument(`json: cannot unmarshal ${typeof value} into Go struct field ${field} of type []string`);
};
const asBool = (value: unknown, field: string): boolean => {
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') throw invalidArgument(`json: cannot unmarshal ${typeof value} into Go struct field ${field} of type bool`);
  return value;
};

/** "80", "80/tcp" → port and protocol. */
export function parsePortKey(key: string): { port: number; protocol: PortProtocol } {
  const [portText, protocolText = 'tcp', extra] = key.split('/');
  const port = Number(portText);
  if (extra !== undefined || !/^\d+$/.test(portText ?? '') || port < 1 || port > 65535) throw invalidArgument(`invalid port specification: "${key}"`);
  const protocol = protocolText.toLowerCase();
  if (protocol !== 'tcp' && protocol !== 'udp' && protocol !== 'sctp') throw invalidArgument(`invalid proto: ${protocolText}`);
  return { port, protocol };
}

function parseHostPort(text: string, key: string): { start: number; end: number } {
  if (text === '') return { start: 0, end: 0 };
  const m = /^(\d+)(?:-(\d+))?$/.exec(text);
  const start = m ? Number(m[1]) : NaN;
  const end = m?.[2] !== undefined ? Number(m[2]) : start;
  if (!m || start > 65535 || end > 65535 || end < start) throw invalidArgument(`invalid hostPort: ${text} (for ${key})`);
  return { start, end };
}

/** HostConfig network fields + NetworkingConfig of POST /containers/create. */
/**
 * EndpointSettings berth does not carry out: legacy links, driver options, a gateway priority
 * (which network's gateway is the default route) and link-local addresses. Refused (501)
 * rather than ignored; what clients send when nothing was asked (null, 0, []) passes.
 */
export function refuseUnsupportedEndpointSettings(e: Json, network: string): void {
  const ipam = asObject(e.IPAMConfig, 'EndpointSettings.IPAMConfig');
  const asked: Array<[string, boolean]> = [
    ['Links', Array.isArray(e.Links) && e.Links.length > 0],
    ['DriverOpts', typeof e.DriverOpts === 'object' && e.DriverOpts !== null && Object.keys(e.DriverOpts).length > 0],
    ['GwPriority', typeof e.GwPriority === 'number' && e.GwPriority !== 0],
    ['IPAMConfig.LinkLocalIPs', Array.isArray(ipam.LinkLocalIPs) && ipam.LinkLocalIPs.length > 0],
  ];
  const fields = asked.filter(([, set]) => set).map(([field]) => `EndpointSettings.${field}`);
  if (fields.length > 0) throw new BerthError('not-implemented', `not supported by berth yet: ${fields.join(', ')} (network ${network})`);
}

export function networkRequestFromBody(body: Json, hostConfig: Json): ContainerNetworkRequest {
  const mode = asString(hostConfig.NetworkMode, 'HostConfig.NetworkMode') || 'default';
  if (mode === 'container:') throw invalidArgument(`invalid network mode: ${mode}: a container name or ID is required`);
  const endpointsConfig = asObject(asObject(body.NetworkingConfig, 'NetworkingConfig').EndpointsConfig, 'NetworkingConfig.EndpointsConfig');
  const legacyMac = asString(body.MacAddress, 'Config.MacAddress');
  const endpointFrom = (network: string, value: unknown): EndpointRequest => {
    const e = asObject(value, `EndpointsConfig.${network}`);
    refuseUnsupportedEndpointSettings(e, network);
    const ipam = asObject(e.IPAMConfig, 'EndpointSettings.IPAMConfig');
    return {
      network,
      aliases: asStrings(e.Aliases, 'EndpointSettings.Aliases'),
      ipv4Address: asString(ipam.IPv4Address, 'EndpointIPAMConfig.IPv4Address'),
      ipv6Address: asString(ipam.IPv6Address, 'EndpointIPAMConfig.IPv6Address'),
      macAddress: asString(e.MacAddress, 'EndpointSettings.MacAddress'),
    };
  };
  const endpoints: EndpointRequest[] = [];
  const joinsNetworks = !['host', 'none'].includes(mode) && !mode.startsWith('container:');
  if (joinsNetworks) {
    const primaryKey = Object.keys(endpointsConfig).find((k) => k === mode || (mode === 'default' && k === 'bridge') || (mode === 'bridge' && k === 'default'));
    const primary = endpointFrom(mode === 'default' ? 'bridge' : mode, primaryKey ? endpointsConfig[primaryKey] : undefined);
    if (!primary.macAddress) primary.macAddress = legacyMac;
    endpoints.push(primary);
    for (const [name, value] of Object.entries(endpointsConfig)) {
      if (name === primaryKey) continue;
      endpoints.push(endpointFrom(name, value));
    }
  } else if (Object.keys(endpointsConfig).some((k) => k !== mode)) {
    throw invalidArgument(`conflicting options: network mode ${mode} cannot be combined with other networks`);
  }

  const portBindings: PortBindingRequest[] = [];
  for (const [key, value] of Object.entries(asObject(hostConfig.PortBindings, 'HostConfig.PortBindings'))) {
    const { port, protocol } = parsePortKey(key);
    const list = value === null ? [] : value;
    if (!Array.isArray(list)) throw invalidArgument(`json: cannot unmarshal ${typeof value} into Go struct field HostConfig.PortBindings of type []nat.PortBinding`);
    for (const item of list.length ? list : [{}]) {
      const binding = asObject(item, 'PortBinding');
      const hostIp = asString(binding.HostIp, 'PortBinding.HostIp');
      if (hostIp && !isIP(hostIp)) throw invalidArgument(`invalid IP address: ${hostIp}`);
      const hostPort = parseHostPort(asString(binding.HostPort, 'PortBinding.HostPort'), key);
      portBindings.push({ containerPort: port, protocol, hostIp, hostPortStart: hostPort.start, hostPortEnd: hostPort.end });
    }
  }
  const publishAllPorts = asBool(hostConfig.PublishAllPorts, 'HostConfig.PublishAllPorts');
  if ((mode === 'host' || mode === 'none') && (portBindings.length > 0 || publishAllPorts)) {
    // Docker drops them with a warning for host mode; berth refuses rather than ignore a request.
    throw invalidArgument(`published ports are discarded when using ${mode} network mode: remove -p/-P or use a bridge network`);
  }
  const dns = asStrings(hostConfig.Dns, 'HostConfig.Dns');
  for (const server of dns) if (!isIP(server)) throw invalidArgument(`${server} is not an ip address`);
  const extraHosts = asStrings(hostConfig.ExtraHosts, 'HostConfig.ExtraHosts').map((entry) => {
    const normalized = entry.includes('=') && !entry.includes(':') ? entry.replace('=', ':') : entry;
    const i = normalized.indexOf(':');
    const name = normalized.slice(0, i);
    const address = normalized.slice(i + 1);
    if (i <= 0 || !/^[a-zA-Z0-9]([a-zA-Z0-9_.-]*[a-zA-Z0-9])?$/.test(name) || (address !== 'host-gateway' && !isIP(address.replace(/^\[|\]$/g, '')))) {
      throw invalidArgument(`invalid IP address in add-host: "${entry}"`);
    }
    return `${name}:${address.replace(/^\[|\]$/g, '')}`;
  });
  return {
    mode,
    endpoints,
    portBindings,
    publishAllPorts,
    dns,
    dnsSearch: asStrings(hostConfig.DnsSearch, 'HostConfig.DnsSearch'),
    dnsOptions: asStrings(hostConfig.DnsOptions, 'HostConfig.DnsOptions'),
    extraHosts,
  };
}

/** HostConfig's network fields for inspect. */
export function hostConfigNetworkFields(record: ContainerRecord): Json {
  const n = record.request.network;
  const bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  for (const b of n.portBindings) {
    const key = `${b.containerPort}/${b.protocol}`;
    const hostPort = b.hostPortStart === 0 ? '' : b.hostPortStart === b.hostPortEnd ? String(b.hostPortStart) : `${b.hostPortStart}-${b.hostPortEnd}`;
    (bindings[key] ??= []).push({ HostIp: b.hostIp, HostPort: hostPort });
  }
  return {
    NetworkMode: n.mode,
    PortBindings: bindings,
    PublishAllPorts: n.publishAllPorts,
    Dns: n.dns,
    DnsOptions: n.dnsOptions,
    DnsSearch: n.dnsSearch,
    ExtraHosts: n.extraHosts.length ? n.extraHosts : null,
  };
}

/** Finds a network by name or ID; a listing passes a memoised one (see networkLookup). */
export type NetworkLookup = (nameOrId: string) => NetworkRecord | undefined;

/**
 * A lookup that remembers its answers, for one listing of many containers: without it, each
 * container's summary reads and parses the same network rows from SQLite again.
 */
export function networkLookup(engine: Engine): NetworkLookup {
  const seen = new Map<string, NetworkRecord | undefined>();
  return (ref) => {
    if (!seen.has(ref)) seen.set(ref, engine.network.store.find(ref));
    return seen.get(ref);
  };
}

function endpointDoc(find: NetworkLookup, record: ContainerRecord, networkName: string, endpoint: Endpoint | undefined, request: EndpointRequest | undefined): Json {
  const network = find(endpoint?.networkId ?? networkName);
  const [ip, prefix] = (endpoint?.ipv4 ?? '').split('/');
  const [ip6, prefix6] = (endpoint?.ipv6 ?? '').split('/');
  const ipamConfig = request && (request.ipv4Address || request.ipv6Address) ? { IPv4Address: request.ipv4Address, IPv6Address: request.ipv6Address } : null;
  const aliases = request?.aliases.length ? request.aliases : null;
  return {
    IPAMConfig: ipamConfig,
    Links: null,
    Aliases: aliases,
    MacAddress: endpoint?.mac ?? '',
    DriverOpts: null,
    GwPriority: 0,
    NetworkID: network?.id ?? '',
    EndpointID: endpoint?.endpointId ?? '',
    Gateway: endpoint?.gateway ?? '',
    IPAddress: ip ?? '',
    IPPrefixLen: prefix ? Number(prefix) : 0,
    IPv6Gateway: endpoint?.gateway6 ?? '',
    GlobalIPv6Address: ip6 ?? '',
    GlobalIPv6PrefixLen: prefix6 ? Number(prefix6) : 0,
    DNSNames: endpoint && network && !network.isDefault ? endpoint.dnsNames : null,
  };
}

/** NetworkSettings.Networks: live endpoints while running, the requested networks (empty addresses) otherwise. */
export function containerNetworks(engine: Engine, record: ContainerRecord, find: NetworkLookup = (ref) => engine.network.store.find(ref)): Json {
  const n = record.request.network;
  const networks: Json = {};
  if (n.mode === 'host' || n.mode === 'none') {
    networks[n.mode] = endpointDoc(find, record, n.mode, undefined, undefined);
    return networks;
  }
  if (n.mode.startsWith('container:')) return networks;
  const live = record.network?.endpoints ?? [];
  for (const request of n.endpoints) {
    const network = find(request.network);
    const name = network?.name ?? request.network;
    networks[name] = endpointDoc(find, record, name, live.find((e) => e.networkId === network?.id), request);
  }
  for (const endpoint of live) {
    if (!(endpoint.networkName in networks)) networks[endpoint.networkName] = endpointDoc(find, record, endpoint.networkName, endpoint, undefined);
  }
  return networks;
}

function exposedPortKeys(record: ContainerRecord): string[] {
  return Object.keys({ ...(record.imageConfig.ExposedPorts ?? {}), ...record.request.exposedPorts }).map((k) => {
    const { port, protocol } = parsePortKey(k);
    return `${port}/${protocol}`;
  });
}

/** NetworkSettings.Ports: published bindings, and exposed ports without one as null. */
export function portMap(record: ContainerRecord): Json {
  const ports: Json = {};
  if (!record.network) return ports;
  for (const key of exposedPortKeys(record)) ports[key] = null;
  for (const p of record.network.ports) {
    const key = `${p.containerPort}/${p.protocol}`;
    const list = (ports[key] as Array<{ HostIp: string; HostPort: string }> | null) ?? [];
    list.push({ HostIp: p.hostIp, HostPort: String(p.hostPort) });
    ports[key] = list;
  }
  return ports;
}

/** The `Ports` list of GET /containers/json. */
export function portList(record: ContainerRecord): Json[] {
  const list: Json[] = [];
  const published = record.network?.ports ?? [];
  for (const p of published) list.push({ IP: p.hostIp, PrivatePort: p.containerPort, PublicPort: p.hostPort, Type: p.protocol });
  for (const key of exposedPortKeys(record)) {
    const { port, protocol } = parsePortKey(key);
    if (!published.some((p) => p.containerPort === port && p.protocol === protocol)) list.push({ PrivatePort: port, Type: protocol });
  }
  return list;
}

/** The whole NetworkSettings section of container inspect. */
export function networkSettings(engine: Engine, record: ContainerRecord): Json {
  const networks = containerNetworks(engine, record);
  const primary = record.network?.endpoints[0];
  const onDefault = primary ? engine.network.store.find(primary.networkId)?.isDefault === true : false;
  const [ip, prefix] = onDefault && primary ? primary.ipv4.split('/') : ['', '0'];
  const [ip6, prefix6] = onDefault && primary?.ipv6 ? primary.ipv6.split('/') : ['', '0'];
  const sandboxKey = record.network?.sandboxKey ?? '';
  return {
    Bridge: '',
    SandboxID: sandboxKey ? createHash('sha256').update(sandboxKey + record.id).digest('hex') : '',
    SandboxKey: sandboxKey,
    Ports: portMap(record),
    HairpinMode: false,
    LinkLocalIPv6Address: '',
    LinkLocalIPv6PrefixLen: 0,
    SecondaryIPAddresses: null,
    SecondaryIPv6Addresses: null,
    EndpointID: onDefault ? (primary?.endpointId ?? '') : '',
    Gateway: onDefault ? (primary?.gateway ?? '') : '',
    GlobalIPv6Address: ip6 ?? '',
    GlobalIPv6PrefixLen: Number(prefix6 ?? 0),
    IPAddress: ip ?? '',
    IPPrefixLen: Number(prefix ?? 0),
    IPv6Gateway: onDefault ? (primary?.gateway6 ?? '') : '',
    MacAddress: onDefault ? (primary?.mac ?? '') : '',
    Networks: networks,
  };
}

// ---- /networks -------------------------------------------------------------------------

/** POST /networks/create body → berth's request. */
export function createNetworkRequest(body: unknown): CreateNetworkRequest {
  const b = asObject(body, 'NetworkCreateRequest');
  const ipam = asObject(b.IPAM, 'NetworkCreateRequest.IPAM');
  const ipamDriver = asString(ipam.Driver, 'IPAM.Driver');
  if (ipamDriver && ipamDriver !== 'default') throw invalidArgument(`IPAM driver "${ipamDriver}" is not supported: berth uses the default IPAM driver`);
  const configs = ipam.Config === undefined || ipam.Config === null ? [] : ipam.Config;
  if (!Array.isArray(configs)) throw invalidArgument('json: cannot unmarshal object into Go struct field IPAM.Config of type []network.IPAMConfig');
  const labels = asObject(b.Labels, 'NetworkCreateRequest.Labels');
  const options = asObject(b.Options, 'NetworkCreateRequest.Options');
  for (const [k, v] of [...Object.entries(labels), ...Object.entries(options)]) if (typeof v !== 'string') throw invalidArgument(`${k}: value must be a string`);
  if (asString(b.Scope, 'Scope') === 'swarm' || asBool(b.Ingress, 'Ingress') || asBool(b.ConfigOnly, 'ConfigOnly')) throw invalidArgument('swarm-scoped, ingress and config-only networks are not supported by berth');
  return {
    name: asString(b.Name, 'NetworkCreateRequest.Name'),
    driver: asString(b.Driver, 'NetworkCreateRequest.Driver'),
    internal: asBool(b.Internal, 'Internal'),
    attachable: asBool(b.Attachable, 'Attachable'),
    enableIPv6: asBool(b.EnableIPv6, 'EnableIPv6'),
    labels: labels as Record<string, string>,
    options: options as Record<string, string>,
    subnets: configs.map((c) => {
      const conf = asObject(c, 'IPAMConfig');
      const subnet = asString(conf.Subnet, 'IPAMConfig.Subnet');
      const gateway = asString(conf.Gateway, 'IPAMConfig.Gateway');
      const ipRange = asString(conf.IPRange, 'IPAMConfig.IPRange');
      if (!subnet && (gateway || ipRange)) throw invalidArgument('a gateway or ip-range needs a subnet: add --subnet');
      return { subnet, gateway, ipRange };
    }).filter((c) => c.subnet !== ''),
  };
}

/** GET /networks/{id} and the list entries. */
export function networkDoc(engine: Engine, network: NetworkRecord): Json {
  const containers: Json = {};
  for (const id of engine.network.activeContainers(network.id)) {
    const record = engine.containers.find(id);
    const endpoint = record?.network?.endpoints.find((e) => e.networkId === network.id);
    if (!record || !endpoint) continue;
    containers[id] = { Name: record.name, EndpointID: endpoint.endpointId, MacAddress: endpoint.mac, IPv4Address: endpoint.ipv4, IPv6Address: endpoint.ipv6 };
  }
  return {
    Name: network.name,
    Id: network.id,
    Created: network.created,
    Scope: 'local',
    Driver: network.driver,
    EnableIPv4: true,
    EnableIPv6: network.enableIPv6,
    IPAM: {
      Driver: 'default',
      Options: network.isDefault || network.driver !== 'bridge' ? null : {},
      Config: network.subnets.map((s) => (network.isDefault ? { Subnet: s.subnet, Gateway: s.gateway } : { Subnet: s.subnet, Gateway: s.gateway, ...(s.ipRange ? { IPRange: s.ipRange } : {}) })),
    },
    Internal: network.internal,
    Attachable: network.attachable,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: containers,
    Options: network.options,
    Labels: network.labels,
  };
}

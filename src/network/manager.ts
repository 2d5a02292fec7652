/**
 * Container networking: a pinned network namespace per container (the sandbox), one CNI
 * ADD per network it joins, host port reservations, and the names berth's DNS answers.
 *
 * Teardown is crash-safe and never blocks the container's exit path: the exact conflist and
 * runtime arguments of every ADD are written to `<exec-root>/network/cni/<container>/` before
 * the ADD runs, so a DEL can always replay them — right after the container stops (in the
 * background), or at the next berthd start for whatever a crash left (sweep). Operations on
 * one container are chained, so a restart's ADD never races the previous run's DEL.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdir, readdir, readFile, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { conflict, errorMessage, forbidden, invalidArgument } from '../core/errors.js';
import { writeFileAtomic } from '../core/fs-atomic.js';
import { logger } from '../core/log.js';
import { cniAdd, cniDel, CNI_VERSION, type CniConflist, type CniPluginConfig, type CniResult, type CniRuntime } from './cni.js';
import { DnsServer, type DnsZone } from './dns.js';
import { cidrContains, formatIp, parseCidr, parseIp, size, type Cidr } from './ipnet.js';
import { createPinnedNetns, removePinnedNetns } from './netns.js';
import { NetworkStore, cniNetworkName, type AddressPool, type NetworkRecord } from './networks.js';
import { PortReservations } from './ports.js';
import { hostResolvers } from './etc-files.js';
import type { ContainerNetworkRequest, ContainerNetworkState, Endpoint, EndpointRequest, PortBindingRequest, PublishedPort } from './types.js';

const log = logger('network');

export interface NetworkManagerOptions {
  db: Database.Database;
  execRoot: string;
  /** Where the CNI plugin binaries are (CNI_PATH). */
  pluginDirs: string[];
  defaultBridge: string;
  defaultBridgeIp: string;
  addressPools: AddressPool[];
  /** Upstream resolvers for berth's DNS instead of the host's (dockerd's --dns). */
  dnsServers: string[];
}

/** How a container's network mode resolves. */
export type ResolvedMode = { kind: 'host' } | { kind: 'none' } | { kind: 'container'; target: string } | { kind: 'networks'; networks: NetworkRecord[] };

/** What berth's DNS needs to know of an attached container. */
export interface AttachContext {
  containerName: string;
  hostname: string;
  /** The container's own --dns servers: upstreams for its questions instead of the defaults. */
  dns: string[];
}

interface CacheEntry {
  networkId: string;
  list: CniConflist;
  runtime: CniRuntime;
  result?: CniResult;
}

interface ZoneEntry {
  names: string[];
  v4: string[];
  v6: string[];
  upstreams: string[];
}

const macPattern = /^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/;

/** Emits `create` (record), `remove` (record) and `prune`; engine/network-events.ts turns them into Docker events. */
export class NetworkManager extends EventEmitter implements DnsZone {
  readonly store: NetworkStore;
  private readonly ports = new PortReservations();
  private readonly dns = new DnsServer(this);
  /** networkId → containerId → names and addresses. */
  private readonly zone = new Map<string, Map<string, ZoneEntry>>();
  private readonly chains = new Map<string, Promise<unknown>>();
  private readonly netnsDir: string;
  private readonly cacheDir: string;
  private hostResolverCache: { at: number; servers: string[] } | undefined;

  constructor(private readonly options: NetworkManagerOptions) {
    super();
    const base = join(options.execRoot, 'network');
    this.netnsDir = join(options.execRoot, 'netns');
    this.cacheDir = join(base, 'cni');
    this.store = new NetworkStore({
      db: options.db,
      ipamDir: join(base, 'ipam'),
      defaultBridge: options.defaultBridge,
      defaultBridgeIp: options.defaultBridgeIp,
      addressPools: options.addressPools,
    });
  }

  async init(): Promise<void> {
    await mkdir(this.netnsDir, { recursive: true });
    await mkdir(this.cacheDir, { recursive: true });
    await this.store.init();
    for (const network of this.store.list()) await this.serveDns(network);
  }

  /** Waits for teardowns in flight (bounded by the caller's deadline), then lets go of sockets. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.chains.values()]);
    this.dns.closeAll();
    this.ports.releaseAll();
  }

  private async serveDns(network: NetworkRecord): Promise<void> {
    if (network.driver !== 'bridge') return;
    const v4 = network.subnets.find((s) => !s.subnet.includes(':'));
    if (!v4) return;
    await this.dns.listen(network.id, v4.gateway).catch((err: unknown) => log.warn('cannot serve DNS on the network', { network: network.name, address: v4.gateway, error: errorMessage(err) }));
  }

  // ---- networks ------------------------------------------------------------------

  async createNetwork(request: Parameters<NetworkStore['create']>[0]): Promise<NetworkRecord> {
    const record = await this.store.create(request);
    await this.serveDns(record);
    this.emit('create', record);
    return record;
  }

  /** IDs of the running containers attached to the network. */
  activeContainers(networkId: string): string[] {
    return [...(this.zone.get(networkId)?.keys() ?? [])];
  }

  async removeNetwork(nameOrId: string): Promise<NetworkRecord> {
    const record = this.store.get(nameOrId);
    if (record.driver !== 'bridge' || record.isDefault) throw forbidden(`${record.name} is a pre-defined network and cannot be removed`);
    const active = this.activeContainers(record.id);
    if (active.length > 0) throw conflict(`error while removing network: network ${record.name} id ${record.id} has active endpoints`);
    this.dns.close(record.id);
    try {
      await this.store.remove(record);
    } catch (err) {
      await this.serveDns(record);
      throw err;
    }
    this.emit('remove', record);
    return record;
  }

  /** Removes the user-defined bridge networks `selects` picks (the caller knows which are in use); their names. */
  async prune(selects: (network: NetworkRecord) => boolean): Promise<string[]> {
    const deleted: string[] = [];
    for (const network of this.store.list()) {
      if (network.driver !== 'bridge' || network.isDefault || !selects(network)) continue;
      await this.removeNetwork(network.id);
      deleted.push(network.name);
    }
    this.emit('prune');
    return deleted;
  }

  // ---- containers ------------------------------------------------------------------

  /** Checks a create request against the networks that exist (Docker fails these at create). */
  resolveMode(request: ContainerNetworkRequest): ResolvedMode {
    const mode = request.mode || 'default';
    if (mode === 'host' || mode === 'none') {
      if (request.endpoints.length > 1) throw invalidArgument(`container cannot be disconnected from host network or connected to host network`);
      return { kind: mode };
    }
    if (mode.startsWith('container:')) {
      const target = mode.slice('container:'.length);
      if (!target) throw invalidArgument(`invalid network mode: ${mode}: a container name or ID is required`);
      if (request.portBindings.length > 0 || request.publishAllPorts) throw invalidArgument('conflicting options: port publishing and the container type network mode');
      if (request.dns.length > 0 || request.extraHosts.length > 0) throw invalidArgument('conflicting options: dns and the network mode');
      return { kind: 'container', target };
    }
    // The endpoints are the networks: a container disconnected from all of them has none left.
    const networks = request.endpoints.map((e) => this.store.get(e.network === 'default' ? 'bridge' : e.network));
    for (const [i, network] of networks.entries()) {
      const endpoint = request.endpoints[i];
      if (network.driver === 'host' || network.driver === 'null') {
        if (networks.length > 1) throw invalidArgument(`container cannot be connected to network ${network.name} and others`);
        return { kind: network.driver === 'host' ? 'host' : 'none' };
      }
      if (endpoint) this.validateEndpoint(network, endpoint);
    }
    return { kind: 'networks', networks };
  }

  private validateEndpoint(network: NetworkRecord, endpoint: EndpointRequest): void {
    if (network.isDefault && endpoint.aliases.length > 0) throw invalidArgument('network-scoped alias is supported only for containers in user defined networks');
    for (const [address, family] of [[endpoint.ipv4Address, 4], [endpoint.ipv6Address, 6]] as const) {
      if (!address) continue;
      if (!network.userSubnets) throw invalidArgument('user specified IP address is supported only when connecting to networks with user configured subnets');
      let parsed;
      try {
        parsed = parseIp(address);
      } catch {
        throw invalidArgument(`invalid IPv${family} address: ${address}`);
      }
      if (parsed.family !== family) throw invalidArgument(`invalid IPv${family} address: ${address}`);
      if (!network.subnets.some((s) => cidrContains(parseCidr(s.subnet), address))) throw invalidArgument(`no configured subnet contains IP address ${address} on network ${network.name}`);
    }
    if (endpoint.macAddress && !macPattern.test(endpoint.macAddress)) throw invalidArgument(`invalid MAC address: ${endpoint.macAddress}`);
  }

  /** Binds the host ports the container publishes: a taken port fails the start with 409 before anything else happens. */
  async reservePorts(containerId: string, bindings: PortBindingRequest[]): Promise<PublishedPort[]> {
    return this.ports.reserve(containerId, bindings);
  }

  /** A fresh pinned namespace for the container; waits for the previous run's teardown first. */
  async prepareSandbox(containerId: string): Promise<string> {
    return this.chain(containerId, async () => {
      const path = join(this.netnsDir, containerId);
      await removePinnedNetns(path);
      createPinnedNetns(path);
      return path;
    });
  }

  /** Joins the sandbox to one network (CNI ADD); ports are published on this endpoint when given. */
  attach(containerId: string, sandboxKey: string, network: NetworkRecord, request: EndpointRequest, ifName: string, ports: PublishedPort[], context: AttachContext): Promise<Endpoint> {
    return this.chain(containerId, async () => {
      const list = conflistFor(network, this.ipamDir(), ports.length > 0, request.macAddress !== '');
      const capabilityArgs: Record<string, unknown> = {};
      if (ports.length > 0) capabilityArgs.portMappings = ports.map((p) => ({ hostPort: p.hostPort, containerPort: p.containerPort, protocol: p.protocol, hostIP: p.hostIp === '0.0.0.0' ? '' : p.hostIp }));
      const ips = [request.ipv4Address, request.ipv6Address].filter(Boolean);
      if (ips.length > 0) capabilityArgs.ips = ips;
      if (request.macAddress) capabilityArgs.mac = request.macAddress;
      const runtime: CniRuntime = { containerId, netns: sandboxKey, ifName, capabilityArgs };
      const entry: CacheEntry = { networkId: network.id, list, runtime };
      // Written before ADD: DEL must run even for an ADD that failed halfway or a crash during it.
      await this.writeCache(containerId, entry);
      const result = await cniAdd(this.options.pluginDirs, list, runtime).catch(async (err: unknown) => {
        await rm(this.cachePath(containerId, network.id), { force: true });
        throw err;
      });
      entry.result = result;
      await this.writeCache(containerId, entry);
      const endpoint = endpointFromResult(network, result, ifName, request.aliases);
      endpoint.dnsNames = unique([context.containerName, ...request.aliases, containerId.slice(0, 12), context.hostname].filter(Boolean));
      this.addToZone(containerId, endpoint, context.dns);
      return endpoint;
    });
  }

  /** Leaves one network on a running container (CNI DEL of that attachment). */
  detach(containerId: string, networkId: string): Promise<void> {
    this.zone.get(networkId)?.delete(containerId);
    return this.chain(containerId, () => this.deleteAttachment(containerId, networkId));
  }

  /**
   * Everything the container's network held goes: port reservations and DNS names now, the
   * CNI DELs and the namespace in the background (awaited by the next start of the same
   * container and by close()). Idempotent.
   */
  teardown(containerId: string): Promise<void> {
    this.ports.release(containerId);
    for (const entries of this.zone.values()) entries.delete(containerId);
    return this.chain(containerId, async () => {
      const files = await readdir(join(this.cacheDir, containerId)).catch(() => [] as string[]);
      for (const file of files) {
        if (file.endsWith('.json')) await this.deleteAttachment(containerId, file.slice(0, -'.json'.length));
      }
      await rmdir(join(this.cacheDir, containerId)).catch(() => undefined);
      await removePinnedNetns(join(this.netnsDir, containerId));
    }).catch((err: unknown) => log.warn('network teardown incomplete; retried at the next berthd start', { id: containerId, error: errorMessage(err) }));
  }

  /** After a berthd restart, for a container still running: its ports and DNS names come back. */
  async restore(containerId: string, state: ContainerNetworkState, dns: string[]): Promise<void> {
    for (const endpoint of state.endpoints) this.addToZone(containerId, endpoint, dns);
    await this.ports.restore(containerId, state.ports).catch((err: unknown) => log.warn('cannot reserve published ports again', { id: containerId, error: errorMessage(err) }));
  }

  /** Tears down what a crash left behind: every sandbox or CNI attachment whose container is not running. */
  async sweep(running: ReadonlySet<string>): Promise<void> {
    const owners = new Set([...(await readdir(this.cacheDir).catch(() => [] as string[])), ...(await readdir(this.netnsDir).catch(() => [] as string[]))]);
    await Promise.all([...owners].filter((id) => !running.has(id)).map((id) => this.teardown(id)));
  }

  /** The resolv.conf nameserver for a container on this network: berth's DNS on the gateway. */
  dnsAddress(network: NetworkRecord): string | undefined {
    return network.subnets.find((s) => !s.subnet.includes(':'))?.gateway;
  }

  // ---- DnsZone ---------------------------------------------------------------------

  lookup(networkId: string, name: string, clientIp: string): { v4: string[]; v6: string[] } | undefined {
    // A container on several networks resolves the names of all of them, as in Docker.
    let client: string | undefined;
    for (const [containerId, entry] of this.zone.get(networkId) ?? []) {
      if (entry.v4.includes(clientIp) || entry.v6.includes(clientIp)) client = containerId;
    }
    const networks = client ? [...this.zone.keys()].filter((id) => this.zone.get(id)?.has(client as string)) : [networkId];
    let found: { v4: string[]; v6: string[] } | undefined;
    for (const id of networks) {
      if (this.store.find(id)?.isDefault !== false) continue;
      for (const entry of this.zone.get(id)?.values() ?? []) {
        if (!entry.names.includes(name)) continue;
        found ??= { v4: [], v6: [] };
        found.v4.push(...entry.v4);
        found.v6.push(...entry.v6);
      }
    }
    return found;
  }

  reverse(networkId: string, ip: string): string | undefined {
    let normalized: string;
    try {
      const parsed = parseIp(ip);
      normalized = formatIp(parsed.family, parsed.value);
    } catch {
      return undefined;
    }
    for (const entry of this.zone.get(networkId)?.values() ?? []) {
      if (entry.v4.includes(normalized) || entry.v6.includes(normalized)) return entry.names[0];
    }
    return undefined;
  }

  upstreams(networkId: string, clientIp: string): string[] {
    if (this.store.find(networkId)?.internal) return [];
    for (const entry of this.zone.get(networkId)?.values() ?? []) {
      if (entry.upstreams.length > 0 && (entry.v4.includes(clientIp) || entry.v6.includes(clientIp))) return entry.upstreams;
    }
    if (this.options.dnsServers.length > 0) return this.options.dnsServers;
    const now = Date.now();
    if (!this.hostResolverCache || now - this.hostResolverCache.at > 5000) this.hostResolverCache = { at: now, servers: hostResolvers() };
    return this.hostResolverCache.servers;
  }

  // ---- internals ---------------------------------------------------------------------

  private addToZone(containerId: string, endpoint: Endpoint, dns: string[]): void {
    let entries = this.zone.get(endpoint.networkId);
    if (!entries) this.zone.set(endpoint.networkId, (entries = new Map()));
    entries.set(containerId, {
      names: endpoint.dnsNames.map((n) => n.toLowerCase()),
      v4: endpoint.ipv4 ? [endpoint.ipv4.split('/')[0] ?? ''] : [],
      v6: endpoint.ipv6 ? [endpoint.ipv6.split('/')[0] ?? ''] : [],
      upstreams: dns,
    });
  }

  private async deleteAttachment(containerId: string, networkId: string): Promise<void> {
    const path = this.cachePath(containerId, networkId);
    const text = await readFile(path, 'utf8').catch(() => undefined);
    if (text === undefined) return;
    const entry = JSON.parse(text) as CacheEntry;
    await cniDel(this.options.pluginDirs, entry.list, entry.runtime, entry.result);
    await rm(path, { force: true });
  }

  private ipamDir(): string {
    return join(this.options.execRoot, 'network', 'ipam');
  }

  private cachePath(containerId: string, networkId: string): string {
    return join(this.cacheDir, containerId, `${networkId}.json`);
  }

  private async writeCache(containerId: string, entry: CacheEntry): Promise<void> {
    await mkdir(join(this.cacheDir, containerId), { recursive: true });
    await writeFileAtomic(this.cachePath(containerId, entry.networkId), JSON.stringify(entry), 0o600, { durable: false });
  }

  private chain<T>(containerId: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.chains.get(containerId) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(fn);
    this.chains.set(containerId, next);
    const forget = (): void => {
      if (this.chains.get(containerId) === next) this.chains.delete(containerId);
    };
    next.then(forget, forget);
    return next;
  }
}

/**
 * The CNI chain for one attachment: bridge with host-local IPAM, portmap when ports are
 * published, tuning when a MAC address is asked for. Plugins that would have nothing to do
 * are left out: each one is a process spawn on every start and stop. The firewall plugin's
 * job (isolation between networks, forwarding) is done once per network instead, with the
 * bridge (networks.ts), as NAT is.
 */
export function conflistFor(network: NetworkRecord, ipamDir: string, withPorts: boolean, withMac: boolean): CniConflist {
  const ranges = network.subnets.map((s) => {
    const range: Record<string, string> = { subnet: s.subnet, gateway: s.gateway };
    // --ip-range narrows where addresses come from; the subnet (and so the prefix length and
    // the gateway's reach) stays the network's.
    if (s.ipRange) Object.assign(range, allocationBounds(parseCidr(s.subnet), parseCidr(s.ipRange)));
    return [range];
  });
  const plugins: CniPluginConfig[] = [
    {
      type: 'bridge',
      bridge: network.bridge,
      isGateway: true,
      isDefaultGateway: !network.internal,
      // NAT is one rule per network, set up with the bridge (networks.ts).
      ipMasq: false,
      hairpinMode: true,
      mtu: network.mtu,
      capabilities: { ips: true },
      ipam: { type: 'host-local', ranges, dataDir: ipamDir },
    },
  ];
  if (withPorts) plugins.push({ type: 'portmap', capabilities: { portMappings: true }, snat: true });
  if (withMac) plugins.push({ type: 'tuning', capabilities: { mac: true } });
  return { cniVersion: CNI_VERSION, name: cniNetworkName(network), plugins };
}

function endpointFromResult(network: NetworkRecord, result: CniResult, ifName: string, aliases: string[]): Endpoint {
  const containerInterface = (result.interfaces ?? []).findIndex((i) => i.name === ifName && i.sandbox);
  const mine = (result.ips ?? []).filter((ip) => ip.interface === undefined || ip.interface === containerInterface);
  const v4 = mine.find((ip) => !ip.address.includes(':'));
  const v6 = mine.find((ip) => ip.address.includes(':'));
  return {
    networkId: network.id,
    networkName: network.name,
    endpointId: randomBytes(32).toString('hex'),
    ifName,
    ipv4: v4?.address ?? '',
    gateway: v4?.gateway ?? '',
    ipv6: v6?.address ?? '',
    gateway6: v6?.gateway ?? '',
    mac: result.interfaces?.[containerInterface]?.mac ?? '',
    aliases,
    dnsNames: [],
  };
}

/** First and last assignable address of `range` inside `subnet` (never the network or broadcast address). */
export function allocationBounds(subnet: Cidr, range: Cidr): { rangeStart: string; rangeEnd: string } {
  const last = (c: Cidr): bigint => c.base + size(c) - 1n;
  const start = range.base === subnet.base ? range.base + 1n : range.base;
  const end = subnet.family === 4 && last(range) === last(subnet) ? last(range) - 1n : last(range);
  return { rangeStart: formatIp(subnet.family, start), rangeEnd: formatIp(subnet.family, end) };
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

/**
 * Network records (SQLite) and their host side: each bridge network owns a Linux bridge
 * device with the gateway address, created with the network (so its subnet shows up in the
 * host's routes at once) and deleted with it. The three networks Docker predefines — bridge,
 * host, none — exist from the first start.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type Database from 'better-sqlite3';
import { StatementCache } from '../core/sql-statements.js';
import { BerthError, conflict, errorMessage, forbidden, invalidArgument, notFound } from '../core/errors.js';
import { logger } from '../core/log.js';
import { cidrContains, formatCidr, formatIp, hostRoutes, nthAddress, overlaps, parseCidr, parseIp, size, type Cidr } from './ipnet.js';

const log = logger('network');
const execFileAsync = promisify(execFile);

export type NetworkDriver = 'bridge' | 'host' | 'null';

export interface SubnetConfig {
  subnet: string;
  gateway: string;
  ipRange?: string;
}

export interface NetworkRecord {
  id: string;
  name: string;
  driver: NetworkDriver;
  created: string;
  /** The bridge device ('' for host and none). */
  bridge: string;
  subnets: SubnetConfig[];
  /** Subnets the user chose (Docker allows --ip only then). */
  userSubnets: boolean;
  enableIPv6: boolean;
  internal: boolean;
  attachable: boolean;
  labels: Record<string, string>;
  options: Record<string, string>;
  /** Docker's default bridge: no container-name DNS, no aliases (the legacy network). */
  isDefault: boolean;
  mtu: number;
  ipMasquerade: boolean;
}

export interface CreateNetworkRequest {
  name: string;
  driver: string;
  internal: boolean;
  attachable: boolean;
  enableIPv6: boolean;
  labels: Record<string, string>;
  options: Record<string, string>;
  subnets: Array<{ subnet: string; gateway: string; ipRange: string }>;
}

export interface AddressPool {
  base: string;
  size: number;
}

/** dockerd bridge-driver options berth has no implementation of, with the values that mean its behaviour. */
const UNSUPPORTED_BRIDGE_OPTIONS: Readonly<Record<string, readonly string[]>> = {
  'com.docker.network.bridge.enable_icc': ['true'],
  'com.docker.network.bridge.host_binding_ipv4': ['', '0.0.0.0'],
  'com.docker.network.bridge.inhibit_ipv4': ['false'],
  'com.docker.network.bridge.gateway_mode_ipv4': ['', 'nat'],
  'com.docker.network.bridge.gateway_mode_ipv6': ['', 'nat'],
  'com.docker.network.container_iface_prefix': ['', 'eth'],
};

export interface NetworkStoreOptions {
  db: Database.Database;
  /** host-local IPAM state lives under here (`<exec-root>/network/ipam`). */
  ipamDir: string;
  defaultBridge: string;
  /** Gateway/prefix of the default bridge (dockerd's --bip), e.g. 10.88.0.1/16. */
  defaultBridgeIp: string;
  addressPools: AddressPool[];
}

const namePattern = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const bridgeNamePattern = /^[a-zA-Z0-9_.-]{1,15}$/;

export class NetworkStore {
  private readonly db: Database.Database;
  /** Creates and removes are serialized: subnet choice must see every earlier decision. */
  private queue: Promise<unknown> = Promise.resolve();
  private writes = 0;

  private readonly statements: StatementCache;

  constructor(private readonly options: NetworkStoreOptions) {
    this.db = options.db;
    this.db.exec('CREATE TABLE IF NOT EXISTS networks (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, record TEXT NOT NULL)');
    this.statements = new StatementCache(this.db);
  }

  /** Predefined networks on first start; bridge devices back after a reboot. */
  async init(): Promise<void> {
    if (!this.find('none')) this.insert(predefined('none', 'null'));
    if (!this.find('host')) this.insert(predefined('host', 'host'));
    if (!this.find('bridge')) {
      const cidr = parseCidr(this.options.defaultBridgeIp);
      const gateway = this.options.defaultBridgeIp.split('/')[0] ?? nthAddress(cidr, 1);
      if (!bridgeNamePattern.test(this.options.defaultBridge)) throw invalidArgument(`invalid bridge name: ${this.options.defaultBridge}`);
      const record: NetworkRecord = {
        ...predefined('bridge', 'bridge'),
        bridge: this.options.defaultBridge,
        subnets: [{ subnet: formatCidr(cidr), gateway }],
        isDefault: true,
        options: {
          'com.docker.network.bridge.default_bridge': 'true',
          'com.docker.network.bridge.enable_icc': 'true',
          'com.docker.network.bridge.enable_ip_masquerade': 'true',
          'com.docker.network.bridge.host_binding_ipv4': '0.0.0.0',
          'com.docker.network.bridge.name': this.options.defaultBridge,
          'com.docker.network.driver.mtu': '1500',
        },
      };
      await this.clearOfHostRoutes(record);
      this.insert(record);
    }
    for (const record of this.list()) {
      if (record.driver === 'bridge') await ensureBridge(record).catch((err: unknown) => log.warn('bridge setup failed', { network: record.name, error: errorMessage(err) }));
    }
  }

  /** Changes whenever a network is created or removed: for caches of what refers to networks. */
  get generation(): number {
    return this.writes;
  }

  list(): NetworkRecord[] {
    return (this.statements.get('SELECT record FROM networks').all() as { record: string }[]).map((r) => JSON.parse(r.record) as NetworkRecord);
  }

  /** By full ID, exact name, or unique ID prefix (Docker's lookup order). */
  find(nameOrId: string): NetworkRecord | undefined {
    const exact = this.statements.get('SELECT record FROM networks WHERE id = ? OR name = ?').all(nameOrId, nameOrId) as { record: string }[];
    const byId = exact.map((r) => JSON.parse(r.record) as NetworkRecord).find((n) => n.id === nameOrId);
    if (byId) return byId;
    if (exact[0]) return JSON.parse(exact[0].record) as NetworkRecord;
    if (!/^[a-f0-9]+$/.test(nameOrId)) return undefined;
    const rows = this.statements.get('SELECT record FROM networks WHERE id LIKE ?').all(`${nameOrId}%`) as { record: string }[];
    if (rows.length > 1) throw invalidArgument(`network ${nameOrId} is ambiguous (${rows.length} matches found based on ID prefix)`);
    return rows[0] ? (JSON.parse(rows[0].record) as NetworkRecord) : undefined;
  }

  get(nameOrId: string): NetworkRecord {
    const found = this.find(nameOrId);
    if (!found) throw notFound(`network ${nameOrId} not found`);
    return found;
  }

  create(request: CreateNetworkRequest): Promise<NetworkRecord> {
    const run = this.queue.catch(() => undefined).then(() => this.createNow(request));
    this.queue = run;
    return run;
  }

  private async createNow(request: CreateNetworkRequest): Promise<NetworkRecord> {
    if (!request.name) throw invalidArgument('network name is required');
    if (!namePattern.test(request.name)) throw invalidArgument(`invalid network name "${request.name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    const driver = request.driver || 'bridge';
    if (driver === 'host' || driver === 'null') throw forbidden(`only one instance of "${driver}" network is allowed`);
    if (driver !== 'bridge') throw notFound(`plugin "${driver}" not found: berth supports the bridge driver`);
    if (this.find(request.name)?.name === request.name) throw conflict(`network with name ${request.name} already exists`);
    const id = randomBytes(32).toString('hex');
    const bridge = request.options['com.docker.network.bridge.name'] ?? `br-${id.slice(0, 12)}`;
    if (!bridgeNamePattern.test(bridge)) throw invalidArgument(`invalid bridge name "${bridge}": at most 15 characters of [a-zA-Z0-9_.-]`);
    if (this.list().some((n) => n.bridge === bridge)) throw conflict(`bridge ${bridge} is already used by another network`);
    const mtuText = request.options['com.docker.network.driver.mtu'];
    const mtu = mtuText === undefined ? 1500 : Number(mtuText);
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw invalidArgument(`invalid MTU "${mtuText}": must be an integer between 68 and 65535`);
    const masqueradeText = request.options['com.docker.network.bridge.enable_ip_masquerade'];
    if (masqueradeText !== undefined && masqueradeText !== 'true' && masqueradeText !== 'false') throw invalidArgument(`invalid value for com.docker.network.bridge.enable_ip_masquerade: ${masqueradeText}`);
    // Bridge options berth does not carry out: refused unless they ask for what berth does
    // anyway, rather than a network without the isolation or binding its user asked for.
    const unsupported = Object.entries(UNSUPPORTED_BRIDGE_OPTIONS)
      .filter(([key, allowed]) => request.options[key] !== undefined && !allowed.includes(request.options[key] as string))
      .map(([key]) => `${key}=${request.options[key] as string}`);
    if (unsupported.length > 0) throw new BerthError('not-implemented', `not supported by berth yet: ${unsupported.join(', ')}`);

    const subnets = await this.chooseSubnets(request, id);
    const record: NetworkRecord = {
      id,
      name: request.name,
      driver: 'bridge',
      created: new Date().toISOString(),
      bridge,
      subnets,
      userSubnets: request.subnets.length > 0,
      enableIPv6: request.enableIPv6 || subnets.some((s) => s.subnet.includes(':')),
      internal: request.internal,
      attachable: request.attachable,
      labels: request.labels,
      options: request.options,
      isDefault: false,
      mtu,
      ipMasquerade: masqueradeText !== 'false',
    };
    await ensureBridge(record).catch(async (err: unknown) => {
      await deleteBridge(record).catch(() => undefined);
      throw new BerthError('internal', `cannot create bridge ${bridge}: ${errorMessage(err)}`);
    });
    try {
      this.insert(record);
    } catch (err) {
      await deleteBridge(record).catch(() => undefined);
      throw err;
    }
    return record;
  }

  /** Removes the record and its bridge, isolation rules and IPAM state. In-use checks are the caller's. */
  remove(record: NetworkRecord): Promise<void> {
    const run = this.queue.catch(() => undefined).then(async () => {
      if (record.driver !== 'bridge' || record.isDefault) throw forbidden(`${record.name} is a pre-defined network and cannot be removed`);
      await deleteBridge(record);
      await rm(join(this.options.ipamDir, cniNetworkName(record)), { recursive: true, force: true });
      this.statements.get('DELETE FROM networks WHERE id = ?').run(record.id);
      this.writes++;
    });
    this.queue = run;
    return run;
  }

  private insert(record: NetworkRecord): void {
    this.statements.get('INSERT INTO networks (id, name, record) VALUES (?, ?, ?)').run(record.id, record.name, JSON.stringify(record));
    this.writes++;
  }

  private async chooseSubnets(request: CreateNetworkRequest, id: string): Promise<SubnetConfig[]> {
    const taken = await this.takenPrefixes();
    const chosen: SubnetConfig[] = [];
    for (const wanted of request.subnets) {
      const cidr = parseCidr(wanted.subnet);
      const clash = [...taken, ...chosen.map((c) => ({ what: 'another subnet of this request', cidr: parseCidr(c.subnet) }))].find((t) => overlaps(t.cidr, cidr));
      if (clash) throw conflict(`invalid pool request: Pool overlaps with other one on this address space (${formatCidr(cidr)} overlaps ${clash.what})`);
      if (size(cidr) < 4n) throw invalidArgument(`subnet ${wanted.subnet} is too small: it needs room for a gateway and containers`);
      let gateway = wanted.gateway || nthAddress(cidr, 1);
      if (!cidrContains(cidr, gateway)) throw invalidArgument(`gateway ${gateway} is not in subnet ${formatCidr(cidr)}`);
      gateway = formatIp(cidr.family, parseIp(gateway).value);
      const entry: SubnetConfig = { subnet: formatCidr(cidr), gateway };
      if (wanted.ipRange) {
        const range = parseCidr(wanted.ipRange);
        if (range.family !== cidr.family || range.prefix < cidr.prefix || !overlaps(range, cidr)) throw invalidArgument(`ip-range ${wanted.ipRange} is not inside subnet ${formatCidr(cidr)}`);
        entry.ipRange = formatCidr(range);
      }
      chosen.push(entry);
    }
    if (!chosen.some((s) => !s.subnet.includes(':'))) {
      const cidr = this.allocateFromPools(taken.map((t) => t.cidr));
      chosen.unshift({ subnet: formatCidr(cidr), gateway: nthAddress(cidr, 1) });
    }
    if (request.enableIPv6 && !chosen.some((s) => s.subnet.includes(':'))) {
      // A unique local /64 derived from the network ID (RFC 4193 style).
      const hash = createHash('sha256').update(id).digest();
      const base = BigInt(`0xfd${hash.subarray(0, 7).toString('hex')}`) << 64n;
      const cidr: Cidr = { family: 6, base, prefix: 64 };
      chosen.push({ subnet: formatCidr(cidr), gateway: nthAddress(cidr, 1) });
    }
    return chosen;
  }

  private allocateFromPools(taken: Cidr[]): Cidr {
    for (const pool of this.options.addressPools) {
      const base = parseCidr(pool.base);
      const count = 1n << BigInt(pool.size - base.prefix);
      const step = 1n << BigInt(32 - pool.size);
      for (let i = 0n; i < count; i++) {
        const candidate: Cidr = { family: 4, base: base.base + i * step, prefix: pool.size };
        if (!taken.some((t) => overlaps(t, candidate))) return candidate;
      }
    }
    throw new BerthError('failed-precondition', 'could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network');
  }

  private async takenPrefixes(): Promise<Array<{ what: string; cidr: Cidr }>> {
    const taken: Array<{ what: string; cidr: Cidr }> = [];
    for (const network of this.list()) {
      for (const s of network.subnets) taken.push({ what: `network ${network.name}`, cidr: parseCidr(s.subnet) });
    }
    for (const route of await hostRoutes()) taken.push({ what: `a host route on ${route.device}`, cidr: route.destination });
    return taken;
  }

  /** The default bridge's subnet moves to a free pool when the configured one is routed elsewhere. */
  private async clearOfHostRoutes(record: NetworkRecord): Promise<void> {
    const subnet = record.subnets[0];
    if (!subnet) return;
    const cidr = parseCidr(subnet.subnet);
    const routes = (await hostRoutes()).filter((r) => r.device !== record.bridge);
    if (!routes.some((r) => overlaps(r.destination, cidr))) return;
    const free = this.allocateFromPools([...routes.map((r) => r.destination), ...this.list().flatMap((n) => n.subnets.map((s) => parseCidr(s.subnet)))]);
    log.warn('default bridge subnet is in use on the host; using another', { configured: subnet.subnet, chosen: formatCidr(free) });
    record.subnets = [{ subnet: formatCidr(free), gateway: nthAddress(free, 1) }];
  }
}

/** The name CNI (and host-local's state directory) know the network by: stable even if names could change. */
export function cniNetworkName(record: NetworkRecord): string {
  return `berth-${record.id.slice(0, 12)}`;
}

function predefined(name: string, driver: NetworkDriver): NetworkRecord {
  return {
    id: randomBytes(32).toString('hex'),
    name,
    driver,
    created: new Date().toISOString(),
    bridge: '',
    subnets: [],
    userSubnets: false,
    enableIPv6: false,
    internal: false,
    attachable: false,
    labels: {},
    options: {},
    isDefault: false,
    mtu: 1500,
    ipMasquerade: true,
  };
}

async function ip(args: string[]): Promise<void> {
  await execFileAsync('ip', args);
}

/** The bridge device, up, with each subnet's gateway address. Idempotent. */
async function ensureBridge(record: NetworkRecord): Promise<void> {
  const exists = await ip(['link', 'show', 'dev', record.bridge]).then(() => true, () => false);
  if (!exists) await ip(['link', 'add', 'name', record.bridge, 'mtu', String(record.mtu), 'type', 'bridge']);
  for (const s of record.subnets) {
    const prefix = s.subnet.split('/')[1] ?? '';
    const family = s.subnet.includes(':') ? '-6' : '-4';
    const args = [family, 'addr', 'add', `${s.gateway}/${prefix}`, 'dev', record.bridge];
    if (family === '-6') args.push('nodad');
    await ip(args).catch((err: unknown) => {
      if (!/File exists|already assigned/.test(errorMessage(err))) throw err;
    });
  }
  await ip(['link', 'set', 'dev', record.bridge, 'up']);
  for (const rule of masqueradeRules(record)) await ensureRule(rule.tool, 'nat', rule.args);
  await ensureForwardRules(record);
}

async function ensureRule(tool: string, table: string, args: string[]): Promise<void> {
  const present = await execFileAsync(tool, ['-w', '-t', table, '-C', ...args]).then(() => true, () => false);
  if (!present) await execFileAsync(tool, ['-w', '-t', table, '-A', ...args]);
}

const FORWARD_CHAIN = 'BERTH-FORWARD';
const ISOLATION_STAGE_1 = 'BERTH-ISOLATION-STAGE-1';
const ISOLATION_STAGE_2 = 'BERTH-ISOLATION-STAGE-2';

/**
 * Forwarding rules per network, set up once with the bridge — what CNI's firewall plugin
 * (ingressPolicy same-bridge) does, but without its iptables calls on every container start
 * and stop (measured here: about 45 ms of each bridged `docker run`). Traffic from one berth
 * bridge to another is dropped (two-stage, as the plugin and Docker do); a container's own
 * traffic and replies to it are accepted, for hosts whose FORWARD policy is DROP; an
 * internal network forwards nothing off its bridge.
 */
async function ensureForwardRules(record: NetworkRecord): Promise<void> {
  const families = new Set(record.subnets.map((s) => (s.subnet.includes(':') ? 'ip6tables' : 'iptables')));
  for (const tool of families) {
    for (const chain of [FORWARD_CHAIN, ISOLATION_STAGE_1, ISOLATION_STAGE_2]) {
      await execFileAsync(tool, ['-w', '-N', chain]).catch(() => undefined);
    }
    const jump = ['FORWARD', '-j', FORWARD_CHAIN];
    const jumps = await execFileAsync(tool, ['-w', '-C', ...jump]).then(() => true, () => false);
    if (!jumps) await execFileAsync(tool, ['-w', '-I', ...jump]);
    await ensureRule(tool, 'filter', [FORWARD_CHAIN, '-j', ISOLATION_STAGE_1]);
    await ensureRule(tool, 'filter', [ISOLATION_STAGE_1, '-i', record.bridge, '!', '-o', record.bridge, '-j', ISOLATION_STAGE_2]);
    await ensureRule(tool, 'filter', [ISOLATION_STAGE_2, '-o', record.bridge, '-j', 'DROP']);
    if (record.internal) await ensureRule(tool, 'filter', [FORWARD_CHAIN, '-i', record.bridge, '!', '-o', record.bridge, '-j', 'DROP']);
    await ensureRule(tool, 'filter', [FORWARD_CHAIN, '-o', record.bridge, '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', '-j', 'ACCEPT']);
    await ensureRule(tool, 'filter', [FORWARD_CHAIN, '-i', record.bridge, '-j', 'ACCEPT']);
  }
}

/**
 * Outbound NAT as one rule per network (Docker's way) instead of the bridge plugin's
 * ipMasq, which creates and deletes an iptables chain for every container start and stop.
 */
function masqueradeRules(record: NetworkRecord): Array<{ tool: string; args: string[] }> {
  if (!record.ipMasquerade || record.internal) return [];
  return record.subnets.map((s) => ({
    tool: s.subnet.includes(':') ? 'ip6tables' : 'iptables',
    args: ['POSTROUTING', '-s', s.subnet, '!', '-o', record.bridge, '-m', 'comment', '--comment', `berth masquerade ${record.bridge}`, '-j', 'MASQUERADE'],
  }));
}

async function deleteBridge(record: NetworkRecord): Promise<void> {
  await ip(['link', 'del', 'dev', record.bridge]).catch((err: unknown) => {
    if (!/Cannot find device|does not exist/.test(errorMessage(err))) throw err;
  });
  for (const rule of masqueradeRules(record)) {
    await execFileAsync(rule.tool, ['-w', '-t', 'nat', '-D', ...rule.args]).catch(() => undefined);
  }
  await removeIsolationRules(record.bridge);
}

/** The network's forwarding and isolation rules go with it. */
export async function removeIsolationRules(bridge: string): Promise<void> {
  for (const tool of ['iptables', 'ip6tables']) {
    for (const chain of [FORWARD_CHAIN, ISOLATION_STAGE_1, ISOLATION_STAGE_2]) {
      const listed = await execFileAsync(tool, ['-w', '-S', chain]).then((r) => r.stdout, () => '');
      for (const line of listed.split('\n')) {
        if (!line.startsWith('-A ') || !new RegExp(`(-i|-o) ${bridge.replace(/[.]/g, '\\.')}( |$)`).test(line)) continue;
        const args = splitRule(line.slice(3));
        await execFileAsync(tool, ['-w', '-D', ...args]).catch((err: unknown) => log.warn('cannot remove isolation rule', { rule: line, error: errorMessage(err) }));
      }
    }
  }
}

/** iptables -S output → argv (quoted comments kept whole). */
function splitRule(rule: string): string[] {
  const args: string[] = [];
  const re = /"([^"]*)"|(\S+)/g;
  for (let m = re.exec(rule); m; m = re.exec(rule)) args.push(m[1] ?? m[2] ?? '');
  return args;
}

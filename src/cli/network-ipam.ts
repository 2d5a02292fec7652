/**
 * `network create --subnet/--ip-range/--gateway` → IPAM.Config, checked on the client as
 * docker CLI 28 checks it (cli/command/network/create.go consolidateIpam, subnetMatches, with
 * Go's net.ParseCIDR/ParseIP semantics and error texts). A lone subnet is not parsed here:
 * docker sends it as written and lets the daemon judge it, and so do we.
 */
import { isIP } from 'node:net';

export interface IpamConfig {
  Subnet: string;
  IPRange?: string;
  Gateway?: string;
}

/** A client-side refusal of the IPAM flags (docker prints it as is, exit status 1). */
export class IpamError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IpamError';
  }
}

interface Address {
  bits: 32 | 128;
  value: bigint;
}

function ipv4Value(s: string): bigint {
  return s.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
}

/** net.ParseIP (no zone); undefined for anything else. */
function parseIp(s: string): Address | undefined {
  const family = s.includes('%') ? 0 : isIP(s);
  if (family === 4) return { bits: 32, value: ipv4Value(s) };
  if (family !== 6) return undefined;
  let text = s;
  // A trailing dotted quad ("::ffff:1.2.3.4") is the last 32 bits.
  const quad = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (quad?.[1]) {
    const v = ipv4Value(quad[1]);
    text = `${text.slice(0, -quad[1].length)}${(v >> 16n).toString(16)}:${(v & 0xffffn).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return { bits: 128, value: groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n) };
}

interface Cidr {
  ip: Address;
  network: Address;
  prefix: number;
}

/** net.ParseCIDR; throws Go's "invalid CIDR address: X". */
function parseCidr(s: string): Cidr {
  const slash = s.indexOf('/');
  const ip = slash < 0 ? undefined : parseIp(s.slice(0, slash));
  const mask = s.slice(slash + 1);
  if (!ip || !/^\d+$/.test(mask) || Number(mask) > ip.bits) throw new IpamError(`invalid CIDR address: ${s}`);
  const prefix = Number(mask);
  const hostBits = BigInt(ip.bits - prefix);
  return { ip, network: { bits: ip.bits, value: (ip.value >> hostBits) << hostBits }, prefix };
}

/** subnetMatches: whether `data` (an address or a CIDR, whose address counts) lies in `subnet`. */
function subnetMatches(subnet: string, data: string): boolean {
  let net: Cidr;
  try {
    net = parseCidr(subnet);
  } catch (e) {
    throw new IpamError(`invalid subnet: ${(e as Error).message}`);
  }
  const ip = data.includes('/') ? parseCidr(data).ip : parseIp(data);
  if (!ip || ip.bits !== net.network.bits) return false;
  const hostBits = BigInt(ip.bits - net.prefix);
  return (ip.value >> hostBits) << hostBits === net.network.value;
}

/** consolidateIpam without aux addresses: one IPAM.Config entry per subnet, in flag order. */
export function consolidateIpam(subnets: readonly string[], ranges: readonly string[], gateways: readonly string[]): IpamConfig[] {
  if (subnets.length < ranges.length || subnets.length < gateways.length) {
    throw new IpamError('every ip-range or gateway must have a corresponding subnet');
  }
  const configs = new Map<string, IpamConfig>();
  for (const s of subnets) {
    for (const k of configs.keys()) {
      if (subnetMatches(s, k) || subnetMatches(k, s)) throw new IpamError('multiple overlapping subnet configuration is not supported');
    }
    configs.set(s, { Subnet: s });
  }
  for (const r of ranges) {
    let match = false;
    for (const s of subnets) {
      parseCidr(r);
      if (!subnetMatches(s, r)) continue;
      const config = configs.get(s) as IpamConfig;
      if (config.IPRange !== undefined) throw new IpamError(`cannot configure multiple ranges (${r}, ${config.IPRange}) on the same subnet (${s})`);
      config.IPRange = r;
      match = true;
    }
    if (!match) throw new IpamError(`no matching subnet for range ${r}`);
  }
  for (const g of gateways) {
    let match = false;
    for (const s of subnets) {
      if (!subnetMatches(s, g)) continue;
      const config = configs.get(s) as IpamConfig;
      if (config.Gateway !== undefined) throw new IpamError(`cannot configure multiple gateways (${g}, ${config.Gateway}) for the same subnet (${s})`);
      config.Gateway = g;
      match = true;
    }
    if (!match) throw new IpamError(`no matching subnet for gateway ${g}`);
  }
  // Field order of network.IPAMConfig: Subnet, IPRange, Gateway.
  return [...configs.values()].map((c) => ({
    Subnet: c.Subnet,
    ...(c.IPRange !== undefined ? { IPRange: c.IPRange } : {}),
    ...(c.Gateway !== undefined ? { Gateway: c.Gateway } : {}),
  }));
}

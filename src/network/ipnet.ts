/** IPv4/IPv6 addresses and prefixes: parsing, overlap, host addresses, and the host's routes. */
import { isIPv4, isIPv6 } from 'node:net';
import { readFile } from 'node:fs/promises';
import { invalidArgument } from '../core/errors.js';

export type Family = 4 | 6;

export interface Cidr {
  family: Family;
  /** The network address (host bits cleared). */
  base: bigint;
  prefix: number;
}

const bitsOf = (family: Family): number => (family === 4 ? 32 : 128);

export function parseIp(text: string): { family: Family; value: bigint } {
  if (isIPv4(text)) {
    const value = text.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
    return { family: 4, value };
  }
  if (isIPv6(text)) {
    let [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
    const embedded = (part: string): string[] => {
      // An IPv4 tail (::ffff:1.2.3.4) is two groups.
      const groups = part.split(':').filter((g) => g !== '');
      const last = groups[groups.length - 1];
      if (last && last.includes('.')) {
        const v4 = parseIp(last).value;
        groups.splice(groups.length - 1, 1, ((v4 >> 16n) & 0xffffn).toString(16), (v4 & 0xffffn).toString(16));
      }
      return groups;
    };
    const headGroups = embedded(head ?? '');
    const tailGroups = tail === undefined ? [] : embedded(tail);
    const zeros = tail === undefined ? 0 : 8 - headGroups.length - tailGroups.length;
    const groups = [...headGroups, ...Array<string>(zeros).fill('0'), ...tailGroups];
    const value = groups.reduce((acc, g) => (acc << 16n) | BigInt(Number.parseInt(g, 16)), 0n);
    return { family: 6, value };
  }
  throw invalidArgument(`invalid IP address: ${text}`);
}

export function formatIp(family: Family, value: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
  const groups: string[] = [];
  for (let i = 7; i >= 0; i--) groups.push(((value >> BigInt(i * 16)) & 0xffffn).toString(16));
  // The longest run of zero groups collapses to '::' (RFC 5952).
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLength && j - i > 1) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return groups.join(':');
  return `${groups.slice(0, bestStart).join(':')}::${groups.slice(bestStart + bestLength).join(':')}`;
}

export function parseCidr(text: string): Cidr {
  const [address, prefixText, extra] = text.split('/');
  if (!address || prefixText === undefined || extra !== undefined || !/^\d+$/.test(prefixText)) throw invalidArgument(`invalid CIDR address: ${text}`);
  let ip: { family: Family; value: bigint };
  try {
    ip = parseIp(address);
  } catch {
    throw invalidArgument(`invalid CIDR address: ${text}`);
  }
  const prefix = Number(prefixText);
  if (prefix > bitsOf(ip.family)) throw invalidArgument(`invalid CIDR address: ${text}`);
  return { family: ip.family, base: ip.value & mask(ip.family, prefix), prefix };
}

function mask(family: Family, prefix: number): bigint {
  const bits = bitsOf(family);
  return ((1n << BigInt(bits)) - 1n) ^ ((1n << BigInt(bits - prefix)) - 1n);
}

export function formatCidr(cidr: Cidr): string {
  return `${formatIp(cidr.family, cidr.base)}/${cidr.prefix}`;
}

export function cidrContains(cidr: Cidr, ip: string): boolean {
  const parsed = parseIp(ip);
  return parsed.family === cidr.family && (parsed.value & mask(cidr.family, cidr.prefix)) === cidr.base;
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  if (a.family !== b.family) return false;
  const prefix = Math.min(a.prefix, b.prefix);
  const m = mask(a.family, prefix);
  return (a.base & m) === (b.base & m);
}

/** The n-th address of the prefix (1 = the first host: Docker's default gateway). */
export function nthAddress(cidr: Cidr, n: number): string {
  return formatIp(cidr.family, cidr.base + BigInt(n));
}

/** Number of addresses in the prefix. */
export function size(cidr: Cidr): bigint {
  return 1n << BigInt(bitsOf(cidr.family) - cidr.prefix);
}

export interface HostRoute {
  device: string;
  destination: Cidr;
}

/** The host's non-default routes (main table), IPv4 and IPv6, to keep new subnets clear of them. */
export async function hostRoutes(): Promise<HostRoute[]> {
  const routes: HostRoute[] = [];
  const v4 = await readFile('/proc/net/route', 'utf8').catch(() => '');
  for (const line of v4.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8 || !f[0] || !f[1] || !f[7]) continue;
    const destination = swap32(Number.parseInt(f[1], 16));
    const maskValue = swap32(Number.parseInt(f[7], 16));
    const prefix = popcount(maskValue);
    if (prefix === 0) continue;
    routes.push({ device: f[0], destination: { family: 4, base: BigInt(destination), prefix } });
  }
  const v6 = await readFile('/proc/net/ipv6_route', 'utf8').catch(() => '');
  for (const line of v6.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || !f[0] || !f[1] || !f[9]) continue;
    const prefix = Number.parseInt(f[1], 16);
    // Link-local, multicast and host routes are everywhere; they never collide with a ULA subnet.
    if (prefix === 0 || prefix === 128 || f[0].startsWith('fe80') || f[0].startsWith('ff')) continue;
    routes.push({ device: f[9], destination: { family: 6, base: BigInt(`0x${f[0]}`), prefix } });
  }
  return routes;
}

function swap32(value: number): number {
  return (((value & 0xff) << 24) | ((value & 0xff00) << 8) | ((value >>> 8) & 0xff00) | ((value >>> 24) & 0xff)) >>> 0;
}

function popcount(value: number): number {
  let count = 0;
  for (let v = value >>> 0; v; v >>>= 1) count += v & 1;
  return count;
}

/**
 * The network flags of run/create → HostConfig.NetworkMode and NetworkingConfig, as docker
 * CLI 28 builds them (cli/command/container/opts.go: parseNetworkOpts, applyContainerOptions,
 * parseNetworkAttachmentOpt), and the validation it does on the way: MAC addresses
 * (net.ParseMAC), DNS search domains (opts.ValidateDNSSearch), aliases only on user networks.
 */
import { FlagError } from './flag-error.js';

export interface NetworkFlags {
  network?: string;
  networkAlias?: string[];
  ip?: string;
  ip6?: string;
  macAddress?: string;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** net.ParseMAC: 6, 8 or 20 octets as xx:xx…, xx-xx… or xxxx.xxxx…. */
export function isValidMac(s: string): boolean {
  const octets = (n: number): boolean => n === 6 || n === 8 || n === 20;
  if (s.length < 14) return false;
  if (s[2] === ':' || s[2] === '-') {
    const sep = s[2] === ':' ? ':' : '-';
    const groups = s.split(sep);
    return octets(groups.length) && groups.every((g) => /^[0-9a-fA-F]{2}$/.test(g));
  }
  if (s[4] === '.') {
    const groups = s.split('.');
    return octets(groups.length * 2) && groups.every((g) => /^[0-9a-fA-F]{4}$/.test(g));
  }
  return false;
}

// opts.domainRegexp, verbatim: docker's "(:?" (meant as "(?:") lets a leading ':' through, and so do we.
const DOMAIN = /^(:?(:?[a-zA-Z0-9]|(:?[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))(:?\.(:?[a-zA-Z0-9]|(:?[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])))*)\.?\s*$/;

/** opts.ValidateDNSSearch: "." or a domain (its trailing dot dropped), else a flag error. */
export function validateDnsSearch(value: string): string {
  const v = value.replace(/^ +| +$/g, '');
  if (v === '.') return v;
  const m = /[a-zA-Z]/.test(v) ? DOMAIN.exec(v) : null;
  const domain = m?.[1];
  if (domain === undefined || domain.length >= 255) {
    throw new FlagError(`invalid argument "${value}" for "--dns-search" flag: ${v} is not a valid domain`);
  }
  return domain;
}

/** container.NetworkMode.IsUserDefined. */
export function isUserDefinedNetwork(mode: string): boolean {
  return !['default', 'bridge', 'host', 'none'].includes(mode) && !mode.startsWith('container:');
}

/** network.EndpointSettings as the docker CLI marshals it (every field, in its order). */
export function endpointSettings(e: { aliases?: readonly string[]; ipv4?: string; ipv6?: string; mac?: string } = {}): { [k: string]: Json } {
  const ipam: { [k: string]: Json } = {};
  if (e.ipv4) ipam['IPv4Address'] = e.ipv4;
  if (e.ipv6) ipam['IPv6Address'] = e.ipv6;
  return {
    IPAMConfig: Object.keys(ipam).length > 0 ? ipam : null,
    Links: null,
    Aliases: e.aliases && e.aliases.length > 0 ? [...e.aliases] : null,
    MacAddress: e.mac ?? '',
    DriverOpts: null,
    GwPriority: 0,
    NetworkID: '',
    EndpointID: '',
    Gateway: '',
    IPAddress: '',
    IPPrefixLen: 0,
    IPv6Gateway: '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    DNSNames: null,
  };
}

/**
 * NetworkMode and NetworkingConfig for a create body. Without --network the container goes on
 * "default" and that endpoint is always sent; with one --network and no per-endpoint option,
 * docker sends no endpoint at all (the daemon makes it), so neither do we.
 */
export function networkingConfig(f: NetworkFlags): { mode: string; config: { EndpointsConfig: { [k: string]: Json } } } {
  const mac = f.macAddress ?? '';
  if (mac !== '' && !isValidMac(mac)) throw new FlagError(`${mac} is not a valid mac address`);
  const given = f.network !== undefined && f.network !== '';
  const mode = given ? (f.network as string) : 'default';
  const aliases = f.networkAlias ?? [];
  if (aliases.length > 0 && !isUserDefinedNetwork(mode)) {
    throw new FlagError('network-scoped aliases are only supported for user-defined networks');
  }
  const hasOptions = aliases.length > 0 || Boolean(f.ip) || Boolean(f.ip6) || mac !== '';
  if (given && !hasOptions) return { mode, config: { EndpointsConfig: {} } };
  const settings = endpointSettings({ aliases, ...(f.ip ? { ipv4: f.ip } : {}), ...(f.ip6 ? { ipv6: f.ip6 } : {}), mac });
  return { mode, config: { EndpointsConfig: { [mode]: settings } } };
}

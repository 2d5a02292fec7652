/** The /etc/hosts, /etc/hostname and /etc/resolv.conf berth writes for each container. */
import { readFileSync } from 'node:fs';

const defaultHosts = [
  '127.0.0.1\tlocalhost',
  '::1\tlocalhost ip6-localhost ip6-loopback',
  'fe00::0\tip6-localnet',
  'ff00::0\tip6-mcastprefix',
  'ff02::1\tip6-allnodes',
  'ff02::2\tip6-allrouters',
];

export interface HostsEntry {
  address: string;
  names: string[];
}

export function hostsFile(entries: readonly HostsEntry[], base: readonly string[] = defaultHosts): string {
  return [...base, ...entries.map((e) => `${e.address}\t${e.names.join(' ')}`)].join('\n') + '\n';
}

const systemdResolvedUpstreams = '/run/systemd/resolve/resolv.conf';

/** The host's resolv.conf, or systemd-resolved's upstream list when the host points at its 127.0.0.53 stub. */
function hostResolvConfText(hostPath = '/etc/resolv.conf'): string {
  const read = (path: string): string => {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return '';
    }
  };
  const text = read(hostPath);
  if (/^\s*nameserver\s+127\.0\.0\.53\b/m.test(text)) return read(systemdResolvedUpstreams) || text;
  return text;
}

interface ResolvConf {
  nameservers: string[];
  search: string[];
  options: string[];
}

function parseResolvConf(text: string): ResolvConf {
  const conf: ResolvConf = { nameservers: [], search: [], options: [] };
  for (const line of text.split('\n')) {
    const [key, ...values] = line.trim().split(/\s+/);
    if (key === 'nameserver' && values[0]) conf.nameservers.push(values[0]);
    else if (key === 'search' || key === 'domain') conf.search = values;
    else if (key === 'options') conf.options.push(...values);
  }
  return conf;
}

/** Nameservers berthd itself can use (loopback ones included: berthd runs on the host). */
export function hostResolvers(): string[] {
  return parseResolvConf(hostResolvConfText()).nameservers;
}

const isLoopback = (server: string): boolean => server.startsWith('127.') || server === '::1';

/**
 * A container with its own network namespace cannot reach the host's loopback resolvers
 * (127.0.0.53 of systemd-resolved and the like), so those lines are dropped, as Docker does
 * (libnetwork resolvconf); systemd-resolved's upstream list is used when the stub is found.
 */
export function containerResolvConf(hostPath = '/etc/resolv.conf'): string {
  const lines = hostResolvConfText(hostPath).split('\n').filter((line) => {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    return !m || !m[1] || !isLoopback(m[1]);
  });
  return lines.join('\n').replace(/\n*$/, '\n');
}

/**
 * resolv.conf for a container on a bridge network: the given nameservers (berth's DNS on
 * the gateway, or the user's --dns), the user's search/options or else the host's.
 */
export function networkResolvConf(nameservers: readonly string[], search: readonly string[], options: readonly string[]): string {
  const host = parseResolvConf(hostResolvConfText());
  const lines = nameservers.map((s) => `nameserver ${s}`);
  const searchList = search.length > 0 ? search : host.search;
  if (searchList.length > 0 && !(searchList.length === 1 && searchList[0] === '.')) lines.push(`search ${searchList.join(' ')}`);
  const optionList = options.length > 0 ? options : host.options;
  if (optionList.length > 0) lines.push(`options ${optionList.join(' ')}`);
  return lines.join('\n') + '\n';
}

/** The /etc/hosts, /etc/hostname and /etc/resolv.conf berth writes for each container. */
import { readFile } from 'node:fs/promises';

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

export function hostsFile(entries: readonly HostsEntry[]): string {
  return [...defaultHosts, ...entries.map((e) => `${e.address}\t${e.names.join(' ')}`)].join('\n') + '\n';
}

/**
 * A container with its own network namespace cannot reach the host's loopback resolvers
 * (127.0.0.53 of systemd-resolved and the like), so those lines are dropped, as Docker does
 * (libnetwork resolvconf); systemd-resolved's upstream list is used when the stub is found.
 */
export async function containerResolvConf(hostPath = '/etc/resolv.conf'): Promise<string> {
  let text = await readFile(hostPath, 'utf8').catch(() => '');
  if (/^\s*nameserver\s+127\.0\.0\.53\b/m.test(text)) {
    text = await readFile('/run/systemd/resolve/resolv.conf', 'utf8').catch(() => text);
  }
  const lines = text.split('\n').filter((line) => {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (!m || !m[1]) return true;
    return !(m[1].startsWith('127.') || m[1] === '::1');
  });
  return lines.join('\n').replace(/\n*$/, '\n');
}

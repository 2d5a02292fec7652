/**
 * `port CONTAINER [PRIVATE_PORT[/PROTO]]` (also `container port`), as docker CLI 28 prints it
 * (cli/command/container/port.go): GET /containers/{id}/json, then NetworkSettings.Ports as
 * "80/tcp -> 0.0.0.0:8080" lines in natural order, or only the host addresses of one port.
 */
import { pathSegment } from '../client.js';
import { CliError } from '../errors.js';
import { api, println } from '../io.js';
import { naturalCompare } from '../sortorder.js';

type PortMap = Record<string, Array<{ HostIp?: string; HostPort?: string }> | null>;

/** net.JoinHostPort. */
function joinHostPort(host: string, port: string): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The lines `port` prints for a container's NetworkSettings.Ports; throws docker's errors for a bad or unpublished port. */
export function portLines(ports: PortMap, container: string, wanted?: string): string[] {
  const lines: string[] = [];
  if (wanted !== undefined && wanted !== '') {
    const slash = wanted.indexOf('/');
    const port = slash < 0 ? wanted : wanted.slice(0, slash);
    const proto = (slash < 0 ? '' : wanted.slice(slash + 1)) || 'tcp';
    if (!/^[0-9]+$/.test(port)) {
      throw new CliError(`Error: invalid port (${port}): strconv.ParseUint: parsing ${JSON.stringify(port)}: invalid syntax`, 1);
    }
    if (Number(port) > 65535) {
      throw new CliError(`Error: invalid port (${port}): strconv.ParseUint: parsing ${JSON.stringify(port)}: value out of range`, 1);
    }
    const frontends = ports[`${port}/${proto}`];
    if (!frontends) throw new CliError(`Error: No public port '${wanted}' published for ${container}`, 1);
    for (const f of frontends) lines.push(joinHostPort(f.HostIp ?? '', f.HostPort ?? ''));
  } else {
    for (const [from, frontends] of Object.entries(ports)) {
      for (const f of frontends ?? []) lines.push(`${from} -> ${joinHostPort(f.HostIp ?? '', f.HostPort ?? '')}`);
    }
  }
  return lines.sort(naturalCompare);
}

export async function portCmd(container: string, privatePort: string | undefined): Promise<number> {
  const info = await api().json<{ NetworkSettings?: { Ports?: PortMap | null } | null }>({ method: 'GET', path: `/containers/${pathSegment(container)}/json` });
  const lines = portLines(info.NetworkSettings?.Ports ?? {}, container, privatePort);
  if (lines.length > 0) println(lines.join('\n'));
  return 0;
}

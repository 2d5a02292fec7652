/**
 * A container's network at start: which namespace its spec names, the /etc files it gets,
 * and the CNI attachments — which run while runc creates the container (both only need the
 * pinned namespace to exist), so the network costs little on the start path.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { conflict } from '../core/errors.js';
import { writeScratchFileSync } from '../core/fs-atomic.js';
import type { NetworkMode } from '../runtime/spec.js';
import type { NetworkManager } from '../network/manager.js';
import type { NetworkRecord } from '../network/networks.js';
import { containerResolvConf, hostsFile, networkResolvConf, type HostsEntry } from '../network/etc-files.js';
import type { ContainerNetworkState, Endpoint, PortBindingRequest, PortProtocol } from '../network/types.js';
import type { ContainerRecord } from './types.js';

export interface EtcFiles {
  hostname: string;
  hosts: string;
  resolvConf: string;
}

export interface Sandbox {
  mode: NetworkMode;
  /** The UTS hostname for the spec; undefined keeps the host's (host network). */
  hostname: string | undefined;
  etcFiles: EtcFiles;
  /** Joins the networks; resolves with what to record (undefined without a sandbox of its own). */
  connect(): Promise<ContainerNetworkState | undefined>;
}

export interface SandboxInput {
  record: ContainerRecord;
  bundle: string;
  network: NetworkManager;
  /** Bundle directory of another container (for container:<id> mode). */
  bundleOf(id: string): string;
  findContainer(idOrName: string): ContainerRecord;
}

export async function prepareSandbox(input: SandboxInput): Promise<Sandbox> {
  const { record, bundle, network } = input;
  const req = record.request;
  const id = record.id;
  const own: EtcFiles = { hostname: join(bundle, 'hostname'), hosts: join(bundle, 'hosts'), resolvConf: join(bundle, 'resolv.conf') };
  // Regenerated at every start, so a crash can only leave an old copy: no fsync needed.
  const scratch = (path: string, text: string): void => writeScratchFileSync(path, text);
  const hostname = req.hostname || id.slice(0, 12);
  const resolved = network.resolveMode(req.network);

  if (resolved.kind === 'host') {
    const hostFile = (path: string): Promise<string | undefined> => readFile(path, 'utf8').catch(() => undefined);
    const [hostHosts, hostHostname, hostResolvConf] = await Promise.all([hostFile('/etc/hosts'), hostFile('/etc/hostname'), hostFile('/etc/resolv.conf')]);
    scratch(own.hostname, `${hostHostname?.trim() ?? hostname}\n`);
    scratch(own.hosts, (hostHosts ?? hostsFile([])).replace(/\n*$/, '\n') + extraHostLines(req.network.extraHosts, undefined));
    scratch(own.resolvConf, hostResolvConf ?? '');
    return { mode: 'host', hostname: undefined, etcFiles: own, connect: async () => undefined };
  }

  if (resolved.kind === 'container') {
    const other = input.findContainer(resolved.target);
    if (other.id === id) throw conflict('cannot join own network');
    if (other.state.status !== 'running' && other.state.status !== 'paused') throw conflict(`cannot join network of a non running container: ${other.id}`);
    const otherBundle = input.bundleOf(other.id);
    const netnsPath = other.network?.sandboxKey || `/proc/${other.state.pid}/ns/net`;
    return {
      mode: { netnsPath },
      hostname: other.request.hostname || other.id.slice(0, 12),
      etcFiles: { hostname: join(otherBundle, 'hostname'), hosts: join(otherBundle, 'hosts'), resolvConf: join(otherBundle, 'resolv.conf') },
      connect: async () => undefined,
    };
  }

  const baseHosts = hostsFile([]).replace(/\n*$/, '\n') + extraHostLines(req.network.extraHosts, defaultGateway(network));
  if (resolved.kind === 'none' || resolved.networks.length === 0) {
    scratch(own.hostname, `${hostname}\n`);
    scratch(own.hosts, baseHosts);
    scratch(own.resolvConf, containerResolvConf());
    return { mode: 'none', hostname, etcFiles: own, connect: async () => undefined };
  }

  const networks = resolved.networks;
  const primary = networks[0] as NetworkRecord;
  const ports = await network.reservePorts(id, publishRequests(record));
  const sandboxKey = await network.prepareSandbox(id);
  const nameservers = primary.isDefault && req.network.dns.length > 0 ? req.network.dns : [network.dnsAddress(primary) ?? ''];
  scratch(own.hostname, `${hostname}\n`);
  scratch(own.hosts, baseHosts);
  scratch(own.resolvConf, networkResolvConf(nameservers.filter(Boolean), req.network.dnsSearch, req.network.dnsOptions));
  const context = { containerName: record.name, hostname: req.hostname, dns: req.network.dns };
  return {
    mode: { netnsPath: sandboxKey },
    hostname,
    etcFiles: own,
    connect: async () => {
      const endpoints: Endpoint[] = [];
      for (const [i, net] of networks.entries()) {
        const request = req.network.endpoints[i] ?? { network: net.name, aliases: [], ipv4Address: '', ipv6Address: '', macAddress: '' };
        endpoints.push(await network.attach(id, sandboxKey, net, request, `eth${i}`, i === 0 ? ports : [], context));
      }
      const first = endpoints[0];
      if (first?.ipv4) {
        // In place, not by rename: runc may already have bind-mounted this inode.
        await writeFile(own.hosts, baseHosts + `${first.ipv4.split('/')[0]}\t${hostname}\n`);
      }
      return { sandboxKey, endpoints, ports };
    },
  };
}

/** `-p` bindings plus, with -P, an ephemeral port for every exposed port not bound already. */
export function publishRequests(record: ContainerRecord): PortBindingRequest[] {
  const bindings = [...record.request.network.portBindings];
  if (record.request.network.publishAllPorts) {
    const exposed = { ...(record.imageConfig.ExposedPorts ?? {}), ...record.request.exposedPorts };
    for (const key of Object.keys(exposed)) {
      const [portText, protocolText] = key.split('/');
      const containerPort = Number(portText);
      const protocol = (protocolText || 'tcp') as PortProtocol;
      if (!Number.isInteger(containerPort) || bindings.some((b) => b.containerPort === containerPort && b.protocol === protocol)) continue;
      bindings.push({ containerPort, protocol, hostIp: '', hostPortStart: 0, hostPortEnd: 0 });
    }
  }
  return bindings;
}

function defaultGateway(network: NetworkManager): string | undefined {
  const bridge = network.store.find('bridge');
  return bridge ? network.dnsAddress(bridge) : undefined;
}

/** `--add-host name:ip` lines; `host-gateway` is the default bridge's gateway, as in Docker. */
function extraHostLines(extraHosts: readonly string[], hostGateway: string | undefined): string {
  const entries: HostsEntry[] = [];
  for (const entry of extraHosts) {
    const i = entry.indexOf(':');
    const name = entry.slice(0, i);
    let address = entry.slice(i + 1);
    if (address === 'host-gateway') address = hostGateway ?? '';
    if (name && address) entries.push({ address, names: [name] });
  }
  return entries.map((e) => `${e.address}\t${e.names.join(' ')}\n`).join('');
}

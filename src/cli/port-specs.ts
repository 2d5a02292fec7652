/**
 * `-p/--publish` and `--expose` → ExposedPorts and PortBindings, as the docker CLI 28 computes
 * them: convertToStandardNotation (cli/command/container/opts.go) for the long syntax, then
 * go-connections' nat.ParsePortSpecs, with its error texts. Keys come out sorted, as Go's
 * encoding/json writes map keys, so the create body matches docker's byte for byte.
 */
import { isIP } from 'node:net';
import { FlagError } from './flag-error.js';

// A type, not an interface, so that it fits the create body's JSON type.
export type PortBinding = { HostIp: string; HostPort: string };

export interface PortSpecs {
  exposed: Record<string, Record<string, never>>;
  bindings: Record<string, PortBinding[]>;
}

const MAX_PORT = 65535;

/** strconv.ParseUint(s, 10, 16), with Go's error text. */
function parsePortNumber(s: string): number {
  if (!/^[0-9]+$/.test(s)) throw new FlagError(`strconv.ParseUint: parsing ${JSON.stringify(s)}: invalid syntax`);
  const n = Number(s);
  if (n > MAX_PORT) throw new FlagError(`strconv.ParseUint: parsing ${JSON.stringify(s)}: value out of range`);
  return n;
}

/** nat.ParsePortRange: "80" or "8000-8010" (anything after a second '-' is ignored, as in Go). */
export function parsePortRange(ports: string): { start: number; end: number } {
  if (ports === '') throw new FlagError('empty string specified for ports');
  if (!ports.includes('-')) {
    const n = parsePortNumber(ports);
    return { start: n, end: n };
  }
  const [a = '', b = ''] = ports.split('-');
  const start = parsePortNumber(a);
  const end = parsePortNumber(b);
  if (end < start) throw new FlagError(`invalid range specified for port: ${ports}`);
  return { start, end };
}

/** nat.SplitProtoPort: "80/udp" → ["udp", "80"]; no protocol means tcp; "/x" means nothing. */
export function splitProtoPort(raw: string): { proto: string; port: string } {
  const parts = raw.split('/');
  const port = parts[0] ?? '';
  if (raw === '' || port === '') return { proto: '', port: '' };
  const proto = parts[1] ?? '';
  return { proto: proto === '' ? 'tcp' : proto, port };
}

/** nat's splitParts: the last field is the container port, the one before the host port, the rest the IP. */
function splitParts(raw: string): { ip: string; hostPort: string; containerPort: string } {
  const parts = raw.split(':');
  const n = parts.length;
  const containerPort = parts[n - 1] ?? '';
  if (n === 1) return { ip: '', hostPort: '', containerPort };
  if (n === 2) return { ip: '', hostPort: parts[0] ?? '', containerPort };
  return { ip: parts.slice(0, n - 2).join(':'), hostPort: parts[n - 2] ?? '', containerPort };
}

/** net.SplitHostPort(ip + ":") for a bracketed IPv6 address: the host, or Go's AddrError text. */
function unbracket(ip: string): string {
  const hostport = `${ip}:`;
  const fail = (why: string): never => {
    throw new FlagError(`invalid IP address ${ip}: address ${hostport}: ${why}`);
  };
  const end = hostport.indexOf(']');
  if (end < 0) fail("missing ']' in address");
  if (end + 1 !== hostport.length - 1) fail(hostport[end + 1] === ':' ? 'too many colons in address' : 'missing port in address');
  if (hostport.indexOf('[', 1) >= 0) fail("unexpected '[' in address");
  return hostport.slice(1, end);
}

/** net.ParseIP: dotted IPv4 or IPv6, no zone. */
function isGoIp(s: string): boolean {
  return isIP(s) !== 0 && !s.includes('%');
}

interface PortMapping {
  port: string;
  binding: PortBinding;
}

/** nat.ParsePortSpec: one "[ip:][hostPort:]containerPort[/proto]" into its mappings. */
export function parsePortSpec(raw: string): PortMapping[] {
  const parts = splitParts(raw);
  let { ip } = parts;
  const { hostPort } = parts;
  const { proto, port: containerPort } = splitProtoPort(parts.containerPort);
  if (ip !== '' && ip.startsWith('[')) ip = unbracket(ip);
  if (ip !== '' && !isGoIp(ip)) throw new FlagError(`invalid IP address: ${ip}`);
  if (containerPort === '') throw new FlagError(`no port specified: ${raw}<empty>`);

  let container: { start: number; end: number };
  try {
    container = parsePortRange(containerPort);
  } catch {
    throw new FlagError(`invalid containerPort: ${containerPort}`);
  }
  let host = { start: 0, end: 0 };
  if (hostPort !== '') {
    try {
      host = parsePortRange(hostPort);
    } catch {
      throw new FlagError(`invalid hostPort: ${hostPort}`);
    }
  }
  // A host range with a single container port is the range to pick a free host port from.
  if (hostPort !== '' && container.end - container.start !== host.end - host.start && container.end !== container.start) {
    throw new FlagError(`invalid ranges specified for container and host Ports: ${containerPort} and ${hostPort}`);
  }
  const protocol = proto.toLowerCase();
  if (!['tcp', 'udp', 'sctp'].includes(protocol)) throw new FlagError(`invalid proto: ${proto}`);

  const count = container.end - container.start + 1;
  const mappings: PortMapping[] = [];
  for (let i = 0; i < count; i++) {
    let hPort = '';
    if (hostPort !== '') {
      hPort = String(host.start + i);
      if (count === 1 && host.start !== host.end) hPort += `-${host.end}`;
    }
    mappings.push({ port: `${container.start + i}/${protocol}`, binding: { HostIp: ip, HostPort: hPort } });
  }
  return mappings;
}

/** convertToStandardNotation: "target=80,published=8080,protocol=udp" → "8080:80/udp". */
function standardNotation(spec: string): string {
  if (!spec.includes('=')) return spec;
  const params: Record<string, string> = { protocol: 'tcp' };
  for (const param of spec.split(',')) {
    const eq = param.indexOf('=');
    if (eq <= 0) throw new FlagError(`invalid publish opts format (should be name=value but got '${param}')`);
    params[param.slice(0, eq)] = param.slice(eq + 1);
  }
  return `${params['published'] ?? ''}:${params['target'] ?? ''}/${params['protocol'] ?? ''}`;
}

/** The ports of --expose: "80", "80/udp" or a range "7000-7010[/proto]"; the protocol is kept as written. */
function exposedPorts(spec: string): string[] {
  if (spec.includes(':')) throw new FlagError(`invalid port format for --expose: ${spec}`);
  const { proto, port } = splitProtoPort(spec);
  let range: { start: number; end: number };
  try {
    range = parsePortRange(port);
  } catch (e) {
    throw new FlagError(`invalid range format for --expose: ${spec}, error: ${(e as Error).message}`);
  }
  return Array.from({ length: range.end - range.start + 1 }, (_x, i) => `${range.start + i}/${proto}`);
}

function sortedByKey<T>(record: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const key of Object.keys(record).sort()) out[key] = record[key] as T;
  return out;
}

/** Every -p and --expose of a run/create, merged as docker merges them. */
export function parsePublish(publish: readonly string[], expose: readonly string[] = []): PortSpecs {
  const exposed: Record<string, Record<string, never>> = {};
  const bindings: Record<string, PortBinding[]> = {};
  for (const spec of publish.map(standardNotation)) {
    for (const { port, binding } of parsePortSpec(spec)) {
      exposed[port] = {};
      (bindings[port] ??= []).push(binding);
    }
  }
  for (const spec of expose) for (const port of exposedPorts(spec)) exposed[port] = {};
  return { exposed: sortedByKey(exposed), bindings: sortedByKey(bindings) };
}

/**
 * `network` commands, with docker CLI 28's request bodies, output and exit statuses
 * (cli/command/network/*.go). Requests (paths prefixed /v<version>):
 *
 *   create      POST /networks/create
 *   ls          GET  /networks[?filters=]
 *   inspect     GET  /networks/{name}[?verbose=true]
 *   rm          DELETE /networks/{name}, one after the other
 *   prune       POST /networks/prune[?filters=] (after a y/N prompt unless -f)
 *   connect     POST /networks/{name}/connect
 *   disconnect  POST /networks/{name}/disconnect
 */
import { pathSegment } from '../client.js';
import { ApiError, CliError, DaemonUnreachableError } from '../errors.js';
import { renderRows } from '../format.js';
import { api, eprintln, out, println } from '../io.js';
import { consolidateIpam, IpamError, type IpamConfig } from '../network-ipam.js';
import { endpointSettings } from '../network-opts.js';
import { NETWORK_HEADERS, networkFormat, networkRows, type NetworkSummary } from '../network-format.js';
import { TemplateError } from '../template.js';
import { inspectObjects } from './images.js';

const n = (name: string): string => `/networks/${pathSegment(name)}`;

/** docker's error for a flag value its parser refused: the usage follows, exit status 125. */
function invalidFlag(command: string, usage: string, flag: string, value: string, reason: string): CliError {
  return new CliError(
    `invalid argument "${value}" for "${flag}" flag: ${reason}\n\nUsage:  berth network ${command} ${usage}\n\nRun 'berth network ${command} --help' for more information`,
    125,
  );
}

/**
 * filters.ParseFlag for every --filter value: "" is skipped, a value without '=' is refused,
 * names are lower-cased and both sides trimmed. Keys (and values) sorted, as Go marshals maps.
 */
function filtersQuery(specs: readonly string[], onBadFormat: (spec: string) => CliError): string | undefined {
  const filters: Record<string, Record<string, boolean>> = {};
  for (const spec of specs) {
    if (spec === '') continue;
    const eq = spec.indexOf('=');
    if (eq < 0) throw onBadFormat(spec);
    const name = spec.slice(0, eq).trim().toLowerCase();
    (filters[name] ??= {})[spec.slice(eq + 1).trim()] = true;
  }
  const keys = Object.keys(filters).sort();
  if (keys.length === 0) return undefined;
  return JSON.stringify(Object.fromEntries(keys.map((k) => [k, Object.fromEntries(Object.keys(filters[k] ?? {}).sort().map((v) => [v, true]))])));
}

/** A Go map[string]string as encoding/json writes it: keys sorted. */
function sortedMap(entries: ReadonlyArray<[string, string]>): Record<string, string> {
  const m = new Map(entries);
  return Object.fromEntries([...m.keys()].sort().map((k) => [k, m.get(k) as string]));
}

/** opts.MapOpts values: "k=v", or "k" for an empty value. */
function keyValues(values: readonly string[]): Array<[string, string]> {
  return values.map((v) => {
    const eq = v.indexOf('=');
    return eq < 0 ? [v, ''] : [v.slice(0, eq), v.slice(eq + 1)];
  });
}

/** pflag's StringSlice: each value is a comma-separated list. */
function commaList(values: readonly string[] | undefined): string[] {
  return (values ?? []).flatMap((v) => (v === '' ? [] : v.split(',')));
}

// ---- create ------------------------------------------------------------------------------------

export interface CreateFlags {
  driver?: string;
  opt?: string[];
  label?: string[];
  internal?: boolean;
  attachable?: boolean;
  ipv6?: boolean;
  subnet?: string[];
  gateway?: string[];
  ipRange?: string[];
  ipamDriver?: string;
}

/** opts.ValidateLabel: a name is required and may not contain blanks. */
function validateLabel(value: string): void {
  const eq = value.indexOf('=');
  const key = (eq < 0 ? value : value.slice(0, eq)).replace(/^[ \t]+/, '');
  const usage = '[OPTIONS] NETWORK';
  if (key === '') throw invalidFlag('create', usage, '--label', value, `invalid label '${value}': empty name`);
  if (/[ \t]/.test(key)) throw invalidFlag('create', usage, '--label', value, `label '${key}' contains whitespaces`);
}

/** The POST /networks/create body docker sends, field for field. */
export function networkCreateBody(name: string, f: CreateFlags): Record<string, unknown> {
  for (const l of f.label ?? []) validateLabel(l);
  let config: IpamConfig[];
  try {
    config = consolidateIpam(commaList(f.subnet), commaList(f.ipRange), commaList(f.gateway));
  } catch (e) {
    if (e instanceof IpamError) throw new CliError(e.message, 1);
    throw e;
  }
  return {
    Driver: f.driver ?? 'bridge',
    Scope: '',
    ...(f.ipv6 ? { EnableIPv6: true } : {}),
    IPAM: { Driver: f.ipamDriver ?? 'default', Options: {}, Config: config },
    Internal: Boolean(f.internal),
    Attachable: Boolean(f.attachable),
    Ingress: false,
    ConfigOnly: false,
    ConfigFrom: null,
    Options: sortedMap(keyValues(f.opt ?? [])),
    Labels: sortedMap(keyValues(f.label ?? [])),
    Name: name,
  };
}

export async function networkCreateCmd(name: string, f: CreateFlags): Promise<number> {
  const res = await api().json<{ Id: string }>({ method: 'POST', path: '/networks/create', body: networkCreateBody(name, f) });
  println(res.Id);
  return 0;
}

// ---- ls / inspect ------------------------------------------------------------------------------

export async function networkLsCmd(o: { quiet?: boolean; trunc?: boolean; filter?: string[]; format?: string }): Promise<number> {
  const filters = filtersQuery(o.filter ?? [], (spec) =>
    invalidFlag('ls', '[OPTIONS]', '-f, --filter', spec, 'bad format of filter (expected name=value)'),
  );
  const networks = await api().json<NetworkSummary[] | null>({ method: 'GET', path: '/networks', query: { filters } });
  let format = networkFormat(o.format, Boolean(o.quiet));
  if (format === 'json') format = '{{json .}}';
  try {
    out(renderRows(format, networkRows(networks ?? [], o.trunc !== false), NETWORK_HEADERS, '*network.networkContext'));
  } catch (e) {
    if (e instanceof TemplateError) throw new CliError(`template parsing error: ${e.goMessage()}`, 1);
    throw e;
  }
  return 0;
}

export async function networkInspectCmd(names: string[], o: { format?: string; verbose?: boolean }): Promise<number> {
  return inspectObjects(
    names,
    (name) => api().json({ method: 'GET', path: n(name), query: { verbose: o.verbose ? 'true' : undefined } }),
    o.format,
    (_name, e) => e.display,
  );
}

// ---- rm / prune --------------------------------------------------------------------------------

export async function networkRmCmd(names: string[], o: { force?: boolean }): Promise<number> {
  let failed = false;
  // One at a time and in order, each result printed as it comes, as docker does. (Docker
  // inspects each network first to ask before removing a swarm ingress network; berthd has none.)
  for (const name of names) {
    try {
      await api().send({ method: 'DELETE', path: n(name) });
      println(name);
    } catch (e) {
      if (e instanceof DaemonUnreachableError) throw e;
      if (o.force && e instanceof ApiError && e.isNotFound) continue;
      eprintln(e instanceof ApiError ? e.display : String(e));
      failed = true;
    }
  }
  // cli.StatusError{StatusCode: 1} without a message prints as "exit status 1".
  if (failed) throw new CliError('exit status 1', 1);
  return 0;
}

const PRUNE_WARNING = `WARNING! This will remove all custom networks not used by at least one container.
Are you sure you want to continue?`;

/**
 * command.PromptForConfirmation: "<message> [y/N] " on stdout, then one line of stdin; only
 * "y"/"Y" is yes. End of input is no; an interrupt prints a newline and is no.
 */
export function promptForConfirmation(message: string, stdin: NodeJS.ReadStream = process.stdin): Promise<boolean> {
  out(`${message} [y/N] `);
  return new Promise((resolve) => {
    let line = '';
    const finish = (answer: boolean): void => {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      stdin.off('error', onEnd);
      process.off('SIGINT', onInterrupt);
      stdin.pause();
      resolve(answer);
    };
    const decide = (): void => finish(line.replace(/\r$/, '').trim().toLowerCase() === 'y');
    const onData = (chunk: Buffer | string): void => {
      line += chunk.toString();
      const nl = line.indexOf('\n');
      if (nl >= 0) {
        line = line.slice(0, nl);
        decide();
      }
    };
    const onEnd = (): void => decide();
    const onInterrupt = (): void => {
      out('\n');
      finish(false);
    };
    stdin.on('data', onData);
    stdin.once('end', onEnd);
    stdin.once('error', onEnd);
    process.once('SIGINT', onInterrupt);
  });
}

export async function networkPruneCmd(o: { force?: boolean; filter?: string[] }): Promise<number> {
  const filters = filtersQuery(o.filter ?? [], (spec) =>
    invalidFlag('prune', '[OPTIONS]', '--filter', spec, 'bad format of filter (expected name=value)'),
  );
  // A declined prompt is docker's errdefs.Cancelled: nothing more is printed and the status is 0.
  if (!o.force && !(await promptForConfirmation(PRUNE_WARNING))) return 0;
  const report = await api().json<{ NetworksDeleted?: string[] | null }>({ method: 'POST', path: '/networks/prune', query: { filters } });
  const deleted = report?.NetworksDeleted ?? [];
  if (deleted.length > 0) out(`Deleted Networks:\n${deleted.map((d) => `${d}\n`).join('')}\n`);
  return 0;
}

// ---- connect / disconnect ----------------------------------------------------------------------

export interface ConnectFlags {
  alias?: string[];
  ip?: string;
  ip6?: string;
}

/** The POST /networks/{id}/connect body docker sends (aliases and driver options always present). */
export function networkConnectBody(container: string, f: ConnectFlags): Record<string, unknown> {
  const settings = endpointSettings();
  const ipam: Record<string, string> = {};
  if (f.ip) ipam['IPv4Address'] = f.ip;
  if (f.ip6) ipam['IPv6Address'] = f.ip6;
  return {
    Container: container,
    EndpointConfig: { ...settings, IPAMConfig: ipam, Aliases: commaList(f.alias), DriverOpts: {} },
  };
}

export async function networkConnectCmd(network: string, container: string, f: ConnectFlags): Promise<number> {
  await api().send({ method: 'POST', path: `${n(network)}/connect`, body: networkConnectBody(container, f) });
  return 0;
}

export async function networkDisconnectCmd(network: string, container: string, o: { force?: boolean }): Promise<number> {
  await api().send({ method: 'POST', path: `${n(network)}/disconnect`, body: { Container: container, Force: Boolean(o.force) } });
  return 0;
}

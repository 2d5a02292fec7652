/**
 * `run`/`create` flags → the POST /containers/create body, shaped like the docker CLI's
 * (container.Config + HostConfig + NetworkingConfig, every field docker sends, in its order),
 * so berthd sees from `berth` exactly what it sees from `docker`.
 */
import { resolve } from 'node:path';
import { ramInBytes } from '../core/units.js';
import { parseMountFlag, type MountFlag } from './mount-opt.js';

export interface ContainerFlags {
  detach?: boolean;
  rm?: boolean;
  name?: string;
  env?: string[];
  envFile?: string[];
  workdir?: string;
  user?: string;
  entrypoint?: string;
  hostname?: string;
  interactive?: boolean;
  tty?: boolean;
  network?: string;
  label?: string[];
  stopSignal?: string;
  stopTimeout?: string;
  groupAdd?: string[];
  privileged?: boolean;
  capAdd?: string[];
  capDrop?: string[];
  readOnly?: boolean;
  shmSize?: string;
  pull?: string;
  publish?: string[];
  volume?: string[];
  mount?: string[];
  volumesFrom?: string[];
  restart?: string;
  init?: boolean;
  tmpfs?: string[];
  addHost?: string[];
  dns?: string[];
  memory?: string;
  cpus?: string;
  pidsLimit?: string;
  securityOpt?: string[];
  attach?: string[];
  platform?: string;
}

export class FlagError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FlagError';
  }
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** opts.ValidateEnv: "K" takes the value from our environment when set there. */
export function expandEnv(entry: string, env: NodeJS.ProcessEnv): string {
  if (entry.includes('=')) {
    if (entry.startsWith('=')) throw new FlagError(`invalid environment variable: ${entry}`);
    return entry;
  }
  const v = env[entry];
  return v === undefined ? entry : `${entry}=${v}`;
}

/** opts.ParseEnvFile: KEY=VAL lines, '#' comments, blank lines skipped, bare KEY from our env. */
export function parseEnvFile(content: string, env: NodeJS.ProcessEnv): string[] {
  const out: string[] = [];
  const lines = content.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (const raw of lines) {
    const line = raw.replace(/^\s+/, '');
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    const key = eq >= 0 ? line.slice(0, eq) : line;
    if (key === '') throw new FlagError(`no variable name on line '${line}'`);
    if (/\s/.test(key)) throw new FlagError(`variable '${key.trimEnd()}' contains whitespaces`);
    if (eq >= 0) out.push(line);
    else {
      const v = env[line];
      if (v !== undefined) out.push(`${line}=${v}`);
    }
  }
  return out;
}

/** Adds the CAP_ prefix and upper-cases, as docker does ("net_admin" → "CAP_NET_ADMIN", "ALL" stays). */
export function normalizeCapability(cap: string): string {
  const c = cap.trim().toUpperCase();
  if (c === 'ALL') return c;
  return c.startsWith('CAP_') ? c : `CAP_${c}`;
}

export function parseLabels(labels: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of labels) {
    const eq = l.indexOf('=');
    if (eq < 0) out[l] = '';
    else out[l.slice(0, eq)] = l.slice(eq + 1);
  }
  return out;
}

export function parseRestartPolicy(value: string | undefined): { Name: string; MaximumRetryCount: number } {
  if (value === undefined || value === '' || value === 'no') return { Name: 'no', MaximumRetryCount: 0 };
  const [name = '', count] = value.split(':');
  if (!['always', 'unless-stopped', 'on-failure', 'no'].includes(name)) {
    throw new FlagError(`invalid restart policy '${name}'`);
  }
  if (count !== undefined) {
    if (name !== 'on-failure') throw new FlagError(`invalid restart policy format: maximum retry count can only be used with 'on-failure'`);
    const n = Number(count);
    if (!Number.isInteger(n) || n < 0) throw new FlagError(`invalid restart policy format: maximum retry count must be an integer`);
    return { Name: name, MaximumRetryCount: n };
  }
  return { Name: name, MaximumRetryCount: 0 };
}

function expandRange(spec: string): number[] {
  const [a = '', b] = spec.split('-');
  const start = Number(a);
  const end = b === undefined ? start : Number(b);
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start || end > 65535) {
    throw new FlagError(`invalid containerPort: ${spec}`);
  }
  return Array.from({ length: end - start + 1 }, (_x, i) => start + i);
}

/** nat.ParsePortSpecs for -p: "[ip:][hostPort:]containerPort[/proto]". */
export function parsePublish(specs: readonly string[]): {
  exposed: Record<string, Record<string, never>>;
  bindings: Record<string, Array<{ HostIp: string; HostPort: string }>>;
} {
  const exposed: Record<string, Record<string, never>> = {};
  const bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  for (const spec of specs) {
    const slash = spec.lastIndexOf('/');
    let rest = spec;
    let proto = 'tcp';
    if (slash >= 0 && !spec.slice(slash).includes(':')) {
      proto = spec.slice(slash + 1).toLowerCase() || 'tcp';
      rest = spec.slice(0, slash);
    }
    let ip = '';
    let hostPort = '';
    let containerPort = rest;
    const lastColon = rest.lastIndexOf(':');
    if (lastColon >= 0) {
      containerPort = rest.slice(lastColon + 1);
      const left = rest.slice(0, lastColon);
      const hostColon = left.startsWith('[') ? left.indexOf(']:') + 1 : left.lastIndexOf(':');
      if (hostColon > 0 && left.startsWith('[')) {
        ip = left.slice(1, hostColon - 1);
        hostPort = left.slice(hostColon + 1);
      } else if (hostColon >= 0) {
        ip = left.slice(0, hostColon);
        hostPort = left.slice(hostColon + 1);
      } else {
        hostPort = left;
      }
    }
    if (containerPort === '') throw new FlagError(`no port specified: ${spec}<empty>`);
    const cports = expandRange(containerPort);
    const hports = hostPort === '' ? [] : expandRange(hostPort);
    if (hports.length > 1 && hports.length !== cports.length) {
      throw new FlagError(`invalid ranges specified for container and host Ports: ${containerPort} and ${hostPort}`);
    }
    cports.forEach((p, i) => {
      const key = `${p}/${proto}`;
      exposed[key] = {};
      const hp = hports.length === 0 ? '' : String(hports.length === 1 && cports.length > 1 ? hostPort : hports[i]);
      (bindings[key] ??= []).push({ HostIp: ip, HostPort: hp });
    });
  }
  return { exposed, bindings };
}

function endpointSettings(): Json {
  return {
    IPAMConfig: null,
    Links: null,
    Aliases: null,
    MacAddress: '',
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

export interface CreateRequest {
  /** Query parameters for POST /containers/create. */
  query: { name?: string; platform?: string };
  body: Record<string, Json>;
  /** What the CLI attaches to when not detached. */
  attach: { stdin: boolean; stdout: boolean; stderr: boolean };
}

/**
 * Builds the create request. `envFileContents` maps each --env-file path to its text (read by
 * the caller); `consoleSize` is [rows, cols] of our terminal when -t and stdout is a TTY.
 */
export function buildCreateRequest(
  image: string,
  cmd: readonly string[],
  f: ContainerFlags,
  ctx: {
    env: NodeJS.ProcessEnv;
    envFileContents?: ReadonlyMap<string, string>;
    consoleSize?: [number, number];
    /** `run` (attaches unless -d) or `create` (records attach flags, never attaches). */
    command: 'run' | 'create';
    entrypointGiven?: boolean;
  },
): CreateRequest {
  const detach = ctx.command === 'run' ? Boolean(f.detach) : false;
  const attachList = (f.attach ?? []).map((a) => a.toLowerCase());
  for (const a of attachList) {
    if (!['stdin', 'stdout', 'stderr'].includes(a)) {
      throw new FlagError(`invalid argument "${a}" for "-a, --attach" flag: valid streams are STDIN, STDOUT and STDERR`);
    }
  }
  let attachStdin = attachList.includes('stdin');
  let attachStdout = attachList.includes('stdout');
  let attachStderr = attachList.includes('stderr');
  if (f.interactive) attachStdin = true;
  if (attachList.length === 0) {
    attachStdout = true;
    attachStderr = true;
  }
  if (detach) {
    if (attachList.length > 0) throw new FlagError('Conflicting options: -a and -d');
    attachStdin = false;
    attachStdout = false;
    attachStderr = false;
  }

  const env: string[] = [];
  for (const file of f.envFile ?? []) {
    const text = ctx.envFileContents?.get(file);
    if (text === undefined) throw new FlagError(`open ${file}: no such file or directory`);
    env.push(...parseEnvFile(text, ctx.env));
  }
  for (const e of f.env ?? []) env.push(expandEnv(e, ctx.env));

  let entrypoint: Json = null;
  if (f.entrypoint !== undefined && f.entrypoint !== '') entrypoint = [f.entrypoint];
  else if (f.entrypoint === '' || ctx.entrypointGiven) entrypoint = [''];

  const { exposed, bindings } = parsePublish(f.publish ?? []);
  const binds: string[] = [];
  const volumes: Record<string, Json> = {};
  for (const v of f.volume ?? []) {
    if (v.trim() === '') throw new FlagError(`invalid argument "${v}" for "-v, --volume" flag: invalid empty volume spec`);
    const colon = v.indexOf(':');
    if (colon < 0) {
      volumes[v] = {};
      continue;
    }
    // Like the docker CLI: a `./dir` (or `.`) host path is made absolute here, on the client.
    const host = v.slice(0, colon);
    binds.push(host === '.' || host.startsWith('./') ? `${resolve(host)}${v.slice(colon)}` : v);
  }
  const mounts: MountFlag[] = (f.mount ?? []).map((m) => parseMountFlag(m));
  const tmpfs: Record<string, string> = {};
  for (const t of f.tmpfs ?? []) {
    const i = t.indexOf(':');
    if (i < 0) tmpfs[t] = '';
    else tmpfs[t.slice(0, i)] = t.slice(i + 1);
  }

  let shmSize = 0;
  if (f.shmSize !== undefined) {
    try {
      shmSize = ramInBytes(f.shmSize);
    } catch {
      throw new FlagError(`invalid argument "${f.shmSize}" for "--shm-size" flag: invalid size: '${f.shmSize}'`);
    }
  }
  let memory = 0;
  if (f.memory !== undefined) {
    try {
      memory = ramInBytes(f.memory);
    } catch {
      throw new FlagError(`invalid argument "${f.memory}" for "-m, --memory" flag: invalid size: '${f.memory}'`);
    }
  }
  let nanoCpus = 0;
  if (f.cpus !== undefined) {
    const c = Number(f.cpus);
    if (!Number.isFinite(c) || c < 0) throw new FlagError(`invalid argument "${f.cpus}" for "--cpus" flag: failed to parse ${f.cpus} as a rational number`);
    nanoCpus = Math.round(c * 1e9);
  }
  let stopTimeout: number | undefined;
  if (f.stopTimeout !== undefined) {
    const n = Number(f.stopTimeout);
    if (!Number.isInteger(n)) {
      throw new FlagError(`invalid argument "${f.stopTimeout}" for "--stop-timeout" flag: strconv.ParseInt: parsing "${f.stopTimeout}": invalid syntax`);
    }
    stopTimeout = n;
  }
  let pidsLimit = 0;
  if (f.pidsLimit !== undefined) {
    const n = Number(f.pidsLimit);
    if (!Number.isInteger(n)) throw new FlagError(`invalid argument "${f.pidsLimit}" for "--pids-limit" flag: strconv.ParseInt: parsing "${f.pidsLimit}": invalid syntax`);
    pidsLimit = n;
  }

  const network = f.network && f.network !== '' ? f.network : 'default';
  const tty = Boolean(f.tty);
  const openStdin = Boolean(f.interactive);

  const body: Record<string, Json> = {
    Hostname: f.hostname ?? '',
    Domainname: '',
    User: f.user ?? '',
    AttachStdin: attachStdin,
    AttachStdout: attachStdout,
    AttachStderr: attachStderr,
  };
  if (Object.keys(exposed).length > 0) body['ExposedPorts'] = exposed;
  Object.assign(body, {
    Tty: tty,
    OpenStdin: openStdin,
    StdinOnce: openStdin && attachStdin && !detach,
    Env: env.length > 0 ? env : null,
    Cmd: cmd.length > 0 ? [...cmd] : null,
    Image: image,
    Volumes: volumes,
    WorkingDir: f.workdir ?? '',
    Entrypoint: entrypoint,
    OnBuild: null,
    Labels: parseLabels(f.label ?? []),
  });
  if (f.stopSignal !== undefined && f.stopSignal !== '') body['StopSignal'] = f.stopSignal;
  if (stopTimeout !== undefined) body['StopTimeout'] = stopTimeout;

  const hostConfig: Record<string, Json> = {
    Binds: binds.length > 0 ? binds : null,
    ContainerIDFile: '',
    LogConfig: { Type: '', Config: {} },
    NetworkMode: network,
    PortBindings: bindings,
    RestartPolicy: parseRestartPolicy(f.restart),
    AutoRemove: Boolean(f.rm),
    VolumeDriver: '',
    VolumesFrom: f.volumesFrom && f.volumesFrom.length > 0 ? [...f.volumesFrom] : null,
    ConsoleSize: tty && ctx.consoleSize ? [...ctx.consoleSize] : [0, 0],
    CapAdd: f.capAdd && f.capAdd.length > 0 ? f.capAdd.map(normalizeCapability) : null,
    CapDrop: f.capDrop && f.capDrop.length > 0 ? f.capDrop.map(normalizeCapability) : null,
    CgroupnsMode: '',
    Dns: f.dns ?? [],
    DnsOptions: [],
    DnsSearch: [],
    ExtraHosts: f.addHost && f.addHost.length > 0 ? f.addHost.map((h) => h.replace('=', ':')) : null,
    GroupAdd: f.groupAdd && f.groupAdd.length > 0 ? [...f.groupAdd] : null,
    IpcMode: '',
    Cgroup: '',
    Links: null,
    OomScoreAdj: 0,
    PidMode: '',
    Privileged: Boolean(f.privileged),
    PublishAllPorts: false,
    ReadonlyRootfs: Boolean(f.readOnly),
    SecurityOpt: f.securityOpt && f.securityOpt.length > 0 ? [...f.securityOpt] : null,
  };
  if (Object.keys(tmpfs).length > 0) hostConfig['Tmpfs'] = tmpfs;
  Object.assign(hostConfig, {
    UTSMode: '',
    UsernsMode: '',
    ShmSize: shmSize,
    Isolation: '',
    CpuShares: 0,
    Memory: memory,
    NanoCpus: nanoCpus,
    CgroupParent: '',
    BlkioWeight: 0,
    BlkioWeightDevice: [],
    BlkioDeviceReadBps: [],
    BlkioDeviceWriteBps: [],
    BlkioDeviceReadIOps: [],
    BlkioDeviceWriteIOps: [],
    CpuPeriod: 0,
    CpuQuota: 0,
    CpuRealtimePeriod: 0,
    CpuRealtimeRuntime: 0,
    CpusetCpus: '',
    CpusetMems: '',
    Devices: [],
    DeviceCgroupRules: null,
    DeviceRequests: null,
    MemoryReservation: 0,
    MemorySwap: 0,
    MemorySwappiness: -1,
    OomKillDisable: false,
    PidsLimit: pidsLimit,
    Ulimits: [],
    CpuCount: 0,
    CpuPercent: 0,
    IOMaximumIOps: 0,
    IOMaximumBandwidth: 0,
    ...(mounts.length > 0 ? { Mounts: mounts as unknown as Json } : {}),
    MaskedPaths: null,
    ReadonlyPaths: null,
  });
  if (f.init) hostConfig['Init'] = true;
  body['HostConfig'] = hostConfig;
  body['NetworkingConfig'] = { EndpointsConfig: { [network]: endpointSettings() } };

  const query: CreateRequest['query'] = {};
  if (f.name !== undefined && f.name !== '') query.name = f.name;
  if (f.platform !== undefined && f.platform !== '') query.platform = f.platform;
  return { query, body, attach: { stdin: attachStdin, stdout: attachStdout, stderr: attachStderr } };
}

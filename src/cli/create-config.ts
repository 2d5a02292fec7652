/**
 * `run`/`create` flags → the POST /containers/create body, shaped like the docker CLI's
 * (container.Config + HostConfig + NetworkingConfig, every field docker sends, in its order),
 * so berthd sees from `berth` exactly what it sees from `docker`.
 */
import { resolve } from 'node:path';
import { DEVICE_CGROUP_RULE, kvStringsToMap } from '../core/go-parse.js';
import { parseGoDuration, ramInBytes } from '../core/units.js';
import { FlagError } from './flag-error.js';
import { parseMountFlag, type MountFlag } from './mount-opt.js';
import { networkingConfig, validateDnsSearch } from './network-opts.js';
import { parsePublish } from './port-specs.js';

export { FlagError };

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
  labelFile?: string[];
  stopSignal?: string;
  stopTimeout?: string;
  groupAdd?: string[];
  privileged?: boolean;
  capAdd?: string[];
  capDrop?: string[];
  readOnly?: boolean;
  shmSize?: string;
  pid?: string;
  ipc?: string;
  uts?: string;
  cgroupns?: string;
  pull?: string;
  /** --cidfile: where run/create write the new container's ID. */
  cidfile?: string;
  publish?: string[];
  volume?: string[];
  mount?: string[];
  volumesFrom?: string[];
  restart?: string;
  init?: boolean;
  tmpfs?: string[];
  addHost?: string[];
  dns?: string[];
  dnsSearch?: string[];
  dnsOption?: string[];
  publishAll?: boolean;
  expose?: string[];
  networkAlias?: string[];
  ip?: string;
  ip6?: string;
  macAddress?: string;
  memory?: string;
  memorySwap?: string;
  memoryReservation?: string;
  cpus?: string;
  cpuShares?: string;
  cpuQuota?: string;
  cpuPeriod?: string;
  cpusetCpus?: string;
  cpusetMems?: string;
  pidsLimit?: string;
  ulimit?: string[];
  oomKillDisable?: boolean;
  oomScoreAdj?: string;
  device?: string[];
  sysctl?: string[];
  healthCmd?: string;
  healthInterval?: string;
  healthTimeout?: string;
  healthStartPeriod?: string;
  healthStartInterval?: string;
  healthRetries?: string;
  /** commander's negation of --no-healthcheck: false when given. */
  healthcheck?: boolean;
  securityOpt?: string[];
  logDriver?: string;
  logOpt?: string[];
  cgroupParent?: string;
  quiet?: boolean;
  domainname?: string;
  memorySwappiness?: string;
  volumeDriver?: string;
  runtime?: string;
  isolation?: string;
  link?: string[];
  storageOpt?: string[];
  cpuRtPeriod?: string;
  cpuRtRuntime?: string;
  kernelMemory?: string;
  userns?: string;
  deviceCgroupRule?: string[];
  annotation?: string[];
  blkioWeight?: string;
  blkioWeightDevice?: string[];
  deviceReadBps?: string[];
  deviceWriteBps?: string[];
  deviceReadIops?: string[];
  deviceWriteIops?: string[];
  attach?: string[];
  platform?: string;
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
  return parseKeyValueFile(content, (key) => env[key]);
}

/** A --label-file (kvfile.Parse without a lookup): as an env file, but a bare KEY is dropped. */
export function parseLabelFile(content: string): string[] {
  return parseKeyValueFile(content, () => undefined);
}

function parseKeyValueFile(content: string, lookup: (key: string) => string | undefined): string[] {
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
      const v = lookup(line);
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

/**
 * docker's opts.ParseRestartPolicy: only the form is checked here ("name[:count]", count an
 * integer); the policy itself is the daemon's to judge, so its words reach the user.
 */
export function parseRestartPolicy(value: string | undefined): { Name: string; MaximumRetryCount: number } {
  if (value === undefined || value === '') return { Name: 'no', MaximumRetryCount: 0 };
  const colon = value.indexOf(':');
  const name = colon < 0 ? value : value.slice(0, colon);
  const count = colon < 0 ? '' : value.slice(colon + 1);
  if (colon >= 0 && name === '') throw new FlagError('invalid restart policy format: no policy provided before colon');
  if (count === '') return { Name: name, MaximumRetryCount: 0 };
  if (!/^[+-]?\d+$/.test(count)) throw new FlagError('invalid restart policy format: maximum retry count must be an integer');
  return { Name: name, MaximumRetryCount: Number(count) };
}

/** A flag's integer value, with docker's (pflag's strconv) wording when it is not one. */
export function intFlag(value: string | undefined, flag: string): number {
  if (value === undefined) return 0;
  const n = Number(value);
  if (!/^[-+]?\d+$/.test(value) || !Number.isSafeInteger(n)) throw new FlagError(`invalid argument "${value}" for "${flag}" flag: strconv.ParseInt: parsing "${value}": invalid syntax`);
  return n;
}

/** A `--blkio-weight` (pflag's Uint16). */
export function uint16Flag(value: string | undefined, flag: string): number {
  if (value === undefined) return 0;
  if (!/^\d+$/.test(value)) throw new FlagError(`invalid argument "${value}" for "${flag}" flag: strconv.ParseUint: parsing "${value}": invalid syntax`);
  const n = Number(value);
  if (n > 65535) throw new FlagError(`invalid argument "${value}" for "${flag}" flag: strconv.ParseUint: parsing "${value}": value out of range`);
  return n;
}

/** `DEVICE:VALUE` as docker's opts.Validate{Weight,ThrottleBps,ThrottleIOps}Device split and check it. */
function blkioDeviceFlag(value: string, flag: string, parse: (v: string) => number | undefined, invalid: string): { Path: string; value: number } {
  const fail = (message: string): FlagError => new FlagError(`invalid argument "${value}" for "${flag}" flag: ${message}`);
  const colon = value.indexOf(':');
  const path = colon < 0 ? '' : value.slice(0, colon);
  if (path === '') throw fail(`bad format: ${value}`);
  if (!path.startsWith('/dev/')) throw fail(`bad format for device path: ${value}`);
  const parsed = parse(value.slice(colon + 1));
  if (parsed === undefined) throw fail(`${invalid.replace('%s', value)}`);
  return { Path: path, value: parsed };
}

/** `--blkio-weight-device /dev/sda:200` ({Path, Weight}; 0 or 10–1000). */
export function parseWeightDeviceFlag(value: string): { Path: string; Weight: number } {
  const weight = (v: string): number | undefined => (/^\d+$/.test(v) && Number(v) <= 65535 && !(Number(v) > 0 && (Number(v) < 10 || Number(v) > 1000)) ? Number(v) : undefined);
  const d = blkioDeviceFlag(value, '--blkio-weight-device', weight, 'invalid weight for device: %s');
  return { Path: d.Path, Weight: d.value };
}

/** `--device-read-bps /dev/sda:1mb` and `--device-write-bps` ({Path, Rate}; units as RAMInBytes). */
export function parseThrottleBpsFlag(value: string, flag: string): { Path: string; Rate: number } {
  const rate = (v: string): number | undefined => {
    try {
      return ramInBytes(v);
    } catch {
      return undefined;
    }
  };
  const d = blkioDeviceFlag(value, flag, rate, 'invalid rate for device: %s. The correct format is <device-path>:<number>[<unit>]. Number must be a positive integer. Unit is optional and can be kb, mb, or gb');
  return { Path: d.Path, Rate: d.value };
}

/** `--device-read-iops /dev/sda:100` and `--device-write-iops` ({Path, Rate}). */
export function parseThrottleIOpsFlag(value: string, flag: string): { Path: string; Rate: number } {
  const rate = (v: string): number | undefined => (/^\d+$/.test(v) && Number.isSafeInteger(Number(v)) ? Number(v) : undefined);
  const d = blkioDeviceFlag(value, flag, rate, 'invalid rate for device: %s. The correct format is <device-path>:<number>. Number must be a positive integer');
  return { Path: d.Path, Rate: d.value };
}

/** A size flag (`64m`); `-1` where docker allows it (--memory-swap). */
export function sizeFlag(value: string | undefined, flag: string, allowUnlimited = false): number {
  if (value === undefined) return 0;
  if (allowUnlimited && value === '-1') return -1;
  try {
    return ramInBytes(value);
  } catch {
    throw new FlagError(`invalid argument "${value}" for "${flag}" flag: invalid size: '${value}'`);
  }
}

/** `--ulimit nofile=1024[:2048]` as docker sends it ({Name, Hard, Soft}; `unlimited` = -1). */
export function parseUlimitFlag(value: string): { Name: string; Hard: number; Soft: number } {
  const eq = value.indexOf('=');
  const bad = (why: string): FlagError => new FlagError(`invalid argument "${value}" for "--ulimit" flag: ${why}`);
  if (eq < 0) throw bad(`invalid ulimit argument: ${value}`);
  const num = (s: string): number => {
    if (s === 'unlimited' || s === '-1') return -1;
    if (!/^\d+$/.test(s)) throw bad(`invalid ulimit argument: ${value}`);
    return Number(s);
  };
  const [soft = '', hard, extra] = value.slice(eq + 1).split(':');
  if (extra !== undefined) throw bad(`too many limit value arguments - ${value.slice(eq + 1)}, can only have up to two, \`soft[:hard]\``);
  const s = num(soft);
  const h = hard === undefined ? s : num(hard);
  if (h !== -1 && (s === -1 || s > h)) throw bad(`ulimit soft limit must be less than or equal to hard limit: ${s} > ${h}`);
  return { Name: value.slice(0, eq), Hard: h, Soft: s };
}

/** `--device HOST[:CONTAINER][:PERMS]` (docker's parseDevice). */
export function parseDeviceFlag(value: string): { PathOnHost: string; PathInContainer: string; CgroupPermissions: string } {
  const parts = value.split(':');
  const validMode = (m: string): boolean => /^[rwm]{1,3}$/.test(m) && new Set(m).size === m.length;
  let [src = '', dst = '', perms = 'rwm'] = parts;
  if (parts.length === 2 && validMode(parts[1] ?? '')) {
    perms = parts[1] ?? 'rwm';
    dst = src;
  }
  if (parts.length > 3 || src === '') throw new FlagError(`invalid argument "${value}" for "--device" flag: bad format for path: ${value}`);
  if (!validMode(perms)) throw new FlagError(`invalid argument "${value}" for "--device" flag: bad mode specified: ${perms}`);
  return { PathOnHost: src, PathInContainer: dst || src, CgroupPermissions: perms };
}

/** The --health-* flags as Config.Healthcheck (durations in ns), or undefined when none is given. */
export function healthcheckFromFlags(f: ContainerFlags): Record<string, Json> | undefined {
  const duration = (value: string | undefined, flag: string): number => {
    if (value === undefined) return 0;
    const ms = parseGoDuration(value);
    if (ms === undefined) throw new FlagError(`invalid argument "${value}" for "${flag}" flag: time: invalid duration "${value}"`);
    if (ms < 0) throw new FlagError(`${flag} cannot be negative`);
    return Math.round(ms * 1e6);
  };
  const interval = duration(f.healthInterval, '--health-interval');
  const timeout = duration(f.healthTimeout, '--health-timeout');
  const startPeriod = duration(f.healthStartPeriod, '--health-start-period');
  const startInterval = duration(f.healthStartInterval, '--health-start-interval');
  const retries = intFlag(f.healthRetries, '--health-retries');
  if (retries < 0) throw new FlagError('--health-retries cannot be negative');
  const anyHealth = f.healthCmd !== undefined || interval || timeout || startPeriod || startInterval || retries;
  if (f.healthcheck === false) {
    if (anyHealth) throw new FlagError('--no-healthcheck conflicts with --health-* options');
    return { Test: ['NONE'] };
  }
  if (!anyHealth) return undefined;
  const h: Record<string, Json> = {};
  if (f.healthCmd) h['Test'] = ['CMD-SHELL', f.healthCmd];
  if (interval) h['Interval'] = interval;
  if (timeout) h['Timeout'] = timeout;
  if (startPeriod) h['StartPeriod'] = startPeriod;
  if (startInterval) h['StartInterval'] = startInterval;
  if (retries) h['Retries'] = retries;
  return h;
}

export interface CreateRequest {
  /** Query parameters for POST /containers/create. */
  query: { name?: string; platform?: string };
  body: Record<string, Json>;
  /** What the CLI attaches to when not detached. */
  attach: { stdin: boolean; stdout: boolean; stderr: boolean };
}

/**
 * Builds the create request. `fileContents` maps each --env-file and --label-file path to its
 * text (read by the caller); `consoleSize` is [rows, cols] of our terminal when -t and stdout is a TTY.
 */
export function buildCreateRequest(
  image: string,
  cmd: readonly string[],
  f: ContainerFlags,
  ctx: {
    env: NodeJS.ProcessEnv;
    fileContents?: ReadonlyMap<string, string>;
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

  const readFile = (file: string, parse: (text: string) => string[]): string[] => {
    const text = ctx.fileContents?.get(file);
    if (text === undefined) throw new FlagError(`open ${file}: no such file or directory`);
    try {
      return parse(text);
    } catch (e) {
      // docker names a bad label file an env file too: both go through opts.ParseEnvFile's wrapper.
      if (e instanceof FlagError) throw new FlagError(`invalid env file (${file}): ${e.message}`);
      throw e;
    }
  };
  const env: string[] = [];
  for (const file of f.envFile ?? []) env.push(...readFile(file, (text) => parseEnvFile(text, ctx.env)));
  for (const e of f.env ?? []) env.push(expandEnv(e, ctx.env));
  // Labels from files first, so a --label of the same key wins (opts.ReadKVStrings).
  const labelFileLines = (f.labelFile ?? []).flatMap((file) => readFile(file, parseLabelFile));

  let entrypoint: Json = null;
  if (f.entrypoint !== undefined && f.entrypoint !== '') entrypoint = [f.entrypoint];
  else if (f.entrypoint === '' || ctx.entrypointGiven) entrypoint = [''];

  const { exposed, bindings } = parsePublish(f.publish ?? [], f.expose ?? []);
  const dnsSearch = (f.dnsSearch ?? []).map(validateDnsSearch);
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
  const pidsLimit = intFlag(f.pidsLimit, '--pids-limit');
  const restartPolicy = parseRestartPolicy(f.restart);
  if (f.rm && restartPolicy.Name !== 'no') throw new FlagError('conflicting options: cannot specify both --restart and --rm');
  const sysctls: Record<string, string> = {};
  for (const s of f.sysctl ?? []) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new FlagError(`invalid argument "${s}" for "--sysctl" flag: sysctl '${s}' is not allowed`);
    sysctls[s.slice(0, eq)] = s.slice(eq + 1);
  }
  const healthcheck = healthcheckFromFlags(f);
  // --kernel-memory is read and checked but not sent: the docker CLI drops it for API 1.42 and
  // later (the daemon ignores it there), so both CLIs run the container without it.
  sizeFlag(f.kernelMemory, '--kernel-memory');
  const logOpts = kvStringsToMap(f.logOpt ?? []);
  if (f.logDriver === 'none' && (f.logOpt ?? []).length > 0) throw new FlagError('invalid logging opts for driver none');

  const network = networkingConfig(f);
  const tty = Boolean(f.tty);
  const openStdin = Boolean(f.interactive);

  const body: Record<string, Json> = {
    Hostname: f.hostname ?? '',
    Domainname: f.domainname ?? '',
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
    ...(healthcheck ? { Healthcheck: healthcheck } : {}),
    Image: image,
    Volumes: volumes,
    WorkingDir: f.workdir ?? '',
    Entrypoint: entrypoint,
    OnBuild: null,
    Labels: kvStringsToMap([...labelFileLines, ...(f.label ?? [])]),
  });
  if (f.stopSignal !== undefined && f.stopSignal !== '') body['StopSignal'] = f.stopSignal;
  if (stopTimeout !== undefined) body['StopTimeout'] = stopTimeout;

  const hostConfig: Record<string, Json> = {
    Binds: binds.length > 0 ? binds : null,
    ContainerIDFile: '',
    LogConfig: { Type: f.logDriver ?? '', Config: logOpts },
    NetworkMode: network.mode,
    PortBindings: bindings,
    RestartPolicy: restartPolicy,
    AutoRemove: Boolean(f.rm),
    VolumeDriver: f.volumeDriver ?? '',
    VolumesFrom: f.volumesFrom && f.volumesFrom.length > 0 ? [...f.volumesFrom] : null,
    ConsoleSize: tty && ctx.consoleSize ? [...ctx.consoleSize] : [0, 0],
    CapAdd: f.capAdd && f.capAdd.length > 0 ? f.capAdd.map(normalizeCapability) : null,
    CapDrop: f.capDrop && f.capDrop.length > 0 ? f.capDrop.map(normalizeCapability) : null,
    CgroupnsMode: namespaceMode(f.cgroupns, 'cgroupns'),
    Dns: f.dns ?? [],
    DnsOptions: f.dnsOption ?? [],
    DnsSearch: dnsSearch,
    ExtraHosts: f.addHost && f.addHost.length > 0 ? f.addHost.map((h) => h.replace('=', ':')) : null,
    GroupAdd: f.groupAdd && f.groupAdd.length > 0 ? [...f.groupAdd] : null,
    IpcMode: f.ipc ?? '',
    Cgroup: '',
    Links: f.link && f.link.length > 0 ? [...f.link] : null,
    OomScoreAdj: intFlag(f.oomScoreAdj, '--oom-score-adj'),
    PidMode: namespaceMode(f.pid, 'pid'),
    Privileged: Boolean(f.privileged),
    PublishAllPorts: Boolean(f.publishAll),
    ReadonlyRootfs: Boolean(f.readOnly),
    // systempaths=unconfined is the client's to turn into empty masked and read-only path lists
    // (docker's parseSystemPaths); the daemon never sees it.
    SecurityOpt: f.securityOpt && f.securityOpt.length > 0 ? f.securityOpt.filter((o) => o !== 'systempaths=unconfined') : null,
  };
  if (f.userns !== undefined && f.userns !== '' && f.userns.split(':')[0] !== 'host') throw new FlagError('--userns: invalid USER mode');
  const systemPathsUnconfined = (f.securityOpt ?? []).includes('systempaths=unconfined');
  for (const rule of f.deviceCgroupRule ?? []) {
    if (!DEVICE_CGROUP_RULE.test(rule)) throw new FlagError(`invalid argument "${rule}" for "--device-cgroup-rule" flag: invalid device cgroup format '${rule}'`);
  }
  const annotations = kvStringsToMap(f.annotation ?? []);
  if (Object.keys(annotations).length > 0) hostConfig['Annotations'] = annotations;
  const storageOpt: Record<string, string> = {};
  for (const opt of f.storageOpt ?? []) {
    const eq = opt.indexOf('=');
    if (eq < 0) throw new FlagError('invalid storage option');
    storageOpt[opt.slice(0, eq)] = opt.slice(eq + 1);
  }
  if (Object.keys(storageOpt).length > 0) hostConfig['StorageOpt'] = storageOpt;
  if (Object.keys(tmpfs).length > 0) hostConfig['Tmpfs'] = tmpfs;
  Object.assign(hostConfig, {
    UTSMode: namespaceMode(f.uts, 'uts'),
    UsernsMode: f.userns ?? '',
    ShmSize: shmSize,
  });
  if (Object.keys(sysctls).length > 0) hostConfig['Sysctls'] = sysctls;
  if (f.runtime) hostConfig['Runtime'] = f.runtime;
  Object.assign(hostConfig, {
    Isolation: f.isolation ?? '',
    CpuShares: intFlag(f.cpuShares, '--cpu-shares'),
    Memory: memory,
    NanoCpus: nanoCpus,
    CgroupParent: f.cgroupParent ?? '',
    BlkioWeight: uint16Flag(f.blkioWeight, '--blkio-weight'),
    BlkioWeightDevice: (f.blkioWeightDevice ?? []).map(parseWeightDeviceFlag),
    BlkioDeviceReadBps: (f.deviceReadBps ?? []).map((v) => parseThrottleBpsFlag(v, '--device-read-bps')),
    BlkioDeviceWriteBps: (f.deviceWriteBps ?? []).map((v) => parseThrottleBpsFlag(v, '--device-write-bps')),
    BlkioDeviceReadIOps: (f.deviceReadIops ?? []).map((v) => parseThrottleIOpsFlag(v, '--device-read-iops')),
    BlkioDeviceWriteIOps: (f.deviceWriteIops ?? []).map((v) => parseThrottleIOpsFlag(v, '--device-write-iops')),
    CpuPeriod: intFlag(f.cpuPeriod, '--cpu-period'),
    CpuQuota: intFlag(f.cpuQuota, '--cpu-quota'),
    CpuRealtimePeriod: intFlag(f.cpuRtPeriod, '--cpu-rt-period'),
    CpuRealtimeRuntime: intFlag(f.cpuRtRuntime, '--cpu-rt-runtime'),
    CpusetCpus: f.cpusetCpus ?? '',
    CpusetMems: f.cpusetMems ?? '',
    Devices: (f.device ?? []).map(parseDeviceFlag),
    DeviceCgroupRules: f.deviceCgroupRule && f.deviceCgroupRule.length > 0 ? [...f.deviceCgroupRule] : null,
    DeviceRequests: null,
    MemoryReservation: sizeFlag(f.memoryReservation, '--memory-reservation'),
    MemorySwap: sizeFlag(f.memorySwap, '--memory-swap', true),
    MemorySwappiness: f.memorySwappiness === undefined ? -1 : intFlag(f.memorySwappiness, '--memory-swappiness'),
    OomKillDisable: Boolean(f.oomKillDisable),
    PidsLimit: pidsLimit,
    Ulimits: (f.ulimit ?? []).map(parseUlimitFlag),
    CpuCount: 0,
    CpuPercent: 0,
    IOMaximumIOps: 0,
    IOMaximumBandwidth: 0,
    ...(mounts.length > 0 ? { Mounts: mounts as unknown as Json } : {}),
    MaskedPaths: systemPathsUnconfined ? [] : null,
    ReadonlyPaths: systemPathsUnconfined ? [] : null,
  });
  if (f.init) hostConfig['Init'] = true;
  body['HostConfig'] = hostConfig;
  body['NetworkingConfig'] = network.config;

  const query: CreateRequest['query'] = {};
  if (f.name !== undefined && f.name !== '') query.name = f.name;
  if (f.platform !== undefined && f.platform !== '') query.platform = f.platform;
  return { query, body, attach: { stdin: attachStdin, stdout: attachStdout, stderr: attachStderr } };
}

/**
 * --pid, --uts and --cgroupns as the docker CLI checks them (PidMode.Valid() and its kin)
 * before sending; --ipc goes to the daemon unchecked, as the docker CLI leaves it.
 */
function namespaceMode(value: string | undefined, flag: 'pid' | 'uts' | 'cgroupns'): string {
  const mode = value ?? '';
  const valid = mode === '' || mode === 'host' || (flag === 'pid' && /^container:.+/.test(mode)) || (flag === 'cgroupns' && mode === 'private');
  if (!valid) throw new FlagError(`--${flag}: invalid ${flag === 'cgroupns' ? 'CGROUP' : flag.toUpperCase()} mode`);
  return mode;
}

/**
 * Resource limits of a container (HostConfig.Resources as berth keeps them): dockerd's
 * validation (daemon/daemon_unix.go verifyPlatformContainerResources, adaptContainerSettings,
 * container.UpdateContainer) and their mapping into the OCI spec (daemon/oci_linux.go
 * WithResources, WithRlimits).
 */
import { conflict, invalidArgument } from '../core/errors.js';
import { existsSync } from 'node:fs';
import { readTextIfPresent } from '../core/read-text.js';
import type { LinuxBlockIO, LinuxResources, LinuxThrottleDevice, POSIXRlimit } from '../oci/runtime-spec.js';

export interface Ulimit {
  /** `nofile`, `nproc`, … (go-units names, without RLIMIT_). */
  name: string;
  /** -1 = unlimited. */
  soft: number;
  hard: number;
}

export interface DeviceMapping {
  pathOnHost: string;
  pathInContainer: string;
  /** A subset of `rwm`. */
  cgroupPermissions: string;
}

/** `--device-read-bps /dev/sda:1mb` and the like: a block device by path and its limit (bytes or IOs per second). */
export interface BlkioDeviceRate {
  path: string;
  rate: number;
}

/** `--blkio-weight-device /dev/sda:200`. */
export interface BlkioDeviceWeight {
  path: string;
  weight: number;
}

/** The block I/O fields; absent in records made before berth had them (no limits). */
export interface BlkioResources {
  /** 10–1000; 0 = not set. */
  blkioWeight?: number;
  blkioWeightDevice?: BlkioDeviceWeight[];
  blkioDeviceReadBps?: BlkioDeviceRate[];
  blkioDeviceWriteBps?: BlkioDeviceRate[];
  blkioDeviceReadIOps?: BlkioDeviceRate[];
  blkioDeviceWriteIOps?: BlkioDeviceRate[];
}

export interface ContainerResources extends BlkioResources {
  /** Bytes; 0 = no limit. */
  memory: number;
  /** Memory + swap in bytes; -1 = unlimited swap, 0 = not set. */
  memorySwap: number;
  memoryReservation: number;
  /** 0–100; -1 = not set. */
  memorySwappiness: number;
  /** CPUs × 1e9 (`--cpus`). */
  nanoCpus: number;
  cpuShares: number;
  /** Microseconds; -1 = unlimited. */
  cpuQuota: number;
  cpuPeriod: number;
  cpusetCpus: string;
  cpusetMems: string;
  /** 0 = unlimited. */
  pidsLimit: number;
  oomKillDisable: boolean;
  ulimits: Ulimit[];
  devices: DeviceMapping[];
}

export function emptyResources(): ContainerResources {
  return {
    memory: 0,
    memorySwap: 0,
    memoryReservation: 0,
    memorySwappiness: -1,
    nanoCpus: 0,
    cpuShares: 0,
    cpuQuota: 0,
    cpuPeriod: 0,
    cpusetCpus: '',
    cpusetMems: '',
    pidsLimit: 0,
    oomKillDisable: false,
    ulimits: [],
    devices: [],
  };
}

/** daemon/daemon_unix.go linuxMinMemory. */
export const MIN_MEMORY = 6 * 1024 * 1024;

/** The rlimit names go-units' ParseUlimit accepts. */
export const ULIMIT_NAMES: readonly string[] = Object.freeze([
  'core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack',
]);

/** The row of /proc/<pid>/limits for each rlimit name. */
const LIMITS_ROWS: Record<string, string> = {
  core: 'Max core file size',
  cpu: 'Max cpu time',
  data: 'Max data size',
  fsize: 'Max file size',
  locks: 'Max file locks',
  memlock: 'Max locked memory',
  msgqueue: 'Max msgqueue size',
  nice: 'Max nice priority',
  nofile: 'Max open files',
  nproc: 'Max processes',
  rss: 'Max resident set',
  rtprio: 'Max realtime priority',
  rttime: 'Max realtime timeout',
  sigpending: 'Max pending signals',
  stack: 'Max stack size',
};

/**
 * RLIM_INFINITY (2^64 − 1) does not fit a double; 2^64 stands for it in memory (it is what
 * JSON.parse makes of the literal) and toRuntimeJson() writes the exact literal back.
 */
export const RLIM_INFINITY = 2 ** 64;

/** Host facts the checks depend on; readResourceHost() reads them. */
export interface ResourceHost {
  cgroupV2: boolean;
  /** CPUs and memory nodes containers may use (`0-3`). */
  cpus: string;
  mems: string;
  /** berthd may raise rlimits above its own hard limits (and lower oom_score_adj). */
  canRaiseLimits: boolean;
  /** berthd's own hard limit per rlimit name; Infinity when unlimited. */
  hardLimits: Record<string, number>;
  /** berthd's own oom_score_adj (a process without CAP_SYS_RESOURCE cannot go below it). */
  oomScoreAdj: number;
  /** Which block I/O controls the kernel offers (moby's sysinfo.cgroupBlkioInfo); absent = none. */
  blkio?: BlkioSupport;
}

export interface BlkioSupport {
  weight: boolean;
  weightDevice: boolean;
  readBps: boolean;
  writeBps: boolean;
  readIOps: boolean;
  writeIOps: boolean;
}

/**
 * moby's sysinfo: on cgroup v1 each control needs its file in the blkio hierarchy (a weight
 * needs CFQ's or BFQ's); on v2 the io controller brings them all.
 */
export function readBlkioSupport(cgroupV2: boolean): BlkioSupport {
  if (cgroupV2) {
    const io = (readTextIfPresent('/sys/fs/cgroup/cgroup.controllers') ?? '').split(/\s+/).includes('io');
    return { weight: io, weightDevice: io, readBps: io, writeBps: io, readIOps: io, writeIOps: io };
  }
  const has = (...files: string[]): boolean => files.some((f) => existsSync(`/sys/fs/cgroup/blkio/${f}`));
  return {
    weight: has('blkio.weight', 'blkio.bfq.weight'),
    weightDevice: has('blkio.weight_device', 'blkio.bfq.weight_device'),
    readBps: has('blkio.throttle.read_bps_device'),
    writeBps: has('blkio.throttle.write_bps_device'),
    readIOps: has('blkio.throttle.read_iops_device'),
    writeIOps: has('blkio.throttle.write_iops_device'),
  };
}

/** Parses /proc/<pid>/limits into hard limits by rlimit name. */
export function parseHardLimits(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, row] of Object.entries(LIMITS_ROWS)) {
    const line = text.split('\n').find((l) => l.startsWith(row));
    const fields = line?.slice(row.length).trim().split(/\s+/) ?? [];
    const hard = fields[1];
    if (hard === undefined) continue;
    out[name] = hard === 'unlimited' ? Infinity : Number(hard);
  }
  return out;
}

type ProcessFacts = Pick<ResourceHost, 'canRaiseLimits' | 'hardLimits' | 'oomScoreAdj' | 'blkio'>;
const processFacts = new Map<boolean, ProcessFacts>();

/**
 * The host facts for a create or start. berthd's own capabilities, rlimits and oom_score_adj,
 * and the block I/O controls its cgroup hierarchies offer, are read once (they were set when
 * it started; every create and start used to read them again); the CPUs and memory nodes
 * online are read each time (hotplug).
 */
export function readResourceHost(cgroupV2: boolean): ResourceHost {
  let facts = processFacts.get(cgroupV2);
  if (!facts) {
    const status = readTextIfPresent('/proc/self/status') ?? '';
    const capEff = /^CapEff:\s*([0-9a-fA-F]+)$/m.exec(status)?.[1] ?? '0';
    facts = {
      // CAP_SYS_RESOURCE is capability 24.
      canRaiseLimits: ((BigInt('0x' + capEff) >> 24n) & 1n) === 1n,
      hardLimits: parseHardLimits(readTextIfPresent('/proc/self/limits') ?? ''),
      oomScoreAdj: Number((readTextIfPresent('/proc/self/oom_score_adj') ?? '').trim() || '0'),
      blkio: readBlkioSupport(cgroupV2),
    };
    processFacts.set(cgroupV2, facts);
  }
  return {
    cgroupV2,
    cpus: (readTextIfPresent('/sys/devices/system/cpu/online') ?? '').trim() || '0',
    mems: (readTextIfPresent('/sys/devices/system/node/online') ?? '').trim() || '0',
    ...facts,
  };
}

/** `0-3,5` → the set of numbers; undefined when malformed (as parsers.ParseUintList rejects it). */
export function parseUintList(text: string): Set<number> | undefined {
  const out = new Set<number>();
  if (text === '') return out;
  for (const part of text.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) return undefined;
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from || to - from > 65536) return undefined;
    for (let i = from; i <= to; i++) out.add(i);
  }
  return out;
}

function checkList(requested: string, available: string, what: 'cpus' | 'mems'): void {
  if (requested === '') return;
  const wanted = parseUintList(requested);
  if (!wanted) throw invalidArgument(`Invalid value ${requested} for cpuset ${what}`);
  const have = parseUintList(available) ?? new Set<number>();
  if ([...wanted].some((n) => !have.has(n))) {
    throw invalidArgument(
      what === 'cpus'
        ? `Requested CPUs are not available - requested ${requested}, available: ${available}`
        : `Requested memory nodes are not available - requested ${requested}, available: ${available}`,
    );
  }
}

function checkUlimits(ulimits: readonly Ulimit[], host: ResourceHost): void {
  const seen = new Set<string>();
  for (const u of ulimits) {
    if (!ULIMIT_NAMES.includes(u.name)) throw invalidArgument(`invalid ulimit type: ${u.name}`);
    if (seen.has(u.name)) throw invalidArgument(`duplicate ulimit: ${u.name}`);
    seen.add(u.name);
    for (const v of [u.soft, u.hard]) {
      if (!Number.isSafeInteger(v) || v < -1) throw invalidArgument(`invalid ulimit argument: ${u.name}=${u.soft}:${u.hard}: values must be -1 (unlimited) or non-negative`);
    }
    const soft = u.soft === -1 ? Infinity : u.soft;
    const hard = u.hard === -1 ? Infinity : u.hard;
    if (soft > hard) throw invalidArgument(`ulimit soft limit must be less than or equal to hard limit: ${u.soft} > ${u.hard}`);
    // Without CAP_SYS_RESOURCE the runtime cannot raise a hard limit; runc then dies with
    // "can't get final child's PID from pipe", which tells the user nothing.
    const ceiling = host.hardLimits[u.name] ?? Infinity;
    if (!host.canRaiseLimits && hard > ceiling) {
      throw invalidArgument(
        `ulimit ${u.name}: hard limit ${u.hard === -1 ? 'unlimited' : u.hard} is above the engine's own hard limit ${ceiling} and berthd lacks CAP_SYS_RESOURCE to raise it; use at most ${u.name}=${Math.min(soft, ceiling)}:${ceiling}`,
      );
    }
  }
}

const DEVICE_MODE = /^(?!.*(.).*\1)[rwm]{1,3}$/;

function checkDevices(devices: readonly DeviceMapping[]): void {
  for (const d of devices) {
    if (!d.pathOnHost.startsWith('/')) throw invalidArgument(`invalid device path: ${d.pathOnHost}: must be absolute`);
    if (!d.pathInContainer.startsWith('/')) throw invalidArgument(`${d.pathInContainer} is not an absolute path`);
    if (!DEVICE_MODE.test(d.cgroupPermissions)) throw invalidArgument(`invalid device mode: ${d.cgroupPermissions}`);
  }
}

/**
 * Checks a create request's resources and fills dockerd's defaults (swap = 2 × memory);
 * returns the resources to store and the warnings for the reply.
 */
export function validateResources(
  input: ContainerResources,
  host: ResourceHost,
  cpuCount: number,
  mode: 'create' | 'update' = 'create',
): { resources: ContainerResources; warnings: string[] } {
  const r: ContainerResources = { ...input, ulimits: [...input.ulimits], devices: [...input.devices] };
  const warnings: string[] = [];
  if (r.memory !== 0 && r.memory < MIN_MEMORY) throw invalidArgument('Minimum memory limit allowed is 6MB');
  if (r.memorySwap < -1) throw invalidArgument(`Invalid value ${r.memorySwap} for memory-swap: use -1 for unlimited swap or a limit larger than the memory limit`);
  if (r.memory > 0 && r.memorySwap > 0 && r.memorySwap < r.memory) {
    throw invalidArgument('Minimum memoryswap limit should be larger than memory limit, see usage');
  }
  if (mode === 'create' && r.memory === 0 && r.memorySwap > 0) throw invalidArgument('You should always set the Memory limit when using Memoryswap limit, see usage');
  if (r.memorySwappiness !== -1 && (r.memorySwappiness < 0 || r.memorySwappiness > 100)) {
    throw invalidArgument(`Invalid value: ${r.memorySwappiness}, valid memory swappiness range is 0-100`);
  }
  if (r.memoryReservation < 0) throw invalidArgument(`Invalid value ${r.memoryReservation} for memory reservation: must not be negative`);
  if (r.memoryReservation > 0 && r.memoryReservation < MIN_MEMORY) throw invalidArgument('Minimum memory reservation allowed is 6MB');
  if (r.memory > 0 && r.memoryReservation > 0 && r.memory < r.memoryReservation) {
    throw invalidArgument('Minimum memory limit can not be less than memory reservation limit, see usage');
  }
  if (r.oomKillDisable && host.cgroupV2) {
    warnings.push('Your kernel does not support OomKillDisable. OomKillDisable discarded.');
    r.oomKillDisable = false;
  }
  if (r.oomKillDisable && r.memory === 0) {
    warnings.push('OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources.');
  }
  if (mode === 'create' && r.memory > 0 && r.memorySwap === 0) r.memorySwap = 2 * r.memory;

  if (r.nanoCpus > 0 && r.cpuPeriod > 0) throw invalidArgument('Conflicting options: Nano CPUs and CPU Period cannot both be set');
  if (r.nanoCpus > 0 && r.cpuQuota > 0) throw invalidArgument('Conflicting options: Nano CPUs and CPU Quota cannot both be set');
  if (r.nanoCpus < 0 || r.nanoCpus > cpuCount * 1e9) {
    throw invalidArgument(`Range of CPUs is from 0.01 to ${cpuCount}.00, as there are only ${cpuCount} CPUs available`);
  }
  if (r.cpuShares < 0) throw invalidArgument(`Invalid value ${r.cpuShares} for cpu-shares: must not be negative`);
  if (r.cpuPeriod !== 0 && (r.cpuPeriod < 1000 || r.cpuPeriod > 1_000_000)) {
    throw invalidArgument('CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)');
  }
  if (r.cpuQuota < -1) throw invalidArgument(`Invalid value ${r.cpuQuota} for cpu-quota: use -1 for no quota`);
  if (r.cpuQuota > 0 && r.cpuQuota < 1000) throw invalidArgument('CPU cfs quota can not be less than 1ms (i.e. 1000)');
  checkList(r.cpusetCpus, host.cpus, 'cpus');
  checkList(r.cpusetMems, host.mems, 'mems');
  if (r.pidsLimit < 0) r.pidsLimit = 0;
  checkUlimits(r.ulimits, host);
  checkDevices(r.devices);
  checkBlkio(r, host.blkio, warnings);
  return { resources: r, warnings };
}

/**
 * verifyPlatformContainerResources' block I/O part: what the kernel cannot do is dropped with
 * dockerd's warning; a weight outside 10–1000 is refused. Device paths are checked when they
 * are resolved (devices.ts blockDeviceNumbers).
 */
function checkBlkio(r: ContainerResources, support: BlkioSupport | undefined, warnings: string[]): void {
  if ((r.blkioWeight ?? 0) > 0 && !support?.weight) {
    warnings.push('Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.');
    r.blkioWeight = 0;
  }
  const weight = r.blkioWeight ?? 0;
  if (weight !== 0 && (!Number.isInteger(weight) || weight < 10 || weight > 1000)) throw invalidArgument('Range of blkio weight is from 10 to 1000');
  for (const d of r.blkioWeightDevice ?? []) {
    if (!Number.isInteger(d.weight) || d.weight < 0 || d.weight > 1000 || (d.weight > 0 && d.weight < 10)) throw invalidArgument(`invalid weight for device: ${d.path}:${d.weight}`);
  }
  for (const list of [r.blkioDeviceReadBps, r.blkioDeviceWriteBps, r.blkioDeviceReadIOps, r.blkioDeviceWriteIOps]) {
    for (const d of list ?? []) if (!Number.isSafeInteger(d.rate) || d.rate < 0) throw invalidArgument(`invalid rate for device: ${d.path}:${d.rate}`);
  }
  const drop = (key: keyof Omit<BlkioResources, 'blkioWeight'>, supported: boolean | undefined, warning: string): void => {
    if ((r[key] ?? []).length > 0 && !supported) {
      warnings.push(warning);
      r[key] = [];
    }
  };
  drop('blkioWeightDevice', support?.weightDevice, 'Your kernel does not support Block I/O weight_device or the cgroup is not mounted. Weight-device discarded.');
  drop('blkioDeviceReadBps', support?.readBps, 'Your kernel does not support BPS Block I/O read limit or the cgroup is not mounted. Block I/O BPS read limit discarded.');
  drop('blkioDeviceWriteBps', support?.writeBps, 'Your kernel does not support BPS Block I/O write limit or the cgroup is not mounted. Block I/O BPS write limit discarded.');
  drop('blkioDeviceReadIOps', support?.readIOps, 'Your kernel does not support IOPS Block read limit or the cgroup is not mounted. Block I/O IOPS read limit discarded.');
  drop('blkioDeviceWriteIOps', support?.writeIOps, 'Your kernel does not support IOPS Block write limit or the cgroup is not mounted. Block I/O IOPS write limit discarded.');
}

/** The block device paths a container's block I/O limits name. */
export function blkioDevicePaths(r: ContainerResources): string[] {
  const lists = [r.blkioWeightDevice, r.blkioDeviceReadBps, r.blkioDeviceWriteBps, r.blkioDeviceReadIOps, r.blkioDeviceWriteIOps];
  return [...new Set(lists.flatMap((list) => (list ?? []).map((d) => d.path)))];
}

/** The fields an update request carries; absent ones keep their value. */
export type ResourcesUpdate = Partial<Omit<ContainerResources, 'ulimits' | 'devices' | 'memorySwappiness'>>;

/**
 * container.UpdateContainer: non-zero fields replace the current ones (PidsLimit whenever
 * given); --cpus and an explicit CPU quota/period exclude each other across updates.
 */
export function mergeResourcesUpdate(current: ContainerResources, update: ResourcesUpdate, host: ResourceHost, cpuCount: number): { resources: ContainerResources; warnings: string[] } {
  if ((update.nanoCpus ?? 0) > 0 && current.cpuPeriod > 0) throw conflict('Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set');
  if ((update.nanoCpus ?? 0) > 0 && current.cpuQuota > 0) throw conflict('Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set');
  if ((update.cpuPeriod ?? 0) > 0 && current.nanoCpus > 0) throw conflict('Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set');
  if ((update.cpuQuota ?? 0) > 0 && current.nanoCpus > 0) throw conflict('Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set');
  const next: ContainerResources = { ...current };
  const memory = update.memory ?? 0;
  const memorySwap = update.memorySwap ?? 0;
  if (memory !== 0) {
    if (current.memorySwap > 0 && memory > current.memorySwap && memorySwap === 0) {
      throw invalidArgument('Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time');
    }
    next.memory = memory;
  }
  if (memorySwap !== 0) next.memorySwap = memorySwap;
  for (const key of ['memoryReservation', 'nanoCpus', 'cpuShares', 'cpuQuota', 'cpuPeriod'] as const) {
    const v = update[key];
    if (v !== undefined && v !== 0) next[key] = v;
  }
  if (update.cpusetCpus) next.cpusetCpus = update.cpusetCpus;
  if (update.cpusetMems) next.cpusetMems = update.cpusetMems;
  if (update.pidsLimit !== undefined) next.pidsLimit = update.pidsLimit;
  if (update.oomKillDisable !== undefined) next.oomKillDisable = update.oomKillDisable;
  if (update.blkioWeight) next.blkioWeight = update.blkioWeight;
  return validateResources(next, host, cpuCount, 'update');
}

/** WithResources: the cgroup part of the spec (device rules are the spec generator's). */
export function ociResources(r: ContainerResources, cgroupV2: boolean, blockDevices: BlockDeviceNumbers = new Map()): Omit<LinuxResources, 'devices'> {
  const out: Omit<LinuxResources, 'devices'> = {};
  const memory: NonNullable<LinuxResources['memory']> = {};
  if (r.memory !== 0) memory.limit = r.memory;
  if (r.memoryReservation !== 0) memory.reservation = r.memoryReservation;
  if (r.memorySwap > 0 || r.memorySwap === -1) memory.swap = r.memorySwap;
  if (r.memorySwappiness >= 0 && !cgroupV2) memory.swappiness = r.memorySwappiness;
  if (r.oomKillDisable && !cgroupV2) memory.disableOOMKiller = true;
  if (Object.keys(memory).length > 0) out.memory = memory;

  const cpu: NonNullable<LinuxResources['cpu']> = {};
  if (r.cpuShares !== 0) cpu.shares = r.cpuShares;
  if (r.nanoCpus > 0) {
    // The CFS period moby uses for --cpus: 100 ms.
    cpu.period = 100_000;
    cpu.quota = Math.floor((r.nanoCpus * 100_000) / 1e9);
  } else {
    if (r.cpuQuota !== 0) cpu.quota = r.cpuQuota;
    if (r.cpuPeriod !== 0) cpu.period = r.cpuPeriod;
  }
  if (r.cpusetCpus) cpu.cpus = r.cpusetCpus;
  if (r.cpusetMems) cpu.mems = r.cpusetMems;
  if (Object.keys(cpu).length > 0) out.cpu = cpu;
  if (r.pidsLimit > 0) out.pids = { limit: r.pidsLimit };
  const blockIO = ociBlockIO(r, blockDevices);
  if (blockIO) out.blockIO = blockIO;
  return out;
}

/** A block device's numbers, by the path a limit names (devices.ts blockDeviceNumbers). */
export type BlockDeviceNumbers = ReadonlyMap<string, { major: number; minor: number }>;

/** WithResources' blockIO (runc turns it into io.weight/io.max on cgroup v2). */
function ociBlockIO(r: ContainerResources, blockDevices: BlockDeviceNumbers): LinuxBlockIO | undefined {
  const numbers = (path: string): { major: number; minor: number } => {
    const n = blockDevices.get(path);
    if (!n) throw invalidArgument(`block device ${path} was not resolved`);
    return n;
  };
  const throttle = (list: BlkioDeviceRate[] | undefined): LinuxThrottleDevice[] => (list ?? []).map((d) => ({ ...numbers(d.path), rate: d.rate }));
  const out: LinuxBlockIO = {};
  if ((r.blkioWeight ?? 0) > 0) out.weight = r.blkioWeight;
  const weightDevice = (r.blkioWeightDevice ?? []).map((d) => ({ ...numbers(d.path), weight: d.weight }));
  if (weightDevice.length > 0) out.weightDevice = weightDevice;
  const lists = [
    ['throttleReadBpsDevice', r.blkioDeviceReadBps],
    ['throttleWriteBpsDevice', r.blkioDeviceWriteBps],
    ['throttleReadIOPSDevice', r.blkioDeviceReadIOps],
    ['throttleWriteIOPSDevice', r.blkioDeviceWriteIOps],
  ] as const;
  for (const [key, list] of lists) {
    const devices = throttle(list);
    if (devices.length > 0) out[key] = devices;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * The resources for `runc update`: as for a start, except that "no pids limit" must be said
 * (-1): runc leaves a limit in place when the field is merely absent.
 */
export function ociResourcesForUpdate(r: ContainerResources, cgroupV2: boolean): Omit<LinuxResources, 'devices'> {
  // Of the block I/O controls only the weight can be updated (as with dockerd).
  const out = ociResources({ ...r, blkioWeightDevice: [], blkioDeviceReadBps: [], blkioDeviceWriteBps: [], blkioDeviceReadIOps: [], blkioDeviceWriteIOps: [] }, cgroupV2);
  if (r.pidsLimit === 0) out.pids = { limit: -1 };
  return out;
}

/** WithRlimits: `nofile` → RLIMIT_NOFILE; -1 → RLIM_INFINITY. */
export function ociRlimits(ulimits: readonly Ulimit[]): POSIXRlimit[] {
  const value = (v: number): number => (v === -1 ? RLIM_INFINITY : v);
  return ulimits.map((u) => ({ type: `RLIMIT_${u.name.toUpperCase()}`, hard: value(u.hard), soft: value(u.soft) }));
}

/** `--ulimit nofile=1024:2048` / `nofile=1024` / `core=unlimited` (go-units ParseUlimit). */
export function parseUlimit(text: string): Ulimit {
  const eq = text.indexOf('=');
  if (eq < 0) throw invalidArgument(`invalid ulimit argument: ${text}`);
  const name = text.slice(0, eq);
  if (!ULIMIT_NAMES.includes(name)) throw invalidArgument(`invalid ulimit type: ${name}`);
  const parts = text.slice(eq + 1).split(':');
  if (parts.length > 2) throw invalidArgument(`too many limit value arguments - ${text.slice(eq + 1)}, can only have up to two, \`soft[:hard]\``);
  const num = (s: string): number => {
    if (s === 'unlimited' || s === '-1') return -1;
    if (!/^\d+$/.test(s) || !Number.isSafeInteger(Number(s))) throw invalidArgument(`invalid ulimit argument: ${text}`);
    return Number(s);
  };
  const soft = num(parts[0] ?? '');
  const hard = parts[1] === undefined ? soft : num(parts[1]);
  if (soft !== -1 && (hard === -1 ? false : soft > hard)) throw invalidArgument(`ulimit soft limit must be less than or equal to hard limit: ${soft} > ${hard}`);
  return { name, soft, hard };
}

/**
 * The resource, security, init and healthcheck parts of the Docker API documents: the create
 * and update bodies in (HostConfig.Resources fields, SecurityOpt, Sysctls, Init, OomScoreAdj,
 * Config.Healthcheck), their inspect form out.
 */
import { BerthError, invalidArgument } from '../../core/errors.js';
import type { ContainerRecord, ContainerSpecRequest } from '../../containers/types.js';
import type { HealthState } from '../../containers/health.js';
import type { RestartPolicy } from '../../containers/restart.js';
import type { HealthConfig } from '../../oci/image.js';
import { emptyResources, type BlkioDeviceRate, type BlkioDeviceWeight, type ContainerResources, type DeviceMapping, type ResourcesUpdate, type Ulimit } from '../../runtime/resources.js';

type Json = Record<string, unknown>;

const typeName = (v: unknown): string => (Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v);

function int(v: unknown, field: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw invalidArgument(`json: cannot unmarshal ${typeName(v)} into Go struct field ${field} of type int64`);
  return v;
}

function str(v: unknown, field: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw invalidArgument(`json: cannot unmarshal ${typeName(v)} into Go struct field ${field} of type string`);
  return v;
}

function bool(v: unknown, field: string): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw invalidArgument(`json: cannot unmarshal ${typeName(v)} into Go struct field ${field} of type bool`);
  return v;
}

function list(v: unknown, field: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw invalidArgument(`json: cannot unmarshal ${typeName(v)} into Go struct field ${field} of type array`);
  return v;
}

function object(v: unknown, field: string): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalidArgument(`json: cannot unmarshal ${typeName(v)} into Go struct field ${field} of type object`);
  return v as Json;
}

function strings(v: unknown, field: string): string[] {
  return list(v, field).map((s) => str(s, field));
}

function ulimits(v: unknown): Ulimit[] {
  return list(v, 'HostConfig.Ulimits').map((u) => {
    const o = object(u, 'HostConfig.Ulimits');
    return { name: str(o.Name, 'Ulimits.Name'), soft: int(o.Soft, 'Ulimits.Soft') ?? 0, hard: int(o.Hard, 'Ulimits.Hard') ?? 0 };
  });
}

function devices(v: unknown): DeviceMapping[] {
  return list(v, 'HostConfig.Devices').map((d) => {
    const o = object(d, 'HostConfig.Devices');
    const pathOnHost = str(o.PathOnHost, 'Devices.PathOnHost');
    if (!pathOnHost) throw invalidArgument('Devices: PathOnHost is required');
    return {
      pathOnHost,
      pathInContainer: str(o.PathInContainer, 'Devices.PathInContainer') || pathOnHost,
      cgroupPermissions: str(o.CgroupPermissions, 'Devices.CgroupPermissions') || 'rwm',
    };
  });
}

/** HostConfig.BlkioWeightDevice: `[{Path, Weight}]`. */
function weightDevices(v: unknown, field: string): BlkioDeviceWeight[] {
  return list(v, field).map((d) => {
    const o = object(d, field);
    return { path: str(o.Path, `${field}.Path`), weight: int(o.Weight, `${field}.Weight`) ?? 0 };
  });
}

/** HostConfig.BlkioDevice{Read,Write}{Bps,IOps}: `[{Path, Rate}]`. */
function throttleDevices(v: unknown, field: string): BlkioDeviceRate[] {
  return list(v, field).map((d) => {
    const o = object(d, field);
    return { path: str(o.Path, `${field}.Path`), rate: int(o.Rate, `${field}.Rate`) ?? 0 };
  });
}

/** The Resources fields of a create body's HostConfig. */
function resourcesFrom(hc: Json): ContainerResources {
  const r = emptyResources();
  r.memory = int(hc.Memory, 'HostConfig.Memory') ?? 0;
  r.memorySwap = int(hc.MemorySwap, 'HostConfig.MemorySwap') ?? 0;
  r.memoryReservation = int(hc.MemoryReservation, 'HostConfig.MemoryReservation') ?? 0;
  r.memorySwappiness = int(hc.MemorySwappiness, 'HostConfig.MemorySwappiness') ?? -1;
  r.nanoCpus = int(hc.NanoCpus, 'HostConfig.NanoCpus') ?? 0;
  r.cpuShares = int(hc.CpuShares, 'HostConfig.CpuShares') ?? 0;
  r.cpuQuota = int(hc.CpuQuota, 'HostConfig.CpuQuota') ?? 0;
  r.cpuPeriod = int(hc.CpuPeriod, 'HostConfig.CpuPeriod') ?? 0;
  r.cpusetCpus = str(hc.CpusetCpus, 'HostConfig.CpusetCpus');
  r.cpusetMems = str(hc.CpusetMems, 'HostConfig.CpusetMems');
  r.pidsLimit = int(hc.PidsLimit, 'HostConfig.PidsLimit') ?? 0;
  r.oomKillDisable = bool(hc.OomKillDisable, 'HostConfig.OomKillDisable') ?? false;
  r.ulimits = ulimits(hc.Ulimits);
  r.devices = devices(hc.Devices);
  r.blkioWeight = int(hc.BlkioWeight, 'HostConfig.BlkioWeight') ?? 0;
  r.blkioWeightDevice = weightDevices(hc.BlkioWeightDevice, 'HostConfig.BlkioWeightDevice');
  r.blkioDeviceReadBps = throttleDevices(hc.BlkioDeviceReadBps, 'HostConfig.BlkioDeviceReadBps');
  r.blkioDeviceWriteBps = throttleDevices(hc.BlkioDeviceWriteBps, 'HostConfig.BlkioDeviceWriteBps');
  r.blkioDeviceReadIOps = throttleDevices(hc.BlkioDeviceReadIOps, 'HostConfig.BlkioDeviceReadIOps');
  r.blkioDeviceWriteIOps = throttleDevices(hc.BlkioDeviceWriteIOps, 'HostConfig.BlkioDeviceWriteIOps');
  return r;
}

function healthcheckFrom(v: unknown): HealthConfig | undefined {
  if (v === undefined || v === null) return undefined;
  const o = object(v, 'Config.Healthcheck');
  const h: HealthConfig = {};
  const test = strings(o.Test, 'Config.Healthcheck.Test');
  if (test.length > 0) h.Test = test;
  for (const key of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries'] as const) {
    const n = int(o[key], `Config.Healthcheck.${key}`);
    if (n !== undefined && n !== 0) h[key] = n;
  }
  return h;
}

/** The create-body fields this module owns, as request fields. */
export function limitsFromCreateBody(body: Json, hc: Json): Pick<ContainerSpecRequest, 'resources' | 'securityOpt' | 'sysctls' | 'oomScoreAdj' | 'init' | 'healthcheck'> {
  const sysctls = hc.Sysctls === undefined || hc.Sysctls === null ? {} : object(hc.Sysctls, 'HostConfig.Sysctls');
  for (const [k, v] of Object.entries(sysctls)) if (typeof v !== 'string') throw invalidArgument(`sysctl ${k}: value must be a string`);
  const healthcheck = healthcheckFrom(body.Healthcheck);
  return {
    resources: resourcesFrom(hc),
    securityOpt: strings(hc.SecurityOpt, 'HostConfig.SecurityOpt'),
    sysctls: sysctls as Record<string, string>,
    oomScoreAdj: int(hc.OomScoreAdj, 'HostConfig.OomScoreAdj') ?? 0,
    init: bool(hc.Init, 'HostConfig.Init') ?? false,
    ...(healthcheck ? { healthcheck } : {}),
  };
}

/** POST /containers/{id}/update: the resources given (zero = keep) and the restart policy. */
export function updateBodyToChange(body: unknown): { resources: ResourcesUpdate; restartPolicy?: RestartPolicy } {
  const b = body === undefined || body === null ? {} : object(body, 'UpdateConfig');
  for (const key of ['Ulimits', 'Devices']) {
    if (list(b[key], key).length > 0) throw invalidArgument(`${key} cannot be updated on an existing container`);
  }
  // What the update API also carries and berth does not apply: refused, not ignored (of the
  // block I/O controls dockerd updates only the weight).
  const unsupported = ['BlkioWeightDevice', 'BlkioDeviceReadBps', 'BlkioDeviceWriteBps', 'BlkioDeviceReadIOps', 'BlkioDeviceWriteIOps', 'CpuRealtimePeriod', 'CpuRealtimeRuntime', 'KernelMemory', 'KernelMemoryTCP'].filter((key) => {
    const v = b[key];
    return !(v === undefined || v === null || v === 0 || (Array.isArray(v) && v.length === 0));
  });
  if (unsupported.length > 0) throw new BerthError('not-implemented', `not supported by berth yet: ${unsupported.join(', ')}`);
  const resources: ResourcesUpdate = {};
  const numbers = [
    ['Memory', 'memory'],
    ['MemorySwap', 'memorySwap'],
    ['MemoryReservation', 'memoryReservation'],
    ['NanoCpus', 'nanoCpus'],
    ['CpuShares', 'cpuShares'],
    ['CpuQuota', 'cpuQuota'],
    ['CpuPeriod', 'cpuPeriod'],
    ['BlkioWeight', 'blkioWeight'],
  ] as const;
  for (const [field, key] of numbers) {
    const n = int(b[field], field);
    if (n !== undefined && n !== 0) resources[key] = n;
  }
  const cpus = str(b.CpusetCpus, 'CpusetCpus');
  if (cpus) resources.cpusetCpus = cpus;
  const mems = str(b.CpusetMems, 'CpusetMems');
  if (mems) resources.cpusetMems = mems;
  const pids = int(b.PidsLimit, 'PidsLimit');
  if (pids !== undefined) resources.pidsLimit = pids <= 0 ? 0 : pids;
  const oom = bool(b.OomKillDisable, 'OomKillDisable');
  if (oom !== undefined) resources.oomKillDisable = oom;
  if (b.RestartPolicy === undefined || b.RestartPolicy === null) return { resources };
  const rp = object(b.RestartPolicy, 'RestartPolicy');
  return { resources, restartPolicy: { name: str(rp.Name, 'RestartPolicy.Name'), maximumRetryCount: int(rp.MaximumRetryCount, 'RestartPolicy.MaximumRetryCount') ?? 0 } };
}

const inspectRate = (d: BlkioDeviceRate): Json => ({ Path: d.path, Rate: d.rate });

/** The HostConfig fields of inspect that this module owns. */
export function inspectHostConfigLimits(record: ContainerRecord): Json {
  const req = record.request;
  const r = req.resources ?? emptyResources();
  return {
    Memory: r.memory,
    MemorySwap: r.memorySwap,
    MemoryReservation: r.memoryReservation,
    MemorySwappiness: r.memorySwappiness >= 0 ? r.memorySwappiness : null,
    NanoCpus: r.nanoCpus,
    CpuShares: r.cpuShares,
    CpuQuota: r.cpuQuota,
    CpuPeriod: r.cpuPeriod,
    CpusetCpus: r.cpusetCpus,
    CpusetMems: r.cpusetMems,
    PidsLimit: r.pidsLimit > 0 ? r.pidsLimit : null,
    OomKillDisable: r.oomKillDisable,
    OomScoreAdj: req.oomScoreAdj ?? 0,
    Ulimits: r.ulimits.length > 0 ? r.ulimits.map((u) => ({ Name: u.name, Hard: u.hard, Soft: u.soft })) : null,
    Devices: r.devices.map((d) => ({ PathOnHost: d.pathOnHost, PathInContainer: d.pathInContainer, CgroupPermissions: d.cgroupPermissions })),
    BlkioWeight: r.blkioWeight ?? 0,
    BlkioWeightDevice: (r.blkioWeightDevice ?? []).map((d) => ({ Path: d.path, Weight: d.weight })),
    BlkioDeviceReadBps: (r.blkioDeviceReadBps ?? []).map(inspectRate),
    BlkioDeviceWriteBps: (r.blkioDeviceWriteBps ?? []).map(inspectRate),
    BlkioDeviceReadIOps: (r.blkioDeviceReadIOps ?? []).map(inspectRate),
    BlkioDeviceWriteIOps: (r.blkioDeviceWriteIOps ?? []).map(inspectRate),
    SecurityOpt: req.securityOpt && req.securityOpt.length > 0 ? req.securityOpt : null,
    ...(req.sysctls && Object.keys(req.sysctls).length > 0 ? { Sysctls: req.sysctls } : {}),
    ...(req.init ? { Init: true } : {}),
  };
}

/** State.Health of inspect (present only for containers with a healthcheck). */
export function inspectHealth(health: HealthState | undefined, record: ContainerRecord): Json {
  const test = record.request.healthcheck?.Test;
  if (!test || test[0] === 'NONE') return {};
  if (health) return { Health: health };
  return record.state.status === 'running' ? { Health: { Status: 'starting', FailingStreak: 0, Log: [] } } : {};
}

/** The ps STATUS suffix: ` (healthy)`, ` (health: starting)`, ` (unhealthy)`. */
export function healthSuffix(health: HealthState | undefined): string {
  if (!health) return '';
  return health.Status === 'starting' ? ' (health: starting)' : ` (${health.Status})`;
}

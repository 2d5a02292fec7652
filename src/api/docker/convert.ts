/** Docker API documents ↔ berth records: the create body in, inspect/list documents out. */
import { BerthError, invalidArgument } from '../../core/errors.js';
import type { ContainerRecord, ContainerSpecRequest } from '../../containers/types.js';
import { containerNetworks, hostConfigNetworkFields, networkRequestFromBody, networkSettings, parsePortKey, portList, type NetworkLookup } from './convert-network.js';
import type { ImageRecord } from '../../images/store.js';
import type { Engine } from '../../engine/engine.js';
import { deviceRulesFromCgroupRules } from '../../runtime/devices.js';
import { parseSignal } from '../../runtime/signals.js';
import { DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS, detectHostFacts } from '../../runtime/spec.js';
import { humanDuration } from '../../core/units.js';
import type { HealthState } from '../../containers/health.js';
import { validateRestartPolicy } from '../../containers/restart.js';
import { healthSuffix, inspectHealth, inspectHostConfigLimits, limitsFromCreateBody } from './convert-limits.js';
import { parseContainerMounts, parseVolumesFrom, readApiMount, type ApiMount, type MountPoint } from '../../volumes/mount-spec.js';

type Json = Record<string, unknown>;

function strings(value: unknown, field: string): string[] | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
  throw invalidArgument(`json: cannot unmarshal ${typeof value} into Go struct field ${field} of type []string`);
}

function str(value: unknown, field: string): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw invalidArgument(`json: cannot unmarshal ${typeof value} into Go struct field ${field} of type string`);
  return value;
}

function bool(value: unknown, field: string): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') throw invalidArgument(`json: cannot unmarshal ${typeof value} into Go struct field ${field} of type bool`);
  return value;
}

function int(value: unknown, field: string): number {
  if (value === undefined || value === null) return 0;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw invalidArgument(`json: cannot unmarshal ${typeof value} into Go struct field ${field} of type int64`);
  return value;
}

function obj(value: unknown, field: string): Json {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw invalidArgument(`json: cannot unmarshal ${Array.isArray(value) ? 'array' : typeof value} into Go struct field ${field} of type object`);
  return value as Json;
}

const isSet = (value: unknown): boolean => {
  if (value === undefined || value === null || value === false || value === '' || value === 0) return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
};

/**
 * Options berth does not implement yet are refused rather than silently ignored: a container
 * that runs without the limit, port or volume its user asked for is worse than an error.
 */
function refuseUnsupported(hc: Json): void {
  const unsupported: Array<[string, unknown]> = [
    ['HostConfig.Links', hc.Links],
    // Joining another container's cgroup (`container:<id>`); nothing asked for is ''.
    ['HostConfig.Cgroup', hc.Cgroup],
    ['HostConfig.DeviceRequests', hc.DeviceRequests],
    // berth never remaps users: `host` (no user namespace of its own) is what every container gets.
    ['HostConfig.UsernsMode', hc.UsernsMode === 'host' ? undefined : hc.UsernsMode],
    ['HostConfig.CpuRealtimePeriod', hc.CpuRealtimePeriod],
    ['HostConfig.CpuRealtimeRuntime', hc.CpuRealtimeRuntime],
    ['HostConfig.CpuCount', hc.CpuCount],
    ['HostConfig.CpuPercent', hc.CpuPercent],
    ['HostConfig.IOMaximumIOps', hc.IOMaximumIOps],
    ['HostConfig.IOMaximumBandwidth', hc.IOMaximumBandwidth],
    ['HostConfig.KernelMemory', hc.KernelMemory],
    ['HostConfig.KernelMemoryTCP', hc.KernelMemoryTCP],
    ['HostConfig.StorageOpt', hc.StorageOpt],
    ['HostConfig.Runtime', hc.Runtime === 'runc' ? undefined : hc.Runtime],
    ['HostConfig.Isolation', hc.Isolation === 'default' ? undefined : hc.Isolation],
  ];
  const asked = unsupported.filter(([, value]) => isSet(value)).map(([name]) => name);
  if (asked.length > 0) {
    throw new BerthError('not-implemented', `not supported by berth yet: ${asked.join(', ')}`);
  }
}

/**
 * HostConfig.CgroupParent: the cgroup the container's goes under instead of berthd's
 * --cgroup-parent (cgroupfs paths, as dockerd's cgroupfs driver takes them). A relative one,
 * which runc would place under its own cgroup, is not supported.
 */
function cgroupParentFromBody(hc: Json): Pick<ContainerSpecRequest, 'cgroupParent'> {
  const parent = str(hc.CgroupParent, 'HostConfig.CgroupParent');
  if (parent === '') return {};
  if (!parent.startsWith('/')) throw new BerthError('not-implemented', `not supported by berth yet: a relative HostConfig.CgroupParent (${parent}); give an absolute cgroup path`);
  if (!/^[A-Za-z0-9_.\-/]+$/.test(parent) || parent.split('/').some((segment) => segment === '.' || segment === '..')) {
    throw invalidArgument(`invalid cgroup parent "${parent}": an absolute path of letters, digits, '.', '_' and '-'`);
  }
  return { cgroupParent: parent.replace(/\/+$/, '') || '/' };
}

/**
 * HostConfig.DeviceCgroupRules, MaskedPaths, ReadonlyPaths and Annotations, checked as moby
 * checks them (the rules at start there, at create here).
 */
function runtimeExtrasFromBody(hc: Json): Pick<ContainerSpecRequest, 'deviceCgroupRules' | 'maskedPaths' | 'readonlyPaths' | 'annotations'> {
  const out: Pick<ContainerSpecRequest, 'deviceCgroupRules' | 'maskedPaths' | 'readonlyPaths' | 'annotations'> = {};
  const rules = strings(hc.DeviceCgroupRules, 'HostConfig.DeviceCgroupRules') ?? [];
  deviceRulesFromCgroupRules(rules);
  if (rules.length > 0) out.deviceCgroupRules = rules;
  for (const [field, key] of [['MaskedPaths', 'maskedPaths'], ['ReadonlyPaths', 'readonlyPaths']] as const) {
    const paths = strings(hc[field], `HostConfig.${field}`);
    if (paths === null) continue;
    for (const path of paths) if (!path.startsWith('/')) throw invalidArgument(`invalid ${field} entry ${JSON.stringify(path)}: must be an absolute path`);
    out[key] = paths;
  }
  const annotations = obj(hc.Annotations, 'HostConfig.Annotations');
  for (const [key, value] of Object.entries(annotations)) {
    if (key === '') throw invalidArgument('invalid Annotations: the empty string is not permitted as an annotation key');
    if (typeof value !== 'string') throw invalidArgument(`json: cannot unmarshal ${typeof value} into Go struct field HostConfig.Annotations of type string`);
  }
  if (Object.keys(annotations).length > 0) out.annotations = annotations as Record<string, string>;
  return out;
}

/** HostConfig.LogConfig as given; the engine merges the daemon's defaults and checks it (log-config.ts). */
function logConfigFromBody(hc: Json): Pick<ContainerSpecRequest, 'logConfig'> {
  const log = obj(hc.LogConfig, 'HostConfig.LogConfig');
  const type = str(log.Type, 'HostConfig.LogConfig.Type');
  const config = obj(log.Config, 'HostConfig.LogConfig.Config');
  for (const value of Object.values(config)) {
    if (typeof value !== 'string') throw invalidArgument(`json: cannot unmarshal ${typeof value} into Go struct field LogConfig.HostConfig.LogConfig.Config of type string`);
  }
  return type === '' && Object.keys(config).length === 0 ? {} : { logConfig: { type, config: config as Record<string, string> } };
}

/** `container:<name|id>` with a name: joining another container's namespace. */
const joinsContainer = (mode: string): boolean => mode.startsWith('container:') && mode.length > 'container:'.length;

/**
 * HostConfig.PidMode, IpcMode and UTSMode, checked as dockerd's verifyPlatformContainerSettings
 * and validateNetMode do. The container a `container:` mode names is looked up at each start.
 */
function namespaceModesFromBody(b: Json, hc: Json): Pick<ContainerSpecRequest, 'pidMode' | 'ipcMode' | 'utsMode' | 'cgroupnsMode'> {
  const ipcMode = str(hc.IpcMode, 'HostConfig.IpcMode');
  if (!(ipcMode === '' || ['none', 'private', 'shareable', 'host'].includes(ipcMode) || joinsContainer(ipcMode))) throw invalidArgument(`invalid IPC mode: ${ipcMode}`);
  const pidMode = str(hc.PidMode, 'HostConfig.PidMode');
  if (!(pidMode === '' || pidMode === 'host' || joinsContainer(pidMode))) throw invalidArgument(`invalid PID mode: ${pidMode}`);
  const utsMode = str(hc.UTSMode, 'HostConfig.UTSMode');
  if (!(utsMode === '' || utsMode === 'host')) throw invalidArgument(`invalid UTS mode: ${utsMode}`);
  if (utsMode === 'host' && str(b.Hostname, 'Config.Hostname') !== '') throw invalidArgument('conflicting options: hostname and the UTS mode');
  const cgroupnsMode = str(hc.CgroupnsMode, 'HostConfig.CgroupnsMode');
  if (!(cgroupnsMode === '' || cgroupnsMode === 'private' || cgroupnsMode === 'host')) throw invalidArgument(`invalid cgroup namespace mode: ${cgroupnsMode}`);
  return { ...(pidMode ? { pidMode } : {}), ...(ipcMode ? { ipcMode } : {}), ...(utsMode ? { utsMode } : {}), ...(cgroupnsMode ? { cgroupnsMode } : {}) };
}

/** Validates POST /containers/create and turns it into berth's request. */
export function createBodyToRequest(body: unknown): ContainerSpecRequest {
  const b = obj(body, 'ContainerConfig');
  const hc = obj(b.HostConfig, 'HostConfig');
  const image = str(b.Image, 'Config.Image');
  if (!image) throw invalidArgument('Config.Image: an image name is required');
  const env = strings(b.Env, 'Config.Env') ?? [];
  for (const e of env) if (e.startsWith('=') || e === '') throw invalidArgument(`invalid environment variable: ${e}`);
  // Config.NetworkDisabled (docker-py's network_disabled): no network, whatever mode or networks
  // the body names, as moby then skips the container's networking altogether.
  const networkDisabled = bool(b.NetworkDisabled, 'Config.NetworkDisabled');
  const network = networkDisabled ? networkRequestFromBody({ ...b, NetworkingConfig: null }, { ...hc, NetworkMode: 'none' }) : networkRequestFromBody(b, hc);
  const exposedPorts = obj(b.ExposedPorts, 'Config.ExposedPorts') as Record<string, object>;
  // Checked now: a bad key stored here would break every later listing of containers.
  for (const key of Object.keys(exposedPorts)) parsePortKey(key);
  const restart = obj(hc.RestartPolicy, 'HostConfig.RestartPolicy');
  const restartName = str(restart.Name, 'HostConfig.RestartPolicy.Name') || 'no';
  validateRestartPolicy({ name: restartName, maximumRetryCount: int(restart.MaximumRetryCount, 'HostConfig.RestartPolicy.MaximumRetryCount') });
  refuseUnsupported(hc);
  const mountFields = mountsOfRequest(b, hc);
  const stopSignal = str(b.StopSignal, 'Config.StopSignal');
  if (stopSignal) parseSignal(stopSignal);
  const workingDir = str(b.WorkingDir, 'Config.WorkingDir');
  if (workingDir && !workingDir.startsWith('/')) throw invalidArgument(`the working directory '${workingDir}' is invalid, it needs to be an absolute path`);
  const shmSize = int(hc.ShmSize, 'HostConfig.ShmSize');
  if (shmSize < 0) throw invalidArgument('SHM size can not be less than 0');
  const stopTimeout = b.StopTimeout === undefined || b.StopTimeout === null ? undefined : int(b.StopTimeout, 'Config.StopTimeout');
  const consoleSize = Array.isArray(hc.ConsoleSize) ? (hc.ConsoleSize as unknown[]) : [];
  const [h, w] = consoleSize.map((n) => (typeof n === 'number' ? n : 0));
  const labels = obj(b.Labels, 'Config.Labels');
  for (const [k, v] of Object.entries(labels)) if (typeof v !== 'string') throw invalidArgument(`label ${k}: value must be a string`);
  return {
    image,
    cmd: strings(b.Cmd, 'Config.Cmd'),
    entrypoint: strings(b.Entrypoint, 'Config.Entrypoint'),
    env,
    workingDir,
    user: str(b.User, 'Config.User'),
    hostname: str(b.Hostname, 'Config.Hostname'),
    domainname: str(b.Domainname, 'Config.Domainname'),
    tty: bool(b.Tty, 'Config.Tty'),
    openStdin: bool(b.OpenStdin, 'Config.OpenStdin'),
    stdinOnce: bool(b.StdinOnce, 'Config.StdinOnce'),
    attachStdin: bool(b.AttachStdin, 'Config.AttachStdin'),
    attachStdout: bool(b.AttachStdout, 'Config.AttachStdout'),
    attachStderr: bool(b.AttachStderr, 'Config.AttachStderr'),
    labels: labels as Record<string, string>,
    ...(stopSignal ? { stopSignal } : {}),
    ...(stopTimeout !== undefined ? { stopTimeout } : {}),
    exposedPorts,
    volumes: mountFields.volumes,
    binds: mountFields.binds,
    mounts: mountFields.mounts,
    tmpfs: mountFields.tmpfs,
    volumesFrom: mountFields.volumesFrom,
    network,
    autoRemove: bool(hc.AutoRemove, 'HostConfig.AutoRemove'),
    restartPolicy: { name: restartName, maximumRetryCount: int(restart.MaximumRetryCount, 'HostConfig.RestartPolicy.MaximumRetryCount') },
    groupAdd: strings(hc.GroupAdd, 'HostConfig.GroupAdd') ?? [],
    privileged: bool(hc.Privileged, 'HostConfig.Privileged'),
    capAdd: strings(hc.CapAdd, 'HostConfig.CapAdd') ?? [],
    capDrop: strings(hc.CapDrop, 'HostConfig.CapDrop') ?? [],
    readonlyRootfs: bool(hc.ReadonlyRootfs, 'HostConfig.ReadonlyRootfs'),
    shmSize,
    ...(h && w ? { consoleSize: { height: h, width: w } } : {}),
    ...namespaceModesFromBody(b, hc),
    ...limitsFromCreateBody(b, hc),
    ...logConfigFromBody(hc),
    ...cgroupParentFromBody(hc),
    ...runtimeExtrasFromBody(hc),
    ...(hc.UsernsMode === 'host' ? { usernsMode: 'host' } : {}),
    ...(networkDisabled ? { networkDisabled: true } : {}),
  };
}

/** Config.Volumes and HostConfig.Binds/Mounts/Tmpfs/VolumesFrom, checked here so a bad one is a 400 before anything is made. */
function mountsOfRequest(b: Json, hc: Json): { volumes: Record<string, object>; binds: string[]; mounts: ApiMount[]; tmpfs: Record<string, string>; volumesFrom: string[] } {
  const volumes = obj(b.Volumes, 'Config.Volumes') as Record<string, object>;
  const volumeDriver = str(hc.VolumeDriver, 'HostConfig.VolumeDriver');
  if (volumeDriver !== '' && volumeDriver !== 'local') throw invalidArgument(`volume driver "${volumeDriver}" is not available: berth has only the "local" driver`);
  for (const path of Object.keys(volumes)) {
    if (!path.startsWith('/')) throw invalidArgument(`invalid mount config for type "volume": invalid mount path: '${path}' mount path must be absolute`);
    if (path.replace(/\/+$/, '') === '') throw invalidArgument(`invalid mount config for type "volume": invalid specification: destination can't be '/'`);
  }
  const binds = strings(hc.Binds, 'HostConfig.Binds') ?? [];
  if (hc.Mounts !== undefined && hc.Mounts !== null && !Array.isArray(hc.Mounts)) throw invalidArgument(`json: cannot unmarshal ${typeof hc.Mounts} into Go struct field HostConfig.Mounts of type []mount.Mount`);
  const mounts = ((hc.Mounts as unknown[] | null | undefined) ?? []).map(readApiMount);
  const tmpfs = obj(hc.Tmpfs, 'HostConfig.Tmpfs');
  for (const [k, v] of Object.entries(tmpfs)) if (typeof v !== 'string') throw invalidArgument(`HostConfig.Tmpfs ${k}: options must be a string`);
  const volumesFrom = strings(hc.VolumesFrom, 'HostConfig.VolumesFrom') ?? [];
  for (const v of volumesFrom) parseVolumesFrom(v);
  const parsed = parseContainerMounts(binds, mounts, tmpfs as Record<string, string>);
  return { volumes, binds, mounts, tmpfs: parsed.tmpfs, volumesFrom };
}

/** A MountPoint as inspect and ps show it. */
function mountPointDoc(m: MountPoint): Json {
  const doc: Json = { Type: m.type };
  if (m.type === 'volume') doc.Name = m.name;
  Object.assign(doc, { Source: m.source, Destination: m.destination });
  if (m.type === 'volume') doc.Driver = m.driver;
  return Object.assign(doc, { Mode: m.mode, RW: m.rw, Propagation: m.propagation });
}

function stateString(record: ContainerRecord): string {
  return record.state.status;
}

/** `Up 3 seconds`, `Exited (3) 2 seconds ago`, `Created` — the ps STATUS column. */
export function statusText(record: ContainerRecord, now = Date.now(), health?: HealthState): string {
  const s = record.state;
  switch (s.status) {
    case 'running':
      return `Up ${humanDuration(now - Date.parse(s.startedAt))}${healthSuffix(health)}`;
    case 'paused':
      return `Up ${humanDuration(now - Date.parse(s.startedAt))} (Paused)`;
    case 'exited':
      return `Exited (${s.exitCode}) ${humanDuration(now - Date.parse(s.finishedAt))} ago`;
    case 'created':
      return 'Created';
    case 'removing':
      return 'Removal In Progress';
    case 'restarting':
      return `Restarting (${s.exitCode}) ${humanDuration(now - Date.parse(s.finishedAt))} ago`;
    case 'dead':
      return 'Dead';
  }
}

function command(record: ContainerRecord): string {
  return [record.path, ...record.args].join(' ');
}

export function containerSummary(engine: Engine, record: ContainerRecord, findNetwork?: NetworkLookup): Json {
  return {
    Id: record.id,
    Names: [`/${record.name}`],
    Image: record.request.image,
    ImageID: record.imageId,
    Command: command(record),
    Created: Math.floor(Date.parse(record.created) / 1000),
    Ports: portList(record),
    Labels: record.request.labels,
    State: stateString(record),
    Status: statusText(record, Date.now(), engine.health.get(record.id)),
    HostConfig: { NetworkMode: record.request.network.mode },
    NetworkSettings: { Networks: containerNetworks(engine, record, findNetwork) },
    Mounts: (record.mounts ?? []).map(mountPointDoc),
  };
}

/**
 * moby's HostConfig fields in its struct order (api/types/container/hostconfig.go, with
 * Resources embedded where it stands) and the value dockerd marshals for one that is unset;
 * undefined for the omitempty ones. dockerd's inspect and the docker CLI's `{{json .}}` print
 * exactly these, in this order.
 */
const HOST_CONFIG_FIELDS: ReadonlyArray<readonly [string, unknown]> = [
  ['Binds', null], ['ContainerIDFile', ''], ['LogConfig', { Type: '', Config: null }], ['NetworkMode', ''], ['PortBindings', null],
  ['RestartPolicy', { Name: '', MaximumRetryCount: 0 }], ['AutoRemove', false], ['VolumeDriver', ''], ['VolumesFrom', null],
  ['ConsoleSize', [0, 0]], ['Annotations', undefined],
  ['CapAdd', null], ['CapDrop', null], ['CgroupnsMode', ''], ['Dns', null], ['DnsOptions', null], ['DnsSearch', null],
  ['ExtraHosts', null], ['GroupAdd', null], ['IpcMode', ''], ['Cgroup', ''], ['Links', null], ['OomScoreAdj', 0], ['PidMode', ''],
  ['Privileged', false], ['PublishAllPorts', false], ['ReadonlyRootfs', false], ['SecurityOpt', null], ['StorageOpt', undefined],
  ['Tmpfs', undefined], ['UTSMode', ''], ['UsernsMode', ''], ['ShmSize', 0], ['Sysctls', undefined], ['Runtime', undefined],
  ['Isolation', ''],
  ['CpuShares', 0], ['Memory', 0], ['NanoCpus', 0], ['CgroupParent', ''], ['BlkioWeight', 0], ['BlkioWeightDevice', null],
  ['BlkioDeviceReadBps', null], ['BlkioDeviceWriteBps', null], ['BlkioDeviceReadIOps', null], ['BlkioDeviceWriteIOps', null],
  ['CpuPeriod', 0], ['CpuQuota', 0], ['CpuRealtimePeriod', 0], ['CpuRealtimeRuntime', 0], ['CpusetCpus', ''], ['CpusetMems', ''],
  ['Devices', null], ['DeviceCgroupRules', null], ['DeviceRequests', null], ['MemoryReservation', 0], ['MemorySwap', 0],
  ['MemorySwappiness', null], ['OomKillDisable', null], ['PidsLimit', null], ['Ulimits', null], ['CpuCount', 0], ['CpuPercent', 0],
  ['IOMaximumIOps', 0], ['IOMaximumBandwidth', 0],
  ['Mounts', undefined], ['MaskedPaths', null], ['ReadonlyPaths', null], ['Init', undefined],
];

/** `values` with its keys in `fields` order, the unset ones at their zero value; keys not in `fields` last. */
function inStructOrder(fields: ReadonlyArray<readonly [string, unknown]>, values: Json): Json {
  const out: Json = {};
  for (const [key, zero] of fields) {
    if (key in values) out[key] = values[key];
    else if (zero !== undefined) out[key] = zero;
  }
  for (const key of Object.keys(values)) if (!(key in out)) out[key] = values[key];
  return out;
}

export function containerInspect(engine: Engine, record: ContainerRecord): Json {
  const req = record.request;
  const bundle = engine.containers.bundle(record.id);
  const s = record.state;
  const env = [...(record.imageConfig.Env ?? [])];
  for (const e of req.env) {
    const key = e.split('=')[0];
    const i = env.findIndex((x) => x.split('=')[0] === key);
    if (i >= 0) env[i] = e;
    else env.push(e);
  }
  return {
    Id: record.id,
    Created: record.created,
    Path: record.path,
    Args: record.args,
    State: {
      Status: s.status,
      // dockerd counts a container waiting to be restarted as running (State.SetRestarting).
      Running: s.status === 'running' || s.status === 'paused' || s.status === 'restarting',
      Paused: s.status === 'paused',
      Restarting: s.status === 'restarting',
      OOMKilled: s.oomKilled,
      Dead: s.status === 'dead',
      Pid: s.pid,
      ExitCode: s.exitCode,
      Error: s.error,
      StartedAt: s.startedAt,
      FinishedAt: s.finishedAt,
      ...inspectHealth(engine.health.get(record.id), record),
    },
    Image: record.imageId,
    ResolvConfPath: `${bundle}/resolv.conf`,
    HostnamePath: `${bundle}/hostname`,
    HostsPath: `${bundle}/hosts`,
    LogPath: engine.containers.logPath(record.id),
    Name: `/${record.name}`,
    RestartCount: record.restartCount,
    Driver: 'overlay',
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: null,
    HostConfig: inStructOrder(HOST_CONFIG_FIELDS, {
      Binds: req.binds?.length ? req.binds : null,
      ContainerIDFile: '',
      // conmon writes k8s-file logs, but to clients the driver behaves as json-file does (logs are
      // read back through the API), and docker-py and compose only fetch logs for drivers they know.
      LogConfig: { Type: 'json-file', Config: req.logConfig?.config ?? {} },
      ...hostConfigNetworkFields(record),
      RestartPolicy: { Name: req.restartPolicy.name, MaximumRetryCount: req.restartPolicy.maximumRetryCount },
      AutoRemove: req.autoRemove,
      VolumeDriver: '',
      VolumesFrom: req.volumesFrom?.length ? req.volumesFrom : null,
      CapAdd: req.capAdd.length ? req.capAdd : null,
      CapDrop: req.capDrop.length ? req.capDrop : null,
      GroupAdd: req.groupAdd.length ? req.groupAdd : null,
      IpcMode: req.ipcMode || 'private',
      PidMode: req.pidMode ?? '',
      UTSMode: req.utsMode ?? '',
      Privileged: req.privileged,
      ReadonlyRootfs: req.readonlyRootfs,
      ShmSize: req.shmSize || 67108864,
      Runtime: 'runc',
      ConsoleSize: [req.consoleSize?.height ?? 0, req.consoleSize?.width ?? 0],
      ...inspectHostConfigLimits(record),
      ...(req.mounts?.length ? { Mounts: req.mounts } : {}),
      ...(req.tmpfs && Object.keys(req.tmpfs).length ? { Tmpfs: req.tmpfs } : {}),
      // What the spec gets (spec.ts): no cgroup namespace on cgroup v1, a private one on v2;
      // Docker's masked and read-only paths unless privileged, as dockerd records them at create.
      CgroupnsMode: req.cgroupnsMode || (detectHostFacts().cgroupV2 ? 'private' : 'host'),
      CgroupParent: req.cgroupParent ?? '',
      UsernsMode: req.usernsMode ?? '',
      MaskedPaths: req.privileged ? null : [...(req.maskedPaths ?? DEFAULT_MASKED_PATHS)],
      ReadonlyPaths: req.privileged ? null : [...(req.readonlyPaths ?? DEFAULT_READONLY_PATHS)],
      DeviceCgroupRules: req.deviceCgroupRules?.length ? req.deviceCgroupRules : null,
      ...(req.annotations ? { Annotations: req.annotations } : {}),
    }),
    // Struct order (Data, Name) and the map's keys sorted, as dockerd marshals it.
    GraphDriver: {
      Data: { MergedDir: `${bundle}/rootfs`, UpperDir: engine.snapshots.activeUpperPath(record.id) },
      Name: 'overlay',
    },
    Mounts: (record.mounts ?? []).map(mountPointDoc),
    Config: {
      Hostname: req.hostname || record.id.slice(0, 12),
      Domainname: req.domainname,
      User: req.user || record.imageConfig.User || '',
      AttachStdin: req.attachStdin,
      AttachStdout: req.attachStdout,
      AttachStderr: req.attachStderr,
      ExposedPorts: Object.keys({ ...(record.imageConfig.ExposedPorts ?? {}), ...req.exposedPorts }).length ? { ...(record.imageConfig.ExposedPorts ?? {}), ...req.exposedPorts } : undefined,
      Tty: req.tty,
      OpenStdin: req.openStdin,
      StdinOnce: req.stdinOnce,
      Env: env,
      Cmd: req.cmd ?? (req.entrypoint ? null : (record.imageConfig.Cmd ?? null)),
      Image: req.image,
      Volumes: Object.keys({ ...(record.imageConfig.Volumes ?? {}), ...req.volumes }).length ? { ...(record.imageConfig.Volumes ?? {}), ...req.volumes } : null,
      WorkingDir: req.workingDir || record.imageConfig.WorkingDir || '',
      Entrypoint: req.entrypoint ?? record.imageConfig.Entrypoint ?? null,
      ...(req.networkDisabled ? { NetworkDisabled: true } : {}),
      OnBuild: null,
      Labels: { ...(record.imageConfig.Labels ?? {}), ...req.labels },
      ...(req.stopSignal || record.imageConfig.StopSignal ? { StopSignal: req.stopSignal || record.imageConfig.StopSignal } : {}),
      ...(req.stopTimeout !== undefined ? { StopTimeout: req.stopTimeout } : {}),
      ...(req.healthcheck ? { Healthcheck: req.healthcheck } : {}),
    },
    NetworkSettings: networkSettings(engine, record),
  };
}

function imageConfigDoc(image: ImageRecord): Json {
  const c = image.config.config ?? {};
  return {
    Hostname: '', Domainname: '', User: c.User ?? '', AttachStdin: false, AttachStdout: false, AttachStderr: false,
    ...(c.ExposedPorts ? { ExposedPorts: c.ExposedPorts } : {}),
    Tty: false, OpenStdin: false, StdinOnce: false,
    Env: c.Env ?? null, Cmd: c.Cmd ?? null, Image: '', Volumes: c.Volumes ?? null, WorkingDir: c.WorkingDir ?? '',
    Entrypoint: c.Entrypoint ?? null, OnBuild: c.OnBuild ?? null, Labels: c.Labels ?? null,
    ...(c.StopSignal ? { StopSignal: c.StopSignal } : {}),
    ...(c.Healthcheck ? { Healthcheck: c.Healthcheck } : {}),
  };
}

export function imageSummary(engine: Engine, image: ImageRecord): Json {
  return {
    Containers: -1,
    Created: Math.floor(Date.parse(image.config.created ?? '1970-01-01T00:00:00Z') / 1000) || 0,
    Id: image.id,
    Labels: image.config.config?.Labels ?? null,
    ParentId: '',
    RepoDigests: engine.repoDigests(image),
    RepoTags: engine.repoTags(image),
    SharedSize: -1,
    Size: image.size,
    VirtualSize: image.size,
  };
}

export function imageInspect(engine: Engine, image: ImageRecord): Json {
  return {
    Id: image.id,
    RepoTags: engine.repoTags(image),
    RepoDigests: engine.repoDigests(image),
    Parent: '',
    Comment: image.config.history?.at(-1)?.comment ?? '',
    Created: image.config.created ?? '',
    DockerVersion: '',
    Author: image.config.author ?? '',
    Config: imageConfigDoc(image),
    Architecture: image.config.architecture,
    ...(image.config.variant ? { Variant: image.config.variant } : {}),
    Os: image.config.os,
    Size: image.size,
    VirtualSize: image.size,
    GraphDriver: { Name: 'overlay', Data: { LowerDir: image.chainIds.map((c) => engine.snapshots.layerPath(c)).reverse().join(':') } },
    RootFS: { Type: 'layers', Layers: image.config.rootfs.diff_ids },
    Metadata: { LastTagTime: new Date(image.addedAt).toISOString() },
    Descriptor: { mediaType: image.manifestMediaType, digest: image.manifestDigest },
  };
}

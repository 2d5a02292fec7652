/**
 * OCI runtime-spec config.json types (opencontainers/runtime-spec config.md, config-linux.md).
 * Field names are spelled exactly as the spec (and runc) read them. Only the POSIX/Linux parts
 * are modelled; unknown fields are ignored by runc, so adding more later is backwards compatible.
 */

export interface Spec {
  ociVersion: string;
  process?: Process;
  root?: Root;
  hostname?: string;
  domainname?: string;
  mounts?: Mount[];
  hooks?: Hooks;
  annotations?: Record<string, string>;
  linux?: Linux;
}

export interface Root {
  /** Absolute, or relative to the bundle directory. */
  path: string;
  readonly?: boolean;
}

export interface Mount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
  uidMappings?: LinuxIDMapping[];
  gidMappings?: LinuxIDMapping[];
}

export interface Process {
  terminal?: boolean;
  consoleSize?: Box;
  user: User;
  args?: string[];
  commandLine?: string;
  env?: string[];
  cwd: string;
  capabilities?: LinuxCapabilities;
  rlimits?: POSIXRlimit[];
  noNewPrivileges?: boolean;
  apparmorProfile?: string;
  oomScoreAdj?: number;
  selinuxLabel?: string;
  ioPriority?: LinuxIOPriority;
  scheduler?: LinuxScheduler;
  execCPUAffinity?: CPUAffinity;
}

export interface Box {
  height: number;
  width: number;
}

export interface User {
  uid: number;
  gid: number;
  umask?: number;
  additionalGids?: number[];
  username?: string;
}

export interface LinuxCapabilities {
  bounding?: string[];
  effective?: string[];
  inheritable?: string[];
  permitted?: string[];
  ambient?: string[];
}

export interface POSIXRlimit {
  /** `RLIMIT_*` */
  type: string;
  hard: number;
  soft: number;
}

export interface LinuxIOPriority {
  class: 'IOPRIO_CLASS_RT' | 'IOPRIO_CLASS_BE' | 'IOPRIO_CLASS_IDLE';
  priority?: number;
}

export interface LinuxScheduler {
  policy: 'SCHED_OTHER' | 'SCHED_FIFO' | 'SCHED_RR' | 'SCHED_BATCH' | 'SCHED_ISO' | 'SCHED_IDLE' | 'SCHED_DEADLINE';
  nice?: number;
  priority?: number;
  flags?: string[];
  runtime?: number;
  deadline?: number;
  period?: number;
}

export interface CPUAffinity {
  initial?: string;
  final?: string;
}

export interface Hook {
  path: string;
  args?: string[];
  env?: string[];
  timeout?: number;
}

export interface Hooks {
  /** Deprecated in the spec, still honoured by runc. */
  prestart?: Hook[];
  createRuntime?: Hook[];
  createContainer?: Hook[];
  startContainer?: Hook[];
  poststart?: Hook[];
  poststop?: Hook[];
}

export type LinuxNamespaceType = 'pid' | 'network' | 'mount' | 'ipc' | 'uts' | 'user' | 'cgroup' | 'time';

export interface LinuxNamespace {
  type: LinuxNamespaceType;
  path?: string;
}

export interface LinuxIDMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export interface LinuxDevice {
  /** `c`, `b`, `u` or `p` */
  type: string;
  path: string;
  major?: number;
  minor?: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

export interface LinuxDeviceCgroup {
  allow: boolean;
  type?: string;
  major?: number;
  minor?: number;
  /** Some of `r`, `w`, `m`. */
  access?: string;
}

export interface LinuxMemory {
  limit?: number;
  reservation?: number;
  swap?: number;
  kernel?: number;
  kernelTCP?: number;
  swappiness?: number;
  disableOOMKiller?: boolean;
  useHierarchy?: boolean;
  checkBeforeUpdate?: boolean;
}

export interface LinuxCPU {
  shares?: number;
  quota?: number;
  burst?: number;
  period?: number;
  realtimeRuntime?: number;
  realtimePeriod?: number;
  cpus?: string;
  mems?: string;
  idle?: number;
}

export interface LinuxPids {
  limit: number;
}

export interface LinuxWeightDevice {
  major: number;
  minor: number;
  weight?: number;
  leafWeight?: number;
}

export interface LinuxThrottleDevice {
  major: number;
  minor: number;
  rate: number;
}

export interface LinuxBlockIO {
  weight?: number;
  leafWeight?: number;
  weightDevice?: LinuxWeightDevice[];
  throttleReadBpsDevice?: LinuxThrottleDevice[];
  throttleWriteBpsDevice?: LinuxThrottleDevice[];
  throttleReadIOPSDevice?: LinuxThrottleDevice[];
  throttleWriteIOPSDevice?: LinuxThrottleDevice[];
}

export interface LinuxHugepageLimit {
  pageSize: string;
  limit: number;
}

export interface LinuxInterfacePriority {
  name: string;
  priority: number;
}

export interface LinuxNetwork {
  classID?: number;
  priorities?: LinuxInterfacePriority[];
}

export interface LinuxRdma {
  hcaHandles?: number;
  hcaObjects?: number;
}

export interface LinuxResources {
  devices?: LinuxDeviceCgroup[];
  memory?: LinuxMemory;
  cpu?: LinuxCPU;
  pids?: LinuxPids;
  blockIO?: LinuxBlockIO;
  hugepageLimits?: LinuxHugepageLimit[];
  network?: LinuxNetwork;
  rdma?: Record<string, LinuxRdma>;
  unified?: Record<string, string>;
}

export type SeccompAction =
  | 'SCMP_ACT_KILL'
  | 'SCMP_ACT_KILL_PROCESS'
  | 'SCMP_ACT_KILL_THREAD'
  | 'SCMP_ACT_TRAP'
  | 'SCMP_ACT_ERRNO'
  | 'SCMP_ACT_TRACE'
  | 'SCMP_ACT_ALLOW'
  | 'SCMP_ACT_LOG'
  | 'SCMP_ACT_NOTIFY';

export type SeccompOperator =
  | 'SCMP_CMP_NE'
  | 'SCMP_CMP_LT'
  | 'SCMP_CMP_LE'
  | 'SCMP_CMP_EQ'
  | 'SCMP_CMP_GE'
  | 'SCMP_CMP_GT'
  | 'SCMP_CMP_MASKED_EQ';

/** `SCMP_ARCH_*` constants as libseccomp names them. */
export type SeccompArch = string;

export interface LinuxSeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: SeccompOperator;
}

export interface LinuxSyscall {
  names: string[];
  action: SeccompAction;
  errnoRet?: number;
  args?: LinuxSeccompArg[];
}

export interface LinuxSeccomp {
  defaultAction: SeccompAction;
  defaultErrnoRet?: number;
  architectures?: SeccompArch[];
  flags?: string[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: LinuxSyscall[];
}

export interface LinuxPersonality {
  domain: 'LINUX' | 'LINUX32';
  flags?: string[];
}

export interface LinuxIntelRdt {
  closID?: string;
  l3CacheSchema?: string;
  memBwSchema?: string;
  enableCMT?: boolean;
  enableMBM?: boolean;
}

export interface LinuxTimeOffset {
  secs?: number;
  nanosecs?: number;
}

export interface Linux {
  uidMappings?: LinuxIDMapping[];
  gidMappings?: LinuxIDMapping[];
  sysctl?: Record<string, string>;
  resources?: LinuxResources;
  cgroupsPath?: string;
  namespaces?: LinuxNamespace[];
  devices?: LinuxDevice[];
  seccomp?: LinuxSeccomp;
  rootfsPropagation?: 'private' | 'shared' | 'slave' | 'unbindable';
  maskedPaths?: string[];
  readonlyPaths?: string[];
  mountLabel?: string;
  intelRdt?: LinuxIntelRdt;
  personality?: LinuxPersonality;
  timeOffsets?: { boottime?: LinuxTimeOffset; monotonic?: LinuxTimeOffset };
}

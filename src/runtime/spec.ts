/**
 * OCI runtime spec (config.json) generation: image config + the user's request + Docker's
 * security defaults, producing what dockerd's createSpec (daemon/oci_linux.go over
 * daemon/pkg/oci/defaults.go) produces for the same request.
 *
 * generateSpec() is pure apart from reading the vendored seccomp profile once: the user is
 * resolved by the caller first (user.ts, it reads the rootfs), and host facts (cgroup v2, the
 * host's capability set, thermal_throttle paths, kernel) come in as input — detectHostFacts()
 * reads them once per process.
 */
import { statSync } from 'node:fs';
import { release } from 'node:os';
import { posix } from 'node:path';
import { invalidArgument } from '../core/errors.js';
import { readTextIfPresent } from '../core/read-text.js';
import { x32AbiAvailable } from '../core/libc.js';
import type { ImageRuntimeConfig } from '../oci/image.js';
import type {
  LinuxDevice,
  LinuxDeviceCgroup,
  LinuxNamespace,
  LinuxResources,
  Mount,
  POSIXRlimit,
  Process,
  Spec,
  User,
} from '../oci/runtime-spec.js';
import { parseKernelRelease, seccompFor, type SeccompChoice } from './seccomp.js';

/** runc 1.1's runtime-spec version (`runc --version` → spec: 1.0.2-dev); every field used exists there. */
export const OCI_VERSION = '1.0.2-dev';

export const DEFAULT_PATH_ENV = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Where `--init` puts the init inside the container (moby's inits.DefaultInitBinary path). */
export const INIT_PATH = '/sbin/docker-init';

/** Docker's default /dev/shm size (64 MiB). */
export const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;

/** Every capability the kernel defines (numbered 0–40), in number order. */
export const ALL_CAPABILITIES: readonly string[] = Object.freeze([
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
]);

/** Docker's 14 default capabilities (daemon/pkg/oci/caps/defaults.go), in Docker's order. */
export const DEFAULT_CAPABILITIES: readonly string[] = Object.freeze([
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
]);

/** Masked paths (daemon/pkg/oci/defaults.go); the host's cpuN/thermal_throttle dirs are added. */
export const DEFAULT_MASKED_PATHS: readonly string[] = Object.freeze([
  '/proc/acpi',
  '/proc/asound',
  '/proc/interrupts',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/sys/devices/virtual/powercap',
  '/sys/firmware',
]);

export const DEFAULT_READONLY_PATHS: readonly string[] = Object.freeze([
  '/proc/bus',
  '/proc/fs',
  '/proc/irq',
  '/proc/sys',
  '/proc/sysrq-trigger',
]);

/**
 * Network namespace of the container:
 * - `none`: a new, empty network namespace (also what bridge/CNI networking starts from: berthd
 *   configures it between `runc create` and `runc start` through /proc/<pid>/ns/net);
 * - `host`: no network namespace (the host's);
 * - `{ netnsPath }`: join an existing namespace (a pod's or another container's).
 */
export type NetworkMode = 'none' | 'host' | { netnsPath: string };

/** The already-resolved process user (see user.ts resolveUser). */
export interface SpecUser {
  uid: number;
  gid: number;
  /** As resolveUser() returns it: primary gid, /etc/group supplementary gids, --group-add. */
  additionalGids?: number[];
  umask?: number;
}

/** Host paths of the generated files bind-mounted over /etc/hostname, /etc/hosts, /etc/resolv.conf. */
export interface EtcFiles {
  hostname?: string;
  hosts?: string;
  resolvConf?: string;
}

/** Facts about the host that change the spec; detectHostFacts() reads them. */
export interface HostFacts {
  /** /sys/fs/cgroup is the cgroup v2 unified hierarchy. */
  cgroupV2: boolean;
  /** Capabilities in berthd's own bounding set; `privileged` and `--cap-add ALL` get these. */
  capabilities: string[];
  /** Existing /sys/devices/system/cpu/cpuN/thermal_throttle directories (masked like moby). */
  thermalThrottlePaths: string[];
  /** `uname -r`. */
  kernelRelease: string;
  /** Node's process.arch. */
  arch: string;
  /** berthd itself runs in a user namespace (no unprivileged-ping sysctl then, like moby). */
  inUserNamespace: boolean;
  /** The kernel supports seccomp filters. */
  seccomp: boolean;
  /** The kernel runs x32-ABI programs (x86_64 only; most distributions build or boot without). */
  x32Abi: boolean;
}

/** A namespace of the container: its own (the default), the host's, or another process's at `path`. */
export type NamespaceChoice = 'private' | 'host' | { path: string };

/** /dev/shm: a tmpfs of its own (the default), none (`--ipc none`), or a bind of a host path (`--ipc host|container:`). */
export type ShmChoice = 'tmpfs' | 'none' | { source: string };

export interface SpecInput {
  /** Used for the default hostname (first 12 characters), as Docker does. */
  containerId: string;
  /** Absolute path of the mounted rootfs (runc needs `root.path`). */
  rootfs: string;
  /** The image's runtime config (Entrypoint, Cmd, Env, WorkingDir…). User is resolved by the caller. */
  image?: ImageRuntimeConfig;
  /** The request's Cmd; empty or absent means the image's Cmd (unless an entrypoint is given). */
  cmd?: string[] | null;
  /**
   * The request's Entrypoint, with Docker's JSON semantics: `undefined`/`null` = not given
   * (the image's); `[]` = no entrypoint, but the image Cmd still applies when cmd is empty;
   * `[""]` (what `--entrypoint ""` sends) = no entrypoint and the image Cmd is dropped too.
   * Any non-empty entrypoint drops the image Cmd.
   */
  entrypoint?: string[] | null;
  /** The request's Env (`KEY=value`; a bare `KEY` unsets it). */
  env?: string[];
  /** Must be absolute when given; falls back to the image's, then `/`. */
  workingDir?: string;
  user: SpecUser;
  /** Defaults to the first 12 characters of containerId. */
  hostname?: string;
  domainname?: string;
  tty?: boolean;
  /** Terminal size for `process.consoleSize` (only with tty). */
  consoleSize?: { height: number; width: number };
  /** Not part of config.json (stdin is the monitor's business); accepted so requests pass through. */
  openStdin?: boolean;
  networkMode: NetworkMode;
  readonlyRootfs?: boolean;
  /** `--cap-add` / `--cap-drop`: names with or without `CAP_`, any case, or `ALL`. */
  capAdd?: string[];
  capDrop?: string[];
  /** All host capabilities, no seccomp, no masked/readonly paths, rw /sys and cgroup, all devices allowed. */
  privileged?: boolean;
  /** `--security-opt no-new-privileges`; false by default like Docker. */
  noNewPrivileges?: boolean;
  /** Default: Docker's default profile. Ignored (none) when privileged. */
  seccomp?: SeccompChoice;
  /** /dev/shm size in bytes; default 64 MiB. */
  shmSize?: number;
  shm?: ShmChoice;
  /** `--pid`, `--ipc`, `--uts`; private by default. With the host's UTS namespace there is no spec hostname. */
  pidNamespace?: NamespaceChoice;
  ipcNamespace?: NamespaceChoice;
  utsNamespace?: NamespaceChoice;
  /** `--cgroupns private|host`; by default a cgroup namespace of its own on cgroup v2 only, as dockerd. */
  cgroupNamespace?: boolean;
  etcFiles?: EtcFiles;
  /** Further mounts (volumes, binds, tmpfs) already in OCI form; they override defaults at the same destination. */
  mounts?: Mount[];
  /** Propagation of the rootfs mount; binds with shared or slave propagation need it (moby's rule). */
  rootfsPropagation?: 'shared' | 'slave';
  /** Device nodes to create (e.g. the host's devices for a privileged container). */
  devices?: LinuxDevice[];
  /** `--sysctl`; merged over Docker's defaults. */
  sysctls?: Record<string, string>;
  /** Resource limits (memory, cpu, pids…); the device cgroup rules are generated. */
  resources?: Omit<LinuxResources, 'devices'>;
  /** Device cgroup rules for `devices` given by the user, appended to the defaults. */
  deviceRules?: LinuxDeviceCgroup[];
  /** `--ulimit`s (resources.ts ociRlimits); none by default. */
  rlimits?: POSIXRlimit[];
  oomScoreAdj?: number;
  /** Host path of the init binary (`--init`): bind-mounted read-only at INIT_PATH and made PID 1. */
  initBinary?: string;
  annotations?: Record<string, string>;
  /** HostConfig.MaskedPaths/ReadonlyPaths when given (`--security-opt systempaths=unconfined` sends none); else Docker's. */
  maskedPaths?: readonly string[];
  readonlyPaths?: readonly string[];
  cgroupsPath: string;
  cgroupV2: boolean;
  /** Host facts other than cgroupV2; each defaults to what this process sees where needed. */
  host?: Partial<Omit<HostFacts, 'cgroupV2'>>;
}

// ---------------------------------------------------------------------------------------------
// Docker's merge rules.

function envKey(entry: string): string {
  const i = entry.indexOf('=');
  return i < 0 ? entry : entry.slice(0, i);
}

/** daemon/commit.go merge(): user Env first, then image Env entries whose key the user did not set. */
export function mergeEnv(userEnv: readonly string[], imageEnv: readonly string[]): string[] {
  if (userEnv.length === 0) return [...imageEnv];
  const userKeys = new Set(userEnv.map(envKey));
  return [...userEnv, ...imageEnv.filter((e) => !userKeys.has(envKey(e)))];
}

/**
 * moby ReplaceOrAppendEnvValues: overrides replace same-key defaults in place, new keys are
 * appended, and a bare `KEY` (no `=`) removes KEY from the defaults.
 */
export function replaceOrAppendEnvValues(defaults: readonly string[], overrides: readonly string[]): string[] {
  const out: Array<string | undefined> = [...defaults];
  const index = new Map<string, number>();
  defaults.forEach((e, i) => index.set(envKey(e), i));
  for (const value of overrides) {
    const eq = value.indexOf('=');
    if (eq < 0) {
      const i = index.get(value);
      if (i !== undefined) out[i] = undefined;
      continue;
    }
    const i = index.get(value.slice(0, eq));
    if (i !== undefined) out[i] = value;
    else out.push(value);
  }
  return out.filter((e): e is string => e !== undefined);
}

/**
 * The process args from image and request (daemon/commit.go merge + mergeAndVerifyConfig +
 * getEntrypointAndArgs): entrypoint ++ cmd. Throws invalid-argument `no command specified`.
 */
export function resolveArgs(
  image: ImageRuntimeConfig | undefined,
  cmd: readonly string[] | null | undefined,
  entrypoint: readonly string[] | null | undefined,
): string[] {
  let ep: readonly string[] | null | undefined = entrypoint;
  let command: readonly string[] | null | undefined = cmd;
  if (!ep || ep.length === 0) {
    if (!command || command.length === 0) command = image?.Cmd;
    if (ep === undefined || ep === null) ep = image?.Entrypoint;
  }
  if (ep && ep.length === 1 && ep[0] === '') ep = null;
  const args = [...(ep ?? []), ...(command ?? [])];
  if (args.length === 0) throw invalidArgument('no command specified');
  return args;
}

/** The process cwd: the request's WorkingDir (must be absolute), else the image's, else `/`. */
export function resolveWorkingDir(image: ImageRuntimeConfig | undefined, workingDir: string | undefined): string {
  if (workingDir) {
    if (!workingDir.startsWith('/')) {
      throw invalidArgument(`the working directory '${workingDir}' is invalid, it needs to be an absolute path`);
    }
    return cleanPath(workingDir);
  }
  const fromImage = image?.WorkingDir;
  return fromImage ? cleanPath('/' + fromImage) : '/';
}

function cleanPath(p: string): string {
  const n = posix.normalize(p);
  return n.length > 1 ? n.replace(/\/+$/, '') : n;
}

// ---------------------------------------------------------------------------------------------
// Capabilities (daemon/pkg/oci/caps).

const knownCapabilities: ReadonlySet<string> = new Set(ALL_CAPABILITIES);

/** `net_admin` → `CAP_NET_ADMIN`; `ALL` stays `ALL`; unknown → invalid-argument `unknown capability: "CAP_X"`. */
export function normalizeCapability(name: string): string {
  let c = name.toUpperCase();
  if (c === 'ALL') return c;
  if (!c.startsWith('CAP_')) c = 'CAP_' + c;
  if (!knownCapabilities.has(c)) throw invalidArgument(`unknown capability: "${c}"`);
  return c;
}

/**
 * caps.TweakCapabilities: privileged → every capability; `--cap-add ALL` → every capability
 * except the dropped ones; `--cap-drop ALL` → only the added ones; otherwise base − drop + add.
 * `all` is "every capability" (the host's set).
 */
export function tweakCapabilities(
  base: readonly string[],
  add: readonly string[] = [],
  drop: readonly string[] = [],
  privileged = false,
  all: readonly string[] = ALL_CAPABILITIES,
): string[] {
  if (privileged) return [...all];
  if (add.length === 0 && drop.length === 0) return [...base];
  const capDrop = drop.map(normalizeCapability);
  const capAdd = add.map(normalizeCapability);
  let caps: string[];
  if (capAdd.includes('ALL')) caps = all.filter((c) => !capDrop.includes(c));
  else if (capDrop.includes('ALL')) caps = capAdd.filter((c) => c !== 'ALL');
  else caps = [...base.filter((c) => !capDrop.includes(c)), ...capAdd];
  return [...new Set(caps)];
}

// ---------------------------------------------------------------------------------------------
// Spec generation.

function shmMount(shm: ShmChoice, shmSize: number): Mount[] {
  if (shm === 'none') return [];
  if (shm === 'tmpfs') return [{ destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', `size=${shmSize}`] }];
  return [{ destination: '/dev/shm', type: 'bind', source: shm.source, options: ['rbind', 'nosuid', 'noexec', 'nodev'] }];
}

function defaultMounts(shm: ShmChoice, shmSize: number): Mount[] {
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro', 'nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    ...shmMount(shm, shmSize),
  ];
}

/** The default device cgroup: deny all, allow the basic character devices, deny fuse. */
function defaultDeviceRules(): LinuxDeviceCgroup[] {
  const allow = (major: number, minor: number): LinuxDeviceCgroup => ({ allow: true, type: 'c', major, minor, access: 'rwm' });
  return [
    { allow: false, access: 'rwm' },
    allow(1, 5), // zero
    allow(1, 3), // null
    allow(1, 9), // urandom
    allow(1, 8), // random
    allow(5, 0), // tty
    allow(5, 1), // console
    { allow: false, type: 'c', major: 10, minor: 229, access: 'rwm' }, // fuse
    // runc itself appends full, ptmx, pts/* and net/tun to the allow list.
  ];
}

const depth = (destination: string): number => (cleanPath(destination).match(/\//g) ?? []).length;

function withoutReadonly(m: Mount): Mount {
  return { ...m, options: (m.options ?? []).filter((o) => o !== 'ro') };
}

function buildMounts(input: SpecInput): Mount[] {
  const shmSize = input.shmSize ?? DEFAULT_SHM_SIZE;
  if (!Number.isSafeInteger(shmSize) || shmSize <= 0) throw invalidArgument(`invalid shm size: ${shmSize}`);

  // The request's mounts plus the generated /etc files (resolv.conf, hostname, hosts — the order
  // of moby's NetworkMounts), then stable-sorted by path depth like moby's sort of `mounts`.
  const user: Mount[] = (input.mounts ?? []).map((m) => ({ ...m, options: m.options ? [...m.options] : undefined }));
  if (input.initBinary) user.push({ destination: INIT_PATH, type: 'bind', source: input.initBinary, options: ['bind', 'ro'] });
  const userDest = new Set(user.map((m) => cleanPath(m.destination)));
  const etcOptions = input.readonlyRootfs ? ['rbind', 'ro', 'rprivate'] : ['rbind', 'rprivate'];
  const etc: Array<[string, string | undefined]> = [
    ['/etc/resolv.conf', input.etcFiles?.resolvConf],
    ['/etc/hostname', input.etcFiles?.hostname],
    ['/etc/hosts', input.etcFiles?.hosts],
  ];
  for (const [destination, source] of etc) {
    if (source === undefined || userDest.has(destination)) continue;
    user.push({ destination, type: 'bind', source, options: [...etcOptions] });
  }
  const sorted = user
    .map((m, i) => ({ m, i, d: depth(m.destination) }))
    .sort((a, b) => a.d - b.d || a.i - b.i)
    .map((e) => e.m);
  for (const m of sorted) if (m.options === undefined) delete m.options;
  const overridden = new Set(sorted.map((m) => cleanPath(m.destination)));

  const mountDev = overridden.has('/dev');
  let mounts = defaultMounts(input.shm ?? 'tmpfs', shmSize).filter(
    (m) => !overridden.has(m.destination) && !(mountDev && m.destination.startsWith('/dev/')),
  );
  if (input.readonlyRootfs) {
    const writable = new Set(['/proc', '/dev/pts', '/dev/shm', '/dev/mqueue', '/dev']);
    mounts = mounts.map((m) =>
      writable.has(m.destination) || (m.options ?? []).includes('ro') ? m : { ...m, options: [...(m.options ?? []), 'ro'] },
    );
  }
  mounts.push(...sorted);
  if (input.privileged) {
    mounts = mounts.map((m) => (m.destination === '/sys' || m.type === 'cgroup' ? withoutReadonly(m) : m));
  }
  return mounts;
}

function buildNamespaces(input: SpecInput): LinuxNamespace[] {
  const ns: LinuxNamespace[] = [{ type: 'mount' }];
  const mode = input.networkMode;
  if (mode === 'none') ns.push({ type: 'network' });
  else if (typeof mode === 'object') {
    if (!mode.netnsPath.startsWith('/')) throw invalidArgument(`network namespace path must be absolute: ${mode.netnsPath}`);
    ns.push({ type: 'network', path: mode.netnsPath });
  } else if (mode !== 'host') {
    throw invalidArgument(`invalid network mode: ${String(mode)}`);
  }
  const choose = (type: 'uts' | 'pid' | 'ipc', choice: NamespaceChoice = 'private'): void => {
    if (choice === 'host') return;
    if (choice === 'private') ns.push({ type });
    else if (!choice.path.startsWith('/')) throw invalidArgument(`${type} namespace path must be absolute: ${choice.path}`);
    else ns.push({ type, path: choice.path });
  };
  choose('uts', input.utsNamespace);
  choose('pid', input.pidNamespace);
  choose('ipc', input.ipcNamespace);
  if (input.cgroupNamespace ?? input.cgroupV2) ns.push({ type: 'cgroup' });
  return ns;
}

function buildSysctls(input: SpecInput, kernelRelease: string): Record<string, string> {
  const sysctl: Record<string, string> = {};
  // moby WithCommonOptions: only when the container gets a network namespace of its own.
  if (input.networkMode === 'none') {
    if (!input.host?.inUserNamespace) sysctl['net.ipv4.ping_group_range'] = '0 2147483647';
    const kv = parseKernelRelease(kernelRelease);
    if (kv.kernel > 4 || (kv.kernel === 4 && kv.major >= 11)) sysctl['net.ipv4.ip_unprivileged_port_start'] = '0';
  }
  return { ...sysctl, ...(input.sysctls ?? {}) };
}

function checkId(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw invalidArgument(`invalid ${what}: ${value}`);
  return value;
}

/** Builds config.json for a container. Throws BerthError invalid-argument for bad requests. */
export function generateSpec(input: SpecInput): Spec {
  if (!input.rootfs.startsWith('/')) throw invalidArgument(`rootfs path must be absolute: ${input.rootfs}`);
  const kernelRelease = input.host?.kernelRelease ?? release();
  const hostname = input.hostname || input.containerId.slice(0, 12);
  const tty = input.tty ?? false;

  const resolved = resolveArgs(input.image, input.cmd, input.entrypoint);
  // moby: the init gets `--` so it never reads the user's arguments as its own flags.
  const args = input.initBinary ? [INIT_PATH, '--', ...resolved] : resolved;
  const cwd = resolveWorkingDir(input.image, input.workingDir);
  const base = [`PATH=${DEFAULT_PATH_ENV}`, `HOSTNAME=${hostname}`];
  if (tty) base.push('TERM=xterm');
  const env = replaceOrAppendEnvValues(base, mergeEnv(input.env ?? [], input.image?.Env ?? []));

  const all = input.host?.capabilities ?? ALL_CAPABILITIES;
  const caps = tweakCapabilities(DEFAULT_CAPABILITIES, input.capAdd, input.capDrop, input.privileged, all);

  const user: User = { uid: checkId(input.user.uid, 'uid'), gid: checkId(input.user.gid, 'gid') };
  if (input.user.umask !== undefined) user.umask = input.user.umask;
  if (input.user.additionalGids && input.user.additionalGids.length > 0) {
    user.additionalGids = input.user.additionalGids.map((g) => checkId(g, 'gid'));
  }

  const proc: Process = {
    terminal: tty,
    user,
    args,
    env,
    cwd,
    capabilities: { bounding: [...caps], effective: [...caps], permitted: [...caps] },
    noNewPrivileges: input.noNewPrivileges ?? false,
  };
  if (input.rlimits && input.rlimits.length > 0) proc.rlimits = input.rlimits.map((r) => ({ ...r }));
  if (input.oomScoreAdj !== undefined && input.oomScoreAdj !== 0) proc.oomScoreAdj = input.oomScoreAdj;
  if (tty && input.consoleSize) proc.consoleSize = { height: input.consoleSize.height, width: input.consoleSize.width };

  const spec: Spec = {
    ociVersion: OCI_VERSION,
    process: proc,
    root: input.readonlyRootfs ? { path: input.rootfs, readonly: true } : { path: input.rootfs },
    // runc refuses a hostname without a UTS namespace of the container's own.
    ...(input.utsNamespace === undefined || input.utsNamespace === 'private' ? { hostname } : {}),
  };
  if (input.domainname) spec.domainname = input.domainname;
  spec.mounts = buildMounts(input);
  if (input.annotations && Object.keys(input.annotations).length > 0) spec.annotations = { ...input.annotations };

  const resources: LinuxResources = {
    devices: input.privileged ? [{ allow: true, access: 'rwm' }] : [...defaultDeviceRules(), ...(input.deviceRules ?? [])],
    ...(input.resources ?? {}),
  };
  spec.linux = { resources, cgroupsPath: input.cgroupsPath, namespaces: buildNamespaces(input) };
  if (input.rootfsPropagation) spec.linux.rootfsPropagation = input.rootfsPropagation;
  if (input.devices && input.devices.length > 0) spec.linux.devices = input.devices.map((d) => ({ ...d }));
  const sysctl = buildSysctls(input, kernelRelease);
  if (Object.keys(sysctl).length > 0) spec.linux.sysctl = sysctl;

  if (!input.privileged) {
    spec.linux.maskedPaths = input.maskedPaths ? [...input.maskedPaths] : [...DEFAULT_MASKED_PATHS, ...(input.host?.thermalThrottlePaths ?? [])];
    spec.linux.readonlyPaths = [...(input.readonlyPaths ?? DEFAULT_READONLY_PATHS)];
    const choice = input.seccomp ?? 'default';
    if (input.host?.seccomp === false && choice !== 'unconfined') {
      if (choice !== 'default') throw invalidArgument('seccomp is not enabled in your kernel, cannot run a custom seccomp profile');
    } else {
      const seccomp = seccompFor(choice, caps, { arch: input.host?.arch ?? process.arch, kernelRelease, x32Abi: input.host?.x32Abi ?? true });
      if (seccomp) spec.linux.seccomp = seccomp;
    }
  }
  return spec;
}

/**
 * JSON for runc (config.json, exec process files): rlimits of RLIM_INFINITY are held as 2^64,
 * which JSON.stringify would print as 18446744073709552000 — a number runc cannot parse.
 */
export function toRuntimeJson(value: unknown): string {
  const token = '"__berth_rlim_infinity__"';
  return JSON.stringify(value, (key, v: unknown) => ((key === 'hard' || key === 'soft') && v === 2 ** 64 ? token.slice(1, -1) : v)).replaceAll(
    token,
    '18446744073709551615',
  );
}

// ---------------------------------------------------------------------------------------------
// Host facts.

let hostFactsCache: HostFacts | undefined;

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** `0-3,5` → [0,1,2,3,5] (the format of /sys/devices/system/cpu/possible). */
export function parseCpuList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.trim().split(',')) {
    if (part === '') continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) continue;
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    for (let i = from; i <= to && i - from < 65536; i++) out.push(i);
  }
  return out;
}

/** Capability names present in a /proc/<pid>/status `CapBnd:` hex mask. */
export function capabilitiesFromMask(hex: string): string[] {
  const mask = BigInt('0x' + hex.trim());
  return ALL_CAPABILITIES.filter((_, bit) => (mask >> BigInt(bit)) & 1n);
}

/** Reads the host facts once per process (a few small /proc and /sys reads). */
export function detectHostFacts(): HostFacts {
  if (hostFactsCache) return hostFactsCache;
  const status = readTextIfPresent('/proc/self/status') ?? '';
  const capBnd = /^CapBnd:\s*([0-9a-fA-F]+)$/m.exec(status)?.[1];
  const uidMapText = readTextIfPresent('/proc/self/uid_map');
  const uidMap = (uidMapText ?? '0 0 4294967295').trim().split(/\s+/);
  const cpus = parseCpuList(readTextIfPresent('/sys/devices/system/cpu/possible') ?? '');
  hostFactsCache = {
    cgroupV2: exists('/sys/fs/cgroup/cgroup.controllers'),
    capabilities: capBnd ? capabilitiesFromMask(capBnd) : [...ALL_CAPABILITIES],
    thermalThrottlePaths: cpus
      .map((n) => `/sys/devices/system/cpu/cpu${n}/thermal_throttle`)
      .filter((p) => exists(p)),
    kernelRelease: release(),
    arch: process.arch,
    inUserNamespace: !(uidMap.length === 3 && uidMap[0] === '0' && uidMap[1] === '0' && uidMap[2] === '4294967295'),
    seccomp: /^Seccomp:/m.test(status),
    x32Abi: process.arch === 'x64' && x32AbiAvailable(),
  };
  return hostFactsCache;
}

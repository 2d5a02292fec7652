/**
 * Seccomp: Docker-format profiles (conditional rules with `includes`/`excludes` on capabilities,
 * architectures and kernel version, plus an `archMap`) turned into the runtime-spec
 * `linux.seccomp` object for this host, with the semantics of moby/profiles seccomp
 * setupSeccomp():
 *
 * - architectures: the host's native arch and its sub-architectures from `archMap`
 *   (x86_64 → SCMP_ARCH_X86_64, SCMP_ARCH_X86, SCMP_ARCH_X32), or `architectures` verbatim;
 * - a rule is dropped when `excludes.arches` has the host arch, any `excludes.caps` is in the
 *   container's bounding set, or the kernel is ≥ `excludes.minKernel`; and when
 *   `includes.arches` lacks the host arch, any `includes.caps` is missing from the bounding set,
 *   or the kernel is < `includes.minKernel`.
 *
 * The default profile is vendored in ./seccomp-default.json: Docker's default seccomp profile,
 * from moby/profiles seccomp/default.json as vendored in moby v28.5.2 (Apache-2.0, © The Moby
 * Authors), copied unmodified from the project's reference folder.
 */
import { readFileSync } from 'node:fs';
import { endianness, release } from 'node:os';
import { errorMessage, invalidArgument } from '../core/errors.js';
import type { LinuxSeccomp, LinuxSeccompArg, LinuxSyscall, SeccompAction } from '../oci/runtime-spec.js';

/** Conditions of a Docker profile rule (`includes` / `excludes`). */
export interface DockerSeccompFilter {
  caps?: string[];
  /** libseccomp/Go arch names: `amd64`, `x86`, `x32`, `arm64`, `arm`, `s390x`, … */
  arches?: string[];
  /** `<kernel>.<major>`, e.g. `4.8`. */
  minKernel?: string;
}

export interface DockerSeccompSyscall {
  /** Deprecated single-name form; exclusive with `names`. */
  name?: string;
  names?: string[];
  action: SeccompAction;
  errnoRet?: number;
  args?: LinuxSeccompArg[] | null;
  comment?: string;
  includes?: DockerSeccompFilter;
  excludes?: DockerSeccompFilter;
}

export interface DockerSeccompArchitecture {
  architecture: string;
  subArchitectures: string[] | null;
}

/** A seccomp profile as `docker run --security-opt seccomp=FILE` takes it. */
export interface DockerSeccompProfile {
  defaultAction?: SeccompAction | '';
  defaultErrnoRet?: number;
  architectures?: string[] | null;
  archMap?: DockerSeccompArchitecture[] | null;
  flags?: string[] | null;
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: DockerSeccompSyscall[] | null;
}

/** Host facts the conversion depends on; both default to the running host. */
export interface SeccompHost {
  /** Node's `process.arch` name (`x64`, `arm64`, …). */
  arch?: string;
  /** `uname -r`, e.g. `6.1.0-13-amd64`. */
  kernelRelease?: string;
  /**
   * The kernel runs x32-ABI programs (default true). Without the ABI an x32 syscall fails with
   * ENOSYS whatever the filter says, so SCMP_ARCH_X32 is left out of archMap's sub-architectures:
   * it only made runc compile (on every create and exec) a third copy of the filter.
   */
  x32Abi?: boolean;
}

/** What to do about seccomp for a container: Docker's default, none, or a custom profile. */
export type SeccompChoice = 'default' | 'unconfined' | DockerSeccompProfile;

const seccompActions: ReadonlySet<string> = new Set([
  'SCMP_ACT_KILL',
  'SCMP_ACT_KILL_PROCESS',
  'SCMP_ACT_KILL_THREAD',
  'SCMP_ACT_TRAP',
  'SCMP_ACT_ERRNO',
  'SCMP_ACT_TRACE',
  'SCMP_ACT_ALLOW',
  'SCMP_ACT_LOG',
  'SCMP_ACT_NOTIFY',
]);

const seccompOperators: ReadonlySet<string> = new Set([
  'SCMP_CMP_NE',
  'SCMP_CMP_LT',
  'SCMP_CMP_LE',
  'SCMP_CMP_EQ',
  'SCMP_CMP_GE',
  'SCMP_CMP_GT',
  'SCMP_CMP_MASKED_EQ',
]);

/** libseccomp native arch name → SCMP_ARCH_* (moby's nativeToSeccomp). */
const nativeToSeccomp: Readonly<Record<string, string>> = {
  x86: 'SCMP_ARCH_X86',
  amd64: 'SCMP_ARCH_X86_64',
  arm: 'SCMP_ARCH_ARM',
  arm64: 'SCMP_ARCH_AARCH64',
  loong64: 'SCMP_ARCH_LOONGARCH64',
  mips64: 'SCMP_ARCH_MIPS64',
  mips64n32: 'SCMP_ARCH_MIPS64N32',
  mipsel64: 'SCMP_ARCH_MIPSEL64',
  mips3l64n32: 'SCMP_ARCH_MIPSEL64N32',
  mipsle: 'SCMP_ARCH_MIPSEL',
  ppc: 'SCMP_ARCH_PPC',
  ppc64: 'SCMP_ARCH_PPC64',
  ppc64le: 'SCMP_ARCH_PPC64LE',
  riscv64: 'SCMP_ARCH_RISCV64',
  s390: 'SCMP_ARCH_S390',
  s390x: 'SCMP_ARCH_S390X',
};

/** Node's process.arch → the native name used in profiles' `arches` (moby's goToNative). */
export function nativeArch(nodeArch: string = process.arch): string {
  switch (nodeArch) {
    case 'x64':
      return 'amd64';
    case 'ia32':
      return 'x86';
    case 'ppc64':
      return endianness() === 'LE' ? 'ppc64le' : 'ppc64';
    case 'mipsel':
      return 'mipsle';
    default:
      return nodeArch; // arm, arm64, loong64, riscv64, s390, s390x, mips64, …
  }
}

export interface KernelVersion {
  kernel: number;
  major: number;
}

/** moby parseRelease: `%d.%d` at the start of `uname -r`. */
export function parseKernelRelease(text: string): KernelVersion {
  const m = /^(\d+)\.(\d+)/.exec(text);
  if (!m) throw invalidArgument(`failed to parse kernel version "${text}"`);
  return { kernel: Number(m[1]), major: Number(m[2]) };
}

/** moby KernelVersion.UnmarshalJSON: exactly `<kernel>.<major>`, each 0–255, not 0.0. */
function parseMinKernel(text: string): KernelVersion {
  const parts = text.split('.');
  const bad = (why = ''): Error =>
    invalidArgument(`invalid kernel version: "${text}", expected "<kernel>.<major>"${why}`);
  if (parts.length !== 2) throw bad();
  const [k, m] = parts as [string, string];
  if (!/^\d+$/.test(k) || !/^\d+$/.test(m) || Number(k) > 255 || Number(m) > 255) throw bad();
  const v = { kernel: Number(k), major: Number(m) };
  if (v.kernel === 0 && v.major === 0) throw bad(': version cannot be 0.0');
  return v;
}

function kernelAtLeast(host: KernelVersion, min: KernelVersion): boolean {
  return host.kernel > min.kernel || (host.kernel === min.kernel && host.major >= min.major);
}

// ---------------------------------------------------------------------------------------------
// Decoding and validating a Docker-format profile.

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fail(why: string): never {
  throw invalidArgument(`Decoding seccomp profile failed: ${why}`);
}

function optString(obj: Record<string, unknown>, key: string, where: string): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') fail(`${where}.${key} must be a string`);
  return v;
}

function optStrings(obj: Record<string, unknown>, key: string, where: string): string[] | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) fail(`${where}.${key} must be an array of strings`);
  return v as string[];
}

function optUint(obj: Record<string, unknown>, key: string, where: string): number | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) fail(`${where}.${key} must be a non-negative integer`);
  return v;
}

function action(v: unknown, where: string): SeccompAction {
  if (typeof v !== 'string' || !seccompActions.has(v)) fail(`${where}: unknown seccomp action ${JSON.stringify(v)}`);
  return v as SeccompAction;
}

function decodeFilter(v: unknown, where: string): DockerSeccompFilter | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) fail(`${where} must be an object`);
  const out: DockerSeccompFilter = {};
  const caps = optStrings(v, 'caps', where);
  const arches = optStrings(v, 'arches', where);
  const minKernel = optString(v, 'minKernel', where);
  if (caps) out.caps = caps;
  if (arches) out.arches = arches;
  if (minKernel !== undefined && minKernel !== '') {
    parseMinKernel(minKernel);
    out.minKernel = minKernel;
  }
  return out;
}

function decodeArg(v: unknown, where: string): LinuxSeccompArg {
  if (!isObject(v)) fail(`${where} must be an object`);
  const index = optUint(v, 'index', where) ?? 0;
  const value = optUint(v, 'value', where) ?? 0;
  const valueTwo = optUint(v, 'valueTwo', where);
  const op = v['op'];
  if (typeof op !== 'string' || !seccompOperators.has(op)) fail(`${where}: unknown seccomp operator ${JSON.stringify(op)}`);
  const arg: LinuxSeccompArg = { index, value, op: op as LinuxSeccompArg['op'] };
  if (valueTwo !== undefined && valueTwo !== 0) arg.valueTwo = valueTwo;
  return arg;
}

function decodeSyscall(v: unknown, where: string): DockerSeccompSyscall {
  if (!isObject(v)) fail(`${where} must be an object`);
  const out: DockerSeccompSyscall = { action: action(v['action'], where) };
  const name = optString(v, 'name', where);
  const names = optStrings(v, 'names', where);
  if (name !== undefined && name !== '') out.name = name;
  if (names) out.names = names;
  const errnoRet = optUint(v, 'errnoRet', where);
  if (errnoRet !== undefined) out.errnoRet = errnoRet;
  const args = v['args'];
  if (args !== undefined && args !== null) {
    if (!Array.isArray(args)) fail(`${where}.args must be an array`);
    out.args = args.map((a, i) => decodeArg(a, `${where}.args[${i}]`));
  }
  const comment = optString(v, 'comment', where);
  if (comment !== undefined) out.comment = comment;
  const includes = decodeFilter(v['includes'], `${where}.includes`);
  const excludes = decodeFilter(v['excludes'], `${where}.excludes`);
  if (includes) out.includes = includes;
  if (excludes) out.excludes = excludes;
  return out;
}

/** Checks the shape of an already-parsed profile document and returns it typed. */
export function decodeSeccompProfile(doc: unknown): DockerSeccompProfile {
  if (!isObject(doc)) fail('the profile must be a JSON object');
  const out: DockerSeccompProfile = {};
  const da = doc['defaultAction'];
  if (da !== undefined && da !== null && da !== '') out.defaultAction = action(da, 'defaultAction');
  const defaultErrnoRet = optUint(doc, 'defaultErrnoRet', 'profile');
  if (defaultErrnoRet !== undefined) out.defaultErrnoRet = defaultErrnoRet;
  const architectures = optStrings(doc, 'architectures', 'profile');
  if (architectures) out.architectures = architectures;
  const flags = optStrings(doc, 'flags', 'profile');
  if (flags) out.flags = flags;
  const listenerPath = optString(doc, 'listenerPath', 'profile');
  if (listenerPath) out.listenerPath = listenerPath;
  const listenerMetadata = optString(doc, 'listenerMetadata', 'profile');
  if (listenerMetadata) out.listenerMetadata = listenerMetadata;
  const archMap = doc['archMap'];
  if (archMap !== undefined && archMap !== null) {
    if (!Array.isArray(archMap)) fail('archMap must be an array');
    out.archMap = archMap.map((a, i) => {
      const where = `archMap[${i}]`;
      if (!isObject(a)) fail(`${where} must be an object`);
      const architecture = optString(a, 'architecture', where) ?? '';
      return { architecture, subArchitectures: optStrings(a, 'subArchitectures', where) ?? null };
    });
  }
  const syscalls = doc['syscalls'];
  if (syscalls !== undefined && syscalls !== null) {
    if (!Array.isArray(syscalls)) fail('syscalls must be an array');
    out.syscalls = syscalls.map((s, i) => decodeSyscall(s, `syscalls[${i}]`));
  }
  return out;
}

/** Parses the text of a Docker-format profile (e.g. the file given to `--security-opt seccomp=`). */
export function parseSeccompProfile(text: string): DockerSeccompProfile {
  let doc: Json;
  try {
    doc = JSON.parse(text) as Json;
  } catch (err) {
    fail(errorMessage(err));
  }
  return decodeSeccompProfile(doc);
}

// ---------------------------------------------------------------------------------------------
// Conversion.

/**
 * Converts a Docker-format profile to `linux.seccomp` for a container whose bounding
 * capability set is `capabilities` (`CAP_*` names). `undefined` means no seccomp (a profile with
 * neither defaultAction nor syscalls, as in moby).
 */
export function buildSeccomp(
  profile: DockerSeccompProfile,
  capabilities: readonly string[],
  host: SeccompHost = {},
): LinuxSeccomp | undefined {
  const syscalls = profile.syscalls ?? [];
  if (!profile.defaultAction && syscalls.length === 0) return undefined;
  if (!profile.defaultAction) fail('defaultAction is required');
  if ((profile.architectures?.length ?? 0) > 0 && (profile.archMap?.length ?? 0) > 0) {
    throw invalidArgument(
      "both 'architectures' and 'archMap' are specified in the seccomp profile, use either 'architectures' or 'archMap'",
    );
  }

  const arch = nativeArch(host.arch);
  const capSet = new Set(capabilities);
  let kernel: KernelVersion | undefined;
  const hostKernel = (): KernelVersion => (kernel ??= parseKernelRelease(host.kernelRelease ?? release()));

  const out: LinuxSeccomp = { defaultAction: profile.defaultAction };
  if (profile.defaultErrnoRet !== undefined) out.defaultErrnoRet = profile.defaultErrnoRet;
  const architectures: string[] = [...(profile.architectures ?? [])];
  const scmpArch = nativeToSeccomp[arch];
  if (scmpArch !== undefined) {
    const entry = (profile.archMap ?? []).find((a) => a.architecture === scmpArch);
    const runnable = (sub: string): boolean => sub !== 'SCMP_ARCH_X32' || host.x32Abi !== false;
    if (entry) architectures.push(entry.architecture, ...(entry.subArchitectures ?? []).filter(runnable));
  }
  if (architectures.length > 0) out.architectures = architectures;
  if (profile.flags && profile.flags.length > 0) out.flags = [...profile.flags];
  if (profile.listenerPath) out.listenerPath = profile.listenerPath;
  if (profile.listenerMetadata) out.listenerMetadata = profile.listenerMetadata;

  const rules: LinuxSyscall[] = [];
  for (const call of syscalls) {
    let names = call.names ?? [];
    if (call.name) {
      if (names.length > 0) {
        throw invalidArgument("both 'name' and 'names' are specified in the seccomp profile, use either 'name' or 'names'");
      }
      names = [call.name];
    }
    const ex = call.excludes;
    if (ex) {
      if (ex.arches && ex.arches.includes(arch)) continue;
      if (ex.caps && ex.caps.some((c) => capSet.has(c))) continue;
      if (ex.minKernel && kernelAtLeast(hostKernel(), parseMinKernel(ex.minKernel))) continue;
    }
    const inc = call.includes;
    if (inc) {
      if (inc.arches && inc.arches.length > 0 && !inc.arches.includes(arch)) continue;
      if (inc.caps && !inc.caps.every((c) => capSet.has(c))) continue;
      if (inc.minKernel && !kernelAtLeast(hostKernel(), parseMinKernel(inc.minKernel))) continue;
    }
    if (names.length === 0) continue; // matches nothing; the runtime-spec requires ≥ 1 name
    const rule: LinuxSyscall = { names: [...names], action: call.action };
    if (call.errnoRet !== undefined) rule.errnoRet = call.errnoRet;
    if (call.args && call.args.length > 0) rule.args = call.args.map((a) => ({ ...a }));
    rules.push(rule);
  }
  if (rules.length > 0) out.syscalls = rules;
  return out;
}

// ---------------------------------------------------------------------------------------------
// The default profile, loaded once and converted once per (capabilities, arch, kernel).

let defaultProfileCache: DockerSeccompProfile | undefined;

/** Docker's default profile (the vendored seccomp-default.json), parsed once. */
export function defaultSeccompProfile(): DockerSeccompProfile {
  if (defaultProfileCache) return defaultProfileCache;
  // tsc does not copy JSON it does not import: look next to this module first (a packaged
  // build that copies it), then in the source tree next to the compiled dist/ tree.
  const candidates = [
    new URL('./seccomp-default.json', import.meta.url),
    new URL('../../../src/runtime/seccomp-default.json', import.meta.url),
  ];
  let lastErr: unknown;
  for (const url of candidates) {
    let text: string;
    try {
      text = readFileSync(url, 'utf8');
    } catch (err) {
      lastErr = err;
      continue;
    }
    defaultProfileCache = deepFreeze(parseSeccompProfile(text));
    return defaultProfileCache;
  }
  throw new Error(`default seccomp profile not found: ${errorMessage(lastErr)}`);
}

const convertedDefaults = new Map<string, LinuxSeccomp>();
const MAX_CACHED = 256;

/**
 * `linux.seccomp` for Docker's default profile and the given bounding capabilities. Cached per
 * (capability set, arch, kernel major.minor); the returned object is deeply frozen and shared, so
 * copy it before changing it.
 */
export function defaultSeccomp(capabilities: readonly string[], host: SeccompHost = {}): LinuxSeccomp {
  const arch = nativeArch(host.arch);
  const kv = parseKernelRelease(host.kernelRelease ?? release());
  const key = `${arch}|${host.x32Abi !== false}|${kv.kernel}.${kv.major}|${[...new Set(capabilities)].sort().join(',')}`;
  const hit = convertedDefaults.get(key);
  if (hit) return hit;
  const built = buildSeccomp(defaultSeccompProfile(), capabilities, host);
  if (!built) throw new Error('default seccomp profile converted to nothing');
  if (convertedDefaults.size >= MAX_CACHED) convertedDefaults.clear();
  const frozen = deepFreeze(built);
  convertedDefaults.set(key, frozen);
  return frozen;
}

/** Resolves a SeccompChoice: `unconfined` → undefined; default → cached default; else converted. */
export function seccompFor(
  choice: SeccompChoice,
  capabilities: readonly string[],
  host: SeccompHost = {},
): LinuxSeccomp | undefined {
  if (choice === 'unconfined') return undefined;
  if (choice === 'default') return defaultSeccomp(capabilities, host);
  return buildSeccomp(choice, capabilities, host);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

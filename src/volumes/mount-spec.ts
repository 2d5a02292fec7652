/**
 * The mount vocabulary of the Docker API, parsed and validated once at the edge:
 * HostConfig.Binds (`-v SRC:DST[:OPTS]`), HostConfig.Mounts (`--mount`), HostConfig.Tmpfs
 * (`--tmpfs`) and HostConfig.VolumesFrom, with moby's rules and messages (volume/mounts
 * linux_parser.go, validate.go). Pure: nothing here touches the filesystem.
 */
import { posix } from 'node:path';
import { BerthError, invalidArgument } from '../core/errors.js';
import { ramInBytes } from '../core/units.js';
import { validateVolumeName } from './store.js';

export type MountType = 'bind' | 'volume' | 'tmpfs';
export type Propagation = 'private' | 'rprivate' | 'shared' | 'rshared' | 'slave' | 'rslave';

const propagations: ReadonlySet<string> = new Set(['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave']);
const consistencies: ReadonlySet<string> = new Set(['consistent', 'cached', 'delegated']);

/** A container's mount as berth records it; inspect's `Mounts` entries are made from these. */
export interface MountPoint {
  type: MountType;
  /** The volume's name; '' for bind and tmpfs. */
  name: string;
  /** Host path: of a bind, or of the volume's data once resolved; '' for tmpfs. */
  source: string;
  /** Absolute and clean. */
  destination: string;
  /** `local` for volumes, '' otherwise. */
  driver: string;
  /** Docker's Mode: the options of a -v spec as given (`z` for a named volume without any). */
  mode: string;
  rw: boolean;
  /** Binds: the given propagation or `rprivate`; '' for volumes and tmpfs. */
  propagation: Propagation | '';
  /** A volume created for this container without a name: `rm -v` and `--rm` remove it. */
  anonymous: boolean;
  /** Binds from -v (or CreateMountpoint): a missing source directory is created at start. */
  createSource: boolean;
  /** `bind` instead of `rbind`. */
  nonRecursive: boolean;
  /** tmpfs: the mount data (`size=…,mode=…`). */
  tmpfsData: string;
}

/** A requested mount: the mount point plus what only matters while creating it. */
export interface MountRequest extends MountPoint {
  /** Populate a new, empty volume with the image's content at the destination. */
  copyData: boolean;
  /** `--mount` volume options: used if the volume has to be created. */
  volumeOptions?: { driver: string; labels: Record<string, string>; driverOptions: Record<string, string> };
}

/** HostConfig.Mounts[] as the API defines it (swagger `Mount`). */
export interface ApiMount {
  Type?: string;
  Source?: string;
  Target?: string;
  ReadOnly?: boolean;
  Consistency?: string;
  BindOptions?: { Propagation?: string; NonRecursive?: boolean; CreateMountpoint?: boolean; ReadOnlyNonRecursive?: boolean; ReadOnlyForceRecursive?: boolean };
  VolumeOptions?: { NoCopy?: boolean; Labels?: Record<string, string>; DriverConfig?: { Name?: string; Options?: Record<string, string> }; Subpath?: string };
  TmpfsOptions?: { SizeBytes?: number; Mode?: number; Options?: string[][] };
}

function cleanPath(p: string): string {
  const n = posix.normalize(p);
  return n.length > 1 ? n.replace(/\/+$/, '') : n;
}

function mountConfigError(type: string, message: string): BerthError {
  return invalidArgument(`invalid mount config for type "${type}": ${message}`);
}

/** An absolute, clean container path other than `/`. */
function checkDestination(type: string, target: string): string {
  if (target === '') throw mountConfigError(type, 'field Target must not be empty');
  if (target.includes('\0')) throw mountConfigError(type, `invalid mount path: '${target}' contains a NUL byte`);
  if (!target.startsWith('/')) throw mountConfigError(type, `invalid mount path: '${target}' mount path must be absolute`);
  const clean = cleanPath(target);
  if (clean === '/') throw mountConfigError(type, "invalid specification: destination can't be '/'");
  return clean;
}

function checkBindSource(source: string): string {
  if (source === '') throw mountConfigError('bind', 'field Source must not be empty');
  if (source.includes('\0')) throw mountConfigError('bind', `invalid source path: '${source}' contains a NUL byte`);
  if (!source.startsWith('/')) throw mountConfigError('bind', `invalid mount path: '${source}' mount path must be absolute`);
  return cleanPath(source);
}

/** moby linuxValidMountMode: comma-separated, at most one of each kind. */
export function validMountMode(mode: string): boolean {
  if (mode === '') return true;
  const counts = { rw: 0, label: 0, propagation: 0, copy: 0, consistency: 0 };
  for (const o of mode.split(',')) {
    if (o === 'rw' || o === 'ro') counts.rw++;
    else if (o === 'z' || o === 'Z') counts.label++;
    else if (propagations.has(o)) counts.propagation++;
    else if (o === 'nocopy') counts.copy++;
    else if (consistencies.has(o)) counts.consistency++;
    else return false;
  }
  return Object.values(counts).every((n) => n <= 1);
}

const invalidSpec = (raw: string): string => `invalid volume specification: '${raw}'`;

/** One HostConfig.Binds entry: `DST`, `SRC:DST` or `SRC:DST:OPTS`; SRC absolute = bind, else a volume name. */
export function parseBind(raw: string): MountRequest {
  const parts = raw.split(':');
  if (parts.length > 3 || parts[0] === '') throw invalidArgument(invalidSpec(raw));
  let source = '';
  let target: string;
  let mode = '';
  if (parts.length === 1) {
    target = parts[0] as string;
  } else if (parts.length === 2) {
    // `/foo:rw` is a destination with a mode but no source: not a valid volume.
    if (validMountMode(parts[1] as string)) throw invalidArgument(invalidSpec(raw));
    [source, target] = parts as [string, string];
  } else {
    [source, target, mode] = parts as [string, string, string];
  }
  if (!validMountMode(mode)) throw invalidArgument(`invalid mode: ${mode}`);
  const options = mode === '' ? [] : mode.split(',');
  const type: MountType = source.startsWith('/') ? 'bind' : 'volume';
  const propagation = (options.find((o) => propagations.has(o)) ?? '') as Propagation | '';
  const noCopy = options.includes('nocopy');
  try {
    const destination = checkDestination(type, target);
    if (type === 'bind') {
      if (noCopy) throw mountConfigError('bind', 'field VolumeOptions must not be specified');
      return bindPoint(checkBindSource(source), destination, !options.includes('ro'), mode, propagation || 'rprivate', true, false);
    }
    if (propagation) throw mountConfigError('volume', 'field BindOptions must not be specified');
    if (source !== '') validateVolumeName(source);
    return volumePoint(source, destination, !options.includes('ro'), source !== '' && mode === '' ? 'z' : mode, !noCopy);
  } catch (err) {
    if (err instanceof BerthError) throw invalidArgument(`${invalidSpec(raw)}: ${err.message}`);
    throw err;
  }
}

function bindPoint(source: string, destination: string, rw: boolean, mode: string, propagation: Propagation, createSource: boolean, nonRecursive: boolean): MountRequest {
  return { type: 'bind', name: '', source, destination, driver: '', mode, rw, propagation, anonymous: false, createSource, nonRecursive, tmpfsData: '', copyData: false };
}

function volumePoint(name: string, destination: string, rw: boolean, mode: string, copyData: boolean): MountRequest {
  return { type: 'volume', name, source: '', destination, driver: 'local', mode, rw, propagation: '', anonymous: name === '', createSource: false, nonRecursive: false, tmpfsData: '', copyData };
}

/** An anonymous volume for a Config.Volumes / image VOLUME path. */
export function anonymousVolume(destination: string): MountRequest {
  return volumePoint('', checkDestination('volume', destination.startsWith('/') ? destination : `/${destination}`), true, '', true);
}

// ---- HostConfig.Mounts ----------------------------------------------------------------------

type Json = Record<string, unknown>;

function field<T>(value: unknown, name: string, kind: 'string' | 'boolean' | 'number' | 'object'): T | undefined {
  if (value === undefined || value === null) return undefined;
  const actual = Array.isArray(value) ? 'array' : typeof value;
  if (actual !== kind) throw invalidArgument(`json: cannot unmarshal ${actual} into Go struct field Mount.${name} of type ${kind === 'object' ? 'object' : kind === 'number' ? 'int64' : kind === 'boolean' ? 'bool' : 'string'}`);
  return value as T;
}

function stringMap(value: unknown, name: string): Record<string, string> {
  const m = field<Json>(value, name, 'object') ?? {};
  for (const [k, v] of Object.entries(m)) if (typeof v !== 'string') throw invalidArgument(`json: cannot unmarshal ${typeof v} into Go struct field Mount.${name} (key ${k}) of type string`);
  return m as Record<string, string>;
}

/** Reads one HostConfig.Mounts entry into the API's shape, refusing wrongly typed fields. */
export function readApiMount(value: unknown): ApiMount {
  const m = field<Json>(value, 'Mount', 'object');
  if (!m) throw invalidArgument('invalid mount config: a mount must be an object');
  const out: ApiMount = {};
  const type = field<string>(m.Type, 'Type', 'string');
  if (type !== undefined) out.Type = type;
  const source = field<string>(m.Source, 'Source', 'string');
  if (source !== undefined) out.Source = source;
  const target = field<string>(m.Target, 'Target', 'string');
  if (target !== undefined) out.Target = target;
  const readOnly = field<boolean>(m.ReadOnly, 'ReadOnly', 'boolean');
  if (readOnly !== undefined) out.ReadOnly = readOnly;
  const consistency = field<string>(m.Consistency, 'Consistency', 'string');
  if (consistency !== undefined) out.Consistency = consistency;
  const bind = field<Json>(m.BindOptions, 'BindOptions', 'object');
  if (bind) {
    out.BindOptions = {};
    const propagation = field<string>(bind.Propagation, 'BindOptions.Propagation', 'string');
    if (propagation !== undefined) out.BindOptions.Propagation = propagation;
    for (const key of ['NonRecursive', 'CreateMountpoint', 'ReadOnlyNonRecursive', 'ReadOnlyForceRecursive'] as const) {
      const v = field<boolean>(bind[key], `BindOptions.${key}`, 'boolean');
      if (v !== undefined) out.BindOptions[key] = v;
    }
  }
  const volume = field<Json>(m.VolumeOptions, 'VolumeOptions', 'object');
  if (volume) {
    out.VolumeOptions = {};
    const noCopy = field<boolean>(volume.NoCopy, 'VolumeOptions.NoCopy', 'boolean');
    if (noCopy !== undefined) out.VolumeOptions.NoCopy = noCopy;
    if (volume.Labels !== undefined && volume.Labels !== null) out.VolumeOptions.Labels = stringMap(volume.Labels, 'VolumeOptions.Labels');
    const driver = field<Json>(volume.DriverConfig, 'VolumeOptions.DriverConfig', 'object');
    if (driver) {
      out.VolumeOptions.DriverConfig = {};
      const name = field<string>(driver.Name, 'VolumeOptions.DriverConfig.Name', 'string');
      if (name !== undefined) out.VolumeOptions.DriverConfig.Name = name;
      if (driver.Options !== undefined && driver.Options !== null) out.VolumeOptions.DriverConfig.Options = stringMap(driver.Options, 'VolumeOptions.DriverConfig.Options');
    }
    const subpath = field<string>(volume.Subpath, 'VolumeOptions.Subpath', 'string');
    if (subpath !== undefined) out.VolumeOptions.Subpath = subpath;
  }
  const tmpfs = field<Json>(m.TmpfsOptions, 'TmpfsOptions', 'object');
  if (tmpfs) {
    out.TmpfsOptions = {};
    const size = field<number>(tmpfs.SizeBytes, 'TmpfsOptions.SizeBytes', 'number');
    if (size !== undefined) out.TmpfsOptions.SizeBytes = size;
    const mode = field<number>(tmpfs.Mode, 'TmpfsOptions.Mode', 'number');
    if (mode !== undefined) out.TmpfsOptions.Mode = mode;
    if (tmpfs.Options !== undefined && tmpfs.Options !== null) {
      const options = tmpfs.Options;
      if (!Array.isArray(options) || !options.every((o) => Array.isArray(o) && o.length >= 1 && o.length <= 2 && o.every((s) => typeof s === 'string'))) {
        throw mountConfigError('tmpfs', 'TmpfsOptions.Options must be a list of [flag] or [key, value] lists');
      }
      out.TmpfsOptions.Options = options as string[][];
    }
  }
  if (m.ImageOptions !== undefined && m.ImageOptions !== null) throw mountConfigError(type ?? '', 'field ImageOptions must not be specified');
  return out;
}

/** moby ConvertTmpfsOptions: `ro`, `mode=<octal>`, `size=<n>[kmg]` (largest unit that divides evenly), then Options. */
function tmpfsData(options: ApiMount['TmpfsOptions'], readOnly: boolean): string {
  const raw: string[] = [];
  if (readOnly) raw.push('ro');
  if (options?.Mode) {
    if (!Number.isInteger(options.Mode) || options.Mode < 0 || options.Mode > 0o7777) throw mountConfigError('tmpfs', `invalid tmpfs mode: ${options.Mode}`);
    raw.push(`mode=${options.Mode.toString(8)}`);
  }
  if (options?.SizeBytes) {
    let size = options.SizeBytes;
    if (!Number.isSafeInteger(size) || size < 0) throw mountConfigError('tmpfs', `invalid tmpfs size: ${size}`);
    let suffix = '';
    for (const [s, divisor] of [['g', 2 ** 30], ['m', 2 ** 20], ['k', 2 ** 10]] as const) {
      if (size % divisor === 0) {
        size /= divisor;
        suffix = s;
        break;
      }
    }
    raw.push(`size=${size}${suffix}`);
  }
  for (const option of options?.Options ?? []) {
    const [key = '', value] = option;
    if (!allowedTmpfsOptions.has(key)) throw mountConfigError('tmpfs', `invalid option: ${JSON.stringify(key)}`);
    raw.push(value === undefined ? key : `${key}=${value}`);
  }
  return raw.join(',');
}

const allowedTmpfsOptions: ReadonlySet<string> = new Set(['exec', 'noexec', 'suid', 'nosuid', 'dev', 'nodev', 'atime', 'noatime', 'diratime', 'nodiratime', 'relatime', 'strictatime', 'nr_inodes', 'uid', 'gid', 'huge', 'mpol']);

/** One HostConfig.Mounts entry → the mount (moby validateMountConfig + parseMountSpec). */
export function parseApiMount(m: ApiMount): MountRequest {
  const type = m.Type ?? '';
  const readOnly = m.ReadOnly === true;
  if (m.Consistency && !consistencies.has(m.Consistency) && m.Consistency !== 'default') throw mountConfigError(type, `invalid consistency: ${m.Consistency}`);
  switch (type) {
    case 'bind': {
      if (m.VolumeOptions) throw mountConfigError(type, 'field VolumeOptions must not be specified');
      if (m.TmpfsOptions) throw mountConfigError(type, 'field TmpfsOptions must not be specified');
      const destination = checkDestination(type, m.Target ?? '');
      const source = checkBindSource(m.Source ?? '');
      const propagation = m.BindOptions?.Propagation || 'rprivate';
      if (!propagations.has(propagation)) throw mountConfigError(type, `invalid propagation mode: ${propagation}`);
      if (m.BindOptions?.ReadOnlyForceRecursive && !readOnly) throw mountConfigError(type, 'must also set ReadOnly when ReadOnlyForceRecursive is set');
      return bindPoint(source, destination, !readOnly, '', propagation as Propagation, m.BindOptions?.CreateMountpoint === true, m.BindOptions?.NonRecursive === true);
    }
    case 'volume': {
      if (m.BindOptions) throw mountConfigError(type, 'field BindOptions must not be specified');
      if (m.TmpfsOptions) throw mountConfigError(type, 'field TmpfsOptions must not be specified');
      if (m.VolumeOptions?.Subpath) throw new BerthError('not-implemented', 'not supported by berth yet: VolumeOptions.Subpath');
      const destination = checkDestination(type, m.Target ?? '');
      const name = m.Source ?? '';
      if (name !== '') {
        try {
          validateVolumeName(name);
        } catch (err) {
          throw mountConfigError(type, err instanceof Error ? err.message : String(err));
        }
      }
      const point = volumePoint(name, destination, !readOnly, name === '' ? '' : 'z', m.VolumeOptions?.NoCopy !== true);
      const o = m.VolumeOptions;
      if (o && (o.Labels || o.DriverConfig)) {
        point.volumeOptions = { driver: o.DriverConfig?.Name ?? '', labels: { ...(o.Labels ?? {}) }, driverOptions: { ...(o.DriverConfig?.Options ?? {}) } };
      }
      return point;
    }
    case 'tmpfs': {
      if (m.Source) throw mountConfigError(type, 'field Source must not be specified');
      if (m.BindOptions) throw mountConfigError(type, 'field BindOptions must not be specified');
      if (m.VolumeOptions) throw mountConfigError(type, 'field VolumeOptions must not be specified');
      const destination = checkDestination(type, m.Target ?? '');
      return { type, name: '', source: '', destination, driver: '', mode: '', rw: !readOnly, propagation: '', anonymous: false, createSource: false, nonRecursive: false, tmpfsData: tmpfsData(m.TmpfsOptions, readOnly), copyData: false };
    }
    case 'image':
    case 'npipe':
    case 'cluster':
      throw mountConfigError(type, 'mount type not supported by berth');
    default:
      throw mountConfigError(type, 'mount type unknown');
  }
}

// ---- HostConfig.Tmpfs, VolumesFrom -------------------------------------------------------

const tmpfsFlags: ReadonlySet<string> = new Set(['ro', 'rw', 'exec', 'noexec', 'suid', 'nosuid', 'dev', 'nodev', 'atime', 'noatime', 'diratime', 'nodiratime', 'relatime', 'norelatime', 'strictatime', 'nostrictatime', 'sync', 'async', 'dirsync', 'mand', 'nomand', 'private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave', 'unbindable', 'runbindable', 'tmpcopyup']);

/** One HostConfig.Tmpfs entry (`--tmpfs /run:rw,size=64m`): the clean destination and the checked options. */
export function parseTmpfs(destination: string, data: string): { destination: string; data: string } {
  if (destination.includes('\0')) throw invalidArgument(`invalid mount path: '${destination}' contains a NUL byte`);
  if (cleanPath(destination) === '/') throw invalidArgument("invalid specification: destination can't be '/'");
  if (!destination.startsWith('/')) throw invalidArgument(`invalid mount path: '${destination}' mount path must be absolute`);
  for (const option of data === '' ? [] : data.split(',')) {
    const eq = option.indexOf('=');
    if (eq < 0) {
      if (!tmpfsFlags.has(option)) throw invalidArgument(`invalid tmpfs option for ${destination}: "${option}"`);
      continue;
    }
    const key = option.slice(0, eq);
    const value = option.slice(eq + 1);
    if (key === 'size' && !/^\d+%$/.test(value)) {
      try {
        ramInBytes(value);
      } catch {
        throw invalidArgument(`invalid tmpfs option for ${destination}: invalid size "${value}"`);
      }
    } else if (key === 'mode' && !/^[0-7]{1,4}$/.test(value)) {
      throw invalidArgument(`invalid tmpfs option for ${destination}: invalid mode "${value}"`);
    } else if ((key === 'uid' || key === 'gid' || key === 'nr_inodes') && !/^\d+[kmg]?$/.test(value)) {
      throw invalidArgument(`invalid tmpfs option for ${destination}: invalid ${key} "${value}"`);
    } else if (!['size', 'mode', 'uid', 'gid', 'nr_inodes', 'nr_blocks', 'huge', 'mpol'].includes(key)) {
      throw invalidArgument(`invalid tmpfs option for ${destination}: "${option}"`);
    }
  }
  return { destination: cleanPath(destination), data };
}

/** moby MergeTmpfsOptions: later options win over earlier ones of the same kind (`exec` over `noexec`, `size=` over `size=`). */
export function mergeTmpfsOptions(options: readonly string[]): string[] {
  const opposite: Record<string, string> = {};
  for (const [a, b] of [['ro', 'rw'], ['exec', 'noexec'], ['suid', 'nosuid'], ['dev', 'nodev'], ['atime', 'noatime'], ['diratime', 'nodiratime'], ['sync', 'async'], ['mand', 'nomand'], ['relatime', 'norelatime'], ['strictatime', 'nostrictatime']] as const) {
    opposite[a] = b;
    opposite[b] = a;
  }
  const propagation = new Set(['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave', 'unbindable', 'runbindable']);
  const out: string[] = [];
  for (const option of options) {
    const eq = option.indexOf('=');
    const key = eq < 0 ? option : option.slice(0, eq);
    const dropIndex = out.findIndex((o) => {
      const k = o.includes('=') ? o.slice(0, o.indexOf('=')) : o;
      if (eq >= 0) return k === key && o.includes('=');
      return o === option || o === opposite[option] || (propagation.has(option) && propagation.has(o));
    });
    if (dropIndex >= 0) out.splice(dropIndex, 1);
    out.push(option);
  }
  return out;
}

/** `CONTAINER[:ro|rw]`: which container, and whether its mounts become read-only here. */
export function parseVolumesFrom(raw: string): { container: string; readOnly: boolean } {
  if (raw === '') throw invalidArgument('volumes-from specification cannot be an empty string');
  const colon = raw.indexOf(':');
  const container = colon < 0 ? raw : raw.slice(0, colon);
  const mode = colon < 0 ? '' : raw.slice(colon + 1);
  if (container === '') throw invalidArgument(`invalid volumes-from specification: '${raw}'`);
  // Propagation and copy modes are the original mount's; only ro/rw (and labels) may be given.
  const modeOptions = mode === '' ? [] : mode.split(',');
  if (!validMountMode(mode) || modeOptions.some((o) => propagations.has(o) || o === 'nocopy')) throw invalidArgument(`invalid mode: ${mode}`);
  return { container, readOnly: modeOptions.includes('ro') };
}

/** Parses and validates every mount of a create request; duplicate destinations are refused. */
export function parseContainerMounts(binds: readonly string[], mounts: readonly ApiMount[], tmpfs: Readonly<Record<string, string>>): { requests: MountRequest[]; tmpfs: Record<string, string> } {
  const seen = new Set<string>();
  const claim = (destination: string): void => {
    if (seen.has(destination)) throw invalidArgument(`Duplicate mount point: ${destination}`);
    seen.add(destination);
  };
  const cleanTmpfs: Record<string, string> = {};
  for (const [destination, data] of Object.entries(tmpfs)) {
    const parsed = parseTmpfs(destination, data);
    claim(parsed.destination);
    cleanTmpfs[parsed.destination] = parsed.data;
  }
  const requests: MountRequest[] = [];
  for (const raw of binds) {
    const request = parseBind(raw);
    claim(request.destination);
    requests.push(request);
  }
  for (const m of mounts) {
    const request = parseApiMount(m);
    claim(request.destination);
    requests.push(request);
  }
  return { requests, tmpfs: cleanTmpfs };
}

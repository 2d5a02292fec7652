/** berthd's configuration: flags (dockerd's names) over an optional JSON config file, validated once here. */
import { readFileSync } from 'node:fs';
import { invalidArgument, errorMessage } from '../core/errors.js';
import { LOG_DRIVER, type LogConfig } from '../containers/log-config.js';

export interface EngineConfig {
  dataRoot: string;
  execRoot: string;
  /** unix:///path sockets the API listens on. */
  hosts: string[];
  insecureRegistries: string[];
  runtimePath: string;
  conmonPath: string;
  maxConcurrentDownloads: number;
  /** Parent cgroup of every container's cgroup (dockerd's --cgroup-parent). */
  cgroupParent: string;
  /** busybox-static binary the bundled default image is made from. */
  busyboxPath: string;
  /** The init `--init` runs as PID 1 (dockerd's --init-path; Debian's catatonit). */
  initPath: string;
  /** The default bridge network's device (dockerd's --bridge) and gateway/prefix (--bip). */
  bridge: string;
  bip: string;
  /** Where user-defined networks' subnets come from (dockerd's --default-address-pool). */
  defaultAddressPools: Array<{ base: string; size: number }>;
  /** Upstream resolvers for berth's DNS instead of the host's (dockerd's --dns). */
  dns: string[];
  /** Directories searched for CNI plugin binaries. */
  cniPluginDirs: string[];
  /**
   * How committed layers are stored (`--storage-opt overlay.layer_format=`): 'auto' is squashfs
   * where tar2sqfs, loop devices and the squashfs filesystem are available, else 'dir'.
   */
  layerFormat: 'auto' | 'dir' | 'squashfs';
  /** Every container's log driver and options unless its create says otherwise (dockerd's --log-driver, --log-opt). */
  logConfig: LogConfig;
}

export const defaultConfig: EngineConfig = {
  dataRoot: '/var/lib/berth',
  execRoot: '/run/berth',
  hosts: ['unix:///run/berth/berth.sock'],
  insecureRegistries: [],
  runtimePath: 'runc',
  conmonPath: 'conmon',
  maxConcurrentDownloads: 3,
  cgroupParent: '/berth',
  busyboxPath: '/bin/busybox',
  initPath: '/usr/bin/catatonit',
  bridge: 'berth0',
  bip: '10.88.0.1/16',
  defaultAddressPools: [{ base: '10.89.0.0/16', size: 24 }],
  dns: [],
  cniPluginDirs: ['/usr/lib/cni', '/opt/cni/bin'],
  layerFormat: 'auto',
  logConfig: { type: LOG_DRIVER, config: {} },
};

/** dockerd's `--storage-opt key=value` list (`storage-opts` in daemon.json). */
export function parseStorageOpts(opts: readonly string[]): Pick<EngineConfig, 'layerFormat'> {
  const out: Pick<EngineConfig, 'layerFormat'> = { layerFormat: defaultConfig.layerFormat };
  for (const opt of opts) {
    const eq = opt.indexOf('=');
    const key = eq < 0 ? opt : opt.slice(0, eq).trim().toLowerCase();
    const value = eq < 0 ? '' : opt.slice(eq + 1).trim();
    if (key !== 'overlay.layer_format') throw invalidArgument(`unknown storage option "${opt}": supported is overlay.layer_format=auto|squashfs|dir`);
    if (value !== 'auto' && value !== 'squashfs' && value !== 'dir') {
      throw invalidArgument(`invalid storage option "${opt}": overlay.layer_format must be auto, squashfs or dir`);
    }
    out.layerFormat = value;
  }
  return out;
}

/** `base=10.10.0.0/16,size=24`, dockerd's --default-address-pool syntax. */
export function parseAddressPool(text: string): { base: string; size: number } {
  const fields = new Map(text.split(',').map((kv) => kv.split('=', 2) as [string, string]));
  const base = fields.get('base');
  const size = Number(fields.get('size'));
  const m = base ? /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(base) : null;
  if (!base || !m || !Number.isInteger(size) || size < Number(m[2]) || size > 30) {
    throw invalidArgument(`invalid default address pool "${text}": expected base=A.B.C.D/N,size=M with N <= M <= 30`);
  }
  return { base, size };
}

/** Reads a dockerd-style daemon.json; unknown keys are refused so typos do not pass silently. */
export function readConfigFile(path: string): Partial<EngineConfig> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw invalidArgument(`unable to read config file ${path}: ${errorMessage(err)}`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw invalidArgument(`config file ${path}: expected a JSON object`);
  const out: Partial<EngineConfig> = {};
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    const str = (): string => {
      if (typeof value !== 'string' || !value) throw invalidArgument(`config file ${path}: "${key}" must be a non-empty string`);
      return value;
    };
    const strs = (): string[] => {
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw invalidArgument(`config file ${path}: "${key}" must be a list of strings`);
      return value as string[];
    };
    switch (key) {
      case 'data-root': out.dataRoot = str(); break;
      case 'exec-root': out.execRoot = str(); break;
      case 'hosts': out.hosts = strs(); break;
      case 'insecure-registries': out.insecureRegistries = strs(); break;
      case 'runtime': out.runtimePath = str(); break;
      case 'conmon': out.conmonPath = str(); break;
      case 'init-path': out.initPath = str(); break;
      case 'cgroup-parent':
        out.cgroupParent = str();
        if (!/^\/[A-Za-z0-9_.\-/]*$/.test(out.cgroupParent)) throw invalidArgument(`config file ${path}: "cgroup-parent" must be an absolute cgroup path`);
        break;
      case 'bridge': out.bridge = str(); break;
      case 'bip': out.bip = str(); break;
      case 'dns': out.dns = strs(); break;
      case 'storage-opts': Object.assign(out, parseStorageOpts(strs())); break;
      case 'log-driver': out.logConfig = { type: str(), config: out.logConfig?.config ?? {} }; break;
      case 'log-opts':
        if (!value || typeof value !== 'object' || Array.isArray(value) || !Object.values(value).every((v) => typeof v === 'string')) {
          throw invalidArgument(`config file ${path}: "${key}" must be an object of strings`);
        }
        out.logConfig = { type: out.logConfig?.type ?? LOG_DRIVER, config: value as Record<string, string> };
        break;
      case 'default-address-pools':
        if (!Array.isArray(value)) throw invalidArgument(`config file ${path}: "${key}" must be a list of {base, size}`);
        out.defaultAddressPools = value.map((p: unknown) => {
          const pool = p as { base?: unknown; size?: unknown };
          return parseAddressPool(`base=${String(pool.base)},size=${String(pool.size)}`);
        });
        break;
      case 'max-concurrent-downloads':
        if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw invalidArgument(`config file ${path}: "${key}" must be a positive integer`);
        out.maxConcurrentDownloads = value;
        break;
      default:
        throw invalidArgument(`config file ${path}: unknown option "${key}"`);
    }
  }
  return out;
}

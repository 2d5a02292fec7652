/** berthd's configuration: flags (dockerd's names) over an optional JSON config file, validated once here. */
import { readFileSync } from 'node:fs';
import { invalidArgument, errorMessage } from '../core/errors.js';

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
};

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

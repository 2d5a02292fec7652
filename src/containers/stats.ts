/**
 * `docker stats`: one sample of a container's resource use, read from its cgroup (v1 or v2,
 * whichever the host has), /proc/stat and its init's /proc/<pid>/net/dev, in Docker's
 * StatsResponse shape. The cgroup is the one runc was given in the bundle's config.json.
 */
import { readFile, access } from 'node:fs/promises';
import { availableParallelism, totalmem } from 'node:os';
import { join } from 'node:path';
import { errnoCode } from '../core/errors.js';
import {
  parseNetDev,
  parseSystemCpuUsage,
  sampleV1,
  sampleV2,
  V1_FILES,
  V2_FILES,
  type BlkioStats,
  type CgroupFiles,
  type CgroupSample,
  type CpuUsage,
  type MemoryStats,
  type NetworkStats,
  type PidsStats,
  type ThrottlingData,
} from './cgroup-stats.js';
import type { ContainerRecord } from './types.js';

export interface CpuStats {
  cpu_usage: CpuUsage;
  system_cpu_usage?: number;
  online_cpus?: number;
  throttling_data: ThrottlingData;
}

/** Docker's StatsResponse, fields in dockerd's order. */
export interface StatsResponse {
  read: string;
  preread: string;
  pids_stats: PidsStats;
  blkio_stats: BlkioStats;
  num_procs: number;
  storage_stats: Record<string, never>;
  cpu_stats: CpuStats;
  precpu_stats: CpuStats;
  memory_stats: MemoryStats;
  name: string;
  id: string;
  networks?: Record<string, NetworkStats>;
}

const CGROUP_ROOT = '/sys/fs/cgroup';
const ZERO_TIME = '0001-01-01T00:00:00Z';

const emptyCpu = (): CpuStats => ({
  cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 },
  throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
});

/** What dockerd answers for a container that is not running: name and ID, every figure zero. */
export function emptyStats(record: ContainerRecord): StatsResponse {
  return {
    read: ZERO_TIME,
    preread: ZERO_TIME,
    pids_stats: {},
    blkio_stats: {
      io_service_bytes_recursive: null,
      io_serviced_recursive: null,
      io_queue_recursive: null,
      io_service_time_recursive: null,
      io_wait_time_recursive: null,
      io_merged_recursive: null,
      io_time_recursive: null,
      sectors_recursive: null,
    },
    num_procs: 0,
    storage_stats: {},
    cpu_stats: emptyCpu(),
    precpu_stats: emptyCpu(),
    memory_stats: {},
    name: `/${record.name}`,
    id: record.id,
  };
}

let cgroupV2: Promise<boolean> | undefined;
function isCgroupV2(): Promise<boolean> {
  cgroupV2 ??= access(join(CGROUP_ROOT, 'cgroup.controllers')).then(() => true, () => false);
  return cgroupV2;
}

const readOptional = (path: string): Promise<string | undefined> =>
  readFile(path, 'utf8').catch((err: unknown) => {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENODEV' || errnoCode(err) === 'EINVAL') return undefined;
    throw err;
  });

/** runc's cgroupsPath from the bundle (absolute, relative to each hierarchy's root). */
async function cgroupPathOf(bundle: string): Promise<string | undefined> {
  const text = await readOptional(join(bundle, 'config.json'));
  if (!text) return undefined;
  const spec = JSON.parse(text) as { linux?: { cgroupsPath?: string } };
  return spec.linux?.cgroupsPath;
}

async function readCgroup(cgroupPath: string): Promise<CgroupSample> {
  const files: CgroupFiles = {};
  if (await isCgroupV2()) {
    const dir = join(CGROUP_ROOT, cgroupPath);
    await Promise.all(V2_FILES.map(async (name) => (files[name] = await readOptional(join(dir, name)))));
    return sampleV2(files, totalmem());
  }
  const reads: Array<Promise<void>> = [];
  for (const [controller, names] of Object.entries(V1_FILES)) {
    const dir = join(CGROUP_ROOT, controller, cgroupPath);
    for (const name of names) reads.push(readOptional(join(dir, name)).then((text) => void (files[name] = text)));
  }
  await Promise.all(reads);
  return sampleV1(files, totalmem());
}

/**
 * One sample of a running container. `previous` (the sample before, if any) fills preread and
 * precpu_stats, from which clients compute CPU %.
 */
export async function sampleStats(record: ContainerRecord, bundle: string, previous?: StatsResponse): Promise<StatsResponse> {
  const cgroupPath = await cgroupPathOf(bundle);
  if (!cgroupPath || record.state.pid <= 0) return emptyStats(record);
  const [cgroup, procStat, netDev] = await Promise.all([
    readCgroup(cgroupPath),
    readFile('/proc/stat', 'utf8'),
    readOptional(`/proc/${record.state.pid}/net/dev`),
  ]);
  const networks = netDev ? parseNetDev(netDev) : {};
  const cpu: CpuStats = {
    cpu_usage: cgroup.cpu.cpu_usage,
    system_cpu_usage: parseSystemCpuUsage(procStat),
    online_cpus: availableParallelism(),
    throttling_data: cgroup.cpu.throttling_data,
  };
  return {
    read: new Date().toISOString(),
    preread: previous && previous.read !== ZERO_TIME ? previous.read : ZERO_TIME,
    pids_stats: cgroup.pids,
    blkio_stats: cgroup.blkio,
    num_procs: 0,
    storage_stats: {},
    cpu_stats: cpu,
    precpu_stats: previous && previous.read !== ZERO_TIME ? previous.cpu_stats : emptyCpu(),
    memory_stats: cgroup.memory,
    name: `/${record.name}`,
    id: record.id,
    ...(Object.keys(networks).length > 0 ? { networks } : {}),
  };
}

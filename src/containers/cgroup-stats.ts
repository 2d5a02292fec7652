/**
 * Parsers for the cgroup, /proc/stat and /proc/<pid>/net/dev files `docker stats` is built from.
 * Pure functions of file contents, so both cgroup layouts are testable on any host:
 * - v1 (one hierarchy per controller): cpuacct.usage, cpuacct.usage_percpu, cpuacct.stat (ticks),
 *   cpu.stat, memory.usage_in_bytes/max_usage_in_bytes/limit_in_bytes/stat, pids.current/max,
 *   blkio.throttle.io_service_bytes_recursive / io_serviced_recursive.
 * - v2 (unified): cpu.stat (µs), memory.current/max/stat, pids.current/max, io.stat.
 * The result uses the field names of Docker's stats JSON.
 */

export interface BlkioEntry {
  major: number;
  minor: number;
  op: string;
  value: number;
}

export interface BlkioStats {
  io_service_bytes_recursive: BlkioEntry[] | null;
  io_serviced_recursive: BlkioEntry[] | null;
  io_queue_recursive: BlkioEntry[] | null;
  io_service_time_recursive: BlkioEntry[] | null;
  io_wait_time_recursive: BlkioEntry[] | null;
  io_merged_recursive: BlkioEntry[] | null;
  io_time_recursive: BlkioEntry[] | null;
  sectors_recursive: BlkioEntry[] | null;
}

export interface CpuUsage {
  total_usage: number;
  percpu_usage?: number[];
  usage_in_kernelmode: number;
  usage_in_usermode: number;
}

export interface ThrottlingData {
  periods: number;
  throttled_periods: number;
  throttled_time: number;
}

export interface MemoryStats {
  usage?: number;
  max_usage?: number;
  stats?: Record<string, number>;
  limit?: number;
}

export interface PidsStats {
  current?: number;
  limit?: number;
}

/** What one read of a container's cgroup gives. */
export interface CgroupSample {
  cpu: { cpu_usage: CpuUsage; throttling_data: ThrottlingData };
  memory: MemoryStats;
  pids: PidsStats;
  blkio: BlkioStats;
}

/** The files a sample is made of, by name relative to the controller directory; absent = undefined. */
export type CgroupFiles = Record<string, string | undefined>;

const NANOS_PER_TICK = 1e9 / 100; // USER_HZ is 100 on every Linux ABI Docker supports

/** "key value" lines (memory.stat, cpu.stat, cpuacct.stat) → numbers. */
export function parseFlatKeyed(text: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of (text ?? '').split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (!key || value === undefined) continue;
    const n = Number(value);
    if (Number.isFinite(n)) out[key] = n;
  }
  return out;
}

/** A single-number file; "max" (v2's unlimited) and garbage → undefined. */
export function parseSingle(text: string | undefined): number | undefined {
  const t = (text ?? '').trim();
  if (!/^\d+$/.test(t)) return undefined;
  return Number(t);
}

/** v1 blkio.throttle.* files: "8:0 Read 4096" lines (the trailing "Total N" line is dropped). */
export function parseBlkioV1(text: string | undefined): BlkioEntry[] {
  const out: BlkioEntry[] = [];
  for (const line of (text ?? '').split('\n')) {
    const m = /^(\d+):(\d+)\s+(\S+)\s+(\d+)$/.exec(line.trim());
    if (m) out.push({ major: Number(m[1]), minor: Number(m[2]), op: m[3] as string, value: Number(m[4]) });
  }
  return out;
}

/**
 * v2 io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0" per device. Docker reports
 * bytes as io_service_bytes_recursive and operations as io_serviced_recursive, ops "read"/"write".
 */
export function parseIoStatV2(text: string | undefined): { bytes: BlkioEntry[]; ios: BlkioEntry[] } {
  const bytes: BlkioEntry[] = [];
  const ios: BlkioEntry[] = [];
  for (const line of (text ?? '').split('\n')) {
    const [device, ...pairs] = line.trim().split(/\s+/);
    const m = /^(\d+):(\d+)$/.exec(device ?? '');
    if (!m) continue;
    const major = Number(m[1]);
    const minor = Number(m[2]);
    const values = new Map(pairs.map((p) => p.split('=') as [string, string]));
    const entry = (key: string, op: string): BlkioEntry => ({ major, minor, op, value: Number(values.get(key) ?? 0) });
    bytes.push(entry('rbytes', 'read'), entry('wbytes', 'write'));
    ios.push(entry('rios', 'read'), entry('wios', 'write'));
  }
  return { bytes, ios };
}

/** A limit at or above the host's memory means "unlimited": Docker reports the host's memory. */
function capLimit(limit: number | undefined, hostMemory: number): number {
  return limit === undefined || limit > hostMemory ? hostMemory : limit;
}

export function sampleV1(files: CgroupFiles, hostMemory: number): CgroupSample {
  const cpuacct = parseFlatKeyed(files['cpuacct.stat']);
  const cpu = parseFlatKeyed(files['cpu.stat']);
  const percpu = (files['cpuacct.usage_percpu'] ?? '').trim().split(/\s+/).filter(Boolean).map(Number);
  const memoryStat = parseFlatKeyed(files['memory.stat']);
  const pidsLimit = parseSingle(files['pids.max']);
  return {
    cpu: {
      cpu_usage: {
        total_usage: parseSingle(files['cpuacct.usage']) ?? 0,
        ...(percpu.length > 0 ? { percpu_usage: percpu } : {}),
        usage_in_kernelmode: (cpuacct['system'] ?? 0) * NANOS_PER_TICK,
        usage_in_usermode: (cpuacct['user'] ?? 0) * NANOS_PER_TICK,
      },
      throttling_data: { periods: cpu['nr_periods'] ?? 0, throttled_periods: cpu['nr_throttled'] ?? 0, throttled_time: cpu['throttled_time'] ?? 0 },
    },
    memory: {
      usage: parseSingle(files['memory.usage_in_bytes']) ?? 0,
      max_usage: parseSingle(files['memory.max_usage_in_bytes']) ?? 0,
      stats: memoryStat,
      limit: capLimit(parseSingle(files['memory.limit_in_bytes']), hostMemory),
    },
    pids: { current: parseSingle(files['pids.current']) ?? 0, ...(pidsLimit ? { limit: pidsLimit } : {}) },
    blkio: {
      io_service_bytes_recursive: parseBlkioV1(files['blkio.throttle.io_service_bytes_recursive']),
      io_serviced_recursive: parseBlkioV1(files['blkio.throttle.io_serviced_recursive']),
      io_queue_recursive: [],
      io_service_time_recursive: [],
      io_wait_time_recursive: [],
      io_merged_recursive: [],
      io_time_recursive: [],
      sectors_recursive: [],
    },
  };
}

export function sampleV2(files: CgroupFiles, hostMemory: number): CgroupSample {
  const cpu = parseFlatKeyed(files['cpu.stat']);
  const io = parseIoStatV2(files['io.stat']);
  const pidsLimit = parseSingle(files['pids.max']);
  return {
    cpu: {
      cpu_usage: {
        total_usage: (cpu['usage_usec'] ?? 0) * 1000,
        usage_in_kernelmode: (cpu['system_usec'] ?? 0) * 1000,
        usage_in_usermode: (cpu['user_usec'] ?? 0) * 1000,
      },
      throttling_data: { periods: cpu['nr_periods'] ?? 0, throttled_periods: cpu['nr_throttled'] ?? 0, throttled_time: (cpu['throttled_usec'] ?? 0) * 1000 },
    },
    memory: {
      usage: parseSingle(files['memory.current']) ?? 0,
      stats: parseFlatKeyed(files['memory.stat']),
      limit: capLimit(parseSingle(files['memory.max']), hostMemory),
    },
    pids: { current: parseSingle(files['pids.current']) ?? 0, ...(pidsLimit ? { limit: pidsLimit } : {}) },
    // dockerd fills only bytes and ios from io.stat; the v1-only lists are null.
    blkio: {
      io_service_bytes_recursive: io.bytes,
      io_serviced_recursive: io.ios,
      io_queue_recursive: null,
      io_service_time_recursive: null,
      io_wait_time_recursive: null,
      io_merged_recursive: null,
      io_time_recursive: null,
      sectors_recursive: null,
    },
  };
}

/** Files read for each layout, by controller directory ('' = the unified directory). */
export const V1_FILES: Record<string, string[]> = {
  cpuacct: ['cpuacct.usage', 'cpuacct.usage_percpu', 'cpuacct.stat'],
  cpu: ['cpu.stat'],
  memory: ['memory.usage_in_bytes', 'memory.max_usage_in_bytes', 'memory.limit_in_bytes', 'memory.stat'],
  pids: ['pids.current', 'pids.max'],
  blkio: ['blkio.throttle.io_service_bytes_recursive', 'blkio.throttle.io_serviced_recursive'],
};
export const V2_FILES = ['cpu.stat', 'memory.current', 'memory.max', 'memory.stat', 'pids.current', 'pids.max', 'io.stat'];

/** /proc/stat's "cpu" line: user+nice+system+idle+iowait+irq+softirq, in nanoseconds (as dockerd sums it). */
export function parseSystemCpuUsage(procStat: string): number {
  const line = procStat.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return 0;
  const ticks = line.trim().split(/\s+/).slice(1, 8).map(Number);
  return ticks.reduce((sum, t) => sum + (Number.isFinite(t) ? t : 0), 0) * NANOS_PER_TICK;
}

export interface NetworkStats {
  rx_bytes: number;
  rx_packets: number;
  rx_errors: number;
  rx_dropped: number;
  tx_bytes: number;
  tx_packets: number;
  tx_errors: number;
  tx_dropped: number;
}

/** /proc/<pid>/net/dev → interfaces other than loopback (dockerd leaves lo out). */
export function parseNetDev(text: string): Record<string, NetworkStats> {
  const out: Record<string, NetworkStats> = {};
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    const f = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    if (!name || name === 'lo' || f.length < 12) continue;
    out[name] = {
      rx_bytes: f[0] ?? 0,
      rx_packets: f[1] ?? 0,
      rx_errors: f[2] ?? 0,
      rx_dropped: f[3] ?? 0,
      tx_bytes: f[8] ?? 0,
      tx_packets: f[9] ?? 0,
      tx_errors: f[10] ?? 0,
      tx_dropped: f[11] ?? 0,
    };
  }
  return out;
}

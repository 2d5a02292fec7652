/**
 * `docker stats` figures from the daemon's StatsResponse, computed as the docker CLI does
 * (cli/command/container/stats_helpers.go): CPU % from the delta against precpu_stats, memory
 * without the inactive file cache, block and network I/O summed over devices.
 */
import { bytesSize, humanSizeWithPrecision } from '../core/units.js';

interface CpuStats {
  cpu_usage?: { total_usage?: number; percpu_usage?: number[] };
  system_cpu_usage?: number;
  online_cpus?: number;
}

/** The parts of the daemon's stats JSON the table uses. */
export interface StatsJson {
  read?: string;
  name?: string;
  id?: string;
  pids_stats?: { current?: number };
  blkio_stats?: { io_service_bytes_recursive?: Array<{ op: string; value: number }> | null };
  cpu_stats?: CpuStats;
  precpu_stats?: CpuStats;
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> };
  networks?: Record<string, { rx_bytes: number; tx_bytes: number }>;
}

export interface StatsEntry {
  container: string;
  name: string;
  id: string;
  cpuPercentage: number;
  memory: number;
  memoryLimit: number;
  memoryPercentage: number;
  networkRx: number;
  networkTx: number;
  blockRead: number;
  blockWrite: number;
  pidsCurrent: number;
  /** No figures (a stopped container, or none received yet): every column shows "--". */
  invalid: boolean;
}

export function cpuPercent(stats: StatsJson): number {
  const cpu = stats.cpu_stats;
  const pre = stats.precpu_stats;
  const cpuDelta = (cpu?.cpu_usage?.total_usage ?? 0) - (pre?.cpu_usage?.total_usage ?? 0);
  const systemDelta = (cpu?.system_cpu_usage ?? 0) - (pre?.system_cpu_usage ?? 0);
  const online = cpu?.online_cpus || cpu?.cpu_usage?.percpu_usage?.length || 0;
  return systemDelta > 0 && cpuDelta > 0 ? (cpuDelta / systemDelta) * online * 100 : 0;
}

/** Usage minus the inactive page cache (total_inactive_file on v1, inactive_file on v2). */
export function memoryUsage(stats: StatsJson): number {
  const usage = stats.memory_stats?.usage ?? 0;
  const s = stats.memory_stats?.stats ?? {};
  const v1 = s['total_inactive_file'];
  if (v1 !== undefined && v1 < usage) return usage - v1;
  const v2 = s['inactive_file'] ?? 0;
  return v2 < usage ? usage - v2 : usage;
}

export function statsEntry(container: string, stats: StatsJson): StatsEntry {
  const memory = memoryUsage(stats);
  const limit = stats.memory_stats?.limit ?? 0;
  let read = 0;
  let write = 0;
  for (const e of stats.blkio_stats?.io_service_bytes_recursive ?? []) {
    const op = e.op.toLowerCase();
    if (op === 'read') read += e.value;
    else if (op === 'write') write += e.value;
  }
  let rx = 0;
  let tx = 0;
  for (const n of Object.values(stats.networks ?? {})) {
    rx += n.rx_bytes;
    tx += n.tx_bytes;
  }
  return {
    container,
    name: (stats.name ?? '').replace(/^\//, ''),
    id: stats.id ?? '',
    cpuPercentage: cpuPercent(stats),
    memory,
    memoryLimit: limit,
    memoryPercentage: limit > 0 ? (memory / limit) * 100 : 0,
    networkRx: rx,
    networkTx: tx,
    blockRead: read,
    blockWrite: write,
    pidsCurrent: stats.pids_stats?.current ?? 0,
    invalid: false,
  };
}

export const STATS_TABLE = 'table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}';

export const STATS_HEADERS: Record<string, string> = {
  Container: 'CONTAINER',
  ID: 'CONTAINER ID',
  Name: 'NAME',
  CPUPerc: 'CPU %',
  MemUsage: 'MEM USAGE / LIMIT',
  MemPerc: 'MEM %',
  NetIO: 'NET I/O',
  BlockIO: 'BLOCK I/O',
  PIDs: 'PIDS',
};

/** The template fields of one row (docker's statsContext). */
export function statsFields(e: StatsEntry, trunc: boolean): Record<string, string> {
  const id = trunc ? e.id.slice(0, 12) : e.id;
  const dash = (s: string): string => (e.invalid ? '--' : s);
  const pct = (n: number): string => `${n.toFixed(2)}%`;
  const pair = (a: string, b: string): string => `${a} / ${b}`;
  // In sorted order, as Go marshals the map docker's `{{json .}}` makes of a statsContext.
  return {
    BlockIO: e.invalid ? '--' : pair(humanSizeWithPrecision(e.blockRead, 3), humanSizeWithPrecision(e.blockWrite, 3)),
    CPUPerc: dash(pct(e.cpuPercentage)),
    Container: e.container,
    ID: id,
    MemPerc: dash(pct(e.memoryPercentage)),
    MemUsage: e.invalid ? '-- / --' : pair(bytesSize(e.memory), bytesSize(e.memoryLimit)),
    Name: e.name || '--',
    NetIO: e.invalid ? '--' : pair(humanSizeWithPrecision(e.networkRx, 3), humanSizeWithPrecision(e.networkTx, 3)),
    PIDs: dash(String(e.pidsCurrent)),
  };
}

/** Reading a container's cgroup files (cgroup v1 controllers or the v2 unified hierarchy). */
import { readTextIfPresent } from '../core/read-text.js';
import { join } from 'node:path';

const CGROUP_ROOT = '/sys/fs/cgroup';

/** The directory of `cgroupsPath` for a v1 controller (`memory`, `pids`, …) or in the v2 hierarchy. */
export function cgroupDir(cgroupsPath: string, cgroupV2: boolean, controller: string): string {
  return cgroupV2 ? join(CGROUP_ROOT, cgroupsPath) : join(CGROUP_ROOT, controller, cgroupsPath);
}

/**
 * How many processes the kernel's OOM killer killed in the cgroup: `oom_kill` of
 * memory.oom_control (v1) or memory.events (v2). Read before the cgroup is deleted; conmon's
 * own "oom" file is not written on every host, this counter is.
 */
export function oomKillCount(cgroupsPath: string, cgroupV2: boolean): number {
  const file = join(cgroupDir(cgroupsPath, cgroupV2, 'memory'), cgroupV2 ? 'memory.events' : 'memory.oom_control');
  // No memory cgroup (any more): nothing the kernel counted can be read.
  const text = readTextIfPresent(file) ?? '';
  const m = /^oom_kill (\d+)$/m.exec(text);
  return m ? Number(m[1]) : 0;
}

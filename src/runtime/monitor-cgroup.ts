/**
 * The cgroup conmon runs in: `<cgroup-parent>/conmon` in every hierarchy, as Podman's cgroupfs
 * manager keeps its monitors in `libpod_parent/conmon` and CRI-O in a conmon cgroup of their own.
 *
 * Why not berthd's cgroup: conmon outlives berthd, so it must not go down with berthd's cgroup
 * (a service manager stopping berthd kills that cgroup's processes: systemd's default
 * KillMode=control-group), and the monitors' memory is theirs, not berthd's.
 *
 * Why the move does not hold conmon back (Podman and CRI-O move it before writing its start
 * pipe): the first cgroup migration after a quiet spell waits for an RCU grace period
 * (cgroup_threadgroup_rwsem's rcu_sync; 7–36 ms on the machines we measure), and every
 * container start pays one, in runc's own migration of the container. Started as soon as
 * conmon exists, the grace period runs alongside the bundle's preparation and runc's start-up,
 * and runc's migration a few milliseconds later no longer waits for one of its own: `docker
 * run` is ~15 ms sooner. conmon forks its monitor as soon as it is released, so when that
 * happens before the move lands, the monitor's PID is moved once `runc create` has reported.
 *
 * Not in v1's cpuset hierarchy: a new cpuset cgroup has no CPUs until they are copied from its
 * parent, and conmon has no use for a cpuset of its own there.
 */
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode, errorMessage } from '../core/errors.js';
import { logger } from '../core/log.js';
import { readMountInfoSync, type MountInfo } from '../core/mountinfo.js';

const CGROUP_ROOT = '/sys/fs/cgroup';
const log = logger('monitor-cgroup');

/** Moves processes into one cgroup; never fails a container operation (a failure is logged). */
export interface ProcessMover {
  /** Resolves when `pid` is in the cgroup, or could not be moved (it is gone, or no hierarchy takes it). */
  move(pid: number): Promise<void>;
}

/** The hierarchies a process can be moved in: cgroup2, and every v1 hierarchy but cpuset. */
export function monitorHierarchies(mounts: readonly MountInfo[]): string[] {
  const out: string[] = [];
  for (const m of mounts) {
    if (m.mountPoint !== CGROUP_ROOT && !m.mountPoint.startsWith(`${CGROUP_ROOT}/`)) continue;
    if (m.fsType === 'cgroup2' || (m.fsType === 'cgroup' && !m.superOptions.split(',').includes('cpuset'))) {
      if (!out.includes(m.mountPoint)) out.push(m.mountPoint);
    }
  }
  return out;
}

/** One hierarchy's copy of the cgroup, with its `cgroup.procs` kept open. */
interface ProcsFile {
  dir: string;
  handle: FileHandle;
}

export class MonitorCgroup implements ProcessMover {
  /** Each hierarchy's `cgroup.procs` of the cgroup, opened once (made on the first move). */
  private files: Promise<ProcsFile[]> | undefined;
  /** One move at a time: the first waits out the grace period, the ones behind it then do not. */
  private queue: Promise<void> = Promise.resolve();

  constructor(
    /** Absolute cgroup path, e.g. `/berth/conmon`. */
    private readonly path: string,
    private readonly hierarchies: () => string[] = () => monitorHierarchies(readMountInfoSync()),
  ) {}

  /** Never rejects: callers do not await it on the start path (see above). */
  move(pid: number): Promise<void> {
    const next = this.queue.then(() => this.moveNow(pid)).catch((err: unknown) => log.warn('could not move conmon into its cgroup', { pid, error: errorMessage(err) }));
    this.queue = next;
    return next;
  }

  private async moveNow(pid: number): Promise<void> {
    const [first, ...rest] = await this.procsFiles();
    // The first write alone: it may wait for the grace period, and so would every write issued
    // beside it, each holding one of libuv's four threadpool threads all that time.
    if (!first || !(await this.write(first, pid))) return;
    await Promise.all(rest.map((file) => this.write(file, pid)));
  }

  /** False when the process is gone (a conmon that has forked its monitor and exited). */
  private async write(file: ProcsFile, pid: number): Promise<boolean> {
    try {
      try {
        await file.handle.write(String(pid));
      } catch (err) {
        // The cgroup was removed under berthd (ENODEV): made and opened again, once.
        if (errnoCode(err) !== 'ENODEV') throw err;
        await file.handle.close().catch(() => undefined);
        file.handle = await openProcs(file.dir);
        await file.handle.write(String(pid));
      }
      return true;
    } catch (err) {
      if (errnoCode(err) === 'ESRCH') return false;
      // A hierarchy that refuses (permissions, a v2 parent with processes of its own) is left alone from now on.
      const files = await this.procsFiles();
      if (files.includes(file)) files.splice(files.indexOf(file), 1);
      log.warn('conmon stays out of this cgroup hierarchy', { pid, cgroup: file.dir, error: errorMessage(err) });
      return true;
    }
  }

  private procsFiles(): Promise<ProcsFile[]> {
    this.files ??= (async () => {
      const opened: ProcsFile[] = [];
      for (const hierarchy of this.hierarchies()) {
        const dir = join(hierarchy, this.path);
        try {
          opened.push({ dir, handle: await openProcs(dir) });
        } catch (err) {
          log.warn('conmon stays out of this cgroup hierarchy', { cgroup: dir, error: errorMessage(err) });
        }
      }
      return opened;
    })();
    return this.files;
  }
}

async function openProcs(dir: string): Promise<FileHandle> {
  await mkdir(dir, { recursive: true });
  return open(join(dir, 'cgroup.procs'), 'w');
}

/**
 * Health checks (moby daemon/health.go): the container's HEALTHCHECK command runs as an exec
 * session every interval while the container runs (not while paused); a zero exit is
 * healthy, `retries` failures in a row are unhealthy, failures during the start period do
 * not count. The last 5 results are kept for inspect. The state lives in memory and is saved
 * with the container record after every change (as dockerd checkpoints it), so a berthd
 * restart finds it again; it starts over ("starting", log kept) whenever the container starts.
 */
import { invalidArgument, errorMessage } from '../core/errors.js';
import { goDurationSeconds } from '../core/units.js';
import { logger } from '../core/log.js';
import type { HealthConfig } from '../oci/image.js';
import { readLogs } from '../runtime/logs.js';
import type { ExecManager } from './exec.js';
import type { ContainerManager } from './manager.js';
import type { ContainerRecord, HealthLogEntry, HealthState, HealthStatus } from './types.js';

const log = logger('health');

export type { HealthLogEntry, HealthState, HealthStatus } from './types.js';

const NS_PER_MS = 1e6;
const DEFAULT_INTERVAL_MS = 30_000;
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_START_INTERVAL_MS = 5_000;
const DEFAULT_RETRIES = 3;
const MAX_LOG_ENTRIES = 5;
const MAX_OUTPUT_BYTES = 4096;
/** containertypes.MinimumDuration: 1 ms, in nanoseconds. */
const MINIMUM_DURATION_NS = 1e6;

/** daemon/container.go: the healthcheck checks of verifyContainerSettings. */
export function validateHealthcheck(h: HealthConfig): void {
  const check = (value: number | undefined, name: string): void => {
    if (value !== undefined && value !== 0 && value < MINIMUM_DURATION_NS) throw invalidArgument(`${name} in Healthcheck cannot be less than 1ms`);
  };
  check(h.Interval, 'Interval');
  check(h.Timeout, 'Timeout');
  check(h.StartPeriod, 'StartPeriod');
  check(h.StartInterval, 'StartInterval');
  if ((h.Retries ?? 0) < 0) throw invalidArgument('Retries in Healthcheck cannot be negative');
  const kind = h.Test?.[0];
  if (kind !== undefined && !['NONE', 'CMD', 'CMD-SHELL'].includes(kind)) {
    throw invalidArgument(`unknown healthcheck type '${kind}' (expected 'CMD', 'CMD-SHELL' or 'NONE')`);
  }
  if ((kind === 'CMD' || kind === 'CMD-SHELL') && (h.Test?.length ?? 0) < 2) throw invalidArgument(`Healthcheck ${kind} needs a command`);
}

/** The probe's argv, or undefined when the container has no (or a NONE) healthcheck. */
export function probeCommand(h: HealthConfig | undefined): string[] | undefined {
  const test = h?.Test;
  if (!test || test.length < 2) return undefined;
  if (test[0] === 'CMD') return test.slice(1);
  if (test[0] === 'CMD-SHELL') return ['/bin/sh', '-c', ...test.slice(1)];
  return undefined;
}

/** The wait before the next probe (monitor's getInterval). */
export function probeDelayMs(h: HealthConfig, startedAtMs: number, now: number, status: HealthStatus): number {
  const interval = h.Interval ? h.Interval / NS_PER_MS : DEFAULT_INTERVAL_MS;
  const startPeriod = (h.StartPeriod ?? 0) / NS_PER_MS;
  const elapsed = now - startedAtMs;
  if (elapsed >= startPeriod) return interval;
  const remaining = startPeriod - elapsed;
  if (remaining < interval) return remaining;
  return status === 'starting' ? (h.StartInterval ? h.StartInterval / NS_PER_MS : DEFAULT_START_INTERVAL_MS) : interval;
}

/** handleProbeResult: the next state after one probe. */
export function applyProbeResult(state: HealthState, result: HealthLogEntry, h: HealthConfig, startedAtMs: number): HealthState {
  const retries = h.Retries && h.Retries > 0 ? h.Retries : DEFAULT_RETRIES;
  const next: HealthState = { Status: state.Status, FailingStreak: state.FailingStreak, Log: [...state.Log, result].slice(-MAX_LOG_ENTRIES) };
  if (result.ExitCode === 0) {
    next.FailingStreak = 0;
    next.Status = 'healthy';
    return next;
  }
  const inStartPeriod = state.Status === 'starting' && Date.parse(result.Start) - startedAtMs < (h.StartPeriod ?? 0) / NS_PER_MS;
  if (!inStartPeriod) {
    next.FailingStreak++;
    if (next.FailingStreak >= retries) next.Status = 'unhealthy';
  }
  return next;
}

/** Go's time.Duration String() for the common cases ("300ms", "2s", "1m30s", "1.5s"). */
export function goDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms % 1000 === 0) return goDurationSeconds(ms / 1000);
  return ms < 60_000 ? `${ms / 1000}s` : `${goDurationSeconds(Math.floor(ms / 60_000) * 60).replace(/0s$/, '')}${(ms % 60_000) / 1000}s`;
}

interface Monitor {
  timer: NodeJS.Timeout | undefined;
  stopped: boolean;
}

/** Runs the probes; `health_status` (id, status) is emitted on the ContainerManager when the status changes. */
export class HealthMonitor {
  private readonly states = new Map<string, HealthState>();
  private readonly monitors = new Map<string, Monitor>();

  constructor(
    private readonly containers: ContainerManager,
    private readonly execs: ExecManager,
  ) {
    containers.on('start', (id: string) => this.begin(id));
    containers.on('exit', (id: string) => this.end(id));
    containers.on('remove', (id: string) => {
      this.end(id);
      this.states.delete(id);
    });
  }

  /**
   * Loads the saved states, and monitors containers that were already running when berthd
   * started: they did not restart, so their status, streak and log carry on.
   */
  init(): void {
    for (const record of this.containers.list()) {
      if (record.health) this.states.set(record.id, record.health);
      if (record.state.status === 'running' || record.state.status === 'paused') this.begin(record.id, record.health);
    }
  }

  get(id: string): HealthState | undefined {
    const state = this.states.get(id);
    return state ? { ...state, Log: [...state.Log] } : undefined;
  }

  close(): void {
    for (const id of [...this.monitors.keys()]) this.end(id);
  }

  /** `restored`: the state to carry on with; without it the check starts over, keeping the log. */
  private begin(id: string, restored?: HealthState): void {
    const record = this.containers.peek(id);
    const config = record?.request.healthcheck;
    if (!record || !probeCommand(config)) return;
    this.end(id);
    const previousLog = [...(this.states.get(id)?.Log ?? record.health?.Log ?? [])];
    this.setState(id, restored ?? { Status: 'starting', FailingStreak: 0, Log: previousLog });
    const monitor: Monitor = { timer: undefined, stopped: false };
    this.monitors.set(id, monitor);
    this.scheduleNext(id, monitor);
  }

  private setState(id: string, state: HealthState): void {
    this.states.set(id, state);
    this.containers.saveHealth(id, state);
  }

  private end(id: string): void {
    const monitor = this.monitors.get(id);
    if (!monitor) return;
    monitor.stopped = true;
    if (monitor.timer) clearTimeout(monitor.timer);
    this.monitors.delete(id);
  }

  private scheduleNext(id: string, monitor: Monitor): void {
    const record = this.containers.find(id);
    const config = record?.request.healthcheck;
    const state = this.states.get(id);
    if (!record || !config || !state || monitor.stopped) return;
    const delay = probeDelayMs(config, Date.parse(record.state.startedAt), Date.now(), state.Status);
    monitor.timer = setTimeout(() => {
      monitor.timer = undefined;
      void this.probe(id, monitor).finally(() => this.scheduleNext(id, monitor));
    }, delay);
  }

  private async probe(id: string, monitor: Monitor): Promise<void> {
    const record = this.containers.find(id);
    const config = record?.request.healthcheck;
    const cmd = probeCommand(config);
    // A paused container is not probed (dockerd stops its monitor while paused).
    if (!record || !config || !cmd || record.state.status !== 'running') return;
    const start = new Date();
    const result = await this.runProbe(record, cmd, config).catch((err: unknown) => ({ ExitCode: -1, Output: errorMessage(err) }));
    const state = this.states.get(id);
    if (monitor.stopped || !state) return;
    const next = applyProbeResult(state, { Start: start.toISOString(), End: new Date().toISOString(), ...result }, config, Date.parse(record.state.startedAt));
    this.setState(id, next);
    if (next.Status !== state.Status) {
      log.debug('health status', { id, status: next.Status });
      this.containers.emit('health_status', id, next.Status);
    }
  }

  private async runProbe(record: ContainerRecord, cmd: string[], config: HealthConfig): Promise<{ ExitCode: number; Output: string }> {
    const session = this.execs.create(record.id, {
      cmd,
      env: [],
      user: record.request.user || record.imageConfig.User || '',
      workingDir: record.request.workingDir || '',
      tty: false,
      attachStdin: false,
      attachStdout: true,
      attachStderr: true,
      privileged: false,
      detachKeys: '',
    });
    try {
      await this.execs.start(session.id);
      const timeoutMs = config.Timeout ? config.Timeout / NS_PER_MS : DEFAULT_TIMEOUT_MS;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
      });
      const exited = this.execs.waitExit(session);
      const outcome = await Promise.race([exited, timedOut]);
      clearTimeout(timer);
      if (outcome === 'timeout') {
        try {
          process.kill(session.pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
        await exited;
        const output = await this.readOutput(session.id);
        const limit = goDuration(timeoutMs);
        return { ExitCode: -1, Output: output ? `Health check exceeded timeout (${limit}): ${output}` : `Health check exceeded timeout (${limit})` };
      }
      return { ExitCode: outcome, Output: await this.readOutput(session.id) };
    } finally {
      await this.execs.discard(session.id);
    }
  }

  /** The probe's stdout and stderr, cut at 4096 bytes with "..." as dockerd does. */
  private async readOutput(execId: string): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    let truncated = false;
    await readLogs(this.execs.logPath(this.execs.get(execId)), {
      follow: false,
      onEntry: (entry) => {
        const room = MAX_OUTPUT_BYTES - size;
        if (entry.data.length > room) truncated = true;
        const kept = entry.data.subarray(0, Math.max(room, 0));
        chunks.push(kept);
        size += kept.length;
      },
    });
    return Buffer.concat(chunks).toString('utf8') + (truncated ? '...' : '');
  }
}

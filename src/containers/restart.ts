/**
 * Restart policies, with the semantics of moby's restartmanager: `no`, `always`,
 * `unless-stopped`, `on-failure[:N]`; a delay of 100 ms that doubles after each restart up
 * to 1 min, back to 100 ms once the container ran for 10 s; a stop or kill through the API
 * cancels the next restart (Docker's ExitOnNext) and marks a manual stop.
 */
import { invalidArgument } from '../core/errors.js';

export interface RestartPolicy {
  name: string;
  maximumRetryCount: number;
}

export const RESTART_FIRST_DELAY_MS = 100;
export const RESTART_MAX_DELAY_MS = 60_000;
/** A container that ran this long starts over at the first delay. */
export const RESTART_RESET_AFTER_MS = 10_000;

/** daemon/container.go validateRestartPolicy, with its messages. */
export function validateRestartPolicy(policy: RestartPolicy): void {
  const { name, maximumRetryCount: max } = policy;
  if (!Number.isInteger(max)) throw invalidArgument('invalid restart policy: maximum retry count must be an integer');
  switch (name) {
    case 'always':
    case 'unless-stopped':
    case 'no':
      if (max !== 0) {
        throw invalidArgument(`invalid restart policy: maximum retry count can only be used with 'on-failure'${max < 0 ? ' and cannot be negative' : ''}`);
      }
      return;
    case 'on-failure':
      if (max < 0) throw invalidArgument('invalid restart policy: maximum retry count cannot be negative');
      return;
    case '':
      return;
    default:
      throw invalidArgument(`invalid restart policy: unknown policy '${name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`);
  }
}

/** The wait before the next restart, given the previous wait (0 = none yet) and how long the container ran. */
export function nextRestartDelay(previousMs: number, ranForMs: number): number {
  let delay = ranForMs >= RESTART_RESET_AFTER_MS ? 0 : previousMs;
  if (delay === 0) delay = RESTART_FIRST_DELAY_MS;
  else if (delay < RESTART_MAX_DELAY_MS) delay *= 2;
  return Math.min(delay, RESTART_MAX_DELAY_MS);
}

export interface ExitFacts {
  exitCode: number;
  manuallyStopped: boolean;
  /** Restarts made so far by the policy. */
  restartCount: number;
}

/** RestartManager.ShouldRestart's decision (also what berthd applies to stopped containers at start). */
export function policyWantsRestart(policy: RestartPolicy, facts: ExitFacts): boolean {
  switch (policy.name) {
    case 'always':
      return true;
    case 'unless-stopped':
      return !facts.manuallyStopped;
    case 'on-failure':
      return (policy.maximumRetryCount === 0 || facts.restartCount < policy.maximumRetryCount) && facts.exitCode !== 0;
    default:
      return false;
  }
}

/** Per-container restart timers, delays and "exit on next" marks (in memory, as in dockerd). */
export class RestartScheduler {
  private readonly delays = new Map<string, number>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly exitOnNext = new Set<string>();

  /** A stop or kill through the API: the coming exit must not restart the container. */
  markExitOnNext(id: string): void {
    this.exitOnNext.add(id);
  }

  /** A start through the API: policies apply again. */
  clearExitOnNext(id: string): void {
    this.exitOnNext.delete(id);
  }

  /** The delay before restarting after this exit, or undefined when the container stays down. */
  afterExit(id: string, policy: RestartPolicy, facts: ExitFacts, ranForMs: number): number | undefined {
    if (this.exitOnNext.delete(id) || !policyWantsRestart(policy, facts)) {
      this.delays.delete(id);
      return undefined;
    }
    const delay = nextRestartDelay(this.delays.get(id) ?? 0, ranForMs);
    this.delays.set(id, delay);
    return delay;
  }

  schedule(id: string, delayMs: number, restart: () => void): void {
    this.cancel(id);
    const timer = setTimeout(() => {
      this.timers.delete(id);
      restart();
    }, delayMs);
    this.timers.set(id, timer);
  }

  /** True when a restart was pending. */
  cancel(id: string): boolean {
    const timer = this.timers.get(id);
    if (!timer) return false;
    clearTimeout(timer);
    this.timers.delete(id);
    return true;
  }

  forget(id: string): void {
    this.cancel(id);
    this.delays.delete(id);
    this.exitOnNext.delete(id);
  }

  close(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}

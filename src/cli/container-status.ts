/**
 * The STATUS and CREATED strings of `docker ps`. dockerd computes Status (container/state.go
 * State.String) and the CLI prints it verbatim; the CLI computes CREATED ("2 minutes ago").
 * containerStatus() reproduces State.String from an inspect-style State so the wording can be
 * checked (and used when a daemon leaves Status empty).
 */
import { humanDuration } from '../core/units.js';

export interface ContainerStateLike {
  Status?: string;
  Running?: boolean;
  Paused?: boolean;
  Restarting?: boolean;
  Dead?: boolean;
  ExitCode?: number;
  StartedAt?: string;
  FinishedAt?: string;
  Health?: { Status?: string } | null;
}

const GO_ZERO_TIME = '0001-01-01T00:00:00Z';

function isZeroTime(t: string | undefined): boolean {
  return t === undefined || t === '' || t.startsWith('0001-01-01');
}

function since(t: string | undefined, now: number): string {
  const ms = isZeroTime(t) ? 0 : now - Date.parse(t ?? GO_ZERO_TIME);
  return humanDuration(Number.isFinite(ms) ? ms : 0);
}

/** container/state.go State.String(). */
export function containerStatus(state: ContainerStateLike, now: number = Date.now()): string {
  if (state.Running) {
    if (state.Paused) return `Up ${since(state.StartedAt, now)} (Paused)`;
    if (state.Restarting) return `Restarting (${state.ExitCode ?? 0}) ${since(state.FinishedAt, now)} ago`;
    const health = state.Health?.Status;
    if (health && health !== 'none') {
      return `Up ${since(state.StartedAt, now)} (${health === 'starting' ? 'health: starting' : health})`;
    }
    return `Up ${since(state.StartedAt, now)}`;
  }
  if (state.Status === 'removing') return 'Removal In Progress';
  if (state.Dead || state.Status === 'dead') return 'Dead';
  if (isZeroTime(state.StartedAt)) return 'Created';
  if (isZeroTime(state.FinishedAt)) return '';
  return `Exited (${state.ExitCode ?? 0}) ${since(state.FinishedAt, now)} ago`;
}

/** A best-effort STATUS from the list API's State word, for daemons that send no Status. */
export function statusFromStateWord(state: string | undefined): string {
  switch (state) {
    case 'created':
      return 'Created';
    case 'running':
      return 'Up';
    case 'paused':
      return 'Up (Paused)';
    case 'restarting':
      return 'Restarting';
    case 'removing':
      return 'Removal In Progress';
    case 'exited':
      return 'Exited';
    case 'dead':
      return 'Dead';
    default:
      return state ?? '';
  }
}

/** CREATED column: units.HumanDuration(now - created) + " ago" (created in Unix seconds). */
export function createdAgo(createdUnixSeconds: number, now: number = Date.now()): string {
  return `${humanDuration(now - createdUnixSeconds * 1000)} ago`;
}

/**
 * The `filters` of POST /containers/prune, /images/prune and /networks/prune as moby's
 * daemon/prune.go reads them: one `until` (objects created after it are kept) and
 * `label` / `label!` (every `label` must match; an object matching every `label!` is kept).
 */
import { invalidArgument } from '../../core/errors.js';
import { filterTime } from './http.js';
import { labelMatches } from './label-filter.js';

export interface PruneFilter {
  /** Whether an object created at `createdMs` with these labels may be pruned. */
  selects(createdMs: number, labels: Readonly<Record<string, string>>): boolean;
}

/** `accepted` are the endpoint's keys (moby's per-endpoint acceptedFilters); others are a 400. */
export function pruneFilter(filters: Record<string, string[]>, accepted: readonly string[]): PruneFilter {
  for (const key of Object.keys(filters)) if (!accepted.includes(key)) throw invalidArgument(`invalid filter '${key}'`);
  const untilValues = filters['until'] ?? [];
  if (untilValues.length > 1) throw invalidArgument('more than one until filter specified');
  const until = untilValues[0] === undefined ? undefined : filterTime(untilValues[0], 'until');
  const include = filters['label'] ?? [];
  const exclude = filters['label!'] ?? [];
  return {
    selects(createdMs, labels) {
      if (until !== undefined && createdMs > until) return false;
      if (!include.every((l) => labelMatches(labels, l))) return false;
      // moby matchLabels: `label!` excludes only an object that matches all of them.
      return exclude.length === 0 || !exclude.every((l) => labelMatches(labels, l));
    },
  };
}

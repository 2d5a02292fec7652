/** `--filter key=value` flags → the `filters` query parameter ({"key":{"value":true}}). */
import { CliError } from '../errors.js';

/** The `filters` query parameter's shape: key → set of values. */
export type Filters = Record<string, Record<string, boolean>>;

export function buildFilters(specs: readonly string[]): Filters {
  const filters: Filters = {};
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    if (eq <= 0) throw new CliError(`bad format of filter (expected name=value)`, 125);
    const key = spec.slice(0, eq).trim().toLowerCase();
    const value = spec.slice(eq + 1).trim();
    (filters[key] ??= {})[value] = true;
  }
  return filters;
}

/** The `label` filter value of Docker's list and prune filters: `key` (present) or `key=value`. */
export function labelMatches(labels: Readonly<Record<string, string>>, filter: string): boolean {
  const eq = filter.indexOf('=');
  const key = eq < 0 ? filter : filter.slice(0, eq);
  if (!Object.hasOwn(labels, key)) return false;
  return eq < 0 || labels[key] === filter.slice(eq + 1);
}

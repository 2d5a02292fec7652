/**
 * Go's strconv parsers that Docker's option syntax is defined by (undefined where Go fails), and
 * the docker syntaxes both the CLI and berthd check.
 */

/** strconv.ParseBool. */
export function goParseBool(text: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false;
  return undefined;
}

/** strconv.Atoi: an optional sign and decimal digits, nothing else, within a safe integer. */
export function goAtoi(text: string): number | undefined {
  if (!/^[+-]?[0-9]+$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** docker's opts.ConvertKVStringsToMap: "k=v" entries; a bare "k" stands for an empty value. */
export function kvStringsToMap(entries: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    if (eq < 0) out[entry] = '';
    else out[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return out;
}

/** A device cgroup rule (`--device-cgroup-rule`): type, major:minor (`*` for any), access. */
export const DEVICE_CGROUP_RULE = /^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$/;

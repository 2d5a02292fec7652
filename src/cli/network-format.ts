/**
 * `network ls` output as the docker CLI writes it (cli/command/network/formatter.go): the
 * fields a --format template can use, docker's default table and headers, the quiet and raw
 * formats, rows in natural order of their names.
 */
import { truncateId } from './format.js';
import { naturalCompare } from './sortorder.js';

/** What GET /networks returns per network (the fields `network ls` reads). */
export interface NetworkSummary {
  Name?: string;
  Id?: string;
  Created?: string;
  Scope?: string;
  Driver?: string;
  EnableIPv4?: boolean;
  EnableIPv6?: boolean;
  Internal?: boolean;
  Labels?: Record<string, string> | null;
}

export const NETWORK_TABLE = 'table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}';
const NETWORK_RAW = 'network_id: {{.ID}}\\nname: {{.Name}}\\ndriver: {{.Driver}}\\nscope: {{.Scope}}\\n';

export const NETWORK_HEADERS: Record<string, string> = {
  CreatedAt: 'CREATED AT',
  Driver: 'DRIVER',
  ID: 'NETWORK ID',
  IPv4: 'IPV4',
  IPv6: 'IPV6',
  Internal: 'INTERNAL',
  Labels: 'LABELS',
  Name: 'NAME',
  Scope: 'SCOPE',
};

/** network.NewFormat: the template for --format (or its absence) and -q. */
export function networkFormat(format: string | undefined, quiet: boolean): string {
  const source = format === undefined || format === '' ? 'table' : format;
  if (source === 'table') return quiet ? '{{.ID}}' : NETWORK_TABLE;
  if (source === 'raw') return quiet ? 'network_id: {{.ID}}' : NETWORK_RAW;
  return source;
}

/**
 * Go's time.Time.String() for a time decoded from the daemon's RFC 3339 text: fractional
 * seconds without trailing zeros, "+0000 UTC" for Z, a nameless zone ("+0200 +0200") for an
 * offset. The text is reformatted, not converted, so no precision or zone is lost.
 */
export function goTimeString(rfc3339: string | undefined): string {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/.exec(rfc3339 ?? '');
  if (!m) return '0001-01-01 00:00:00 +0000 UTC';
  const [, date, time, fraction = '', zone = 'Z'] = m;
  const frac = fraction.slice(0, 9).replace(/0+$/, '');
  const offset = zone === 'Z' ? '+0000 UTC' : `${zone.replace(':', '')} ${zone.replace(':', '')}`;
  return `${date} ${time}${frac === '' ? '' : `.${frac}`} ${offset}`;
}

/**
 * The fields of one row, keys sorted as docker's `{{json .}}` writes them. `Label` is the
 * formatter's method (`{{.Label "key"}}`); a function, so `{{json .}}` leaves it out.
 */
export function networkFields(n: NetworkSummary, trunc: boolean): Record<string, unknown> {
  const labels = n.Labels ?? {};
  const id = n.Id ?? '';
  return {
    CreatedAt: goTimeString(n.Created),
    Driver: n.Driver ?? '',
    ID: trunc ? truncateId(id) : id,
    IPv4: String(Boolean(n.EnableIPv4)),
    IPv6: String(Boolean(n.EnableIPv6)),
    Internal: String(Boolean(n.Internal)),
    // Docker joins them in Go's random map order; sorted is one of its orders, and stable.
    Labels: Object.keys(labels)
      .sort()
      .map((k) => `${k}=${labels[k]}`)
      .join(','),
    Name: n.Name ?? '',
    Scope: n.Scope ?? '',
    Label: (name: unknown) => labels[String(name)] ?? '',
  };
}

/** All rows, in natural order of the network names (as `docker network ls` sorts them). */
export function networkRows(networks: readonly NetworkSummary[], trunc: boolean): Array<Record<string, unknown>> {
  return [...networks].sort((a, b) => naturalCompare(a.Name ?? '', b.Name ?? '')).map((n) => networkFields(n, trunc));
}

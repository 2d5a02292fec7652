/**
 * The docker CLI's formatters for `ps` and `images` (cli/command/formatter: container.go,
 * image.go, displayutils.go): per-row fields, default table layouts, `--format` templates with
 * the `table` prefix, and the rules for truncating IDs, quoting commands and listing ports.
 */
import { createdAgo } from './container-status.js';
import { familiarName, familiarString, parseNormalizedNamed } from './reference.js';
import { tabwrite } from './tabwriter.js';
import { parseTemplate } from './template.js';
import { humanDuration, humanSizeWithPrecision } from '../core/units.js';

export interface Port {
  IP?: string;
  PrivatePort: number;
  PublicPort?: number;
  Type: string;
}

export interface ContainerSummary {
  Id: string;
  Names?: string[] | null;
  Image?: string;
  ImageID?: string;
  Command?: string;
  Created?: number;
  Ports?: Port[] | null;
  SizeRw?: number;
  SizeRootFs?: number;
  Labels?: Record<string, string> | null;
  State?: string;
  Status?: string;
  Mounts?: Array<{ Name?: string; Source?: string; Driver?: string }> | null;
  NetworkSettings?: { Networks?: Record<string, unknown> | null } | null;
}

export interface ImageSummary {
  Id: string;
  ParentId?: string;
  RepoTags?: string[] | null;
  RepoDigests?: string[] | null;
  Created?: number;
  Size?: number;
  SharedSize?: number;
  VirtualSize?: number;
  Labels?: Record<string, string> | null;
  Containers?: number;
}

/** stringid.TruncateID: drops an "algo:" prefix and keeps 12 characters. */
export function truncateId(id: string): string {
  const i = id.indexOf(':');
  const hex = i >= 0 ? id.slice(i + 1) : id;
  return hex.length > 12 ? hex.slice(0, 12) : hex;
}

/** formatter.Ellipsis for plain (single-width) text. */
export function ellipsis(s: string, max: number): string {
  const runes = [...s];
  if (max <= 0) return '';
  if (max === 1) return runes[0] ?? '';
  if (runes.length <= max) return s;
  return `${runes.slice(0, max - 1).join('')}…`;
}

/** strconv.Quote (close enough: JSON escaping with Go's \x/\u forms for control characters). */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\x07') out += '\\a';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (ch === '\v') out += '\\v';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

function joinHostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** formatter.DisplayablePorts: groups consecutive ports, lists host mappings last. */
export function displayablePorts(ports: readonly Port[]): string {
  const sorted = [...ports].sort((a, b) => {
    if (a.PrivatePort !== b.PrivatePort) return a.PrivatePort - b.PrivatePort;
    if ((a.IP ?? '') !== (b.IP ?? '')) return (a.IP ?? '') < (b.IP ?? '') ? -1 : 1;
    if ((a.PublicPort ?? 0) !== (b.PublicPort ?? 0)) return (a.PublicPort ?? 0) - (b.PublicPort ?? 0);
    return a.Type < b.Type ? -1 : a.Type > b.Type ? 1 : 0;
  });
  const groups = new Map<string, { first: number; last: number }>();
  const order: string[] = [];
  const result: string[] = [];
  const hostMappings: string[] = [];
  const formGroup = (key: string, start: number, last: number): string => {
    const slash = key.lastIndexOf('/');
    const ip = slash >= 0 ? key.slice(0, slash) : '';
    const type = slash >= 0 ? key.slice(slash + 1) : key;
    let group = String(start);
    if (start !== last) group = `${group}-${last}`;
    if (ip !== '') group = `${ip}:${group}->${group}`;
    return `${group}/${type}`;
  };
  for (const p of sorted) {
    const current = p.PrivatePort;
    let key = p.Type;
    if (p.IP) {
      if ((p.PublicPort ?? 0) !== current) {
        hostMappings.push(`${joinHostPort(p.IP, p.PublicPort ?? 0)}->${p.PrivatePort}/${p.Type}`);
        continue;
      }
      key = `${p.IP}/${p.Type}`;
    }
    const g = groups.get(key);
    if (!g) {
      groups.set(key, { first: current, last: current });
      order.push(key);
      continue;
    }
    if (current === g.last + 1) {
      g.last = current;
      continue;
    }
    result.push(formGroup(key, g.first, g.last));
    groups.set(key, { first: current, last: current });
  }
  for (const key of order) {
    const g = groups.get(key);
    if (g) result.push(formGroup(key, g.first, g.last));
  }
  return [...result, ...hostMappings].join(', ');
}

function labelsString(labels: Record<string, string> | null | undefined): string {
  return Object.entries(labels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** The fields of docker's ps row (formatter.ContainerContext), as {{json .}} names them. */
export const PS_FIELDS = ['Command', 'CreatedAt', 'ID', 'Image', 'Labels', 'LocalVolumes', 'Mounts', 'Names', 'Networks', 'Platform', 'Ports', 'RunningFor', 'Size', 'State', 'Status'] as const;

/** The fields `docker ps --format` offers, computed for one container. */
export function containerFields(c: ContainerSummary, trunc: boolean, now: number = Date.now()): Record<string, unknown> {
  let image = c.Image ?? '';
  if (image === '') image = '<no image>';
  else if (trunc) {
    if (c.ImageID && truncateId(c.ImageID) === truncateId(image)) image = truncateId(image);
    else {
      try {
        const ref = parseNormalizedNamed(image);
        image =
          ref.tag !== undefined
            ? familiarString({ domain: ref.domain, path: ref.path, tag: ref.tag })
            : familiarName(ref);
      } catch {
        // keep the daemon's text
      }
    }
  }
  let names = (c.Names ?? []).map((n) => (n.startsWith('/') ? n.slice(1) : n));
  if (trunc) {
    const plain = names.find((n) => !n.includes('/'));
    if (plain !== undefined) names = [plain];
  }
  const command = trunc ? ellipsis(c.Command ?? '', 20) : (c.Command ?? '');
  const created = c.Created ?? 0;
  const srw = humanSizeWithPrecision(c.SizeRw ?? 0, 3);
  const size = (c.SizeRootFs ?? 0) > 0 ? `${srw} (virtual ${humanSizeWithPrecision(c.SizeRootFs ?? 0, 3)})` : srw;
  // In PS_FIELDS order (sorted), as docker's {{json .}} marshals its row.
  const fields: Record<(typeof PS_FIELDS)[number], unknown> = {
    Command: goQuote(command),
    CreatedAt: formatGoTime(new Date(created * 1000)),
    ID: trunc ? truncateId(c.Id) : c.Id,
    Image: image,
    Labels: labelsString(c.Labels),
    LocalVolumes: String((c.Mounts ?? []).filter((m) => m.Driver === 'local').length),
    Mounts: (c.Mounts ?? []).map((m) => (trunc ? ellipsis(m.Name || m.Source || '', 15) : m.Name || m.Source || '')).join(','),
    Names: names.join(','),
    Networks: Object.keys(c.NetworkSettings?.Networks ?? {}).sort().join(','),
    Platform: null,
    Ports: displayablePorts(c.Ports ?? []),
    RunningFor: createdAgo(created, now),
    Size: size,
    State: c.State ?? '',
    Status: c.Status ?? '',
  };
  // docker's containerContext.Label(name) method: non-enumerable, so `{{json .}}` and the
  // table header row do not see it.
  Object.defineProperty(fields, 'Label', { value: (name: unknown) => c.Labels?.[String(name)] ?? '', enumerable: false });
  return fields;
}

const CONTAINER_HEADERS: Record<string, string> = {
  ID: 'CONTAINER ID',
  Image: 'IMAGE',
  Command: 'COMMAND',
  CreatedAt: 'CREATED AT',
  RunningFor: 'CREATED',
  Ports: 'PORTS',
  State: 'STATE',
  Status: 'STATUS',
  Size: 'SIZE',
  Names: 'NAMES',
  Labels: 'LABELS',
  Mounts: 'MOUNTS',
  LocalVolumes: 'LOCAL VOLUMES',
  Networks: 'NETWORKS',
  Platform: 'PLATFORM',
};

const IMAGE_HEADERS: Record<string, string> = {
  ID: 'IMAGE ID',
  Repository: 'REPOSITORY',
  Tag: 'TAG',
  Digest: 'DIGEST',
  CreatedSince: 'CREATED',
  CreatedAt: 'CREATED AT',
  Size: 'SIZE',
  SharedSize: 'SHARED SIZE',
  UniqueSize: 'UNIQUE SIZE',
  Containers: 'CONTAINERS',
};

export const HEADERS = { container: CONTAINER_HEADERS, image: IMAGE_HEADERS } as const;

/** Go's time.Time.String()-like "2006-01-02 15:04:05 -0700 MST" used for CreatedAt. */
export function formatGoTime(d: Date): string {
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const abs = Math.abs(off);
  const zone = off === 0 ? 'UTC' : `${sign}${pad(Math.floor(abs / 60))}`;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${sign}${pad(Math.floor(abs / 60))}${pad(abs % 60)} ${zone}`;
}

/**
 * Renders rows with a docker format string: "table …" gets a header row and tabwriter
 * alignment; anything else is one template execution per row.
 */
export function renderRows(
  format: string,
  rows: ReadonlyArray<Record<string, unknown>>,
  headers: Record<string, string>,
  rowType?: string,
): string {
  return compileRowFormat(format).render(rows, headers, rowType);
}

export interface RowFormat {
  /**
   * `rowType` is the Go type the docker CLI formats such a row as (`*formatter.imageContext`):
   * a field the row lacks is then an execution error (a TemplateExecError), as on a Go struct.
   */
  render(rows: ReadonlyArray<Record<string, unknown>>, headers: Record<string, string>, rowType?: string): string;
}

/** formatter.Context.preFormat: "table" off the front, spaces (only spaces) trimmed at both ends, then \t and \n unescaped. */
export function preFormat(format: string): { isTable: boolean; text: string } {
  const isTable = format.startsWith('table');
  const text = (isTable ? format.slice(5) : format).replace(/^ +| +$/g, '').replace(/\\t/g, '\t').replace(/\\n/g, '\n');
  return { isTable, text };
}

/** Parses a docker format string once (a TemplateError if it does not parse). */
export function compileRowFormat(format: string): RowFormat {
  const { isTable, text } = preFormat(format);
  const tpl = parseTemplate(text);
  return {
    render(rows, headers, rowType) {
      // The rows first, as the docker CLI: a row that fails leaves nothing printed.
      let body = '';
      for (const r of rows) body += `${tpl.execute(r, rowType)}\n`;
      const text = isTable ? `${tpl.execute(headers)}\n${body}` : body;
      return isTable ? tabwrite(text) : text;
    },
  };
}

export const PS_TABLE = 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}';
export const PS_TABLE_SIZE = `${PS_TABLE}\t{{.Size}}`;
export const IMAGES_TABLE = 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}';
export const IMAGES_TABLE_DIGESTS = 'table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}';

function isDangling(img: ImageSummary): boolean {
  const tags = img.RepoTags ?? [];
  const digests = img.RepoDigests ?? [];
  if (tags.length === 0 && digests.length === 0) return true;
  return tags.length === 1 && tags[0] === '<none>:<none>' && digests.length === 1 && digests[0] === '<none>@<none>';
}

/** image.go imageFormatTaggedAndDigest: one row per repository:tag (and per digest with --digests). */
export function imageRows(
  img: ImageSummary,
  opts: { trunc: boolean; digests: boolean },
  now: number = Date.now(),
): Array<Record<string, unknown>> {
  const base = {
    ID: opts.trunc ? truncateId(img.Id) : img.Id,
    CreatedSince: img.Created ? `${humanDuration(now - img.Created * 1000)} ago` : 'N/A',
    CreatedAt: formatGoTime(new Date((img.Created ?? 0) * 1000)),
    Size: humanSizeWithPrecision(img.Size ?? 0, 3),
    // imageContext: Size with 3 significant digits, SharedSize and UniqueSize with units.HumanSize's 4.
    SharedSize: (img.SharedSize ?? -1) === -1 ? 'N/A' : humanSizeWithPrecision(img.SharedSize ?? 0, 4),
    UniqueSize:
      (img.SharedSize ?? -1) === -1 ? 'N/A' : humanSizeWithPrecision((img.Size ?? 0) - (img.SharedSize ?? 0), 4),
    Containers: (img.Containers ?? -1) === -1 ? 'N/A' : String(img.Containers),
    // imageContext.VirtualSize: the size again, as units.HumanSize (4 significant digits) prints it.
    VirtualSize: humanSizeWithPrecision(img.Size ?? 0, 4),
  };
  if (isDangling(img)) return [sortedKeys({ ...base, Repository: '<none>', Tag: '<none>', Digest: '<none>' })];
  const repoTags = new Map<string, string[]>();
  const repoDigests = new Map<string, string[]>();
  for (const s of img.RepoTags ?? []) {
    try {
      const ref = parseNormalizedNamed(s);
      if (ref.tag === undefined) continue;
      const name = familiarName(ref);
      repoTags.set(name, [...(repoTags.get(name) ?? []), ref.tag]);
    } catch {
      // skip unparsable names, as docker does
    }
  }
  for (const s of img.RepoDigests ?? []) {
    try {
      const ref = parseNormalizedNamed(s);
      if (ref.digest === undefined) continue;
      const name = familiarName(ref);
      repoDigests.set(name, [...(repoDigests.get(name) ?? []), ref.digest]);
    } catch {
      // skip
    }
  }
  const rows: Array<Record<string, unknown>> = [];
  for (const [repo, tags] of repoTags) {
    const digests = opts.digests ? (repoDigests.get(repo) ?? []) : [];
    repoDigests.delete(repo);
    for (const tag of tags) {
      if (digests.length === 0) rows.push({ ...base, Repository: repo, Tag: tag, Digest: '<none>' });
      else for (const d of digests) rows.push({ ...base, Repository: repo, Tag: tag, Digest: d });
    }
  }
  for (const [repo, digests] of repoDigests) {
    if (opts.digests) for (const d of digests) rows.push({ ...base, Repository: repo, Tag: '<none>', Digest: d });
    else rows.push({ ...base, Repository: repo, Tag: '<none>', Digest: '' });
  }
  return rows.map(sortedKeys);
}

/** The row's keys in sorted order, as Go marshals the map docker's `{{json .}}` makes of a context. */
function sortedKeys(row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.keys(row).sort().map((k) => [k, row[k]]));
}

/** `docker inspect` without --format: the raw objects as an indented JSON array. */
export function indentedJson(items: readonly unknown[]): string {
  if (items.length === 0) return '[]\n';
  return `${JSON.stringify(items, null, 4)}\n`;
}


/**
 * Volume commands, with the docker CLI's flags and output. Requests (paths prefixed /v<version>):
 *
 *   volume create  POST /volumes/create {"Driver","DriverOpts","Labels","Name"}
 *   volume ls      GET /volumes[?filters=]
 *   volume inspect GET /volumes/{name}
 *   volume rm      DELETE /volumes/{name}[?force=1]
 *   volume prune   POST /volumes/prune[?filters=] (`-a` is the filter all=true)
 */
import { kvStringsToMap } from '../../core/go-parse.js';
import { humanSize } from '../../core/units.js';
import { pathSegment } from '../client.js';
import { ApiError, CliError } from '../errors.js';
import { renderRows } from '../format.js';
import { api, confirm, out, println } from '../io.js';
import { TemplateError } from '../template.js';
import { buildFilters } from './filters.js';
import { inspectObjects } from './images.js';

export interface Volume {
  Name: string;
  Driver: string;
  Mountpoint: string;
  Scope?: string;
  CreatedAt?: string;
  Labels?: Record<string, string> | null;
  Options?: Record<string, string> | null;
  /** Only in GET /system/df. */
  UsageData?: { Size: number; RefCount: number } | null;
}

export const VOLUME_HEADERS = {
  Availability: 'AVAILABILITY',
  Driver: 'DRIVER',
  Group: 'GROUP',
  Labels: 'LABELS',
  Links: 'LINKS',
  Mountpoint: 'MOUNTPOINT',
  Name: 'VOLUME NAME',
  Scope: 'SCOPE',
  Size: 'SIZE',
  Status: 'STATUS',
};

export async function volumeCreateCmd(name: string | undefined, opts: { driver?: string; opt?: string[]; label?: string[]; name?: string }): Promise<number> {
  if (name !== undefined && opts.name !== undefined && name !== opts.name) {
    throw new CliError(`conflicting options: cannot specify a volume-name through both --name and as a positional arg`, 1);
  }
  for (const o of opts.opt ?? []) {
    if (!o.includes('=')) throw new CliError(`invalid argument "${o}" for "-o, --opt" flag: invalid key/value pair format in driver options`, 125);
  }
  const volume = await api().json<Volume>({
    method: 'POST',
    path: '/volumes/create',
    body: { Driver: opts.driver ?? 'local', DriverOpts: kvStringsToMap(opts.opt ?? []), Labels: kvStringsToMap(opts.label ?? []), Name: name ?? opts.name ?? '' },
  });
  println(volume.Name);
  return 0;
}

export async function volumeLsCmd(opts: { quiet?: boolean; filter?: string[]; format?: string }): Promise<number> {
  const filters = buildFilters(opts.filter ?? []);
  const list = await api().json<{ Volumes: Volume[] | null }>({
    method: 'GET',
    path: '/volumes',
    query: { filters: Object.keys(filters).length > 0 ? JSON.stringify(filters) : undefined },
  });
  const volumes = [...(list.Volumes ?? [])].sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
  const rows = volumes.map(volumeRow);
  let format = opts.format;
  if (opts.quiet) format = '{{.Name}}';
  else if (format === undefined || format === '' || format === 'table') format = 'table {{.Driver}}\t{{.Name}}';
  if (format === 'json') format = '{{json .}}';
  try {
    out(renderRows(format, rows, VOLUME_HEADERS, '*formatter.volumeContext'));
  } catch (e) {
    if (e instanceof TemplateError) throw new CliError(`template parsing error: ${e.goMessage()}`, 1);
    throw e;
  }
  return 0;
}

export async function volumeInspectCmd(names: string[], opts: { format?: string }): Promise<number> {
  return inspectObjects(
    names,
    (n) => api().json({ method: 'GET', path: `/volumes/${pathSegment(n)}` }),
    opts.format,
    (_n, e) => e.display,
  );
}

export async function volumeRmCmd(names: string[], opts: { force?: boolean }): Promise<number> {
  const errors: string[] = [];
  for (const name of names) {
    try {
      await api().send({ method: 'DELETE', path: `/volumes/${pathSegment(name)}`, query: { force: opts.force ? '1' : undefined } });
      println(name);
    } catch (e) {
      if (e instanceof ApiError) errors.push(e.display);
      else throw e;
    }
  }
  if (errors.length > 0) throw new CliError(errors.join('\n'), 1);
  return 0;
}


export async function volumePruneCmd(opts: { all?: boolean; force?: boolean; filter?: string[] }): Promise<number> {
  const filters = buildFilters(opts.filter ?? []);
  if (opts.all) {
    if (filters['all']) throw new CliError('conflicting options: cannot specify both --all and --filter all=1', 1);
    filters['all'] = { true: true };
  }
  if (!opts.force) {
    const what = opts.all ? 'all local volumes' : 'anonymous local volumes';
    if (!(await confirm(`WARNING! This will remove ${what} not used by at least one container.\nAre you sure you want to continue? [y/N] `))) {
      throw new CliError('', 1);
    }
  }
  const report = await api().json<{ VolumesDeleted: string[] | null; SpaceReclaimed: number }>({
    method: 'POST',
    path: '/volumes/prune',
    query: { filters: Object.keys(filters).length > 0 ? JSON.stringify(filters) : undefined },
  });
  const deleted = report.VolumesDeleted ?? [];
  if (deleted.length > 0) println(`Deleted Volumes:\n${deleted.join('\n')}\n`);
  println(`Total reclaimed space: ${humanSize(report.SpaceReclaimed ?? 0)}`);
  return 0;
}

/**
 * The docker CLI's volumeContext for a volume; `{{json .}}` prints its fields in this
 * (alphabetical) order. Links and Size come from usage data, which only `system df` has.
 */
export function volumeRow(v: Volume): Record<string, unknown> {
  const usage = v.UsageData;
  return {
    Availability: 'N/A',
    Driver: v.Driver,
    Group: 'N/A',
    Labels: Object.entries(v.Labels ?? {})
      .map(([k, val]) => `${k}=${val}`)
      .join(','),
    Links: usage ? String(usage.RefCount) : 'N/A',
    Mountpoint: v.Mountpoint,
    Name: v.Name,
    Scope: v.Scope ?? 'local',
    Size: usage ? humanSize(usage.Size) : 'N/A',
    Status: 'N/A',
  };
}

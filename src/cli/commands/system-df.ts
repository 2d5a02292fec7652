/**
 * system df, system prune.
 *
 *   df     GET /system/df → docker's summary table (or -v: one table per kind)
 *   prune  POST /containers/prune, /networks/prune, [/volumes/prune], /images/prune, /build/prune
 */
import { humanSize } from '../../core/units.js';
import { CliError } from '../errors.js';
import { api, confirm, out, println } from '../io.js';
import { compileRowFormat, type RowFormat } from '../format.js';
import { tabwrite } from '../tabwriter.js';
import { TemplateError, TemplateExecError } from '../template.js';
import { buildFilters } from './filters.js';
import { pruneContainers, pruneImages } from './prune.js';

interface DfImage {
  Id: string;
  RepoTags: string[] | null;
  Created: number;
  Size: number;
  SharedSize: number;
  Containers: number;
}
interface DfContainer {
  Id: string;
  Image: string;
  Command: string;
  Created: number;
  State: string;
  Status: string;
  Names: string[];
  SizeRw?: number;
}
interface DfVolume {
  Name: string;
  UsageData?: { Size: number; RefCount: number } | null;
}
interface DiskUsage {
  LayersSize?: number;
  Images?: DfImage[] | null;
  Containers?: DfContainer[] | null;
  Volumes?: DfVolume[] | null;
  BuildCache?: unknown[] | null;
}

function reclaimable(amount: number, total: number): string {
  return total > 0 ? `${humanSize(amount)} (${Math.floor((amount * 100) / total)}%)` : humanSize(amount);
}

function ago(seconds: number): string {
  const s = Math.max(0, Math.floor(Date.now() / 1000 - seconds));
  if (s < 60) return `${s} seconds ago`;
  if (s < 3600) return `${Math.floor(s / 60)} minutes ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} hours ago`;
  return `${Math.floor(s / 86400)} days ago`;
}

/** docker's diskUsageContext rows, keys in the sorted order its {{json .}} prints them. */
const DF_TABLE = 'table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}';
const DF_HEADERS: Record<string, string> = { Type: 'TYPE', TotalCount: 'TOTAL', Active: 'ACTIVE', Size: 'SIZE', Reclaimable: 'RECLAIMABLE' };

function dfRow(type: string, total: number, active: number, size: number, reclaimableText: string): Record<string, unknown> {
  return { Active: String(active), Reclaimable: reclaimableText, Size: humanSize(size), TotalCount: String(total), Type: type };
}

export async function systemDfCmd(opts: { verbose?: boolean; format?: string }): Promise<number> {
  if (opts.verbose && opts.format) throw new CliError('berth: --format with --verbose is not supported yet', 1);
  let rowFormat: RowFormat | undefined;
  if (opts.format) {
    try {
      rowFormat = compileRowFormat(opts.format === 'json' ? '{{json .}}' : opts.format === 'table' ? DF_TABLE : opts.format);
    } catch (e) {
      if (e instanceof TemplateError) throw new CliError(`template parsing error: ${e.goMessage()}`, 1);
      throw e;
    }
  }
  const du = await api().json<DiskUsage>({ method: 'GET', path: '/system/df' });
  const images = du.Images ?? [];
  const containers = du.Containers ?? [];
  const volumes = du.Volumes ?? [];
  if (!opts.verbose) {
    const layers = du.LayersSize ?? 0;
    const usedImages = images.filter((i) => i.Containers > 0).reduce((sum, i) => sum + i.Size - i.SharedSize, 0);
    const ctrSize = containers.reduce((sum, c) => sum + (c.SizeRw ?? 0), 0);
    const ctrFree = containers.filter((c) => c.State !== 'running' && c.State !== 'paused').reduce((sum, c) => sum + (c.SizeRw ?? 0), 0);
    const volSize = volumes.reduce((sum, v) => sum + Math.max(0, v.UsageData?.Size ?? 0), 0);
    const volFree = volumes.filter((v) => (v.UsageData?.RefCount ?? 0) === 0).reduce((sum, v) => sum + Math.max(0, v.UsageData?.Size ?? 0), 0);
    const rows = [
      dfRow('Images', images.length, images.filter((i) => i.Containers > 0).length, layers, reclaimable(layers - usedImages, layers)),
      dfRow('Containers', containers.length, containers.filter((c) => c.State === 'running' || c.State === 'paused').length, ctrSize, reclaimable(ctrFree, ctrSize)),
      dfRow('Local Volumes', volumes.length, volumes.filter((v) => (v.UsageData?.RefCount ?? 0) > 0).length, volSize, reclaimable(volFree, volSize)),
      dfRow('Build Cache', 0, 0, 0, '0B'),
    ];
    try {
      // Every row has the same fields, so a missing one fails on the first: the images row.
      out((rowFormat ?? compileRowFormat(DF_TABLE)).render(rows, DF_HEADERS, '*formatter.diskUsageImagesContext'));
    } catch (e) {
      if (e instanceof TemplateError) throw new CliError(`${e instanceof TemplateExecError ? 'template parsing error: ' : ''}${e.goMessage()}`, 1);
      throw e;
    }
    return 0;
  }
  let text = 'Images space usage:\n\n';
  let table = 'REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE\tSHARED SIZE\tUNIQUE SIZE\tCONTAINERS\n';
  for (const i of images) {
    const tags = i.RepoTags?.length ? i.RepoTags : ['<none>:<none>'];
    for (const t of tags) {
      const colon = t.lastIndexOf(':');
      table += `${t.slice(0, colon)}\t${t.slice(colon + 1)}\t${i.Id.replace(/^sha256:/, '').slice(0, 12)}\t${ago(i.Created)}\t${humanSize(i.Size)}\t${humanSize(i.SharedSize)}\t${humanSize(i.Size - i.SharedSize)}\t${i.Containers}\n`;
    }
  }
  text += tabwrite(table) + '\nContainers space usage:\n\n';
  table = 'CONTAINER ID\tIMAGE\tCOMMAND\tLOCAL VOLUMES\tSIZE\tCREATED\tSTATUS\tNAMES\n';
  for (const c of containers) {
    const command = c.Command.length > 20 ? `"${c.Command.slice(0, 19)}…"` : `"${c.Command}"`;
    table += `${c.Id.slice(0, 12)}\t${c.Image}\t${command}\t0\t${humanSize(c.SizeRw ?? 0)}\t${ago(c.Created)}\t${c.Status}\t${(c.Names[0] ?? '').replace(/^\//, '')}\n`;
  }
  text += tabwrite(table) + '\nLocal Volumes space usage:\n\n';
  table = 'VOLUME NAME\tLINKS\tSIZE\n';
  for (const v of volumes) table += `${v.Name}\t${v.UsageData?.RefCount ?? 0}\t${humanSize(Math.max(0, v.UsageData?.Size ?? 0))}\n`;
  text += tabwrite(table) + '\nBuild cache usage: 0B\n\n';
  text += tabwrite('CACHE ID\tCACHE TYPE\tSIZE\tCREATED\tLAST USED\tUSAGE\tSHARED\n');
  out(text);
  return 0;
}


export async function systemPruneCmd(opts: { all?: boolean; volumes?: boolean; force?: boolean; filter?: string[] }): Promise<number> {
  const filters = buildFilters(opts.filter ?? []);
  if (opts.volumes && filters['until']) throw new CliError('ERROR: The "until" filter is not supported with "--volumes"', 1);
  if (!opts.force) {
    const lines = [
      'WARNING! This will remove:',
      '  - all stopped containers',
      '  - all networks not used by at least one container',
      ...(opts.volumes ? ['  - all anonymous volumes not used by at least one container'] : []),
      opts.all ? '  - all images without at least one container associated to them' : '  - all dangling images',
      '  - unused build cache',
      '',
      'Are you sure you want to continue? [y/N] ',
    ];
    if (!(await confirm(lines.join('\n')))) throw new CliError('', 1);
  }
  const query = Object.keys(filters).length ? { filters: JSON.stringify(filters) } : {};
  let reclaimed = await pruneContainers(filters);
  const networks = await api().json<{ NetworksDeleted: string[] | null }>({ method: 'POST', path: '/networks/prune', query });
  if (networks.NetworksDeleted?.length) println(`Deleted Networks:\n${networks.NetworksDeleted.join('\n')}\n`);
  if (opts.volumes) {
    const volumes = await api().json<{ VolumesDeleted: string[] | null; SpaceReclaimed: number }>({ method: 'POST', path: '/volumes/prune', query });
    reclaimed += volumes.SpaceReclaimed ?? 0;
    if (volumes.VolumesDeleted?.length) println(`Deleted Volumes:\n${volumes.VolumesDeleted.join('\n')}\n`);
  }
  reclaimed += await pruneImages(filters, opts.all ?? false);
  const cache = await api().json<{ SpaceReclaimed: number }>({ method: 'POST', path: '/build/prune', query: { ...query, all: opts.all ? '1' : undefined } });
  reclaimed += cache.SpaceReclaimed ?? 0;
  println(`Total reclaimed space: ${humanSize(reclaimed)}`);
  return 0;
}

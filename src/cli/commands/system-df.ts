/**
 * system df, system prune.
 *
 *   df     GET /system/df → docker's summary table (or -v: one table per kind)
 *   prune  POST /containers/prune, /networks/prune, [/volumes/prune], /images/prune, /build/prune
 */
import { humanSize } from '../../core/units.js';
import { CliError } from '../errors.js';
import { api, confirm, out, println } from '../io.js';
import { tabwrite } from '../tabwriter.js';
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

export async function systemDfCmd(opts: { verbose?: boolean }): Promise<number> {
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
    let text = 'TYPE\tTOTAL\tACTIVE\tSIZE\tRECLAIMABLE\n';
    text += `Images\t${images.length}\t${images.filter((i) => i.Containers > 0).length}\t${humanSize(layers)}\t${reclaimable(layers - usedImages, layers)}\n`;
    text += `Containers\t${containers.length}\t${containers.filter((c) => c.State === 'running' || c.State === 'paused').length}\t${humanSize(ctrSize)}\t${reclaimable(ctrFree, ctrSize)}\n`;
    text += `Local Volumes\t${volumes.length}\t${volumes.filter((v) => (v.UsageData?.RefCount ?? 0) > 0).length}\t${humanSize(volSize)}\t${reclaimable(volFree, volSize)}\n`;
    text += `Build Cache\t0\t0\t0B\t0B\n`;
    out(tabwrite(text));
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

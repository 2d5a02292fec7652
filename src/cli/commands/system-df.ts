/**
 * system df, system prune.
 *
 *   df     GET /system/df → docker's summary table (or -v: one table per kind)
 *   prune  POST /containers/prune, /networks/prune, [/volumes/prune], /images/prune, /build/prune
 */
import { humanSize } from '../../core/units.js';
import { CliError } from '../errors.js';
import { api, confirm, out, println } from '../io.js';
import { compileRowFormat, containerFields, HEADERS, imageRows, preFormat, type ContainerSummary, type ImageSummary, type RowFormat } from '../format.js';
import { tabwrite } from '../tabwriter.js';
import { parseTemplate, TemplateError, TemplateExecError, type Template } from '../template.js';
import { buildFilters } from './filters.js';
import { pruneContainers, pruneImages } from './prune.js';
import { VOLUME_HEADERS, volumeRow, type Volume } from './volumes.js';

type DfImage = ImageSummary & { RepoTags: string[] | null; Created: number; Size: number; SharedSize: number; Containers: number };
type DfContainer = ContainerSummary & { Image: string; Command: string; Created: number; State: string; Status: string; Names: string[] };
interface DiskUsage {
  LayersSize?: number;
  Images?: DfImage[] | null;
  Containers?: DfContainer[] | null;
  Volumes?: Volume[] | null;
  BuildCache?: unknown[] | null;
}

function reclaimable(amount: number, total: number): string {
  return total > 0 ? `${humanSize(amount)} (${Math.floor((amount * 100) / total)}%)` : humanSize(amount);
}

const DF_TABLE = 'table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}';
const DF_HEADERS: Record<string, string> = { Type: 'TYPE', TotalCount: 'TOTAL', Active: 'ACTIVE', Size: 'SIZE', Reclaimable: 'RECLAIMABLE' };

/** docker's diskUsageContext summary rows, keys in the sorted order its {{json .}} prints them. */
function dfRow(type: string, total: number, active: number, size: number, reclaimableText: string): Record<string, unknown> {
  return { Active: String(active), Reclaimable: reclaimableText, Size: humanSize(size), TotalCount: String(total), Type: type };
}

export async function systemDfCmd(opts: { verbose?: boolean; format?: string }): Promise<number> {
  let rowFormat: RowFormat | undefined;
  if (opts.format && !opts.verbose) {
    try {
      rowFormat = compileRowFormat(opts.format === 'json' ? '{{json .}}' : opts.format === 'table' ? DF_TABLE : opts.format);
    } catch (e) {
      if (e instanceof TemplateError) throw new CliError(`template parsing error: ${e.goMessage()}`, 1);
      throw e;
    }
  }
  const du = await api().json<DiskUsage>({ method: 'GET', path: '/system/df' });
  if (opts.verbose && opts.format && opts.format !== 'table') return verboseTemplate(du, opts.format);
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
  out(verboseTables(du));
  return 0;
}

// diskUsageContext's tables for -v, as docker's formatter/disk_usage.go defines them.
const DF_IMAGES_TABLE = 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}';
const DF_CONTAINERS_TABLE = 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}';
const DF_VOLUMES_TABLE = 'table {{.Name}}\t{{.Links}}\t{{.Size}}';
const DF_BUILD_CACHE_HEADER = 'CACHE ID\tCACHE TYPE\tSIZE\tCREATED\tLAST USED\tUSAGE\tSHARED\n';

/**
 * docker's diskUsageContext rows: one per image (its first tag, no digest), every container
 * without its virtual size ("Don't display the virtual size"), every volume with its usage.
 */
function diskUsageRows(du: DiskUsage, trunc: boolean): { Images: Array<Record<string, unknown>>; Containers: Array<Record<string, unknown>>; Volumes: Array<Record<string, unknown>> } {
  const now = Date.now();
  return {
    Images: (du.Images ?? []).map((image) => {
      const [row] = imageRows({ ...image, RepoTags: (image.RepoTags ?? []).slice(0, 1), RepoDigests: [] }, { trunc, digests: false }, now);
      return { ...row, Digest: '' };
    }),
    Containers: (du.Containers ?? []).map((c) => containerFields({ ...c, SizeRootFs: 0 }, trunc, now)),
    Volumes: (du.Volumes ?? []).map(volumeRow),
  };
}

function verboseTables(du: DiskUsage): string {
  const rows = diskUsageRows(du, true);
  return [
    'Images space usage:\n\n',
    compileRowFormat(DF_IMAGES_TABLE).render(rows.Images, HEADERS.image),
    '\nContainers space usage:\n\n',
    compileRowFormat(DF_CONTAINERS_TABLE).render(rows.Containers, HEADERS.container),
    '\nLocal Volumes space usage:\n\n',
    compileRowFormat(DF_VOLUMES_TABLE).render(rows.Volumes, VOLUME_HEADERS),
    '\nBuild cache usage: 0B\n\n',
    tabwrite(DF_BUILD_CACHE_HEADER),
  ].join('');
}

/**
 * `system df -v --format`: the template runs once over docker's diskUsageContext (Images,
 * Containers, Volumes and BuildCache, each a list of the rows its ls command formats), with
 * no newline after it; an error is printed as Go words it.
 */
function verboseTemplate(du: DiskUsage, format: string): number {
  let template: Template;
  try {
    template = parseTemplate(format === 'json' ? '{{json .}}' : preFormat(format).text);
  } catch (e) {
    if (e instanceof TemplateError) throw new CliError(`template parsing error: ${e.goMessage()}`, 1);
    throw e;
  }
  try {
    out(template.execute({ ...diskUsageRows(du, false), BuildCache: [] }, '*formatter.diskUsageContext'));
  } catch (e) {
    if (e instanceof TemplateError) throw new CliError(e.goMessage(), 1);
    throw e;
  }
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

/**
 * container prune, image prune, and the container and image steps of system prune.
 *   container prune  POST /containers/prune[?filters=]
 *   image prune      POST /images/prune?filters={"dangling":…}
 */
import { humanSize } from '../../core/units.js';
import { CliError } from '../errors.js';
import { api, confirm, println } from '../io.js';
import { buildFilters, type Filters } from './filters.js';

const filtersQuery = (filters: Filters): { filters?: string } => (Object.keys(filters).length ? { filters: JSON.stringify(filters) } : {});

/** Removes stopped containers, prints their IDs (docker's "Deleted Containers:" block); the bytes reclaimed. */
export async function pruneContainers(filters: Filters): Promise<number> {
  const report = await api().json<{ ContainersDeleted: string[] | null; SpaceReclaimed: number }>({ method: 'POST', path: '/containers/prune', query: filtersQuery(filters) });
  if (report.ContainersDeleted?.length) println(`Deleted Containers:\n${report.ContainersDeleted.join('\n')}\n`);
  return report.SpaceReclaimed ?? 0;
}

/** Removes dangling images (all unused ones with `all`), prints what went; the bytes reclaimed. */
export async function pruneImages(filters: Filters, all: boolean): Promise<number> {
  const report = await api().json<{ ImagesDeleted: Array<{ Untagged?: string; Deleted?: string }> | null; SpaceReclaimed: number }>({
    method: 'POST',
    path: '/images/prune',
    query: filtersQuery({ ...filters, dangling: { [all ? 'false' : 'true']: true } }),
  });
  if (report.ImagesDeleted?.length) {
    const lines = report.ImagesDeleted.map((d) => (d.Untagged ? `untagged: ${d.Untagged}` : `deleted: ${d.Deleted ?? ''}`));
    println(`Deleted Images:\n${lines.join('\n')}\n`);
  }
  return report.SpaceReclaimed ?? 0;
}

export async function containerPruneCmd(opts: { force?: boolean; filter?: string[] }): Promise<number> {
  const filters = buildFilters(opts.filter ?? []);
  if (!opts.force && !(await confirm('WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] '))) throw new CliError('', 1);
  println(`Total reclaimed space: ${humanSize(await pruneContainers(filters))}`);
  return 0;
}

export async function imagePruneCmd(opts: { all?: boolean; force?: boolean; filter?: string[] }): Promise<number> {
  const filters = buildFilters(opts.filter ?? []);
  const what = opts.all ? 'all images without at least one container associated to them' : 'all dangling images';
  if (!opts.force && !(await confirm(`WARNING! This will remove ${what}.\nAre you sure you want to continue? [y/N] `))) throw new CliError('', 1);
  println(`Total reclaimed space: ${humanSize(await pruneImages(filters, opts.all ?? false))}`);
  return 0;
}

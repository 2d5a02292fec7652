/**
 * `top CONTAINER [ps OPTIONS]` (also `container top`), as docker CLI 28 prints it
 * (cli/command/container/top.go): GET /containers/{id}/top[?ps_args=], the daemon's titles and
 * rows through tabwriter.NewWriter(out, 20, 1, 3, ' ', 0).
 */
import { api, out } from '../io.js';
import { tabwrite, type TabwriterOptions } from '../tabwriter.js';
import { c } from './run.js';

interface ProcessList {
  Titles?: string[] | null;
  Processes?: string[][] | null;
}

/** top's own tabwriter: wider columns than the other tables (minwidth 20, not 10). */
const TOP_TABLE_OPTIONS: TabwriterOptions = { minwidth: 20, padding: 3 };

export async function topCmd(container: string, psOptions: string[]): Promise<number> {
  const list = await api().json<ProcessList>({
    method: 'GET',
    path: `${c(container)}/top`,
    query: { ps_args: psOptions.length > 0 ? psOptions.join(' ') : undefined },
  });
  const rows = [list.Titles ?? [], ...(list.Processes ?? [])];
  out(tabwrite(rows.map((cells) => `${cells.join('\t')}\n`).join(''), TOP_TABLE_OPTIONS));
  return 0;
}

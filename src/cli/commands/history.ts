/**
 * `history [OPTIONS] IMAGE` (also `image history`), as docker CLI 28 prints it
 * (cli/command/image/history.go, formatter_history.go): GET /images/{name}/history[?platform=],
 * one row per history entry, newest first, through docker's table or the --format template.
 */
import { pathSegment } from '../client.js';
import { CliError } from '../errors.js';
import { ellipsis, renderRows, truncateId } from '../format.js';
import { api, out } from '../io.js';
import { TemplateError } from '../template.js';
import { formatRfc3339 } from '../timestamps.js';
import { humanDuration, humanSizeWithPrecision } from '../../core/units.js';

interface HistoryEntry {
  Id: string;
  Created: number;
  CreatedBy: string;
  Size: number;
  Comment: string;
}

export interface HistoryOptions {
  format?: string;
  /** `-H`/`--human`: "true" or "false" (see go-bools.ts). */
  human?: boolean | string;
  trunc?: boolean;
  platform?: string;
  quiet?: boolean;
}

const HISTORY_TABLE = 'table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}';
const HISTORY_TABLE_NOT_HUMAN = 'table {{.ID}}\t{{.CreatedAt}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}';
const HISTORY_HEADERS: Record<string, string> = {
  ID: 'IMAGE',
  CreatedSince: 'CREATED',
  CreatedAt: 'CREATED AT',
  CreatedBy: 'CREATED BY',
  Size: 'SIZE',
  Comment: 'COMMENT',
};
const USAGE = 'Usage:  berth history [OPTIONS] IMAGE';

function humanAndImage(human: boolean | string | undefined, image: string | undefined): { human: boolean; image: string } {
  if (image === undefined) throw argumentCountError();
  return { human: human !== false && human !== 'false', image };
}

function argumentCountError(): CliError {
  return new CliError(`berth: 'berth history' requires 1 argument\n\n${USAGE}\n\nRun 'berth history --help' for more information`, 1);
}

/** platforms.Parse for "os[/arch[/variant]]", encoded as the OCI platform JSON the API takes. */
function platformQuery(platform: string | undefined): string | undefined {
  if (platform === undefined || platform === '') return undefined;
  const [os, architecture, variant] = platform.split('/');
  return JSON.stringify({ architecture: architecture ?? '', os: os ?? '', ...(variant ? { variant } : {}) });
}

/** historyContext's fields, keys in the sorted order docker's {{json .}} prints them. */
function historyFields(entry: HistoryEntry, trunc: boolean, human: boolean, now: number): Record<string, unknown> {
  const createdBy = entry.CreatedBy.replace(/\t/g, ' ');
  const createdAt = formatRfc3339(new Date(entry.Created * 1000));
  return {
    Comment: entry.Comment,
    CreatedAt: createdAt,
    CreatedBy: trunc ? ellipsis(createdBy, 45) : createdBy,
    CreatedSince: human ? `${humanDuration(now - entry.Created * 1000)} ago` : createdAt,
    ID: trunc ? truncateId(entry.Id) : entry.Id,
    Size: human ? humanSizeWithPrecision(entry.Size, 3) : String(entry.Size),
  };
}

export async function historyCmd(imageArg: string | undefined, opts: HistoryOptions): Promise<number> {
  const { human, image } = humanAndImage(opts.human, imageArg);
  const entries = await api().json<HistoryEntry[]>({
    method: 'GET',
    path: `/images/${pathSegment(image)}/history`,
    query: { platform: platformQuery(opts.platform) },
  });
  let format = opts.format === undefined || opts.format === '' ? 'table' : opts.format;
  if (format === 'table') format = opts.quiet ? '{{.ID}}' : human ? HISTORY_TABLE : HISTORY_TABLE_NOT_HUMAN;
  else if (format === 'json') format = '{{json .}}';
  const now = Date.now();
  const rows = (entries ?? []).map((entry) => historyFields(entry, opts.trunc !== false, human, now));
  try {
    out(renderRows(format, rows, HISTORY_HEADERS, '*image.historyContext'));
  } catch (e) {
    if (e instanceof TemplateError) throw new CliError(`template parsing error: ${e.goMessage()}`, 1);
    throw e;
  }
  return 0;
}

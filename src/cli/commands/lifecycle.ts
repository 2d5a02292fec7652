/**
 * events, stats and export. Requests (paths prefixed /v<version>):
 *
 *   events  GET /events[?since=][&until=][&filters=]  (a stream of JSON objects)
 *   stats   GET /containers/json[?all=1] (no names given), then per container
 *           GET /containers/{id}/stats?stream=0 (--no-stream) or ?stream=1
 *   export  GET /containers/{id}/export
 */
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { IncomingMessage } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { ApiError, CliError, DaemonUnreachableError } from '../errors.js';
import { renderRows } from '../format.js';
import { api, out } from '../io.js';
import { STATS_HEADERS, STATS_TABLE, statsEntry, statsFields, type StatsEntry, type StatsJson } from '../stats-format.js';
import { parseTemplate, TemplateError, type Template } from '../template.js';
import { formatRfc3339, getTimestamp } from '../timestamps.js';
import { buildFilters } from './filters.js';
import { c } from './run.js';

/** Splits a stream of newline-separated JSON documents into lines. */
async function* jsonLines(res: IncomingMessage): AsyncGenerator<string> {
  let buffered = '';
  for await (const chunk of res) {
    buffered += (chunk as Buffer).toString('utf8');
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      if (line) yield line;
    }
  }
  if (buffered.trim()) yield buffered.trim();
}

function templateError(e: unknown): never {
  if (e instanceof TemplateError) throw new CliError(`template parsing error: ${e.goMessage()}`, 1);
  throw e;
}

// ---- events ------------------------------------------------------------------------------------

interface EventJson {
  Type?: string;
  Action?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
  time?: number;
}

/** jsonmessage.RFC3339NanoFixed in local time, from the exact nanoseconds. */
export function formatEventTime(timeNano: bigint): string {
  const d = new Date(Number(timeNano / 1_000_000n));
  return formatRfc3339(d, (timeNano % 1_000_000_000n).toString().padStart(9, '0'));
}

/** The docker CLI's default event line: time type action id (sorted attributes). */
export function prettyEvent(line: string): string {
  const event = JSON.parse(line) as EventJson;
  // timeNano exceeds a double: take its digits from the text.
  const nano = /"timeNano":(\d+)/.exec(line)?.[1];
  const time = nano ? `${formatEventTime(BigInt(nano))} ` : event.time ? `${formatEventTime(BigInt(event.time) * 1_000_000_000n)} ` : '';
  const attrs = Object.entries(event.Actor?.Attributes ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const tail = attrs.length > 0 ? ` (${attrs.map(([k, v]) => `${k}=${v}`).join(', ')})` : '';
  return `${time}${event.Type ?? ''} ${event.Action ?? ''} ${event.Actor?.ID ?? ''}${tail}\n`;
}

export async function eventsCmd(opts: { since?: string; until?: string; filter?: string[]; format?: string }): Promise<number> {
  const filters = buildFilters(opts.filter ?? []);
  let format = opts.format;
  if (format === 'json') format = '{{json .}}';
  let template: Template | undefined;
  try {
    // Parsed before anything is asked of the daemon, as docker does.
    template = format ? parseTemplate(format) : undefined;
  } catch (e) {
    if (e instanceof TemplateError) throw new CliError(`Error parsing format: ${e.goMessage()}`, 64);
    throw e;
  }
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  let res: IncomingMessage;
  try {
    res = await api().request({
      method: 'GET',
      path: '/events',
      query: {
        since: opts.since ? getTimestamp(opts.since) : undefined,
        until: opts.until ? getTimestamp(opts.until) : undefined,
        filters: Object.keys(filters).length > 0 ? JSON.stringify(filters) : undefined,
      },
      signal: abort.signal,
    });
  } catch (e) {
    if (abort.signal.aborted) return 0;
    throw e;
  }
  try {
    for await (const line of jsonLines(res)) {
      if (template) {
        try {
          out(`${template.execute(JSON.parse(line))}\n`);
        } catch (e) {
          templateError(e);
        }
      } else out(prettyEvent(line));
    }
  } catch (e) {
    if (!abort.signal.aborted) throw e;
  }
  return 0;
}

// ---- stats -------------------------------------------------------------------------------------

interface StatsOptions {
  all?: boolean;
  stream?: boolean;
  format?: string;
  trunc?: boolean;
}

function renderStats(entries: StatsEntry[], opts: StatsOptions): string {
  let format = opts.format;
  if (format === undefined || format === '' || format === 'table') format = STATS_TABLE;
  if (format === 'json') format = '{{json .}}';
  try {
    return renderRows(format, entries.map((e) => statsFields(e, opts.trunc !== false)), STATS_HEADERS, '*container.statsContext');
  } catch (e) {
    return templateError(e);
  }
}

/** Every (running) container, named as docker stats names them without arguments: the short ID, even with --no-trunc. */
async function containerNames(all: boolean): Promise<string[]> {
  const list = await api().json<Array<{ Id: string }>>({ method: 'GET', path: '/containers/json', query: { all: all ? '1' : undefined } });
  return (list ?? []).map((ctr) => ctr.Id.slice(0, 12));
}

export async function statsCmd(names: string[], opts: StatsOptions): Promise<number> {
  const targets = names.length > 0 ? names : await containerNames(opts.all === true);
  if (opts.stream === false) {
    const results = await Promise.allSettled(
      targets.map(async (n) => statsEntry(n, await api().json<StatsJson>({ method: 'GET', path: `${c(n)}/stats`, query: { stream: '0' } }))),
    );
    const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    const unreachable = errors.find((e) => e instanceof DaemonUnreachableError);
    if (unreachable) throw unreachable;
    if (errors.length > 0) throw new CliError(errors.map((e) => (e instanceof ApiError ? e.display : String(e))).join('\n'), 1);
    out(renderStats(results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : [])), opts));
    return 0;
  }
  // Streaming: one stream per container, the table redrawn every second.
  const latest = new Map<string, StatsEntry>(targets.map((n) => [n, { ...statsEntry(n, {}), invalid: true }]));
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  const follow = async (n: string): Promise<void> => {
    const res = await api().request({ method: 'GET', path: `${c(n)}/stats`, query: { stream: '1' }, signal: abort.signal });
    for await (const line of jsonLines(res)) latest.set(n, statsEntry(n, JSON.parse(line) as StatsJson));
  };
  const streams = Promise.allSettled(targets.map((n) => follow(n)));
  const tty = process.stdout.isTTY === true;
  const timer = setInterval(() => out(`${tty ? '\x1b[2J\x1b[H' : ''}${renderStats([...latest.values()], opts)}`), 1000);
  await streams;
  clearInterval(timer);
  return 0;
}

// ---- export ------------------------------------------------------------------------------------

export async function exportCmd(name: string, opts: { output?: string }): Promise<number> {
  if (!opts.output && process.stdout.isTTY) {
    throw new CliError('cowardly refusing to save to a terminal. Use the -o flag or redirect', 1);
  }
  const res = await api().request({ method: 'GET', path: `${c(name)}/export` });
  if (!opts.output) {
    await pipeline(res, process.stdout, { end: false });
    return 0;
  }
  // Written aside and renamed into place: an interrupted export leaves no half-written file.
  const temp = join(dirname(opts.output), `.${basename(opts.output)}.${process.pid}.tmp`);
  try {
    await pipeline(res, createWriteStream(temp, { mode: 0o600 }));
    await rename(temp, opts.output);
  } catch (e) {
    await rm(temp, { force: true });
    throw e;
  }
  return 0;
}

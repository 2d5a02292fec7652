/**
 * Image commands: pull, images/image ls, image inspect, tag, rmi.
 *
 * API use (paths are prefixed with /v<negotiated version>):
 *   pull    POST /images/create?fromImage=<full name>&tag=<tag|digest>[&platform=]  X-Registry-Auth
 *   images  GET  /images/json[?all=1][&digests=1][&filters=<json>]
 *   inspect GET  /images/{name}/json
 *   tag     POST /images/{source}/tag?repo=<full name>&tag=<tag>
 *   rmi     DELETE /images/{name}[?force=1][&noprune=1]
 */
import { registryAuthHeader } from '../auth.js';
import { pathSegment } from '../client.js';
import { ApiError, CliError } from '../errors.js';
import {
  HEADERS,
  IMAGES_TABLE,
  IMAGES_TABLE_DIGESTS,
  imageRows,
  indentedJson,
  renderRows,
  type ImageSummary,
} from '../format.js';
import { api, out, println } from '../io.js';
import {
  apiTag,
  authConfigKey,
  canonicalString,
  fullName,
  isNameOnly,
  parseNormalizedNamed,
  ReferenceError,
  tagNameOnly,
  type NamedReference,
} from '../reference.js';
import { goJson, parseTemplate, TemplateError } from '../template.js';
import { displayJSONMessages, JSONMessageError } from '../jsonmessage.js';
import { buildFilters } from './filters.js';

export interface PullTarget {
  ref: NamedReference;
  platform?: string;
}

/**
 * POST /images/create and render the progress stream to `stream`. Throws ApiError for an HTTP
 * error and JSONMessageError for an error inside the stream.
 */
export async function pullImage(
  target: PullTarget,
  stream: NodeJS.WriteStream | undefined,
): Promise<void> {
  const { ref } = target;
  const auth = await registryAuthHeader(authConfigKey(ref));
  const res = await api().request({
    method: 'POST',
    path: '/images/create',
    query: { fromImage: fullName(ref), tag: apiTag(ref), platform: target.platform },
    headers: { 'X-Registry-Auth': auth },
  });
  const isTerminal = Boolean(stream?.isTTY);
  const write = stream ? (s: string) => void stream.write(s) : () => undefined;
  await displayJSONMessages(res, write, isTerminal, () => (stream?.columns && stream.columns > 0 ? stream.columns : 200));
}

function parseRef(name: string): NamedReference {
  try {
    return parseNormalizedNamed(name);
  } catch (e) {
    if (e instanceof ReferenceError) throw new CliError(e.message, 1);
    throw e;
  }
}

export async function pullCmd(name: string, opts: { quiet?: boolean; platform?: string; allTags?: boolean }): Promise<number> {
  let ref = parseRef(name);
  if (isNameOnly(ref) && !opts.allTags) {
    if (!opts.quiet) println('Using default tag: latest');
    ref = tagNameOnly(ref);
  }
  try {
    await pullImage({ ref, ...(opts.platform ? { platform: opts.platform } : {}) }, opts.quiet ? undefined : process.stdout);
  } catch (e) {
    if (e instanceof JSONMessageError) throw new CliError(e.message, 1);
    throw e;
  }
  println(canonicalString(ref));
  return 0;
}

export async function imagesCmd(
  repo: string | undefined,
  opts: { all?: boolean; quiet?: boolean; trunc?: boolean; digests?: boolean; filter?: string[]; format?: string },
): Promise<number> {
  const filters = buildFilters(opts.filter ?? []);
  if (repo) (filters['reference'] ??= {})[repo] = true;
  const images = await api().json<ImageSummary[]>({
    method: 'GET',
    path: '/images/json',
    query: {
      all: opts.all ? '1' : undefined,
      filters: Object.keys(filters).length > 0 ? JSON.stringify(filters) : undefined,
    },
  });
  const trunc = opts.trunc !== false;
  const rows = (images ?? []).flatMap((img) => imageRows(img, { trunc, digests: Boolean(opts.digests) }));
  let format = opts.format;
  if (opts.quiet) format = '{{.ID}}';
  else if (format === undefined || format === '' || format === 'table') {
    format = opts.digests ? IMAGES_TABLE_DIGESTS : IMAGES_TABLE;
  }
  if (format === 'json') format = '{{json .}}';
  try {
    out(renderRows(format, rows, HEADERS.image, '*formatter.imageContext'));
  } catch (e) {
    if (e instanceof TemplateError) throw new CliError(`template parsing error: ${e.goMessage()}`, 1);
    throw e;
  }
  return 0;
}

/** Runs an inspect-style command: fetch each name, print JSON array or one template line each. */
export async function inspectObjects(
  names: readonly string[],
  fetch: (name: string) => Promise<unknown>,
  format: string | undefined,
  notFound: (name: string, err: ApiError) => string,
): Promise<number> {
  const tpl = format && format !== '' && format !== 'json' ? compileFormat(format) : undefined;
  const found: unknown[] = [];
  const errors: string[] = [];
  for (const name of names) {
    try {
      const obj = await fetch(name);
      if (tpl) println(tpl.execute(obj));
      else found.push(obj);
    } catch (e) {
      if (e instanceof ApiError && e.isNotFound) errors.push(notFound(name, e));
      else if (e instanceof TemplateError) throw new CliError(`template: ${e.message}`, 1);
      else if (e instanceof ApiError) errors.push(e.display);
      else throw e;
    }
  }
  // --format json is docker's JSONInspector: the same array, compact.
  if (!tpl) out(format === 'json' ? `${goJson(found)}\n` : indentedJson(found));
  if (errors.length > 0) throw new CliError(errors.join('\n'), 1);
  return 0;
}

/** A --format template of a one-object command (inspect, version, info); `name` as docker names the template. */
export function compileFormat(format: string, name = ''): { execute(data: unknown): string } {
  try {
    return parseTemplate(format.replace(/\\t/g, '\t').replace(/\\n/g, '\n'));
  } catch (e) {
    if (e instanceof TemplateError) throw new CliError(`template parsing error: ${e.goMessage(name)}`, 64);
    throw e;
  }
}

export async function imageInspectCmd(names: string[], opts: { format?: string }): Promise<number> {
  return inspectObjects(
    names,
    (n) => api().json({ method: 'GET', path: `/images/${pathSegment(n)}/json` }),
    opts.format,
    (_n, e) => e.display,
  );
}

export async function tagCmd(source: string, target: string): Promise<number> {
  let ref: NamedReference;
  try {
    ref = parseNormalizedNamed(target);
  } catch (e) {
    throw new CliError(e instanceof Error ? e.message : String(e), 1);
  }
  if (ref.digest !== undefined) throw new CliError('refusing to create a tag with a digest reference', 1);
  ref = tagNameOnly(ref);
  await api().send({
    method: 'POST',
    path: `/images/${pathSegment(source)}/tag`,
    query: { repo: fullName(ref), tag: ref.tag },
  });
  return 0;
}

interface DeleteResponseItem {
  Untagged?: string;
  Deleted?: string;
}

export async function rmiCmd(names: string[], opts: { force?: boolean; prune?: boolean }): Promise<number> {
  const errors: string[] = [];
  for (const name of names) {
    try {
      const items = await api().json<DeleteResponseItem[]>({
        method: 'DELETE',
        path: `/images/${pathSegment(name)}`,
        query: { force: opts.force ? '1' : undefined, noprune: opts.prune === false ? '1' : undefined },
      });
      for (const it of items ?? []) {
        if (it.Untagged) println(`Untagged: ${it.Untagged}`);
        if (it.Deleted) println(`Deleted: ${it.Deleted}`);
      }
    } catch (e) {
      if (e instanceof ApiError) errors.push(e.display);
      else throw e;
    }
  }
  if (errors.length > 0) throw new CliError(errors.join('\n'), 1);
  return 0;
}

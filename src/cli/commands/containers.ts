/**
 * Container commands other than create/run/start (those are in run.ts). Requests (paths
 * prefixed /v<version>):
 *
 *   stop    POST /containers/{id}/stop[?signal=][&t=]
 *   restart POST /containers/{id}/restart[?signal=][&t=]
 *   kill    POST /containers/{id}/kill[?signal=]
 *   pause   POST /containers/{id}/pause
 *   unpause POST /containers/{id}/unpause
 *   rename  POST /containers/{id}/rename?name=
 *   rm      DELETE /containers/{id}[?force=1][&link=1][&v=1]
 *   wait    POST /containers/{id}/wait
 *   logs    GET /containers/{id}/json, then GET /containers/{id}/logs?stdout=1&stderr=1&tail=all
 *           [&follow=1][&since=][&until=][&timestamps=1][&details=1]
 *   ps      GET /containers/json[?all=1][&limit=N][&size=1][&filters=]
 *   inspect GET /containers/{id}/json[?size=1], then GET /images/{id}/json
 *   exec    POST /containers/{id}/exec → POST /exec/{id}/start (hijacked unless -d)
 *           → [POST /exec/{id}/resize?h=&w=] → GET /exec/{id}/json (ExitCode)
 */
import { DEFAULT_DETACH_KEYS, parseDetachKeys, runSession, setRawTerminal } from '../attach.js';
import { pathSegment, readBody } from '../client.js';
import { statusFromStateWord } from '../container-status.js';
import { buildCreateRequest } from '../create-config.js';
import { ApiError, CliError, DaemonUnreachableError, displayError } from '../errors.js';
import { compileRowFormat, containerFields, HEADERS, PS_TABLE, PS_TABLE_SIZE, type ContainerSummary } from '../format.js';
import { api, eprintln, out, println } from '../io.js';
import { isMultiplexed, FrameDemuxer, STREAM_STDERR } from '../stdcopy.js';
import { parseTemplate, TemplateError, TemplateExecError, type Template } from '../template.js';
import { getTimestamp } from '../timestamps.js';
import { buildFilters } from './filters.js';
import { inspectObjects } from './images.js';
import { c, monitorTtySize, readFlagFiles, stdinStream, type ContainerInspect } from './run.js';

// ---- lifecycle ---------------------------------------------------------------------------------

/** Runs `op` for every name concurrently; prints names that succeeded, in order. */
export async function forEachContainer(
  names: readonly string[],
  op: (name: string) => Promise<void>,
  onError: (name: string, e: unknown) => string | undefined = (_n, e) => displayError(e),
): Promise<number> {
  const results = await Promise.allSettled(names.map((n) => op(n)));
  const errors: string[] = [];
  results.forEach((r, i) => {
    const name = names[i] ?? '';
    if (r.status === 'fulfilled') println(name);
    else {
      // Not reaching the daemon is one error for the whole command, not one per container.
      if (r.reason instanceof DaemonUnreachableError) throw r.reason;
      const msg = onError(name, r.reason);
      if (msg !== undefined) errors.push(msg);
    }
  });
  if (errors.length > 0) throw new CliError(errors.join('\n'), 1);
  return 0;
}

function timeoutQuery(t: string | undefined): number | undefined {
  if (t === undefined) return undefined;
  const n = Number(t);
  if (!Number.isInteger(n)) {
    throw new CliError(`invalid argument "${t}" for "-t, --timeout" flag: strconv.ParseInt: parsing "${t}": invalid syntax`, 125);
  }
  return n;
}

export async function stopCmd(names: string[], opts: { time?: string; timeout?: string; signal?: string }): Promise<number> {
  const t = timeoutQuery(opts.time ?? opts.timeout);
  return forEachContainer(names, (n) =>
    api().send({ method: 'POST', path: `${c(n)}/stop`, query: { signal: opts.signal, t } }),
  );
}

export async function restartCmd(names: string[], opts: { time?: string; timeout?: string; signal?: string }): Promise<number> {
  const t = timeoutQuery(opts.time ?? opts.timeout);
  return forEachContainer(names, (n) =>
    api().send({ method: 'POST', path: `${c(n)}/restart`, query: { signal: opts.signal, t } }),
  );
}

export async function killCmd(names: string[], opts: { signal?: string }): Promise<number> {
  return forEachContainer(names, (n) =>
    api().send({ method: 'POST', path: `${c(n)}/kill`, query: { signal: opts.signal || undefined } }),
  );
}

export async function pauseCmd(names: string[]): Promise<number> {
  return forEachContainer(names, (n) => api().send({ method: 'POST', path: `${c(n)}/pause` }));
}

export async function unpauseCmd(names: string[]): Promise<number> {
  return forEachContainer(names, (n) => api().send({ method: 'POST', path: `${c(n)}/unpause` }));
}

export async function renameCmd(container: string, newName: string): Promise<number> {
  const oldName = container.trim();
  const name = newName.trim();
  if (oldName === '' || name === '') throw new CliError('Error: Neither old nor new names may be empty', 1);
  try {
    await api().send({ method: 'POST', path: `${c(oldName)}/rename`, query: { name } });
  } catch (e) {
    // docker prints the daemon's error, then its own line naming the container (rename.go).
    throw new CliError(`${displayError(e)}\nError: failed to rename container named ${oldName}`, 1);
  }
  return 0;
}

export async function rmCmd(names: string[], opts: { force?: boolean; volumes?: boolean; link?: boolean }): Promise<number> {
  return forEachContainer(
    names,
    (n) =>
      api().send({
        method: 'DELETE',
        path: c(n),
        query: {
          force: opts.force ? '1' : undefined,
          link: opts.link ? '1' : undefined,
          v: opts.volumes ? '1' : undefined,
        },
      }),
    (_n, e) => {
      if (opts.force && e instanceof ApiError && e.isNotFound) {
        eprintln(e.display);
        return undefined;
      }
      return displayError(e);
    },
  );
}

export async function waitCmd(names: string[]): Promise<number> {
  const errors: string[] = [];
  const results = await Promise.allSettled(
    names.map(async (n) => {
      const res = await api().request({ method: 'POST', path: `${c(n)}/wait` });
      const body = JSON.parse((await readBody(res)).toString('utf8')) as {
        StatusCode?: number;
        Error?: { Message?: string } | null;
      };
      if (body.Error?.Message) throw new Error(body.Error.Message);
      return body.StatusCode ?? 0;
    }),
  );
  for (const r of results) {
    if (r.status === 'fulfilled') println(String(r.value));
    else errors.push(displayError(r.reason));
  }
  if (errors.length > 0) throw new CliError(errors.join('\n'), 1);
  return 0;
}

// ---- logs --------------------------------------------------------------------------------------

export async function logsCmd(
  name: string,
  opts: { follow?: boolean; tail?: string; timestamps?: boolean; since?: string; until?: string; details?: boolean },
): Promise<number> {
  const client = api();
  const info = await client.json<ContainerInspect>({ method: 'GET', path: `${c(name)}/json` });
  let since: string | undefined;
  let until: string | undefined;
  try {
    if (opts.since) since = getTimestamp(opts.since);
    if (opts.until) until = getTimestamp(opts.until);
  } catch (e) {
    throw new CliError((e as Error).message, 1);
  }
  const res = await client.request({
    method: 'GET',
    path: `${c(info.Id)}/logs`,
    query: {
      details: opts.details ? '1' : undefined,
      follow: opts.follow ? '1' : undefined,
      since,
      stderr: '1',
      stdout: '1',
      tail: opts.tail ?? 'all',
      timestamps: opts.timestamps ? '1' : undefined,
      until,
    },
  });
  const ct = res.headers['content-type'];
  const tty = Boolean(info.Config?.Tty);
  const write = async (dest: NodeJS.WriteStream, data: Buffer): Promise<void> => {
    if (!dest.write(data)) await new Promise((r) => dest.once('drain', r));
  };
  if (isMultiplexed(typeof ct === 'string' ? ct : undefined, tty)) {
    const pending: Array<[number, Buffer]> = [];
    const demux = new FrameDemuxer((stream, payload) => pending.push([stream, Buffer.from(payload)]));
    for await (const chunk of res) {
      try {
        demux.push(chunk as Buffer);
      } catch (e) {
        throw new CliError((e as Error).message, 1);
      }
      for (const [stream, payload] of pending.splice(0)) {
        await write(stream === STREAM_STDERR ? process.stderr : process.stdout, payload);
      }
    }
  } else {
    for await (const chunk of res) await write(process.stdout, chunk as Buffer);
  }
  return 0;
}

// ---- ps / inspect ------------------------------------------------------------------------------

export async function psCmd(opts: {
  all?: boolean;
  quiet?: boolean;
  trunc?: boolean;
  size?: boolean;
  last?: string;
  latest?: boolean;
  filter?: string[];
  format?: string;
}): Promise<number> {
  const filters = buildFilters(opts.filter ?? []);
  let limit: number | undefined;
  if (opts.latest) limit = 1;
  if (opts.last !== undefined) {
    const n = Number(opts.last);
    if (!Number.isInteger(n)) throw new CliError(`invalid argument "${opts.last}" for "-n, --last" flag`, 125);
    if (n !== -1) limit = n;
  }
  let format = opts.format;
  if (opts.quiet && format) eprintln('WARNING: Ignoring custom format, because both --format and --quiet are set.');
  if (opts.quiet) format = '{{.ID}}';
  else if (format === undefined || format === '' || format === 'table') format = opts.size ? PS_TABLE_SIZE : PS_TABLE;
  // docker's `--format json` prints the whole row, as {{json .}} does, but does not ask for sizes.
  const template = format === 'json' ? '{{json .}}' : format;
  const readsSize = opts.format !== undefined && opts.format !== '' && opts.format !== 'json' && probeContainerFormat(parsePsFormat(() => parseTemplate(opts.format ?? '')));
  const rowFormat = parsePsFormat(() => compileRowFormat(template));
  const size = opts.size || (!opts.quiet && readsSize);
  const list = await api().json<ContainerSummary[]>({
    method: 'GET',
    path: '/containers/json',
    query: {
      all: opts.all || (limit !== undefined && limit > 0) ? '1' : undefined,
      filters: Object.keys(filters).length > 0 ? JSON.stringify(filters) : undefined,
      limit: limit !== undefined && limit > 0 ? limit : undefined,
      size: size ? '1' : undefined,
    },
  });
  const trunc = opts.trunc !== false;
  const now = Date.now();
  const rows = (list ?? []).map((ctr) => {
    const row = containerFields(ctr, trunc, now);
    if (row['Status'] === '') row['Status'] = statusFromStateWord(ctr.State);
    return row;
  });
  try {
    out(rowFormat.render(rows, HEADERS.container, '*formatter.ContainerContext'));
  } catch (e) {
    if (e instanceof TemplateError) throw new CliError(`failed to execute template: ${e.goMessage()}`, 1);
    throw e;
  }
  return 0;
}

export async function inspectCmd(
  names: string[],
  opts: { format?: string; size?: boolean; type?: string },
): Promise<number> {
  const type = opts.type ?? '';
  if (!['', 'container', 'image'].includes(type)) {
    throw new CliError(`"${type}" is not a valid value for --type`, 1);
  }
  const client = api();
  const getContainer = (n: string): Promise<unknown> =>
    client.json({ method: 'GET', path: `${c(n)}/json`, query: { size: opts.size ? '1' : undefined } });
  const getImage = (n: string): Promise<unknown> => client.json({ method: 'GET', path: `/images/${pathSegment(n)}/json` });
  const fetch = async (n: string): Promise<unknown> => {
    if (type === 'container') return getContainer(n);
    if (type === 'image') return getImage(n);
    try {
      return await getContainer(n);
    } catch (e) {
      if (!(e instanceof ApiError && e.isNotFound)) throw e;
    }
    return getImage(n);
  };
  return inspectObjects(names, fetch, opts.format, (n, e) => (type === '' ? `Error: No such object: ${n}` : e.display));
}

// ---- exec --------------------------------------------------------------------------------------

export async function execCmd(
  container: string,
  cmd: string[],
  opts: {
    detach?: boolean;
    interactive?: boolean;
    tty?: boolean;
    env?: string[];
    envFile?: string[];
    workdir?: string;
    user?: string;
    privileged?: boolean;
    detachKeys?: string;
  },
): Promise<number> {
  const client = api();
  const env: string[] = [];
  try {
    const req = buildCreateRequest('x', [], { env: opts.env ?? [], envFile: opts.envFile ?? [] }, {
      env: process.env,
      fileContents: readFlagFiles(opts.envFile ?? []),
      command: 'create',
    });
    env.push(...((req.body['Env'] as string[] | null) ?? []));
  } catch (e) {
    throw new CliError(displayError(e), 125);
  }
  const stdin = opts.interactive && !opts.detach ? stdinStream() : undefined;
  if (opts.tty && stdin && !stdin.isTTY) throw new CliError('the input device is not a TTY', 1);
  const created = await client.json<{ Id: string }>({
    method: 'POST',
    path: `${c(container)}/exec`,
    body: {
      User: opts.user ?? '',
      Privileged: Boolean(opts.privileged),
      Tty: Boolean(opts.tty),
      AttachStdin: Boolean(stdin),
      AttachStderr: !opts.detach,
      AttachStdout: !opts.detach,
      Detach: Boolean(opts.detach),
      DetachKeys: opts.detachKeys ?? '',
      Env: env.length > 0 ? env : null,
      WorkingDir: opts.workdir ?? '',
      Cmd: cmd,
    },
  });
  const execPath = `/exec/${pathSegment(created.Id)}`;
  if (opts.detach) {
    await client.send({ method: 'POST', path: `${execPath}/start`, body: { Detach: true, Tty: Boolean(opts.tty) } });
    return 0;
  }
  const h = await client.hijack({ method: 'POST', path: `${execPath}/start`, body: { Detach: false, Tty: Boolean(opts.tty) } });
  if (opts.tty && stdin?.isTTY) await setRawTerminal(stdin);
  const session = runSession(h, {
    tty: Boolean(opts.tty),
    stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    detachKeys: parseDetachKeys(opts.detachKeys ?? DEFAULT_DETACH_KEYS),
  });
  if (opts.tty && process.stdout.isTTY) monitorTtySize(`${execPath}/resize`);
  const how = await session.done;
  if (how === 'detached') return 0;
  const info = await client.json<{ ExitCode?: number | null; Running?: boolean }>({ method: 'GET', path: `${execPath}/json` });
  return info.ExitCode ?? 0;
}

/** A --format that does not parse, in docker ps's words. */
function parsePsFormat<T>(parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if (e instanceof TemplateError) throw new CliError(`failed to parse template: ${e.goMessage()}`, 1);
    throw e;
  }
}

/**
 * docker ps runs the --format it was given, as typed, once against an empty ContainerContext
 * before it asks for containers, to learn which fields the template reads (FieldsUsed): a
 * field that does not exist fails there, with the positions of the string as typed, even
 * when -q is set or no container would be listed. Returns whether it reads .Size (or prints
 * the whole row), for which sizes are asked of the daemon.
 */
function probeContainerFormat(probe: Template): boolean {
  let readsSize = false;
  const row = new Proxy(containerFields({ Id: '' } as ContainerSummary, true), {
    getOwnPropertyDescriptor(target, key) {
      if (key === 'Size') readsSize = true;
      return Reflect.getOwnPropertyDescriptor(target, key);
    },
    ownKeys(target) {
      readsSize = true;
      return Reflect.ownKeys(target);
    },
  });
  try {
    probe.execute(row, '*formatter.ContainerContext');
  } catch (e) {
    if (e instanceof TemplateExecError) throw new CliError(`failed to execute template: ${e.goMessage()}`, 1);
    // Anything else the rows report when they are rendered.
  }
  return readsSize;
}

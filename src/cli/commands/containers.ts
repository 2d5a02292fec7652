/**
 * Container commands. The request sequences copy the docker CLI's (see
 * shared/reference/docker-api-traces/02*, 03*, 04*, 07b*); paths are prefixed with /v<version>:
 *
 *   create  POST /containers/create[?name=][&platform=]; on 404 and --pull=missing:
 *           POST /images/create?fromImage=&tag= (X-Registry-Auth), then create again
 *   run     create (as above) → POST /containers/{id}/attach?stream=1&stdout=1&stderr=1[&stdin=1]
 *           (hijacked, Upgrade: tcp) → POST /containers/{id}/wait?condition=next-exit|removed
 *           → POST /containers/{id}/start → [POST /containers/{id}/resize?h=&w=]; exit status
 *           = wait's StatusCode. With -d: create → start, print the ID.
 *           Signals received are forwarded with POST /containers/{id}/kill?signal=NAME.
 *   start   POST /containers/{id}/start; with -a: GET /containers/{id}/json, attach, wait, start
 *   stop    POST /containers/{id}/stop[?signal=][&t=]
 *   restart POST /containers/{id}/restart[?signal=][&t=]
 *   kill    POST /containers/{id}/kill[?signal=]
 *   rm      DELETE /containers/{id}[?force=1][&link=1][&v=1]
 *   wait    POST /containers/{id}/wait
 *   logs    GET /containers/{id}/json, then GET /containers/{id}/logs?stdout=1&stderr=1&tail=all
 *           [&follow=1][&since=][&until=][&timestamps=1][&details=1]
 *   ps      GET /containers/json[?all=1][&limit=N][&size=1][&filters=]
 *   inspect GET /containers/{id}/json[?size=1], then GET /images/{id}/json
 *   exec    POST /containers/{id}/exec → POST /exec/{id}/start (hijacked unless -d)
 *           → [POST /exec/{id}/resize?h=&w=] → GET /exec/{id}/json (ExitCode)
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import {
  DEFAULT_DETACH_KEYS,
  parseDetachKeys,
  runSession,
  setRawTerminal,
  type Session,
  type StdinLike,
} from '../attach.js';
import { pathSegment, readBody, type HijackedStream } from '../client.js';
import { containerStatus, statusFromStateWord, type ContainerStateLike } from '../container-status.js';
import { buildCreateRequest, FlagError, type ContainerFlags, type CreateRequest } from '../create-config.js';
import { ApiError, CliError, displayError, withHelp } from '../errors.js';
import { containerFields, HEADERS, PS_TABLE, PS_TABLE_SIZE, renderRows, type ContainerSummary } from '../format.js';
import { api, eprintln, out, println } from '../io.js';
import { JSONMessageError } from '../jsonmessage.js';
import { familiarString, isImageId, parseNormalizedNamed, tagNameOnly, type NamedReference } from '../reference.js';
import { isMultiplexed, FrameDemuxer, STREAM_STDERR } from '../stdcopy.js';
import { TemplateError } from '../template.js';
import { getTimestamp } from '../timestamps.js';
import { buildFilters } from './filters.js';
import { inspectObjects, pullImage } from './images.js';

interface ContainerInspect {
  Id: string;
  State?: ContainerStateLike;
  Config?: { Tty?: boolean; OpenStdin?: boolean };
  HostConfig?: { AutoRemove?: boolean };
}

const c = (id: string): string => `/containers/${pathSegment(id)}`;

// ---- create / run ------------------------------------------------------------------------------

export interface RunFlags extends ContainerFlags {
  sigProxy?: string | boolean;
  detachKeys?: string;
}

function readEnvFiles(files: readonly string[] | undefined): Map<string, string> {
  const m = new Map<string, string>();
  for (const f of files ?? []) {
    try {
      m.set(f, readFileSync(f, 'utf8'));
    } catch (e) {
      throw new FlagError(`open ${f}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`);
    }
  }
  return m;
}

/** Errors of run/create: flag-value errors print usage (exit 125), the rest go through withHelp. */
function runError(e: unknown, command: 'run' | 'create'): Error {
  if (e instanceof CliError) return e;
  if (e instanceof FlagError && e.message.startsWith('invalid argument')) {
    return new CliError(
      `${e.message}\n\nUsage:  berth ${command} [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun 'berth ${command} --help' for more information`,
      125,
    );
  }
  return withHelp(e, command);
}

function validatePull(p: string | undefined): 'missing' | 'always' | 'never' {
  const v = p ?? 'missing';
  if (v !== 'missing' && v !== 'always' && v !== 'never') {
    throw new Error(`invalid pull option: '${v}': must be one of "always", "missing" or "never"`);
  }
  return v;
}

function namedForPull(image: string): NamedReference | undefined {
  if (isImageId(image)) return undefined;
  return parseNormalizedNamed(image);
}

async function createOnce(req: CreateRequest): Promise<string> {
  const res = await api().json<{ Id: string; Warnings?: string[] | null }>({
    method: 'POST',
    path: '/containers/create',
    query: req.query,
    body: req.body,
  });
  for (const w of res.Warnings ?? []) eprintln(`WARNING: ${w}`);
  return res.Id;
}

/** createContainer in docker's create.go: pull on 404 (policy missing), or first (always). */
async function createWithPull(req: CreateRequest, image: string, policy: 'missing' | 'always' | 'never', platform?: string): Promise<string> {
  const named = namedForPull(image);
  const pull = async (): Promise<void> => {
    if (!named) return;
    try {
      await pullImage({ ref: tagNameOnly(named), ...(platform ? { platform } : {}) }, process.stderr);
    } catch (e) {
      if (e instanceof JSONMessageError) throw new Error(e.message);
      throw e;
    }
  };
  if (policy === 'always' && named) await pull();
  try {
    return await createOnce(req);
  } catch (e) {
    if (e instanceof ApiError && e.isNotFound && named && policy === 'missing') {
      eprintln(`Unable to find image '${familiarString(tagNameOnly(named))}' locally`);
      await pull();
      return await createOnce(req);
    }
    throw e;
  }
}

function consoleSize(): [number, number] | undefined {
  const o = process.stdout;
  return o.isTTY && o.rows && o.columns ? [o.rows, o.columns] : undefined;
}

function prepareCreate(image: string, cmd: string[], f: RunFlags, command: 'run' | 'create'): CreateRequest {
  const size = consoleSize();
  return buildCreateRequest(image, cmd, f, {
    env: process.env,
    envFileContents: readEnvFiles(f.envFile),
    command,
    ...(size ? { consoleSize: size } : {}),
  });
}

export async function createCmd(image: string, cmd: string[], f: RunFlags): Promise<number> {
  try {
    const policy = validatePull(f.pull);
    const req = prepareCreate(image, cmd, f, 'create');
    const id = await createWithPull(req, image, policy, f.platform);
    println(id);
    return 0;
  } catch (e) {
    throw runError(e, 'create');
  }
}

function stdinStream(): StdinLike {
  return process.stdin as StdinLike;
}

async function readWaitStatus(res: IncomingMessage): Promise<number> {
  try {
    const body = (await readBody(res)).toString('utf8').trim();
    if (body === '') return 125;
    const r = JSON.parse(body.split('\n')[0] ?? '{}') as { StatusCode?: number; Error?: { Message?: string } | null };
    if (r.Error && r.Error.Message) {
      eprintln(`Error waiting for container: ${r.Error.Message}`);
      return 125;
    }
    return r.StatusCode ?? 0;
  } catch (e) {
    eprintln(`error waiting for container: ${(e as Error).message}`);
    return 125;
  }
}

/** docker's ForwardAllSignals, for the signals node can catch without side effects. */
const FORWARDED_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'];

function forwardSignals(id: string): void {
  for (const sig of FORWARDED_SIGNALS) {
    process.on(sig, () => {
      api()
        .send({ method: 'POST', path: `${c(id)}/kill`, query: { signal: sig.slice(3) } })
        .catch(() => undefined);
    });
  }
}

function monitorTtySize(resizePath: string): void {
  const resize = (): void => {
    const o = process.stdout;
    if (!o.isTTY || !o.rows || !o.columns) return;
    api()
      .send({ method: 'POST', path: resizePath, query: { h: o.rows, w: o.columns } })
      .catch(() => undefined);
  };
  resize();
  process.on('SIGWINCH', resize);
}

function sigProxyEnabled(v: string | boolean | undefined): boolean {
  if (v === undefined || v === true) return true;
  if (v === false) return false;
  return !['false', '0', 'f', 'F', 'FALSE', 'False'].includes(v);
}

/**
 * Attach + wait + start + stream, shared by `run` and `start -a`. Returns the exit status.
 * `startError` maps a start failure to the thrown error.
 */
async function attachAndStart(
  id: string,
  o: {
    tty: boolean;
    stdin: boolean;
    stdout: boolean;
    stderr: boolean;
    autoRemove: boolean;
    detachKeys: string | undefined;
    sigProxy: boolean;
  },
  startError: (e: unknown) => Error,
): Promise<number> {
  const client = api();
  const attachAny = o.stdin || o.stdout || o.stderr;
  const stdin = o.stdin ? stdinStream() : undefined;
  if (o.tty && o.stdin && stdin && !stdin.isTTY) throw new CliError('the input device is not a TTY', 1);
  const detachKeys = parseDetachKeys(o.detachKeys ?? DEFAULT_DETACH_KEYS);
  const hijackP: Promise<HijackedStream | undefined> = attachAny
    ? client.hijack({
        method: 'POST',
        path: `${c(id)}/attach`,
        query: {
          stream: '1',
          stdin: o.stdin ? '1' : undefined,
          stdout: o.stdout ? '1' : undefined,
          stderr: o.stderr ? '1' : undefined,
          detachKeys: o.detachKeys,
        },
      })
    : Promise.resolve(undefined);
  const waitP = client.request({
    method: 'POST',
    path: `${c(id)}/wait`,
    query: { condition: o.autoRemove ? 'removed' : 'next-exit' },
  });
  const [hijacked, waitRes] = await Promise.all([hijackP, waitP]);

  let session: Session | undefined;
  if (hijacked) {
    if (o.tty && stdin?.isTTY) setRawTerminal(stdin);
    session = runSession(hijacked, {
      tty: o.tty,
      stdin,
      stdout: process.stdout,
      stderr: process.stderr,
      detachKeys,
    });
  }
  if (o.sigProxy) forwardSignals(id);
  try {
    await client.send({ method: 'POST', path: `${c(id)}/start` });
  } catch (e) {
    session?.close();
    if (o.autoRemove) await readWaitStatus(waitRes).catch(() => 0);
    else waitRes.destroy();
    throw startError(e);
  }
  if (o.tty && process.stdout.isTTY) monitorTtySize(`${c(id)}/resize`);
  if (session) {
    const how = await session.done;
    if (how === 'detached') {
      waitRes.destroy();
      return 0;
    }
  }
  return readWaitStatus(waitRes);
}

export async function runCmd(image: string, cmd: string[], f: RunFlags): Promise<number> {
  let id: string;
  let req: CreateRequest;
  try {
    const policy = validatePull(f.pull);
    req = prepareCreate(image, cmd, f, 'run');
    if (f.tty && req.attach.stdin && !process.stdin.isTTY) throw new CliError('the input device is not a TTY', 1);
    id = await createWithPull(req, image, policy, f.platform);
  } catch (e) {
    throw runError(e, 'run');
  }
  if (f.detach) {
    println(id);
    try {
      await api().send({ method: 'POST', path: `${c(id)}/start` });
    } catch (e) {
      throw withHelp(e, 'run');
    }
    return 0;
  }
  return attachAndStart(
    id,
    {
      tty: Boolean(f.tty),
      stdin: req.attach.stdin,
      stdout: req.attach.stdout,
      stderr: req.attach.stderr,
      autoRemove: Boolean(f.rm),
      detachKeys: f.detachKeys,
      sigProxy: sigProxyEnabled(f.sigProxy),
    },
    (e) => withHelp(e, 'run'),
  );
}

// ---- lifecycle ---------------------------------------------------------------------------------

/** Runs `op` for every name concurrently; prints names that succeeded, in order. */
async function forEachContainer(
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
      if (!(r.reason instanceof ApiError)) {
        if (r.reason instanceof Error && r.reason.name === 'DaemonUnreachableError') throw r.reason;
      }
      const msg = onError(name, r.reason);
      if (msg !== undefined) errors.push(msg);
    }
  });
  if (errors.length > 0) throw new CliError(errors.join('\n'), 1);
  return 0;
}

export async function startCmd(
  names: string[],
  opts: { attach?: boolean; interactive?: boolean; detachKeys?: string },
): Promise<number> {
  if (opts.attach || opts.interactive) {
    if (names.length > 1) throw new CliError('you cannot start and attach multiple containers at once', 1);
    const name = names[0] ?? '';
    const info = await api().json<ContainerInspect>({ method: 'GET', path: `${c(name)}/json` });
    const tty = Boolean(info.Config?.Tty);
    return attachAndStart(
      info.Id,
      {
        tty,
        stdin: Boolean(opts.interactive && info.Config?.OpenStdin),
        stdout: true,
        stderr: true,
        autoRemove: Boolean(info.HostConfig?.AutoRemove),
        detachKeys: opts.detachKeys,
        sigProxy: !tty,
      },
      (e) => (e instanceof ApiError ? new CliError(e.display, 1) : (e as Error)),
    );
  }
  const failed: string[] = [];
  for (const name of names) {
    try {
      await api().send({ method: 'POST', path: `${c(name)}/start` });
      println(name);
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      eprintln(e.display);
      failed.push(name);
    }
  }
  if (failed.length > 0) throw new CliError(`Error: failed to start containers: ${failed.join(', ')}`, 1);
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
  const list = await api().json<ContainerSummary[]>({
    method: 'GET',
    path: '/containers/json',
    query: {
      all: opts.all || (limit !== undefined && limit > 0) ? '1' : undefined,
      filters: Object.keys(filters).length > 0 ? JSON.stringify(filters) : undefined,
      limit: limit !== undefined && limit > 0 ? limit : undefined,
      size: opts.size ? '1' : undefined,
    },
  });
  const trunc = opts.trunc !== false;
  const now = Date.now();
  const rows = (list ?? []).map((ctr) => {
    const f = containerFields(ctr, trunc, now);
    if (f['Status'] === '') f['Status'] = statusFromStateWord(ctr.State);
    return f;
  });
  let format = opts.format;
  if (opts.quiet) format = '{{.ID}}';
  else if (format === undefined || format === '' || format === 'table') format = opts.size ? PS_TABLE_SIZE : PS_TABLE;
  if (format === 'json') format = '{{json .}}';
  try {
    out(renderRows(format, rows, HEADERS.container));
  } catch (e) {
    if (e instanceof TemplateError) throw new CliError(`template parsing error: ${e.message}`, 64);
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
      envFileContents: readEnvFiles(opts.envFile),
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
  if (opts.tty && stdin?.isTTY) setRawTerminal(stdin);
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

export { containerStatus };

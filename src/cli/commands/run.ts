/**
 * create, run and start: the latency-sensitive path (`berth run --rm busybox true` is
 * benchmarked against docker), so this module imports only what that path needs; pulling,
 * on a 404 "No such image", is loaded on demand. Requests (paths prefixed /v<version>):
 *
 *   create  POST /containers/create[?name=][&platform=]; on 404 and --pull=missing:
 *           POST /images/create?fromImage=&tag= (X-Registry-Auth), then create again;
 *           --pull=always pulls first
 *   run     create (as above) → POST /containers/{id}/attach?stream=1&stdout=1&stderr=1[&stdin=1]
 *           (hijacked, Upgrade: tcp) and POST /containers/{id}/wait?condition=next-exit|removed
 *           → POST /containers/{id}/start → [POST /containers/{id}/resize?h=&w=]; the exit status
 *           is wait's StatusCode. With -d: create → start, print the ID. Signals received while
 *           attached are forwarded with POST /containers/{id}/kill?signal=NAME.
 *   start   POST /containers/{id}/start; with -a: GET /containers/{id}/json, attach, wait, start
 */
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { ContainerStateLike } from '../container-status.js';
import {
  DEFAULT_DETACH_KEYS,
  parseDetachKeys,
  runSession,
  setRawTerminal,
  type Session,
  type StdinLike,
} from '../attach.js';
import { pathSegment, readBody, type HijackedStream } from '../client.js';
import { buildCreateRequest, FlagError, type ContainerFlags, type CreateRequest } from '../create-config.js';
import { ApiError, CliError, displayError, withHelp } from '../errors.js';
import { api, eprintln, println } from '../io.js';
import { familiarString, isImageId, parseNormalizedNamed, tagNameOnly, type NamedReference } from '../reference.js';

export interface ContainerInspect {
  Id: string;
  State?: ContainerStateLike;
  Config?: { Tty?: boolean; OpenStdin?: boolean };
  HostConfig?: { AutoRemove?: boolean };
}

export const c = (id: string): string => `/containers/${pathSegment(id)}`;

// ---- create / run ------------------------------------------------------------------------------

export interface RunFlags extends ContainerFlags {
  sigProxy?: string | boolean;
  detachKeys?: string;
}

/** The text of each --env-file / --label-file, by path, with docker's error for one that cannot be read. */
export function readFlagFiles(files: readonly string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const f of files) {
    try {
      m.set(f, readFileSync(f, 'utf8'));
    } catch (e) {
      throw new FlagError(`open ${f}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`);
    }
  }
  return m;
}

/**
 * --cidfile, as docker's cidfile.go: the file must not exist yet; it is made (empty) before the
 * create request, gets the ID after it, and goes again if the create fails.
 */
class ContainerIdFile {
  private written = false;

  private constructor(
    private readonly path: string,
    private readonly fd: number,
  ) {}

  static open(path: string | undefined): ContainerIdFile | undefined {
    if (!path) return undefined;
    if (existsSync(path)) throw new Error(`container ID file found, make sure the other container isn't running or delete ${path}`);
    try {
      return new ContainerIdFile(path, openSync(path, 'wx', 0o644));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new Error(`failed to create the container ID file: open ${path}: ${code === 'ENOENT' ? 'no such file or directory' : code === 'EEXIST' ? 'file exists' : (e as Error).message}`);
    }
  }

  write(id: string): void {
    writeSync(this.fd, id);
    this.written = true;
  }

  close(): void {
    closeSync(this.fd);
    if (!this.written) rmSync(this.path, { force: true });
  }
}

/** createWithPull with --cidfile around it. */
async function createRecordingId(req: CreateRequest, image: string, policy: 'missing' | 'always' | 'never', f: RunFlags): Promise<string> {
  const idFile = ContainerIdFile.open(f.cidfile);
  try {
    const id = await createWithPull(req, image, policy, f.platform, Boolean(f.quiet));
    idFile?.write(id);
    return id;
  } finally {
    idFile?.close();
  }
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
  // Checked before anything reaches the daemon: 125 even when the text names a missing file,
  // which runErrorStatus would take for a start failure (127).
  if (e instanceof FlagError) return new CliError(withHelp(e, command).message, 125);
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
async function createWithPull(req: CreateRequest, image: string, policy: 'missing' | 'always' | 'never', platform: string | undefined, quiet: boolean): Promise<string> {
  const named = namedForPull(image);
  const pull = async (): Promise<void> => {
    if (!named) return;
    const [{ pullImage }, { JSONMessageError }] = await Promise.all([import('./images.js'), import('../jsonmessage.js')]);
    try {
      // -q: the pull's progress goes nowhere (docker's io.Discard).
      await pullImage({ ref: tagNameOnly(named), ...(platform ? { platform } : {}) }, quiet ? undefined : process.stderr);
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
      if (!quiet) eprintln(`Unable to find image '${familiarString(tagNameOnly(named))}' locally`);
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
    fileContents: readFlagFiles([...(f.envFile ?? []), ...(f.labelFile ?? [])]),
    command,
    ...(size ? { consoleSize: size } : {}),
  });
}

export async function createCmd(image: string, cmd: string[], f: RunFlags): Promise<number> {
  try {
    const policy = validatePull(f.pull);
    const req = prepareCreate(image, cmd, f, 'create');
    let id: string;
    try {
      id = await createRecordingId(req, image, policy, f);
    } catch (e) {
      // docker create prints what went wrong once its flags were read as it is, and exits 1
      // (run wraps the same errors in "docker: … Run 'docker run --help'" with 125/126/127).
      throw new CliError(displayError(e), 1);
    }
    println(id);
    return 0;
  } catch (e) {
    throw runError(e, 'create');
  }
}

export function stdinStream(): StdinLike {
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

export function monitorTtySize(resizePath: string): void {
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

/** "true" or "false" when given (see go-bools.ts). */
function sigProxyEnabled(v: string | boolean | undefined): boolean {
  return v !== 'false' && v !== false;
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
  const configuredKeys = await (await import('./attach.js')).resolveDetachKeys(o.detachKeys);
  const detachKeys = parseDetachKeys(configuredKeys ?? DEFAULT_DETACH_KEYS);
  const hijackP: Promise<HijackedStream | undefined> = attachAny
    ? client.hijack({
        method: 'POST',
        path: `${c(id)}/attach`,
        query: {
          stream: '1',
          stdin: o.stdin ? '1' : undefined,
          stdout: o.stdout ? '1' : undefined,
          stderr: o.stderr ? '1' : undefined,
          detachKeys: configuredKeys,
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
    if (o.tty && stdin?.isTTY) await setRawTerminal(stdin);
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
    id = await createRecordingId(req, image, policy, f);
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

/**
 * `berth attach`, as the docker CLI's container/attach.go does it (paths prefixed /v<version>):
 *
 *   POST /containers/{id}/wait (sent first, read last: the exit status)
 *   GET  /containers/{id}/json (running? TTY? OpenStdin?)
 *   POST /containers/{id}/attach?stream=1&stdout=1&stderr=1[&stdin=1][&detachKeys=] (hijacked)
 *   GET  /containers/{id}/json again (it may have stopped meanwhile)
 *   [POST /containers/{id}/resize?h=&w= with h+1,w+1 then the real size, so a shell redraws]
 *
 * The detach keys come from --detach-keys, else `detachKeys` in the client's config.json,
 * else ctrl-p,ctrl-q. On the detach sequence docker exits 1 with "read escape sequence" (the
 * detach surfaces as an error from `attach`, unlike `run`/`start -a`, which exit 0).
 */
import { DEFAULT_DETACH_KEYS, parseDetachKeys, runSession, setRawTerminal } from '../attach.js';
import { loadConfig } from '../auth.js';
import { readBody } from '../client.js';
import { CliError } from '../errors.js';
import { api, eprintln } from '../io.js';
import { c, monitorTtySize, stdinStream, type ContainerInspect } from './run.js';

export interface AttachFlags {
  detachKeys?: string;
  /** commander's --no-stdin: false when given. */
  stdin?: boolean;
  sigProxy?: string | boolean;
}

/** --detach-keys, else the config file's `detachKeys`; validated as the docker CLI does. */
export async function resolveDetachKeys(flag: string | undefined): Promise<string | undefined> {
  let keys = flag;
  if (keys === undefined || keys === '') {
    const config = await loadConfig().catch(() => ({}) as Record<string, unknown>);
    const fromConfig = (config as Record<string, unknown>)['detachKeys'];
    keys = typeof fromConfig === 'string' && fromConfig !== '' ? fromConfig : undefined;
  }
  if (keys !== undefined) {
    try {
      parseDetachKeys(keys);
    } catch (e) {
      throw new CliError(`invalid detach keys (${keys}): ${(e as Error).message}`, 1);
    }
  }
  return keys;
}

function checkState(info: ContainerInspect): void {
  const s = info.State;
  if (!s?.Running) throw new CliError('cannot attach to a stopped container, start it first', 1);
  if (s.Paused) throw new CliError('cannot attach to a paused container, unpause it first', 1);
  if (s.Restarting) throw new CliError('cannot attach to a restarting container, wait until it is running', 1);
}

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

export async function attachCmd(name: string, o: AttachFlags): Promise<number> {
  const detachKeys = await resolveDetachKeys(o.detachKeys);
  const client = api();
  const waitRes = client.request({ method: 'POST', path: `${c(name)}/wait` });
  // The wait is read only at the end; a failure before that must not surface as unhandled.
  waitRes.catch(() => undefined);
  const inspect = (): Promise<ContainerInspect> => client.json<ContainerInspect>({ method: 'GET', path: `${c(name)}/json` });
  const info = await inspect();
  checkState(info);
  const tty = Boolean(info.Config?.Tty);
  const useStdin = o.stdin !== false && Boolean(info.Config?.OpenStdin);
  const stdin = useStdin ? stdinStream() : undefined;
  if (o.stdin !== false && tty && !process.stdin.isTTY) throw new CliError('the input device is not a TTY', 1);
  // "true" or "false" when given (see go-bools.ts).
  const sigProxy = o.sigProxy !== 'false';
  if (sigProxy && !tty) {
    for (const sig of SIGNALS) {
      process.on(sig, () => {
        client.send({ method: 'POST', path: `${c(info.Id)}/kill`, query: { signal: sig.slice(3) } }).catch(() => undefined);
      });
    }
  }
  const h = await client.hijack({
    method: 'POST',
    path: `${c(info.Id)}/attach`,
    query: { stream: '1', stdin: useStdin ? '1' : undefined, stdout: '1', stderr: '1', detachKeys },
  });
  try {
    checkState(await inspect());
  } catch (e) {
    h.socket.destroy();
    throw e;
  }
  if (tty && stdin?.isTTY) await setRawTerminal(stdin);
  const session = runSession(h, {
    tty,
    stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    detachKeys: parseDetachKeys(detachKeys ?? DEFAULT_DETACH_KEYS),
  });
  if (tty && process.stdout.isTTY) {
    const { rows, columns } = process.stdout;
    if (rows && columns) await client.send({ method: 'POST', path: `${c(info.Id)}/resize`, query: { h: rows + 1, w: columns + 1 } }).catch(() => undefined);
    monitorTtySize(`${c(info.Id)}/resize`);
  }
  const how = await session.done;
  if (how === 'detached') {
    (await waitRes).destroy();
    throw new CliError('read escape sequence', 1);
  }
  const body = (await readBody(await waitRes)).toString('utf8').trim();
  try {
    const r = JSON.parse(body.split('\n')[0] ?? '{}') as { StatusCode?: number; Error?: { Message?: string } | null };
    if (r.Error?.Message) throw new CliError(r.Error.Message, 1);
    return r.StatusCode ?? 0;
  } catch (e) {
    if (e instanceof CliError) throw e;
    eprintln(`error waiting for container: ${(e as Error).message}`);
    return 1;
  }
}

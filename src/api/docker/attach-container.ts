/**
 * POST /containers/{id}/attach: a client joins a container's stdio, before it starts (`run`,
 * `start -a`) or while it runs (`attach`). Output is read from the container's log file from
 * the moment of attaching; stdin goes through conmon's attach socket. The rules are dockerd's
 * (daemon/attach.go, internal/stream/attach.go):
 * - a paused or restarting container cannot be attached (409); a stopped one can: the attach
 *   waits for its next start (how `docker start -a` attaches before starting);
 * - with a TTY, the detach keys (query `detachKeys`, default ctrl-p,ctrl-q) end the attach and
 *   the container keeps running;
 * - when the client closes its input, the attach ends, unless the container was created with
 *   StdinOnce and no TTY: then the container's stdin closes and output flows until it exits.
 */
import { stat } from 'node:fs/promises';
import type { Duplex, Writable } from 'node:stream';
import { conflict } from '../../core/errors.js';
import type { Engine } from '../../engine/engine.js';
import { readLogs } from '../../runtime/logs.js';
import { clientInput, drainClient, writeEntry } from './attach-io.js';
import { DEFAULT_DETACH_KEYS, DetachScanner, parseDetachKeys } from './detach-keys.js';
import { commonHeaders, queryBool, type RequestContext } from './http.js';
import { writeUpgradeHeaders } from './streams.js';

/** Resolves with the log offset at which the container's next start begins, or undefined if aborted/failed. */
export type WaitForStart = (id: string, signal: AbortSignal) => Promise<number | undefined>;

export async function attachContainer(engine: Engine, ctx: RequestContext, waitForStart: WaitForStart): Promise<void> {
  const containers = engine.containers;
  const record = containers.get(ctx.params[0] as string);
  const { query } = ctx;
  const detachSpec = query.get('detachKeys') ?? '';
  const detachKeys = detachSpec ? parseDetachKeys(detachSpec) : DEFAULT_DETACH_KEYS;
  const stream = queryBool(query, 'stream');
  const logs = queryBool(query, 'logs');
  const stdout = queryBool(query, 'stdout');
  const stderr = queryBool(query, 'stderr');
  if (record.state.status === 'paused') throw conflict(`container ${ctx.params[0]} is paused, unpause the container before attach`);
  if (record.state.status === 'restarting') throw conflict(`container ${ctx.params[0]} is restarting, wait until the container is running`);
  const tty = record.request.tty;
  containers.emit('attach', record.id);
  const out: Duplex | Writable = ctx.upgrade ? ctx.upgrade.socket : ctx.res;
  if (ctx.upgrade) {
    writeUpgradeHeaders(ctx.upgrade.socket, !tty);
  } else {
    ctx.res.writeHead(200, { ...commonHeaders(), 'Content-Type': tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream' });
    ctx.res.flushHeaders();
  }
  const abort = new AbortController();
  out.on('close', () => abort.abort());
  out.on('error', () => abort.abort());
  const endsWithInput = tty || !record.request.stdinOnce;
  const stdin =
    stream && queryBool(query, 'stdin') && record.request.openStdin
      ? clientInput(ctx, {
          ...(tty ? { detach: new DetachScanner(detachKeys) } : {}),
          onDetach: () => abort.abort(),
          onEnd: () => {
            if (endsWithInput) abort.abort();
          },
        })
      : undefined;
  if (!stdin) drainClient(ctx);
  const write = (entry: Parameters<typeof writeEntry>[1]): Promise<void> | void => writeEntry(out, entry, { stdout, stderr, tty, timestamps: false });
  const follow = (offset: number): Promise<void> => {
    stdin?.connect(() => containers.connectStdin(record.id));
    return readLogs(containers.logPath(record.id), {
      follow: true,
      fromOffset: offset,
      exited: containers.wait(record.id, 'next-exit', abort.signal).catch(() => undefined),
      signal: abort.signal,
      onEntry: write,
    });
  };
  try {
    if (logs) await readLogs(containers.logPath(record.id), { follow: false, signal: abort.signal, onEntry: write });
    if (!stream || abort.signal.aborted) return;
    const current = containers.get(record.id);
    if (current.state.status === 'running') {
      const { size } = await stat(containers.logPath(record.id)).catch(() => ({ size: 0 }));
      await follow(size);
    } else if (current.state.status === 'created' || current.state.status === 'exited') {
      const offset = await waitForStart(record.id, abort.signal);
      if (offset !== undefined) await follow(offset);
    }
  } finally {
    out.end();
  }
}

/** /containers/*: create, list, inspect, start, stop, kill, wait, remove, logs, attach, resize. */
import { conflict, invalidArgument } from '../../core/errors.js';

import type { WaitCondition } from '../../containers/manager.js';
import { ContainerSizes } from '../../containers/sizes.js';
import type { Engine } from '../../engine/engine.js';
import { readLogs } from '../../runtime/logs.js';
import { resizeTerminalSpaced } from '../../runtime/resize.js';
import { commonHeaders, parseFilters, queryBool, queryInt, readJsonBody, sendEmpty, sendJson, sendJsonText, type Router } from './http.js';
import { containerInspect, containerSummary, createBodyToRequest } from './convert.js';
import { updateBodyToChange } from './convert-limits.js';
import { containerFilter, containerLabels } from './container-filters.js';
import { pruneFilter } from './prune-filters.js';
import { networkLookup } from './convert-network.js';
import { writeEntry } from './attach-io.js';
import { attachContainer } from './attach-container.js';
import { ContainerListCache } from './container-list.js';

/** Docker's `since`/`until`: unix seconds with optional fraction, or RFC3339. */
function parseTimeParam(value: string | null, name: string): number | undefined {
  if (value === null || value === '' || value === '0') return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value);
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw invalidArgument(`invalid value for ${name}: ${value}`);
  return ms / 1000;
}

export function registerContainerRoutes(router: Router, engine: Engine): void {
  const containers = engine.containers;
  const sizeCache = new ContainerSizes(containers, engine.snapshots);
  const listCache = new ContainerListCache(engine);
  /** Attach requests that arrived before start: they begin reading at start, so no output is missed. */
  const pendingAttaches = new Map<string, Array<(offset: number | undefined) => void>>();
  /** Releases attach requests waiting for a start; undefined offset = the start failed. */
  const releaseAttaches = (id: string, offset: number | undefined): void => {
    const waiting = pendingAttaches.get(id) ?? [];
    pendingAttaches.delete(id);
    for (const begin of waiting) begin(offset);
  };

  router.add('POST', '/containers/create', async ({ req, res, query }) => {
    const body = await readJsonBody<unknown>(req);
    const request = createBodyToRequest(body);
    const name = query.get('name') || undefined;
    const record = await engine.createContainer(name, request, query.get('platform') || undefined);
    sendJson(res, 201, { Id: record.id, Warnings: record.warnings });
  });

  router.add('POST', '/containers/{id}/update', async ({ req, res, params }) => {
    const change = updateBodyToChange(await readJsonBody<unknown>(req));
    const warnings = await containers.update(params[0] as string, change);
    sendJson(res, 200, { Warnings: warnings });
  });

  router.add('GET', '/containers/json', async ({ res, query }) => {
    const filter = containerFilter(engine, parseFilters(query.get('filters')));
    const limit = queryInt(query, 'limit');
    // dockerd (daemon/list.go): a limit lists the last N created in any state.
    const all = queryBool(query, 'all') || filter.impliesAll || (limit !== undefined && limit > 0);
    let list = containers
      .list()
      .filter((c) => all || c.state.status === 'running' || c.state.status === 'paused' || c.state.status === 'restarting')
      .filter((c) => filter.matches(c));
    const created = new Map(list.map((c) => [c.id, Date.parse(c.created)]));
    list.sort((a, b) => (created.get(b.id) ?? 0) - (created.get(a.id) ?? 0));
    if (limit !== undefined && limit > 0) list = list.slice(0, limit);
    if (!queryBool(query, 'size')) return sendJsonText(res, 200, listCache.render(list));
    const findNetwork = networkLookup(engine);
    const summaries = list.map((c) => containerSummary(engine, c, findNetwork));
    const sizes = await sizeCache.sizesOf(list);
    sendJson(res, 200, summaries.map((s, i) => ({ ...s, SizeRw: sizes.get(list[i]?.id ?? '')?.sizeRw ?? 0, SizeRootFs: sizes.get(list[i]?.id ?? '')?.sizeRootFs ?? 0 })));
  });

  router.add('GET', '/containers/{id}/json', async ({ res, params, query }) => {
    const record = containers.get(params[0] as string);
    const doc = containerInspect(engine, record);
    if (!queryBool(query, 'size')) return sendJson(res, 200, doc);
    const { sizeRw, sizeRootFs } = await sizeCache.sizeOf(record);
    sendJson(res, 200, { ...doc, SizeRw: sizeRw, SizeRootFs: sizeRootFs });
  });

  router.add('POST', '/containers/{id}/start', async ({ res, params }) => {
    const record = containers.get(params[0] as string);
    if (record.state.status === 'running' || record.state.status === 'paused') {
      sendEmpty(res, 304);
      return;
    }
    try {
      await containers.start(record.id, (offset) => releaseAttaches(record.id, offset));
    } catch (err) {
      releaseAttaches(record.id, undefined);
      throw err;
    }
    sendEmpty(res, 204);
  });

  router.add('POST', '/containers/{id}/stop', async ({ res, params, query }) => {
    const t = queryInt(query, 't') ?? queryInt(query, 'timeout');
    const signal = query.get('signal') || undefined;
    const stopped = await containers.stop(params[0] as string, t, signal);
    sendEmpty(res, stopped ? 204 : 304);
  });

  router.add('POST', '/containers/{id}/kill', async ({ res, params, query }) => {
    await containers.kill(params[0] as string, query.get('signal') || 'SIGKILL');
    sendEmpty(res, 204);
  });

  router.add('POST', '/containers/{id}/wait', async ({ req, res, params, query }) => {
    const condition = (query.get('condition') || 'not-running') as WaitCondition;
    if (!['not-running', 'next-exit', 'removed'].includes(condition)) throw invalidArgument(`invalid condition: "${condition}"`);
    const record = containers.get(params[0] as string);
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    const result = containers.wait(record.id, condition, abort.signal);
    // The docker CLI sends wait before start and expects the headers at once (it reads the body later).
    res.writeHead(200, { ...commonHeaders(), 'Content-Type': 'application/json' });
    res.flushHeaders();
    void req;
    try {
      const { exitCode } = await result;
      res.end(JSON.stringify({ Error: null, StatusCode: exitCode }) + '\n');
    } catch (err) {
      if (!res.destroyed) res.end(JSON.stringify({ Error: { Message: err instanceof Error ? err.message : String(err) }, StatusCode: -1 }) + '\n');
    }
  });

  router.add('GET', '/containers/{id}/top', async ({ res, params, query }) => {
    sendJson(res, 200, await containers.top(params[0] as string, query.get('ps_args') ?? ''));
  });

  router.add('GET', '/containers/{id}/changes', async ({ res, params }) => {
    const list = await containers.diff(params[0] as string);
    sendJson(res, 200, list.length ? list : null);
  });

  router.add('POST', '/containers/prune', async ({ res, query }) => {
    const filter = pruneFilter(parseFilters(query.get('filters')), ['until', 'label', 'label!']);
    const { ids, reclaimed } = await containers.prune((c) => filter.selects(Date.parse(c.created), containerLabels(c)));
    sendJson(res, 200, { ContainersDeleted: ids.length ? ids : null, SpaceReclaimed: reclaimed });
  });

  router.add('POST', '/containers/{id}/pause', async ({ res, params }) => {
    await containers.pause(params[0] as string);
    sendEmpty(res, 204);
  });

  router.add('POST', '/containers/{id}/unpause', async ({ res, params }) => {
    await containers.unpause(params[0] as string);
    sendEmpty(res, 204);
  });

  router.add('POST', '/containers/{id}/rename', ({ res, params, query }) => {
    containers.rename(params[0] as string, query.get('name') ?? '');
    sendEmpty(res, 204);
  });

  router.add('POST', '/containers/{id}/restart', async ({ res, params, query }) => {
    const t = queryInt(query, 't') ?? queryInt(query, 'timeout');
    const record = containers.get(params[0] as string);
    // Attaches parked on the stopped container follow the new run, as with POST /start.
    await containers.restart(record.id, t, query.get('signal') || undefined, (offset) => releaseAttaches(record.id, offset));
    sendEmpty(res, 204);
  });

  router.add('DELETE', '/containers/{id}', async ({ res, params, query }) => {
    await containers.remove(params[0] as string, queryBool(query, 'force'), queryBool(query, 'v'));
    sendEmpty(res, 204);
  });

  router.add('POST', '/containers/{id}/resize', ({ res, params, query }) => {
    const record = containers.get(params[0] as string);
    const h = queryInt(query, 'h');
    const w = queryInt(query, 'w');
    if (h === undefined || w === undefined || h < 0 || w < 0) throw invalidArgument('resize requires non-negative h and w');
    if (record.state.status !== 'running') throw conflict(`Container ${record.id} is not running`);
    if (record.request.tty) {
      resizeTerminalSpaced(containers.bundle(record.id), h, w);
    }
    containers.emit('resize', record.id, h, w);
    sendEmpty(res, 200);
  });

  router.add('GET', '/containers/{id}/logs', async ({ res, params, query }) => {
    const record = containers.get(params[0] as string);
    const stdout = queryBool(query, 'stdout');
    const stderr = queryBool(query, 'stderr');
    if (!stdout && !stderr) throw invalidArgument('You must choose at least one stream');
    const follow = queryBool(query, 'follow');
    const timestamps = queryBool(query, 'timestamps');
    const details = queryBool(query, 'details');
    const tailRaw = query.get('tail');
    let tail: number | undefined;
    if (tailRaw !== null && tailRaw !== '' && tailRaw !== 'all') {
      if (!/^\d+$/.test(tailRaw)) throw invalidArgument(`invalid value for tail: ${tailRaw}`);
      tail = Number(tailRaw);
    }
    const since = parseTimeParam(query.get('since'), 'since');
    const until = parseTimeParam(query.get('until'), 'until');
    const tty = record.request.tty;
    res.writeHead(200, { ...commonHeaders(), 'Content-Type': tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream' });
    res.flushHeaders();
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    const running = record.state.status === 'running' || record.state.status === 'paused';
    await readLogs(containers.logPath(record.id), {
      follow: follow && running,
      ...(tail !== undefined ? { tail } : {}),
      ...(since !== undefined ? { since } : {}),
      ...(until !== undefined ? { until } : {}),
      exited: containers.wait(record.id, 'not-running', abort.signal).catch(() => undefined),
      signal: abort.signal,
      onEntry: (entry) => writeEntry(res, entry, { stdout, stderr, tty, timestamps, details }),
    });
    res.end();
  });

  /** Parks an attach until the container's next start through POST /start (which releases it with the log offset). */
  const waitForStart = (id: string, signal: AbortSignal): Promise<number | undefined> =>
    new Promise<number | undefined>((resolve) => {
      const list = pendingAttaches.get(id) ?? [];
      const begin = (o: number | undefined): void => resolve(o);
      list.push(begin);
      pendingAttaches.set(id, list);
      signal.addEventListener('abort', () => {
        const remaining = (pendingAttaches.get(id) ?? []).filter((b) => b !== begin);
        if (remaining.length) pendingAttaches.set(id, remaining);
        else pendingAttaches.delete(id);
        resolve(undefined);
      });
    });
  router.add('POST', '/containers/{id}/attach', (ctx) => attachContainer(engine, ctx, waitForStart));
}

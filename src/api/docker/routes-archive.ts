/** /containers/{id}/archive (HEAD, GET, PUT: docker cp) and /containers/{id}/export. */
import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { archivePath, encodePathStat, exportRootfs, extractArchive, ReadOnlyTargetError, rootMounts, statPath } from '../../containers/archive.js';
import { invalidArgument } from '../../core/errors.js';
import type { Engine } from '../../engine/engine.js';
import { commonHeaders, queryBool, sendEmpty, sendJson, type Router } from './http.js';

const STAT_HEADER = 'X-Docker-Container-Path-Stat';

function pathParam(query: URLSearchParams): string {
  const path = query.get('path');
  if (!path) throw invalidArgument('bad parameter: path cannot be empty');
  return path;
}

/** Copies a tar to the response with backpressure; a client that goes away stops the tar. */
async function sendTar(res: ServerResponse, tar: Readable, done: Promise<void>): Promise<void> {
  res.on('close', () => {
    if (!res.writableFinished) tar.destroy();
  });
  try {
    for await (const chunk of tar) {
      if (res.destroyed) break;
      if (!res.write(chunk as Buffer)) await drainOrClose(res);
    }
    await done;
    res.end();
  } catch {
    // Headers are out: all that can be said is an incomplete tar.
    res.destroy();
  }
}

function drainOrClose(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

export function registerArchiveRoutes(router: Router, engine: Engine): void {
  const containers = engine.containers;

  router.add('GET', '/containers/{id}/archive', async ({ req, res, params, query }) => {
    const name = params[0] as string;
    const path = pathParam(query);
    const mounts = rootMounts(containers.get(name));
    if (req.method === 'HEAD') {
      const stat = await containers.withRootfs(name, {}, async (rootfs) => statPath(rootfs, mounts, path, name));
      res.writeHead(200, { ...commonHeaders(), [STAT_HEADER]: encodePathStat(stat), 'Content-Type': 'application/json' });
      res.end();
      return;
    }
    await containers.withRootfs(name, {}, async (rootfs) => {
      const { stat, tar, done } = archivePath(rootfs, mounts, path, name);
      res.writeHead(200, { ...commonHeaders(), [STAT_HEADER]: encodePathStat(stat), 'Content-Type': 'application/x-tar' });
      await sendTar(res, tar, done);
    });
  });

  router.add('PUT', '/containers/{id}/archive', async ({ req, res, params, query }) => {
    const name = params[0] as string;
    const path = pathParam(query);
    const record = containers.get(name);
    const options = {
      noOverwriteDirNonDir: queryBool(query, 'noOverwriteDirNonDir'),
      copyUIDGID: queryBool(query, 'copyUIDGID'),
      readonlyRootfs: record.request.readonlyRootfs,
    };
    try {
      await containers.withRootfs(record.id, { freeze: true }, (rootfs) => extractArchive(rootfs, rootMounts(record), path, name, req, options));
    } catch (err) {
      // The client may still be sending: let the rest of the body go by before answering.
      req.resume();
      if (!(err instanceof ReadOnlyTargetError)) throw err;
      sendJson(res, 403, { message: err.message });
      return;
    }
    sendEmpty(res, 200);
  });

  router.add('GET', '/containers/{id}/export', async ({ res, params }) => {
    await containers.withRootfs(params[0] as string, {}, async (rootfs) => {
      const { tar, done } = exportRootfs(rootfs);
      res.writeHead(200, { ...commonHeaders(), 'Content-Type': 'application/x-tar' });
      await sendTar(res, tar, done);
    });
  });
}

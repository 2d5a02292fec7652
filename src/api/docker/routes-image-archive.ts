/** /images/get, /images/{name}/get, /images/load, /commit and the import half of /images/create. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { errorMessage, invalidArgument } from '../../core/errors.js';
import type { Engine } from '../../engine/engine.js';
import { commitContainer, executeLoad, importImage, prepareSave, readLoadArchive, saveArchive, targetName, withStaging } from '../../engine/image-archive.js';
import type { JsonMessage } from '../../engine/progress.js';
import type { ImageRuntimeConfig } from '../../oci/image.js';
import { commonHeaders, queryBool, readJsonBody, sendJson, type Router } from './http.js';

function streamHeaders(res: ServerResponse, contentType: string): (m: JsonMessage) => void {
  res.writeHead(200, { ...commonHeaders(), 'Content-Type': contentType });
  res.flushHeaders();
  return (m) => {
    if (!res.destroyed) res.write(JSON.stringify(m) + '\r\n');
  };
}

async function save(engine: Engine, names: string[], res: ServerResponse): Promise<void> {
  const images = await prepareSave(engine, names);
  res.writeHead(200, { ...commonHeaders(), 'Content-Type': 'application/x-tar' });
  try {
    await pipeline(saveArchive(images), res);
  } catch {
    // The tar is already partly sent: all that is left is to cut it short so the client sees an error.
    res.destroy();
  }
}

/**
 * Reads (and drops) what is left of a request body after an error, so the client, still
 * sending, gets to read the error response instead of a reset connection.
 */
async function drain(req: IncomingMessage): Promise<void> {
  if (req.readableEnded || req.destroyed) return;
  req.unpipe();
  await new Promise<void>((resolve) => {
    req.on('end', resolve);
    req.on('error', () => resolve());
    req.on('close', () => resolve());
    req.resume();
  });
}

const configFields = ['User', 'ExposedPorts', 'Env', 'Entrypoint', 'Cmd', 'Volumes', 'WorkingDir', 'Labels', 'StopSignal', 'OnBuild', 'Healthcheck'] as const;

/** The optional commit body: a container config; only the fields an image config has are taken. */
async function commitBody(req: IncomingMessage): Promise<ImageRuntimeConfig | undefined> {
  const body = await readJsonBody<unknown>(req);
  if (body === undefined || body === null) return undefined;
  if (typeof body !== 'object' || Array.isArray(body)) throw invalidArgument('commit: the body must be a JSON object (a container config)');
  const raw = body as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const field of configFields) {
    const value = raw[field];
    if (value === undefined || value === null || value === '') continue;
    const isList = field === 'Env' || field === 'Entrypoint' || field === 'Cmd' || field === 'OnBuild';
    if (isList && !(Array.isArray(value) && value.every((v) => typeof v === 'string'))) throw invalidArgument(`commit: ${field} must be a list of strings`);
    if ((field === 'User' || field === 'WorkingDir' || field === 'StopSignal') && typeof value !== 'string') throw invalidArgument(`commit: ${field} must be a string`);
    if ((field === 'ExposedPorts' || field === 'Volumes' || field === 'Labels' || field === 'Healthcheck') && (typeof value !== 'object' || Array.isArray(value))) {
      throw invalidArgument(`commit: ${field} must be an object`);
    }
    if (isList && (value as string[]).length === 0) continue;
    out[field] = value;
  }
  return out as ImageRuntimeConfig;
}

/** POST /images/create?fromSrc=-: `docker import` of the request body. */
export async function importFromRequest(engine: Engine, req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void> {
  let id: string;
  try {
    const src = query.get('fromSrc') ?? '';
    if (src !== '-') throw invalidArgument(`import from "${src}": berth imports only from the request body (fromSrc=-)`);
    const platform = query.get('platform');
    const host = `linux/${process.arch === 'x64' ? 'amd64' : process.arch}`;
    if (platform && platform !== 'linux' && platform !== host) throw invalidArgument(`platform ${platform} is not supported: berth imports for ${host} only`);
    const name = targetName(query.get('repo') || undefined, query.get('tag') || undefined);
    id = await importImage(engine, req, {
      ...(name ? { name } : {}),
      message: query.get('message') || `Imported from ${src}`,
      changes: query.getAll('changes'),
    });
  } catch (err) {
    await drain(req);
    throw err;
  }
  streamHeaders(res, 'application/json')({ status: id });
  res.end();
}

export function registerImageArchiveRoutes(router: Router, engine: Engine): void {
  router.add('GET', '/images/get', async ({ res, query }) => {
    await save(engine, query.getAll('names').flatMap((n) => n.split(',')).filter(Boolean), res);
  });

  router.add('GET', '/images/{name*}/get', async ({ res, params }) => {
    await save(engine, [params[0] as string], res);
  });

  router.add('POST', '/images/load', async ({ req, res, query }) => {
    const quiet = query.get('quiet') === null ? true : queryBool(query, 'quiet');
    await withStaging(engine, 'load', async (staging) => {
      // Everything wrong with the archive itself is found here, before any output: a 400.
      const images = await readLoadArchive(req, staging).catch(async (err: unknown) => {
        await drain(req);
        throw err;
      });
      const write = streamHeaders(res, 'application/json');
      try {
        await engine.withContentLease(() => executeLoad(engine, images, quiet, write));
      } catch (err) {
        const message = errorMessage(err);
        write({ errorDetail: { message }, error: message });
        await engine.collectGarbage();
      }
    });
    // Ended only once the staging directory is gone: when the client sees the end, nothing is left behind.
    res.end();
  });

  router.add('POST', '/commit', async ({ req, res, query }) => {
    const container = query.get('container');
    if (!container) throw invalidArgument('commit: the container query parameter is required');
    const config = await commitBody(req);
    const name = targetName(query.get('repo') || undefined, query.get('tag') || undefined);
    // API >= 1.13 pauses by default; `pause=0` commits a running container as it runs.
    const pause = query.get('pause') === null || query.get('pause') === '' ? true : queryBool(query, 'pause');
    const id = await commitContainer(engine, {
      container,
      ...(name ? { name } : {}),
      comment: query.get('comment') ?? '',
      author: query.get('author') ?? '',
      pause,
      changes: query.getAll('changes'),
      ...(config ? { config } : {}),
    });
    sendJson(res, 201, { Id: id });
  });
}

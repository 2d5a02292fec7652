/** /images/*: pull (create), list, inspect, tag, remove. */
import { invalidArgument } from '../../core/errors.js';
import type { Engine } from '../../engine/engine.js';
import type { JsonMessage } from '../../engine/progress.js';
import type { AuthConfig } from '../../registry/auth.js';
import { commonHeaders, parseFilters, queryBool, sendJson, type Router } from './http.js';
import { imageInspect, imageSummary } from './convert.js';
import { imageFilter } from './image-filters.js';
import { pruneFilter } from './prune-filters.js';
import { importFromRequest } from './routes-image-archive.js';

/** X-Registry-Auth: base64url JSON of Docker's AuthConfig; `e30=` (`{}`) means anonymous. */
export function parseRegistryAuth(header: string | string[] | undefined): AuthConfig | undefined {
  if (typeof header !== 'string' || !header) return undefined;
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(Buffer.from(header.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8')) as Record<string, unknown>;
  } catch {
    throw invalidArgument('invalid X-Registry-Auth header: expected base64-encoded JSON');
  }
  const s = (k: string): string | undefined => (typeof parsed[k] === 'string' && parsed[k] ? (parsed[k] as string) : undefined);
  const auth: AuthConfig = {};
  const username = s('username');
  const password = s('password');
  const identityToken = s('identitytoken');
  const registryToken = s('registrytoken');
  if (username) auth.username = username;
  if (password) auth.password = password;
  if (identityToken) auth.identityToken = identityToken;
  if (registryToken) auth.registryToken = registryToken;
  return Object.keys(auth).length ? auth : undefined;
}

export function registerImageRoutes(router: Router, engine: Engine): void {
  router.add('POST', '/images/create', async ({ req, res, query }) => {
    const fromImage = query.get('fromImage');
    if (!fromImage) {
      if (query.get('fromSrc')) return importFromRequest(engine, req, res, query);
      throw invalidArgument('fromImage is required');
    }
    const tag = query.get('tag') ?? '';
    const ref = tag ? (tag.startsWith('sha256:') ? `${fromImage}@${tag}` : `${fromImage}:${tag}`) : fromImage;
    const platform = query.get('platform');
    if (platform && !/^linux(\/(amd64|x86_64))?$/.test(platform) && platform !== `linux/${process.arch === 'x64' ? 'amd64' : process.arch}`) {
      throw invalidArgument(`platform ${platform} is not supported: berth pulls for this host's platform only`);
    }
    const pull = await engine.preparePull(ref, parseRegistryAuth(req.headers['x-registry-auth']));
    res.writeHead(200, { ...commonHeaders(), 'Content-Type': 'application/json' });
    res.flushHeaders();
    const write = (m: JsonMessage): void => {
      if (!res.destroyed) res.write(JSON.stringify(m) + '\r\n');
    };
    try {
      await pull.run(write);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      write({ errorDetail: { message }, error: message });
    }
    res.end();
  });

  router.add('GET', '/images/json', ({ res, query }) => {
    const matches = imageFilter(engine, parseFilters(query.get('filters')));
    const images = engine.images
      .list()
      .sort((a, b) => b.addedAt - a.addedAt)
      .filter(matches);
    sendJson(res, 200, images.map((i) => imageSummary(engine, i)));
  });

  router.add('POST', '/images/prune', async ({ res, query }) => {
    const filters = parseFilters(query.get('filters'));
    const filter = pruneFilter(filters, ['dangling', 'until', 'label', 'label!']);
    const dangling = filters.dangling?.[0] ?? 'true';
    if (!['true', 'false', '1', '0'].includes(dangling)) throw invalidArgument(`invalid filter 'dangling=${dangling}'`);
    const { deleted, reclaimed } = await engine.pruneImages(dangling === 'false' || dangling === '0', (image) =>
      filter.selects(Date.parse(image.config.created ?? '') || 0, image.config.config?.Labels ?? {}),
    );
    sendJson(res, 200, { ImagesDeleted: deleted.length ? deleted : null, SpaceReclaimed: reclaimed });
  });

  router.add('GET', '/images/{name*}/history', async ({ res, params }) => {
    sendJson(res, 200, await engine.imageHistory(params[0] as string));
  });

  router.add('GET', '/images/{name*}/json', ({ res, params }) => {
    sendJson(res, 200, imageInspect(engine, engine.resolveImage(params[0] as string)));
  });

  router.add('POST', '/images/{name*}/tag', ({ res, params, query }) => {
    const repo = query.get('repo');
    if (!repo) throw invalidArgument('repository name is required');
    engine.tagImage(params[0] as string, repo, query.get('tag') || undefined);
    res.writeHead(201, commonHeaders());
    res.end();
  });

  router.add('DELETE', '/images/{name*}', async ({ res, params, query }) => {
    sendJson(res, 200, await engine.removeImage(params[0] as string, queryBool(query, 'force')));
  });
}

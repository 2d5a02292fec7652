/** GET /system/df (docker system df) and POST /build/prune (part of docker system prune). */
import { invalidArgument } from '../../core/errors.js';
import type { Engine } from '../../engine/engine.js';
import { containerSummary, imageSummary } from './convert.js';
import { sendJson, type Router } from './http.js';
import { volumeDoc } from './routes-volumes.js';
import { directorySize } from '../../core/du.js';

const dfTypes = new Set(['container', 'image', 'volume', 'build-cache']);

export function registerDiskUsageRoutes(router: Router, engine: Engine): void {
  router.add('GET', '/system/df', async ({ res, query }) => {
    const types = query.getAll('type');
    for (const t of types) if (!dfTypes.has(t)) throw invalidArgument(`unknown object type: ${t}`);
    const want = (t: string): boolean => types.length === 0 || types.includes(t);
    const containers = engine.containers.list();
    const body: Record<string, unknown> = {};

    if (want('image')) {
      const images = engine.images.list().sort((a, b) => b.addedAt - a.addedAt);
      const layerUsers = new Map<string, number>();
      for (const image of images) for (const chain of new Set(image.chainIds)) layerUsers.set(chain, (layerUsers.get(chain) ?? 0) + 1);
      const layerSize = new Map<string, number>();
      for (const chain of layerUsers.keys()) layerSize.set(chain, (await engine.snapshots.layerInfo(chain as `sha256:${string}`))?.size ?? 0);
      body.LayersSize = [...layerSize.values()].reduce((a, b) => a + b, 0);
      body.Images = images.map((image) => ({
        ...imageSummary(engine, image),
        Containers: containers.filter((c) => c.imageId === image.id).length,
        SharedSize: [...new Set(image.chainIds)].filter((c) => (layerUsers.get(c) ?? 0) > 1).reduce((sum, c) => sum + (layerSize.get(c) ?? 0), 0),
      }));
    }
    if (want('container')) {
      const docs = [];
      for (const c of containers.sort((a, b) => Date.parse(b.created) - Date.parse(a.created))) {
        const sizeRw = await directorySize(engine.snapshots.activeUpperPath(c.id));
        const image = engine.images.find(c.imageId);
        docs.push({ ...containerSummary(engine, c), SizeRw: sizeRw, SizeRootFs: sizeRw + (image?.size ?? 0) });
      }
      body.Containers = docs;
    }
    if (want('volume')) {
      const docs = [];
      for (const v of engine.volumes.list()) {
        docs.push({ ...volumeDoc(engine, v), UsageData: { Size: await directorySize(engine.volumes.dataPath(v.name)), RefCount: engine.containers.usingVolume(v.name).length } });
      }
      body.Volumes = docs;
    }
    if (want('build-cache')) body.BuildCache = [];
    sendJson(res, 200, body);
  });

  // berth has no builder yet, so there is never build cache to remove.
  router.add('POST', '/build/prune', ({ res }) => {
    sendJson(res, 200, { CachesDeleted: null, SpaceReclaimed: 0 });
  });
}

/** GET /containers/{id}/stats: one sample, or one per second while the client listens. */
import { invalidArgument } from '../../core/errors.js';
import { emptyStats, sampleStats, type StatsResponse } from '../../containers/stats.js';
import type { Engine } from '../../engine/engine.js';
import { commonHeaders, queryBool, sendJson, type Router } from './http.js';

const INTERVAL_MS = 1000;

export function registerStatsRoutes(router: Router, engine: Engine): void {
  const containers = engine.containers;
  const isRunning = (id: string): boolean => {
    const status = containers.find(id)?.state.status;
    return status === 'running' || status === 'paused';
  };
  /** A sample of the container as it is now (an empty one once it has stopped or gone). */
  const sample = async (id: string, previous?: StatsResponse): Promise<StatsResponse | undefined> => {
    const record = containers.find(id);
    if (!record) return undefined;
    return isRunning(id) ? sampleStats(record, containers.bundle(id), previous) : emptyStats(record);
  };

  router.add('GET', '/containers/{id}/stats', async ({ res, params, query }) => {
    const record = containers.get(params[0] as string);
    const stream = query.get('stream') === null ? true : queryBool(query, 'stream');
    const oneShot = queryBool(query, 'one-shot');
    if (oneShot && stream) throw invalidArgument('cannot have stream=true and one-shot=true');

    if (!stream) {
      if (!isRunning(record.id)) {
        sendJson(res, 200, emptyStats(record));
        return;
      }
      // Without one-shot dockerd waits for a second sample, so precpu_stats is filled.
      const first = await sample(record.id);
      const result = oneShot ? first : await delay(INTERVAL_MS).then(() => sample(record.id, first));
      sendJson(res, 200, result ?? emptyStats(record));
      return;
    }

    res.writeHead(200, { ...commonHeaders(), 'Content-Type': 'application/json' });
    res.flushHeaders();
    let closed = false;
    res.on('close', () => (closed = true));
    let previous: StatsResponse | undefined;
    while (!closed) {
      const current = await sample(record.id, previous);
      if (!current) break; // removed
      if (!closed) res.write(JSON.stringify(current) + '\n');
      previous = current;
      await delay(INTERVAL_MS);
    }
    if (!res.writableEnded) res.end();
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

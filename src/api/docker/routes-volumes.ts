/** /volumes/*: create, list, inspect, remove, prune (the `local` driver). */
import { invalidArgument } from '../../core/errors.js';
import type { Engine } from '../../engine/engine.js';
import type { VolumeFilters, VolumeRecord } from '../../volumes/store.js';
import { parseFilters, queryBool, readJsonBody, sendEmpty, sendJson, type Router } from './http.js';

type Json = Record<string, unknown>;

/** The API's Volume object; empty Labels/Options are null, as dockerd sends them. */
export function volumeDoc(engine: Engine, v: VolumeRecord): Json {
  return {
    CreatedAt: v.createdAt,
    Driver: v.driver,
    Labels: Object.keys(v.labels).length ? v.labels : null,
    Mountpoint: engine.volumes.dataPath(v.name),
    Name: v.name,
    Options: Object.keys(v.options).length ? v.options : null,
    Scope: 'local',
  };
}

function stringMap(value: unknown, field: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw invalidArgument(`json: cannot unmarshal ${Array.isArray(value) ? 'array' : typeof value} into Go struct field CreateOptions.${field} of type map[string]string`);
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw invalidArgument(`json: cannot unmarshal ${typeof v} into Go struct field CreateOptions.${field} (key ${k}) of type string`);
  }
  return value as Record<string, string>;
}

function optionalString(value: unknown, field: string): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw invalidArgument(`json: cannot unmarshal ${typeof value} into Go struct field CreateOptions.${field} of type string`);
  return value;
}

function boolFilter(values: string[], name: string): boolean {
  const v = values[values.length - 1] ?? '';
  if (['1', 'true', 'True'].includes(v)) return true;
  if (['0', 'false', 'False'].includes(v)) return false;
  throw invalidArgument(`invalid filter '${name}=${v}'`);
}

/** Older API versions (< 1.42) prune every unused volume; newer ones only anonymous ones unless `all`. */
function versionAtLeast(version: string, major: number, minor: number): boolean {
  const [a = 0, b = 0] = version.split('.').map(Number);
  return a > major || (a === major && b >= minor);
}

export function registerVolumeRoutes(router: Router, engine: Engine): void {
  const volumes = engine.volumes;

  router.add('GET', '/volumes', ({ res, query }) => {
    const raw = parseFilters(query.get('filters'));
    const filters: VolumeFilters = {};
    for (const [key, values] of Object.entries(raw)) {
      switch (key) {
        case 'dangling':
          filters.dangling = boolFilter(values, key);
          break;
        case 'name':
          filters.names = values;
          break;
        case 'driver':
          filters.drivers = values;
          break;
        case 'label':
          filters.labels = values;
          break;
        default:
          throw invalidArgument(`invalid filter '${key}'`);
      }
    }
    sendJson(res, 200, { Volumes: volumes.list(filters).map((v) => volumeDoc(engine, v)), Warnings: null });
  });

  router.add('POST', '/volumes/create', async ({ req, res }) => {
    const body = (await readJsonBody<unknown>(req)) ?? {};
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalidArgument('invalid JSON body: expected an object');
    const b = body as Json;
    const volume = await volumes.create({
      name: optionalString(b.Name, 'Name'),
      driver: optionalString(b.Driver, 'Driver'),
      options: stringMap(b.DriverOpts, 'DriverOpts'),
      labels: stringMap(b.Labels, 'Labels'),
    });
    sendJson(res, 201, volumeDoc(engine, volume));
  });

  router.add('POST', '/volumes/prune', async ({ res, query, apiVersion }) => {
    const raw = parseFilters(query.get('filters'));
    let all = !versionAtLeast(apiVersion, 1, 42);
    const labels = { include: [] as string[], exclude: [] as string[] };
    for (const [key, values] of Object.entries(raw)) {
      if (key === 'all') all = boolFilter(values, key);
      else if (key === 'label') labels.include.push(...values);
      else if (key === 'label!') labels.exclude.push(...values);
      else throw invalidArgument(`invalid filter '${key}'`);
    }
    const { names, reclaimed } = await volumes.prune(all, labels);
    sendJson(res, 200, { VolumesDeleted: names, SpaceReclaimed: reclaimed });
  });

  router.add('GET', '/volumes/{name}', ({ res, params }) => {
    sendJson(res, 200, volumeDoc(engine, volumes.get(params[0] as string)));
  });

  router.add('DELETE', '/volumes/{name}', async ({ res, params, query }) => {
    await volumes.remove(params[0] as string, queryBool(query, 'force'));
    sendEmpty(res, 204);
  });
}

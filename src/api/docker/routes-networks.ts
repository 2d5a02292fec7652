/** /networks/*: list, inspect, create, remove, connect, disconnect, prune. */
import { invalidArgument } from '../../core/errors.js';
import type { Engine } from '../../engine/engine.js';
import { labelMatches } from './label-filter.js';
import type { NetworkRecord } from '../../network/networks.js';
import { parseFilters, readJsonBody, sendEmpty, sendJson, type Router } from './http.js';
import { createNetworkRequest, networkDoc, refuseUnsupportedEndpointSettings } from './convert-network.js';
import { pruneFilter } from './prune-filters.js';

type Json = Record<string, unknown>;

const listFilters = new Set(['dangling', 'driver', 'id', 'label', 'name', 'scope', 'type']);

function matches(engine: Engine, network: NetworkRecord, filters: Record<string, string[]>): boolean {
  for (const [key, values] of Object.entries(filters)) {
    if (!listFilters.has(key)) throw invalidArgument(`invalid filter '${key}'`);
    const any = (test: (v: string) => boolean): boolean => values.length === 0 || values.some(test);
    const predefined = network.driver !== 'bridge' || network.isDefault;
    switch (key) {
      case 'driver': if (!any((v) => v === network.driver)) return false; break;
      case 'id': if (!any((v) => network.id.startsWith(v))) return false; break;
      case 'name': if (!any((v) => network.name.includes(v))) return false; break;
      case 'label': if (!values.every((v) => labelMatches(network.labels, v))) return false; break;
      case 'scope': if (!any((v) => v === 'local')) return false; break;
      case 'type':
        for (const v of values) if (v !== 'custom' && v !== 'builtin') throw invalidArgument(`invalid filter: 'type'='${v}'`);
        if (!any((v) => (v === 'builtin') === predefined)) return false;
        break;
      case 'dangling': {
        const dangling = !predefined && !usedByAnyContainer(engine, network);
        if (!any((v) => (v === 'true' || v === '1') === dangling)) return false;
        break;
      }
    }
  }
  return true;
}

function usedByAnyContainer(engine: Engine, network: NetworkRecord): boolean {
  return engine.containers.list().some((c) => {
    const n = c.request.network;
    const names = n.endpoints.length ? n.endpoints.map((e) => e.network) : [n.mode];
    return names.some((name) => name === network.name || name === network.id || (network.isDefault && (name === 'default' || name === 'bridge')));
  });
}

export function registerNetworkRoutes(router: Router, engine: Engine): void {
  const networks = engine.network;

  router.add('GET', '/networks', ({ res, query }) => {
    const filters = parseFilters(query.get('filters'));
    sendJson(res, 200, networks.store.list().filter((n) => matches(engine, n, filters)).map((n) => networkDoc(engine, n)));
  });

  router.add('GET', '/networks/{id}', ({ res, params }) => {
    sendJson(res, 200, networkDoc(engine, networks.store.get(params[0] as string)));
  });

  router.add('POST', '/networks/create', async ({ req, res }) => {
    const request = createNetworkRequest(await readJsonBody<Json>(req));
    const record = await networks.createNetwork(request);
    sendJson(res, 201, { Id: record.id, Warning: '' });
  });

  router.add('DELETE', '/networks/{id}', async ({ res, params }) => {
    await networks.removeNetwork(params[0] as string);
    sendEmpty(res, 204);
  });

  router.add('POST', '/networks/{id}/connect', async ({ req, res, params }) => {
    const body = (await readJsonBody<Json>(req)) ?? {};
    if (typeof body.Container !== 'string' || !body.Container) throw invalidArgument('a container name or ID is required');
    const config = (body.EndpointConfig ?? {}) as Json;
    if (typeof config !== 'object' || Array.isArray(config)) throw invalidArgument('EndpointConfig must be an object');
    const ipam = (config.IPAMConfig ?? {}) as Json;
    const network = networks.store.get(params[0] as string);
    refuseUnsupportedEndpointSettings(config, network.name);
    const str = (v: unknown, field: string): string => {
      if (v === undefined || v === null) return '';
      if (typeof v !== 'string') throw invalidArgument(`${field} must be a string`);
      return v;
    };
    const aliases = config.Aliases ?? [];
    if (!Array.isArray(aliases) || !aliases.every((a) => typeof a === 'string')) throw invalidArgument('EndpointConfig.Aliases must be a list of strings');
    await engine.containers.connectNetwork(body.Container, {
      network: network.name,
      aliases: aliases as string[],
      ipv4Address: str(ipam.IPv4Address, 'IPAMConfig.IPv4Address'),
      ipv6Address: str(ipam.IPv6Address, 'IPAMConfig.IPv6Address'),
      macAddress: str(config.MacAddress, 'EndpointConfig.MacAddress'),
    });
    sendEmpty(res, 200);
  });

  router.add('POST', '/networks/{id}/disconnect', async ({ req, res, params }) => {
    const body = (await readJsonBody<Json>(req)) ?? {};
    if (typeof body.Container !== 'string' || !body.Container) throw invalidArgument('a container name or ID is required');
    await engine.containers.disconnectNetwork(body.Container, params[0] as string);
    sendEmpty(res, 200);
  });

  router.add('POST', '/networks/prune', async ({ res, query }) => {
    const filter = pruneFilter(parseFilters(query.get('filters')), ['until', 'label', 'label!']);
    const deleted = await networks.prune((network) => !usedByAnyContainer(engine, network) && filter.selects(Date.parse(network.created), network.labels));
    sendJson(res, 200, { NetworksDeleted: deleted.length ? deleted : null });
  });
}

/** GET /containers/json `filters`, with dockerd's keys and semantics (daemon/list.go). */
import { invalidArgument, isBerthError } from '../../core/errors.js';
import type { ContainerRecord } from '../../containers/types.js';
import type { Engine } from '../../engine/engine.js';
import { labelMatches } from './label-filter.js';
import { parsePortKey } from './convert-network.js';

const statuses = new Set(['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead']);
const keys = new Set(['id', 'name', 'label', 'status', 'exited', 'ancestor', 'before', 'since', 'network', 'publish', 'expose', 'is-task', 'health', 'volume']);

export interface ContainerFilter {
  /** Filters that select stopped containers imply `all`, as in dockerd. */
  impliesAll: boolean;
  matches(record: ContainerRecord): boolean;
}

function nameMatches(name: string, pattern: string): boolean {
  try {
    return new RegExp(pattern).test(name) || new RegExp(pattern).test(`/${name}`);
  } catch {
    return name.includes(pattern);
  }
}

/** moby daemon/list.go: a volume's name (a bind's source) or any mount's destination. */
function mountMatches(record: ContainerRecord, value: string): boolean {
  return (record.mounts ?? []).some((m) => (m.name || m.source) === value || m.destination === value);
}

function portMatches(spec: string, ports: Array<{ port: number; protocol: string }>): boolean {
  const [range, protocol = 'tcp'] = spec.split('/');
  const [low, high] = (range ?? '').split('-').map(Number);
  if (low === undefined || Number.isNaN(low)) throw invalidArgument(`invalid filter: '${spec}' is not a port`);
  return ports.some((p) => p.protocol === protocol && p.port >= low && p.port <= (high ?? low));
}

/** A container's labels as dockerd sees them (Config.Labels): the image's, overridden by its own. */
export function containerLabels(record: ContainerRecord): Record<string, string> {
  return { ...(record.imageConfig.Labels ?? {}), ...record.request.labels };
}

export function containerFilter(engine: Engine, filters: Record<string, string[]>): ContainerFilter {
  for (const key of Object.keys(filters)) if (!keys.has(key)) throw invalidArgument(`invalid filter '${key}'`);
  for (const status of filters.status ?? []) if (!statuses.has(status)) throw invalidArgument(`invalid filter 'status=${status}'`);
  for (const code of filters.exited ?? []) if (!/^-?\d+$/.test(code)) throw invalidArgument(`invalid filter 'exited=${code}'`);
  for (const v of filters['is-task'] ?? []) if (v !== 'true' && v !== 'false') throw invalidArgument(`invalid filter 'is-task=${v}'`);
  for (const v of filters.health ?? []) if (!['starting', 'healthy', 'unhealthy', 'none'].includes(v)) throw invalidArgument(`Unrecognised filter value for health: ${v}`);
  const created = (ref: string): number => Date.parse(engine.containers.get(ref).created);
  const before = filters.before?.map(created);
  const since = filters.since?.map(created);
  const ancestors = (filters.ancestor ?? []).map((ref) => {
    try {
      return { ref, id: engine.resolveImage(ref).id as string };
    } catch (err) {
      if (isBerthError(err, 'not-found')) return { ref, id: '' };
      throw err;
    }
  });
  const networks = (filters.network ?? []).map((ref) => engine.network.store.find(ref)?.id ?? ref);
  const any = (key: string, test: (value: string) => boolean): boolean => {
    const values = filters[key];
    return !values || values.length === 0 || values.some(test);
  };
  const impliesAll = Boolean(filters.status?.length || filters.exited?.length);
  // `ps -a` without filters lists every container: nothing to compute per record.
  if (Object.values(filters).every((values) => values.length === 0)) return { impliesAll, matches: () => true };
  return {
    impliesAll,
    matches(record) {
      const s = record.state;
      const exposed = (): Array<{ port: number; protocol: string }> =>
        Object.keys({ ...(record.imageConfig.ExposedPorts ?? {}), ...record.request.exposedPorts }).map((k) => parsePortKey(k));
      const published = (): Array<{ port: number; protocol: string }> => (record.network?.ports ?? []).map((p) => ({ port: p.hostPort, protocol: p.protocol }));
      const attached = (): string[] => record.request.network.endpoints.map((e) => engine.network.store.find(e.network)?.id ?? e.network);
      return (
        any('id', (v) => record.id.startsWith(v)) &&
        any('name', (v) => nameMatches(record.name, v)) &&
        (filters.label ?? []).every((v) => labelMatches(containerLabels(record), v)) &&
        any('status', (v) => v === s.status) &&
        any('exited', (v) => s.status === 'exited' && s.exitCode === Number(v)) &&
        ancestors.every(({ ref, id }) => record.imageId === id || record.request.image === ref) &&
        (before ?? []).every((t) => Date.parse(record.created) < t) &&
        (since ?? []).every((t) => Date.parse(record.created) > t) &&
        (networks.length === 0 || networks.some((n) => attached().includes(n))) &&
        any('publish', (v) => portMatches(v, published())) &&
        any('expose', (v) => portMatches(v, exposed())) &&
        any('is-task', (v) => v === 'false') &&
        any('health', (v) => v === (engine.health.get(record.id)?.Status ?? 'none')) &&
        any('volume', (v) => mountMatches(record, v))
      );
    },
  };
}

/** GET /events: the engine's events as a stream of JSON objects, with since/until/filters. */
import { invalidArgument } from '../../core/errors.js';
import type { Engine } from '../../engine/engine.js';
import { eventMatches, validateEventFilters, type EngineEvent } from '../../engine/events.js';
import { commonHeaders, parseFilters, type Router } from './http.js';

/**
 * One event as dockerd writes it: the deprecated status/id/from fields first (container and
 * image events only, as dockerd fills them), then the message. timeNano does not fit a double,
 * so it is written from the bigint by hand.
 */
export function encodeEvent(event: EngineEvent): string {
  const legacy: Record<string, string> = {};
  if (event.Type === 'container' || event.Type === 'image') {
    legacy['status'] = event.Action;
    legacy['id'] = event.Actor.ID;
    const from = event.Type === 'container' ? event.Actor.Attributes['image'] : undefined;
    if (from) legacy['from'] = from;
  }
  const { timeNano, ...rest } = event;
  const json = JSON.stringify({ ...legacy, ...rest });
  return `${json.slice(0, -1)},"timeNano":${timeNano.toString()}}\n`;
}

/**
 * Docker's event timestamps: unix seconds with an optional fraction ("1700000000.123456789",
 * what the CLI sends for relative times) or RFC 3339. Returns unix nanoseconds.
 */
export function parseEventTime(value: string | null, name: string): bigint | undefined {
  if (value === null || value === '') return undefined;
  const unix = /^(-?\d+)(?:\.(\d{1,9}))?$/.exec(value);
  if (unix) return BigInt(unix[1] as string) * 1_000_000_000n + BigInt((unix[2] ?? '').padEnd(9, '0'));
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw invalidArgument(`invalid value for ${name}: ${value}: timestamp must be unix seconds[.nanoseconds] or RFC 3339`);
  return BigInt(ms) * 1_000_000n;
}

export function registerEventRoutes(router: Router, engine: Engine): void {
  router.add('GET', '/events', ({ res, query }) => {
    const since = parseEventTime(query.get('since'), 'since');
    const until = parseEventTime(query.get('until'), 'until');
    if (since !== undefined && until !== undefined && until < since) {
      throw invalidArgument(`\`since\` time (${query.get('since')}) cannot be after \`until\` time (${query.get('until')})`);
    }
    const filters = parseFilters(query.get('filters'));
    validateEventFilters(filters);

    res.writeHead(200, { ...commonHeaders(), 'Content-Type': 'application/json' });
    res.flushHeaders();
    const write = (event: EngineEvent): void => {
      if (eventMatches(filters, event) && !res.destroyed) res.write(encodeEvent(event));
    };
    // dockerd replays kept events only when a time bound is given. Replay and subscription
    // happen in one synchronous step, so no event falls between them.
    if (since !== undefined || until !== undefined) for (const event of engine.events.recent(since, until)) write(event);
    const unsubscribe = engine.events.subscribe(write);

    let timer: NodeJS.Timeout | undefined;
    const finish = (): void => {
      unsubscribe();
      if (timer) clearTimeout(timer);
      if (!res.writableEnded) res.end();
    };
    res.on('close', finish);
    // setTimeout takes at most 2^31-1 ms: a far `until` is reached in steps.
    const endAtUntil = (): void => {
      if (until === undefined) return;
      const remainingMs = Number((until - BigInt(Date.now()) * 1_000_000n) / 1_000_000n);
      if (remainingMs <= 0) finish();
      else timer = setTimeout(endAtUntil, Math.min(remainingMs, 2 ** 31 - 1));
    };
    endAtUntil();
  });
}

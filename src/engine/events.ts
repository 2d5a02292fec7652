/**
 * The engine's events bus (docker events): publish/subscribe, with the latest events kept in a
 * bounded ring so a subscriber asking for `since` gets the recent past replayed, as dockerd does
 * (daemon/events keeps 256; berth keeps more because `run --rm` alone makes five).
 */
import { invalidArgument } from '../core/errors.js';
import { familiarName, tryParseReference } from '../registry/reference.js';

export type EventType = 'container' | 'image' | 'volume' | 'network' | 'daemon' | 'plugin' | 'node' | 'service' | 'secret' | 'config';
const EVENT_TYPES: readonly string[] = ['container', 'image', 'volume', 'network', 'daemon', 'plugin', 'node', 'service', 'secret', 'config'];

export interface EventActor {
  ID: string;
  Attributes: Record<string, string>;
}

export interface EngineEvent {
  Type: EventType;
  Action: string;
  Actor: EventActor;
  scope: 'local';
  /** Unix seconds. */
  time: number;
  /** Unix nanoseconds: beyond a double's precision, hence a bigint. */
  timeNano: bigint;
}

/** Docker's `filters` for events: key → accepted values (values of one key OR, keys AND). */
export type EventFilters = Record<string, string[]>;

export type EventListener = (event: EngineEvent) => void;

// Wall-clock nanoseconds that never go backwards within this process: the wall clock is read
// once and advanced with the monotonic clock, so events keep their publication order.
const clockBase = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
function nowNanos(): bigint {
  return clockBase + process.hrtime.bigint();
}

export class EventBus {
  private readonly ring: EngineEvent[] = [];
  private readonly listeners = new Set<EventListener>();

  constructor(private readonly capacity = 1024) {}

  publish(type: EventType, action: string, actor: EventActor): EngineEvent {
    const timeNano = nowNanos();
    const event: EngineEvent = {
      Type: type,
      Action: action,
      Actor: { ID: actor.ID, Attributes: sortedAttributes(actor.Attributes) },
      scope: 'local',
      time: Number(timeNano / 1_000_000_000n),
      timeNano,
    };
    this.ring.push(event);
    if (this.ring.length > this.capacity) this.ring.shift();
    for (const listener of this.listeners) listener(event);
    return event;
  }

  /** Calls `listener` for every event published from now on; returns the unsubscribe function. */
  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Kept events with since ≤ timeNano ≤ until (either bound optional), oldest first. */
  recent(sinceNano?: bigint, untilNano?: bigint): EngineEvent[] {
    return this.ring.filter((e) => (sinceNano === undefined || e.timeNano >= sinceNano) && (untilNano === undefined || e.timeNano <= untilNano));
  }
}

/** Go marshals maps with sorted keys; clients comparing event JSON expect the same order. */
function sortedAttributes(attributes: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(attributes).sort()) out[key] = attributes[key] as string;
  return out;
}

// ---- filters (moby daemon/events/filter.go semantics) ------------------------------------------

const FILTER_KEYS = new Set(['config', 'container', 'daemon', 'event', 'image', 'label', 'network', 'node', 'plugin', 'scope', 'secret', 'service', 'type', 'volume']);

/** Rejects filters dockerd would reject: unknown keys, unknown event types or scopes. */
export function validateEventFilters(filters: EventFilters): void {
  for (const [key, values] of Object.entries(filters)) {
    if (!FILTER_KEYS.has(key)) throw invalidArgument(`invalid filter '${key}'`);
    if (key === 'type') for (const v of values) if (!EVENT_TYPES.includes(v)) throw invalidArgument(`invalid filter 'type=${v}'`);
    if (key === 'scope') for (const v of values) if (v !== 'local' && v !== 'swarm') throw invalidArgument(`invalid filter 'scope=${v}'`);
  }
}

const exactMatch = (values: string[] | undefined, source: string): boolean => !values || values.length === 0 || values.includes(source);
const fuzzyMatch = (values: string[] | undefined, source: string): boolean => !values || values.length === 0 || values.some((v) => source === v || source.startsWith(v));

/** Whether `event` passes `filters`. */
export function eventMatches(filters: EventFilters, event: EngineEvent): boolean {
  const attrs = event.Actor.Attributes;
  // "exec_create"/"exec_start"/"health_status" without the ": …" detail match by prefix (moby #25798).
  const events = filters['event'];
  const fuzzyEvent = events?.some((v) => v === 'exec_create' || v === 'exec_start' || v === 'health_status');
  if (!(fuzzyEvent ? fuzzyMatch(events, event.Action) : exactMatch(events, event.Action))) return false;
  if (!exactMatch(filters['type'], event.Type)) return false;
  if (!exactMatch(filters['scope'], event.scope)) return false;
  // container=, volume=, … match the actor's ID or name by prefix, whatever the event's type.
  for (const key of ['daemon', 'container', 'plugin', 'volume', 'network', 'node', 'service', 'secret', 'config']) {
    const values = filters[key];
    if (!fuzzyMatch(values, event.Actor.ID) && !fuzzyMatch(values, attrs['name'] ?? '')) return false;
  }
  if (!matchImage(filters['image'], event)) return false;
  return matchLabels(filters['label'], attrs);
}

function matchImage(values: string[] | undefined, event: EngineEvent): boolean {
  if (!values || values.length === 0) return true;
  const name = event.Actor.Attributes[event.Type === 'image' ? 'name' : 'image'] ?? '';
  const id = event.Actor.ID;
  return [id, name, stripTag(id), stripTag(name)].some((candidate) => values.includes(candidate));
}

function stripTag(image: string): string {
  const ref = tryParseReference(image);
  return ref ? familiarName(ref) : image;
}

/** Every `label` filter (`key` or `key=value`) must hold. */
function matchLabels(values: string[] | undefined, attributes: Record<string, string>): boolean {
  if (!values || values.length === 0) return true;
  return values.every((filter) => {
    const eq = filter.indexOf('=');
    if (eq < 0) return Object.hasOwn(attributes, filter);
    const key = filter.slice(0, eq);
    return Object.hasOwn(attributes, key) && attributes[key] === filter.slice(eq + 1);
  });
}

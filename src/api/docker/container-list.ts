/**
 * The body of GET /containers/json from cached JSON text: `ps` of 1000 containers must not
 * build and serialize 1000 objects per call. A container's summary changes only when its
 * record is saved (the manager then hands out a new record object, so a WeakMap keyed by the
 * object forgets the old text by itself) or when a network is created or removed (the
 * network store's generation). Only Status ("Up 3 minutes") moves with the clock: it is
 * rendered on every call, into the cached text around it.
 */
import type { ContainerRecord } from '../../containers/types.js';
import type { Engine } from '../../engine/engine.js';
import { containerSummary, statusText } from './convert.js';
import { networkLookup } from './convert-network.js';

/** A value no real status can take, replaced by the rendered status. */
const STATUS_MARK = '\u0000status\u0000';
const STATUS_MARK_JSON = JSON.stringify(STATUS_MARK);

interface CachedSummary {
  networkGeneration: number;
  /** The summary's JSON up to Status's value, and from after it. */
  head: string;
  tail: string;
}

export class ContainerListCache {
  private readonly summaries = new WeakMap<ContainerRecord, CachedSummary>();

  constructor(private readonly engine: Engine) {}

  /** The JSON array of the records' summaries, in the order given. */
  render(records: readonly ContainerRecord[], now = Date.now()): string {
    const networkGeneration = this.engine.network.store.generation;
    const findNetwork = networkLookup(this.engine);
    const parts: string[] = [];
    for (const record of records) {
      let cached = this.summaries.get(record);
      if (!cached || cached.networkGeneration !== networkGeneration) {
        const text = JSON.stringify({ ...containerSummary(this.engine, record, findNetwork), Status: STATUS_MARK });
        const at = text.indexOf(STATUS_MARK_JSON);
        cached = { networkGeneration, head: text.slice(0, at), tail: text.slice(at + STATUS_MARK_JSON.length) };
        this.summaries.set(record, cached);
      }
      parts.push(cached.head + JSON.stringify(statusText(record, now, this.engine.health.get(record.id))) + cached.tail);
    }
    return `[${parts.join(',')}]`;
  }
}

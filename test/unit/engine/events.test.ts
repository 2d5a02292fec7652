/** The events bus (ring, replay bounds) and moby's event filter semantics. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventBus, eventMatches, validateEventFilters, type EngineEvent } from '../../../src/engine/events.js';
import { encodeEvent, parseEventTime } from '../../../src/api/docker/routes-events.js';

const container = (action: string, attrs: Record<string, string> = {}): EngineEvent => ({
  Type: 'container',
  Action: action,
  Actor: { ID: 'abc123def456', Attributes: { image: 'busybox:latest', name: 'web', ...attrs } },
  scope: 'local',
  time: 1,
  timeNano: 1_000_000_000n,
});

describe('EventBus', () => {
  it('delivers to subscribers until they unsubscribe, with sorted attributes and growing timeNano', () => {
    const bus = new EventBus();
    const seen: EngineEvent[] = [];
    const off = bus.subscribe((e) => seen.push(e));
    bus.publish('container', 'create', { ID: 'x', Attributes: { name: 'n', image: 'i', a: '1' } });
    bus.publish('container', 'start', { ID: 'x', Attributes: {} });
    off();
    bus.publish('container', 'die', { ID: 'x', Attributes: {} });
    assert.deepEqual(seen.map((e) => e.Action), ['create', 'start']);
    assert.deepEqual(Object.keys(seen[0]!.Actor.Attributes), ['a', 'image', 'name']);
    assert.ok(seen[1]!.timeNano > seen[0]!.timeNano);
    assert.equal(seen[0]!.time, Number(seen[0]!.timeNano / 1_000_000_000n));
    assert.ok(Math.abs(seen[0]!.time - Date.now() / 1000) < 5);
  });

  it('keeps a bounded ring and replays within since/until', () => {
    const bus = new EventBus(3);
    const published = ['a', 'b', 'c', 'd'].map((action) => bus.publish('image', action, { ID: 'i', Attributes: {} }));
    assert.deepEqual(bus.recent().map((e) => e.Action), ['b', 'c', 'd']);
    assert.deepEqual(bus.recent(published[2]!.timeNano).map((e) => e.Action), ['c', 'd']);
    assert.deepEqual(bus.recent(undefined, published[2]!.timeNano).map((e) => e.Action), ['b', 'c']);
  });
});

describe('event filters', () => {
  it('matches type, event, container by ID or name prefix, and ANDs keys', () => {
    assert.equal(eventMatches({}, container('die')), true);
    assert.equal(eventMatches({ type: ['container'] }, container('die')), true);
    assert.equal(eventMatches({ type: ['image'] }, container('die')), false);
    assert.equal(eventMatches({ event: ['die', 'start'] }, container('die')), true);
    assert.equal(eventMatches({ event: ['stop'] }, container('die')), false);
    assert.equal(eventMatches({ container: ['web'] }, container('die')), true);
    assert.equal(eventMatches({ container: ['abc123'] }, container('die')), true);
    assert.equal(eventMatches({ container: ['other'] }, container('die')), false);
    assert.equal(eventMatches({ container: ['web'], event: ['start'] }, container('die')), false);
  });

  it('matches exec_create and health_status without their detail by prefix', () => {
    assert.equal(eventMatches({ event: ['exec_create'] }, container('exec_create: sh -c true')), true);
    assert.equal(eventMatches({ event: ['exec_die'] }, container('exec_create: sh -c true')), false);
    assert.equal(eventMatches({ event: ['exec_die'] }, container('exec_die')), true);
  });

  it('matches image by name, ID, or the name without its tag', () => {
    assert.equal(eventMatches({ image: ['busybox'] }, container('start')), true);
    assert.equal(eventMatches({ image: ['busybox:latest'] }, container('start')), true);
    assert.equal(eventMatches({ image: ['alpine'] }, container('start')), false);
    const tag: EngineEvent = { ...container('tag'), Type: 'image', Actor: { ID: 'sha256:1234', Attributes: { name: 'evtag:1' } } };
    assert.equal(eventMatches({ image: ['evtag'] }, tag), true);
    assert.equal(eventMatches({ image: ['sha256:1234'] }, tag), true);
  });

  it('requires every label filter, by key or key=value', () => {
    const e = container('start', { tier: 'web', owner: 'me' });
    assert.equal(eventMatches({ label: ['tier'] }, e), true);
    assert.equal(eventMatches({ label: ['tier=web', 'owner=me'] }, e), true);
    assert.equal(eventMatches({ label: ['tier=db'] }, e), false);
    assert.equal(eventMatches({ label: ['missing'] }, e), false);
    assert.equal(eventMatches({ label: ['constructor'] }, e), false);
  });

  it('rejects unknown filter keys and types', () => {
    assert.throws(() => validateEventFilters({ colour: ['red'] }), /invalid filter 'colour'/);
    assert.throws(() => validateEventFilters({ type: ['box'] }), /invalid filter 'type=box'/);
    validateEventFilters({ type: ['container', 'image'], event: ['die'], label: ['a=b'] });
  });
});

describe('event encoding', () => {
  it('writes dockerd JSON: legacy fields for containers, exact timeNano', () => {
    const e = { ...container('die', { exitCode: '0' }), time: 1795358767, timeNano: 1795358767467505768n };
    const line = encodeEvent(e);
    assert.ok(line.endsWith('\n'));
    assert.equal(
      line.trim(),
      '{"status":"die","id":"abc123def456","from":"busybox:latest","Type":"container","Action":"die","Actor":{"ID":"abc123def456","Attributes":{"image":"busybox:latest","name":"web","exitCode":"0"}},"scope":"local","time":1795358767,"timeNano":1795358767467505768}',
    );
    const image = encodeEvent({ ...e, Type: 'image', Action: 'tag', Actor: { ID: 'sha256:9b', Attributes: { name: 'evtag:1' } } });
    assert.match(image, /^\{"status":"tag","id":"sha256:9b","Type":"image"/);
    const volume = encodeEvent({ ...e, Type: 'volume', Action: 'create', Actor: { ID: 'v', Attributes: {} } });
    assert.match(volume, /^\{"Type":"volume"/);
  });

  it('parses unix seconds with nanoseconds and RFC 3339', () => {
    assert.equal(parseEventTime('1795358742', 'since'), 1795358742_000_000_000n);
    assert.equal(parseEventTime('1795358742.000000123', 'since'), 1795358742_000_000_123n);
    assert.equal(parseEventTime('2026-11-22T14:46:07Z', 'since'), BigInt(Date.parse('2026-11-22T14:46:07Z')) * 1_000_000n);
    assert.equal(parseEventTime(null, 'since'), undefined);
    assert.throws(() => parseEventTime('yesterday', 'since'), /invalid value for since/);
  });
});

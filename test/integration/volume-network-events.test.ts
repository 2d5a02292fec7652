/**
 * Volume and network events on /events with dockerd's actions and attributes, driven by the
 * docker CLI, dockerode and docker-py, read back with docker events and berth events.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { dockerOk, startBerthd, type Berthd } from '../helpers/berthd.js';

const execFileAsync = promisify(execFile);

interface Event {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
}

describe('volume and network events', () => {
  let d: Berthd;
  before(async () => {
    d = await startBerthd();
  });
  after(async () => {
    await d.destroy();
  });

  const ok = async (args: string[]): Promise<string> => (await dockerOk(d, args)).trim();

  /** Runs `act`, then the events of that time window passing the filters, with their since/until. */
  const windowOf = async (act: () => Promise<void>, filters: string[]): Promise<{ events: Event[]; since: string; until: string }> => {
    const since = (Date.now() / 1000).toFixed(3);
    await act();
    const until = String(Math.ceil(Date.now() / 1000) + 1);
    await new Promise((r) => setTimeout(r, Number(until) * 1000 - Date.now() + 50));
    const out = await ok(['events', '--since', since, '--until', until, '--format', '{{json .}}', ...filters.flatMap((f) => ['--filter', f])]);
    return { events: out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Event), since, until };
  };

  it('a named volume: create (at volume create and again at the container\'s create), mount, unmount, destroy with dockerd\'s attributes; volume= selects them (docker CLI)', async () => {
    let id = '';
    const { events } = await windowOf(async () => {
      await ok(['volume', 'create', 'vev']);
      // Not "vev-c": volume= matches any actor's ID or name by prefix, as in moby.
      await ok(['run', '--name', 'c-vev', '-v', 'vev:/data:ro', 'busybox', 'true']);
      id = await ok(['inspect', '-f', '{{.Id}}', 'c-vev']);
      await ok(['rm', 'c-vev']);
      await ok(['volume', 'rm', 'vev']);
    }, ['volume=vev']);
    // As dockerd: the container's create announces the volume it uses again (trace 09d-events).
    assert.deepEqual(events.map((e) => `${e.Type} ${e.Action}`), ['volume create', 'volume create', 'volume mount', 'volume unmount', 'volume destroy']);
    assert.ok(events.every((e) => e.Actor.ID === 'vev'));
    assert.deepEqual(events[0]?.Actor.Attributes, { driver: 'local' });
    assert.deepEqual(events[1]?.Actor.Attributes, { driver: 'local' });
    assert.deepEqual(events[2]?.Actor.Attributes, { container: id, destination: '/data', driver: 'local', propagation: '', 'read/write': 'false' });
    assert.deepEqual(events[3]?.Actor.Attributes, { container: id, driver: 'local' });
    assert.deepEqual(events[4]?.Actor.Attributes, { driver: 'local' });
  });

  it('a run on the default bridge: network connect before start, disconnect after die; mount before start, unmount after die', async () => {
    const { events } = await windowOf(async () => {
      await ok(['run', '--rm', '--name', 'order-c', '-v', '/anon', 'busybox', 'true']);
    }, []);
    const sequence = events.map((e) => `${e.Type} ${e.Action}`);
    assert.deepEqual(sequence, [
      'volume create',
      'container create',
      'container attach',
      'network connect',
      'volume mount',
      'container start',
      'container die',
      'network disconnect',
      'volume unmount',
      // moby's cleanupContainer removes the mount points before it logs the container's destroy.
      'volume destroy',
      'container destroy',
    ]);
    const connect = events.find((e) => e.Action === 'connect');
    const containerId = events.find((e) => e.Type === 'container')?.Actor.ID;
    assert.deepEqual(connect?.Actor.Attributes, { container: containerId, name: 'bridge', type: 'bridge' });
    assert.match(events[0]?.Actor.ID ?? '', /^[a-f0-9]{64}$/);
  });

  it('host and none mode containers connect to and disconnect from the predefined network (docker-py, docker CLI)', async () => {
    const { events } = await windowOf(async () => {
      await execFileAsync('python3', ['-c', "import docker\ndocker.from_env().containers.run('busybox', 'true', network_mode='host', remove=True)"], {
        env: { ...process.env, DOCKER_HOST: d.host },
      });
      await ok(['run', '--rm', '--network', 'none', 'busybox', 'true']);
    }, ['type=network']);
    assert.deepEqual(
      events.map((e) => `${e.Action} ${e.Actor.Attributes['name']} ${e.Actor.Attributes['type']}`),
      ['connect host host', 'disconnect host host', 'connect none null', 'disconnect none null'],
    );
    const host = await ok(['network', 'inspect', '-f', '{{.Id}}', 'host']);
    assert.equal(events[0]?.Actor.ID, host);
  });

  it('a user network: create, connect, disconnect, destroy (dockerode connects and disconnects); berth events prints them', async () => {
    const docker = new Docker({ socketPath: d.socket });
    let id = '';
    let networkId = '';
    const { events, since, until } = await windowOf(async () => {
      networkId = await ok(['network', 'create', 'nev']);
      id = await ok(['run', '-d', '--name', 'nev-c', '--network', 'nev', 'busybox', 'sleep', '300']);
      await docker.getNetwork('nev').disconnect({ Container: 'nev-c' });
      await docker.getNetwork('nev').connect({ Container: 'nev-c' });
      await ok(['rm', '-f', 'nev-c']);
      await ok(['network', 'rm', 'nev']);
    }, ['type=network', 'network=nev']);
    assert.deepEqual(events.map((e) => e.Action), ['create', 'connect', 'disconnect', 'connect', 'disconnect', 'destroy']);
    assert.ok(events.every((e) => e.Actor.ID === networkId && e.Actor.Attributes['name'] === 'nev' && e.Actor.Attributes['type'] === 'bridge'));
    assert.ok(events.slice(1, 5).every((e) => e.Actor.Attributes['container'] === id));
    assert.equal(events[0]?.Actor.Attributes['container'], undefined);

    const berth = await d.berth(['events', '--since', since, '--until', until, '--filter', 'type=network', '--filter', 'event=connect', '--filter', 'network=nev']);
    assert.equal(berth.code, 0, berth.stderr);
    const lines = berth.stdout.trim().split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[0] ?? '', new RegExp(` network connect ${networkId} \\(container=${id}, name=nev, type=bridge\\)$`));
  });

  it('docker-py: volume create and remove, and volume prune (with its reclaimed bytes), reach dockerode\'s event stream', async () => {
    const docker = new Docker({ socketPath: d.socket });
    const stream = (await docker.getEvents({ filters: { type: ['volume'] } })) as unknown as NodeJS.ReadableStream & { destroy(): void };
    const received: Event[] = [];
    let buffered = '';
    const allFive = new Promise<void>((resolve) =>
      stream.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) if (line.trim()) received.push(JSON.parse(line) as Event);
        if (received.length >= 5) resolve();
      }),
    );
    await new Promise((r) => setTimeout(r, 300));
    await execFileAsync(
      'python3',
      ['-c', "import docker\nc = docker.from_env()\nc.volumes.create('pyvol', labels={'k': 'v'}).remove()\nc.volumes.create('pyvol2')\nc.volumes.prune(filters={'all': 'true'})"],
      { env: { ...process.env, DOCKER_HOST: d.host } },
    );
    await allFive;
    stream.destroy();
    assert.deepEqual(received.map((e) => `${e.Action} ${e.Actor.ID}`), ['create pyvol', 'destroy pyvol', 'create pyvol2', 'destroy pyvol2', 'prune ']);
    assert.deepEqual(received[0]?.Actor.Attributes, { driver: 'local' });
    assert.match(received[4]?.Actor.Attributes['reclaimed'] ?? '', /^\d+$/);
    assert.equal((await d.docker(['volume', 'ls', '-q', '--filter', 'name=pyvol'])).stdout.trim(), '');
  });

  it('rejects a bad type filter', async () => {
    const r = await d.docker(['events', '--since', '1', '--until', '2', '--filter', 'type=volumes']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /invalid filter 'type=volumes'/);
  });
});

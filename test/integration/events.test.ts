/** docker events / berth events / dockerode / docker-py against GET /events. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { startBerthd, type Berthd } from '../helpers/berthd.js';
import { fixtures } from '../helpers/fixtures.js';

const execFileAsync = promisify(execFile);

interface Event {
  status?: string;
  id?: string;
  from?: string;
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: string;
  time: number;
  timeNano: number;
}

const parseLines = (text: string): Event[] =>
  text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Event);

describe('events', () => {
  let d: Berthd;
  let t0: number;
  let t1: number;
  before(async () => {
    d = await startBerthd();
    t0 = Math.floor(Date.now() / 1000) - 1;
    for (const args of [
      ['run', '--rm', '--name', 'ev1', '-l', 'tier=web', 'busybox', 'true'],
      ['run', '-d', '--name', 'ev2', 'busybox', 'sleep', '300'],
      ['exec', 'ev2', 'sh', '-c', 'exit 3'],
      ['stop', '-t', '1', 'ev2'],
      ['rename', 'ev2', 'ev2b'],
      ['rm', 'ev2b'],
      ['tag', 'busybox', 'evtag:1'],
      ['rmi', 'evtag:1'],
    ]) {
      const r = await d.docker(args);
      assert.ok(r.code === 0 || args[0] === 'exec', `${args.join(' ')}: ${r.stderr}`);
    }
    t1 = Math.ceil(Date.now() / 1000) + 1;
    // `until` must be in the past for the replay to end at once.
    await new Promise((r) => setTimeout(r, Math.max(0, t1 * 1000 - Date.now() + 50)));
  });
  after(async () => {
    await d.destroy();
  });

  const replay = async (filters: string[] = []): Promise<Event[]> => {
    const r = await d.docker(['events', '--since', String(t0), '--until', String(t1), '--format', '{{json .}}', ...filters.flatMap((f) => ['--filter', f])]);
    assert.equal(r.code, 0, r.stderr);
    return parseLines(r.stdout);
  };

  it('replays a run --rm as create, attach, start, die, destroy with dockerd\'s attributes', async () => {
    const events = (await replay(['container=ev1'])).filter((e) => e.Type === 'container');
    assert.deepEqual(events.map((e) => e.Action), ['create', 'attach', 'start', 'die', 'destroy']);
    for (const e of events) {
      assert.equal(e.Actor.Attributes['name'], 'ev1');
      assert.equal(e.Actor.Attributes['image'], 'busybox');
      assert.equal(e.Actor.Attributes['tier'], 'web');
      assert.equal(e.scope, 'local');
      assert.equal(e.status, e.Action);
      assert.equal(e.id, e.Actor.ID);
      assert.equal(e.from, 'busybox');
      assert.equal(e.time, Math.floor(e.timeNano / 1e9));
    }
    assert.equal(events.find((e) => e.Action === 'die')?.Actor.Attributes['exitCode'], '0');
    const times = events.map((e) => e.timeNano);
    assert.deepEqual([...times].sort((a, b) => a - b), times);
  });

  it('reports stop as kill, die, stop; rename; exec sessions; and the destroy under the new name', async () => {
    const events = await replay(['type=container', 'container=ev2', 'container=ev2b']);
    const actions = events.map((e) => e.Action);
    const kill = events.find((e) => e.Action === 'kill');
    assert.equal(kill?.Actor.Attributes['signal'], '15');
    assert.ok(actions.indexOf('kill') < actions.indexOf('die') && actions.indexOf('die') < actions.indexOf('stop'), actions.join(','));
    assert.equal(events.find((e) => e.Action === 'rename')?.Actor.Attributes['oldName'], '/ev2');
    assert.equal(events.at(-1)?.Action, 'destroy');
    assert.equal(events.at(-1)?.Actor.Attributes['name'], 'ev2b');
    const execDie = events.find((e) => e.Action === 'exec_die');
    assert.equal(execDie?.Actor.Attributes['exitCode'], '3');
    assert.match(execDie?.Actor.Attributes['execID'] ?? '', /^[a-f0-9]{64}$/);
    assert.ok(actions.includes('exec_create: sh -c exit 3'), actions.join(','));
    assert.ok(actions.includes('exec_start: sh -c exit 3'));
  });

  it('filters by event (exec_create without its detail), label, type and image', async () => {
    const dies = await replay(['event=die']);
    assert.deepEqual(dies.map((e) => e.Actor.Attributes['name']), ['ev1', 'ev2']);
    assert.deepEqual((await replay(['event=exec_create'])).map((e) => e.Action), ['exec_create: sh -c exit 3']);
    const labelled = await replay(['label=tier=web']);
    assert.ok(labelled.length === 5 && labelled.every((e) => e.Actor.Attributes['name'] === 'ev1'));
    const images = await replay(['type=image']);
    assert.deepEqual(images.map((e) => e.Action), ['tag', 'untag']);
    assert.equal(images[0]?.Actor.Attributes['name'], 'evtag:1');
    assert.equal(images[0]?.from, undefined);
    assert.equal(images[0]?.status, 'tag');
    assert.ok((await replay(['image=evtag'])).some((e) => e.Action === 'tag'));
  });

  it('berth events prints docker\'s default line and --format', async () => {
    const r = await d.berth(['events', '--since', String(t0), '--until', String(t1), '--filter', 'event=destroy']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[0] ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}(Z|[+-]\d\d:\d\d) container destroy [a-f0-9]{64} \(image=busybox, name=ev1, tier=web\)$/);
    const formatted = await d.berth(['events', '--since', String(t0), '--until', String(t1), '--filter', 'type=container', '--filter', 'event=start', '--format', '{{.Actor.Attributes.name}} {{.Action}}']);
    assert.equal(formatted.stdout, 'ev1 start\nev2 start\n');
  });

  it('streams live events to dockerode and docker-py', async () => {
    const docker = new Docker({ socketPath: d.socket });
    const stream = (await docker.getEvents({ filters: { event: ['start'], container: ['live'] } })) as unknown as NodeJS.ReadableStream & { destroy(): void };
    const received = new Promise<Event>((resolve) => stream.on('data', (chunk: Buffer) => resolve(JSON.parse(chunk.toString().split('\n')[0] ?? '') as Event)));
    const pyEvents = execFileAsync(
      'python3',
      ['-c', "import docker, json, time\nc = docker.from_env()\nfor e in c.events(decode=True, filters={'event': 'destroy', 'container': 'live'}, until=int(time.time()) + 20):\n  print(json.dumps(e)); break"],
      { env: { ...process.env, DOCKER_HOST: d.host } },
    );
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await d.docker(['run', '--rm', '--name', 'live', 'busybox', 'true'])).code, 0);
    const event = await received;
    stream.destroy();
    assert.equal(event.Action, 'start');
    assert.equal(event.Actor.Attributes['name'], 'live');
    const py = JSON.parse((await pyEvents).stdout) as Event;
    assert.equal(py.Action, 'destroy');
    assert.equal(py.Actor.Attributes['name'], 'live');
  });

  it('reports pull, untag and delete of an image', async () => {
    const fx = await fixtures();
    const since = String(Math.floor(Date.now() / 1000) - 1);
    assert.equal((await d.docker(['pull', fx.images.busybox])).code, 0);
    const id = (await d.docker(['image', 'inspect', '-f', '{{.Id}}', fx.images.busybox])).stdout.trim();
    assert.equal((await d.docker(['rmi', fx.images.busybox])).code, 0);
    const until = String(Math.floor(Date.now() / 1000) + 1);
    await new Promise((r) => setTimeout(r, Number(until) * 1000 - Date.now() + 50));
    const r = await d.docker(['events', '--since', since, '--until', until, '--filter', 'type=image', '--format', '{{json .}}']);
    const events = parseLines(r.stdout);
    const pull = events.find((e) => e.Action === 'pull');
    assert.equal(pull?.Actor.ID, fx.images.busybox);
    assert.equal(pull?.Actor.Attributes['name'], fx.images.busybox.replace(/:latest$/, ''));
    assert.ok(events.some((e) => e.Action === 'untag' && e.Actor.ID === id));
    assert.equal(events.at(-1)?.Action, 'delete');
    assert.equal(events.at(-1)?.Actor.ID, id);
  });

  it('reports health_status changes, matched by the bare event name', async () => {
    const since = String(Math.floor(Date.now() / 1000) - 1);
    const run = await d.docker(['run', '-d', '--name', 'probed', '--health-cmd', 'true', '--health-interval', '200ms', 'busybox', 'sleep', '300']);
    assert.equal(run.code, 0, run.stderr);
    let healthy: Event | undefined;
    for (let i = 0; i < 100 && !healthy; i++) {
      await new Promise((r) => setTimeout(r, 200));
      const r = await d.docker(['events', '--since', since, '--until', String(Math.floor(Date.now() / 1000)), '--filter', 'event=health_status', '--format', '{{json .}}']);
      healthy = parseLines(r.stdout).find((e) => e.Actor.Attributes['name'] === 'probed');
    }
    assert.equal(healthy?.Action, 'health_status: healthy');
    assert.equal(healthy?.Actor.Attributes['image'], 'busybox');
    assert.equal((await d.docker(['rm', '-f', 'probed'])).code, 0);
  });

  /** Runs `act`, then replays the events of that time window that pass the filters. */
  const windowOf = async (act: () => Promise<void>, filters: string[]): Promise<Event[]> => {
    const since = (Date.now() / 1000).toFixed(3);
    await act();
    const until = Math.ceil(Date.now() / 1000) + 1;
    await new Promise((r) => setTimeout(r, until * 1000 - Date.now() + 50));
    const r = await d.docker(['events', '--since', since, '--until', String(until), '--format', '{{json .}}', ...filters.flatMap((f) => ['--filter', f])]);
    assert.equal(r.code, 0, r.stderr);
    return parseLines(r.stdout);
  };

  it('docker restart emits kill, die, stop, start, restart; of a stopped container start, restart (docker CLI, dockerode, berth)', async () => {
    // A shell that exits on SIGTERM: the stop needs no SIGKILL.
    assert.equal((await d.docker(['run', '-d', '--name', 'rst', 'busybox', 'sh', '-c', "trap 'exit 0' TERM; while :; do sleep 0.1; done"])).code, 0);
    const viaCli = await windowOf(async () => {
      const r = await d.docker(['restart', '-t', '1', 'rst']);
      assert.equal(r.code, 0, r.stderr);
    }, ['container=rst']);
    assert.deepEqual(viaCli.map((e) => e.Action), ['kill', 'die', 'stop', 'start', 'restart']);
    assert.equal(viaCli[0]?.Actor.Attributes['signal'], '15');
    assert.equal(viaCli.at(-1)?.Actor.Attributes['name'], 'rst');
    const viaBerth = await windowOf(async () => {
      const r = await d.berth(['restart', '-t', '1', 'rst']);
      assert.equal(r.code, 0, r.stderr);
    }, ['container=rst']);
    assert.deepEqual(viaBerth.map((e) => e.Action), ['kill', 'die', 'stop', 'start', 'restart']);
    assert.equal((await d.docker(['stop', '-t', '1', 'rst'])).code, 0);
    const docker = new Docker({ socketPath: d.socket });
    const stopped = await windowOf(() => docker.getContainer('rst').restart(), ['container=rst']);
    assert.deepEqual(stopped.map((e) => e.Action), ['start', 'restart']);
    assert.equal((await d.docker(['rm', '-f', 'rst'])).code, 0);
  });

  it('a restart by policy emits die and start, never restart (docker-py)', async () => {
    const events = await windowOf(async () => {
      await execFileAsync(
        'python3',
        ['-c', "import docker\nc = docker.from_env().containers.run('busybox', ['sh', '-c', 'exit 3'], name='polrst', detach=True, restart_policy={'Name': 'on-failure', 'MaximumRetryCount': 1})\nc.wait()"],
        { env: { ...process.env, DOCKER_HOST: d.host } },
      );
      for (let i = 0; i < 50; i++) {
        const r = await d.docker(['inspect', '-f', '{{.State.Status}} {{.RestartCount}}', 'polrst']);
        if (r.stdout.trim() === 'exited 1') break;
        await new Promise((r) => setTimeout(r, 100));
      }
    }, ['container=polrst']);
    assert.deepEqual(events.map((e) => e.Action), ['create', 'start', 'die', 'start', 'die']);
    assert.ok(events.filter((e) => e.Action === 'die').every((e) => e.Actor.Attributes['exitCode'] === '3'));
    assert.equal((await d.docker(['rm', '-f', 'polrst'])).code, 0);
  });

  it('rejects bad filters and times', async () => {
    assert.equal((await d.api('GET', `/events?filters=${encodeURIComponent('{"colour":{"red":true}}')}`)).status, 400);
    assert.equal((await d.api('GET', `/events?filters=${encodeURIComponent('{"type":{"box":true}}')}`)).status, 400);
    assert.equal((await d.api('GET', '/events?since=200&until=100')).status, 400);
    assert.equal((await d.api('GET', '/events?since=yesterday')).status, 400);
  });
});

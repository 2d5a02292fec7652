/**
 * container prune, image prune and system prune with `until` / `label` / `label!` filters
 * (moby daemon/prune.go semantics) through the docker CLI, dockerode, docker-py and berth.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { dockerOk, startBerthd, type Berthd } from '../helpers/berthd.js';

const execFileAsync = promisify(execFile);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('prune filters', () => {
  let d: Berthd;
  before(async () => {
    d = await startBerthd();
  });
  after(async () => {
    await d.destroy();
  });

  const ok = async (args: string[]): Promise<string> => (await dockerOk(d, args)).trim();
  const exists = async (name: string): Promise<boolean> => (await d.docker(['container', 'inspect', name])).code === 0;

  it('container prune keeps what until and label/label! exclude, and never a running container (docker CLI, dockerode, berth)', async () => {
    const old = await ok(['create', '--name', 'pf-old-test', '-l', 'env=test', 'busybox', 'true']);
    await ok(['create', '--name', 'pf-old-prod', '-l', 'env=prod', 'busybox', 'true']);
    await sleep(1100);
    const cutoff = String(Math.floor(Date.now() / 1000));
    await sleep(1100);
    const recent = await ok(['create', '--name', 'pf-new-test', '-l', 'env=test', 'busybox', 'true']);
    await ok(['run', '-d', '--name', 'pf-running', '-l', 'env=test', 'busybox', 'sleep', '300']);

    const cli = await ok(['container', 'prune', '-f', '--filter', 'label=env=test', '--filter', `until=${cutoff}`]);
    assert.match(cli, new RegExp(`^Deleted Containers:\\n${old}\\n`));
    assert.deepEqual(await Promise.all(['pf-old-test', 'pf-old-prod', 'pf-new-test', 'pf-running'].map(exists)), [false, true, true, true]);

    const docker = new Docker({ socketPath: d.socket });
    const report = await docker.pruneContainers({ filters: { 'label!': ['env=prod'] } });
    assert.deepEqual(report.ContainersDeleted, [recent]);
    assert.equal(await exists('pf-old-prod'), true);

    const berth = await d.berth(['container', 'prune', '-f', '--filter', 'label=env']);
    assert.equal(berth.code, 0, berth.stderr);
    assert.match(berth.stdout, /^Deleted Containers:\n[a-f0-9]{64}\n\nTotal reclaimed space: /);
    assert.equal(await exists('pf-old-prod'), false);
    assert.equal(await exists('pf-running'), true);
    await ok(['rm', '-f', 'pf-running']);
  });

  it('refuses bad prune filters with a 400 naming the filter', async () => {
    const cases: Array<[string, string, RegExp]> = [
      ['/containers/prune', '{"colour":["red"]}', /invalid filter 'colour'/],
      ['/containers/prune', '{"until":["tomorrow-ish"]}', /until=tomorrow-ish/],
      ['/containers/prune', '{"until":["1h","2h"]}', /more than one until filter/],
      ['/images/prune', '{"reference":["x"]}', /invalid filter 'reference'/],
      ['/networks/prune', '{"dangling":["true"]}', /invalid filter 'dangling'/],
      ['/volumes/prune', '{"until":["1h"]}', /invalid filter 'until'/],
    ];
    for (const [path, filters, message] of cases) {
      const r = await d.api('POST', `${path}?filters=${encodeURIComponent(filters)}`);
      assert.equal(r.status, 400, `${path} ${filters}: ${r.body}`);
      assert.match(r.json<{ message: string }>().message, message);
    }
    const cli = await d.docker(['container', 'prune', '-f', '--filter', 'until=nonsense']);
    assert.notEqual(cli.code, 0);
    assert.match(cli.stderr, /until=nonsense/);
  });

  it('image prune selects by label and until (docker CLI, docker-py, berth)', async () => {
    await ok(['run', '--name', 'pf-src', 'busybox', 'true']);
    const labelled = async (label: string): Promise<string> => ok(['commit', '-c', `LABEL stage=${label}`, 'pf-src']);
    const first = await labelled('one');
    const second = await labelled('two');
    await sleep(1100);
    const cutoff = new Date().toISOString();
    await sleep(1100);
    const third = await labelled('one');
    await ok(['rm', 'pf-src']);
    const imageExists = async (id: string): Promise<boolean> => (await d.docker(['image', 'inspect', id])).code === 0;

    const cli = await ok(['image', 'prune', '-f', '--filter', 'label=stage=one', '--filter', `until=${cutoff}`]);
    assert.match(cli, new RegExp(`deleted: ${first}`));
    assert.deepEqual(await Promise.all([first, second, third].map(imageExists)), [false, true, true]);

    const py = await execFileAsync('python3', ['-c', "import docker, json\nprint(json.dumps(docker.from_env().images.prune(filters={'label!': 'stage=two'})))"], {
      env: { ...process.env, DOCKER_HOST: d.host },
    });
    const report = JSON.parse(py.stdout) as { ImagesDeleted: Array<{ Deleted?: string }> | null };
    assert.deepEqual(report.ImagesDeleted?.map((e) => e.Deleted), [third]);

    const berth = await d.berth(['image', 'prune', '-f', '--filter', 'label=stage']);
    assert.equal(berth.code, 0, berth.stderr);
    assert.match(berth.stdout, new RegExp(`^Deleted Images:\\ndeleted: ${second}\\n`));
    assert.equal(await imageExists('busybox'), true);
  });

  it('system prune passes its filters to every prune instead of answering 501 (docker CLI, berth)', async () => {
    await ok(['create', '--name', 'sp-gone', '-l', 'sweep=yes', 'busybox', 'true']);
    await ok(['create', '--name', 'sp-kept', 'busybox', 'true']);
    await ok(['network', 'create', '--label', 'sweep=yes', 'sp-net-gone']);
    await ok(['network', 'create', 'sp-net-kept']);
    const cli = await ok(['system', 'prune', '-f', '--filter', 'label=sweep=yes']);
    assert.match(cli, /Deleted Containers:/);
    assert.match(cli, /Deleted Networks:\nsp-net-gone\n/);
    assert.equal(await exists('sp-gone'), false);
    assert.equal(await exists('sp-kept'), true);
    assert.equal((await d.docker(['network', 'inspect', 'sp-net-kept'])).code, 0);

    const berth = await d.berth(['system', 'prune', '-f', '--filter', 'until=1h']);
    assert.equal(berth.code, 0, berth.stderr);
    assert.equal(await exists('sp-kept'), true, 'created within the hour: kept');
    const refused = await d.berth(['system', 'prune', '-f', '--volumes', '--filter', 'until=1h']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /"until" filter is not supported with "--volumes"/);
    await ok(['rm', 'sp-kept']);
    await ok(['network', 'rm', 'sp-net-kept']);
  });
  it('every prune announces itself with what it reclaimed, as dockerd does (docker CLI prunes, dockerode reads the events)', async () => {
    await ok(['create', '--name', 'pe-gone', 'busybox', 'sh', '-c', 'head -c 3000 /dev/zero > /f']);
    await ok(['start', '-a', 'pe-gone']);
    const since = Date.now() / 1000;
    await ok(['system', 'prune', '-f', '--volumes']);
    const until = Math.ceil(Date.now() / 1000) + 1;
    await sleep(until * 1000 - Date.now() + 50);
    const docker = new Docker({ socketPath: d.socket });
    const stream = (await docker.getEvents({ since, until, filters: { event: ['prune'] } })) as unknown as NodeJS.ReadableStream;
    let text = '';
    for await (const chunk of stream) text += String(chunk);
    const events = text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { Type: string; Action: string; Actor: { ID: string; Attributes: Record<string, string> } });
    assert.deepEqual(events.map((e) => e.Type), ['container', 'network', 'volume', 'image']);
    assert.ok(events.every((e) => e.Action === 'prune' && e.Actor.ID === '' && /^\d+$/.test(e.Actor.Attributes['reclaimed'] ?? '')), JSON.stringify(events));
    assert.ok(Number(events[0]?.Actor.Attributes['reclaimed']) >= 3000, JSON.stringify(events[0]));
    assert.equal(events[1]?.Actor.Attributes['reclaimed'], '0');
  });
});

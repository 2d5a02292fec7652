/**
 * `ps` through the berth CLI compared with the docker CLI on the same berthd: --format
 * templates, --no-trunc, -q, -n, -l, -s; and the daemon's sizes (SizeRw/SizeRootFs) and their
 * cache. Plus `berth completion bash`, sourced into bash and driven as <TAB> would.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import Docker from 'dockerode';
import { repoRoot, startBerthd, type Berthd } from '../helpers/berthd.js';

describe('ps', () => {
  let d: Berthd;
  before(async () => {
    d = await startBerthd();
    for (const args of [
      ['run', '--name', 'writer', '--label', 'tier=db', '--label', 'x=y', 'busybox', 'sh', '-c', 'head -c 4000 /dev/zero >> /big'],
      ['run', '-d', '--name', 'sleeper', '-p', '18080:80', 'busybox', 'sleep', '300'],
      ['create', '--name', 'fresh', 'busybox', 'echo', 'a very long command line that docker truncates'],
    ]) {
      const r = await d.docker(args);
      assert.equal(r.code, 0, r.stderr);
    }
  });
  after(async () => {
    await d.destroy();
  });

  const same = async (args: string[]): Promise<string> => {
    const docker = await d.docker(args);
    const berth = await d.berth(args);
    assert.equal(docker.code, 0, docker.stderr);
    assert.equal(berth.code, 0, berth.stderr);
    assert.equal(berth.stdout, docker.stdout, `berth ${args.join(' ')}`);
    return docker.stdout;
  };

  it('prints what the docker CLI prints for templates, --no-trunc, -q, -n and -l', async () => {
    const fields = '{{.ID}}|{{.Names}}|{{.Image}}|{{.Command}}|{{.State}}|{{.Labels}}|{{.Ports}}|{{.Networks}}|{{.Mounts}}';
    const table = await same(['ps', '-a', '--format', `table ${fields}`]);
    assert.match(table, /^CONTAINER ID\s*\|NAMES/);
    assert.equal(table.trim().split('\n').length, 4);
    const noTrunc = await same(['ps', '-a', '--no-trunc', '--format', fields]);
    assert.match(noTrunc, /"echo 'a very long command line that docker truncates'"|"echo a very long command line that docker truncates"/);
    assert.match(noTrunc, /[a-f0-9]{64}\|fresh/);
    await same(['ps', '-a', '--format', '{{.Label "tier"}} {{.Names}} {{.State}}']);
    await same(['ps', '-q']);
    await same(['ps', '-aq', '--no-trunc']);
    assert.equal((await same(['ps', '-n', '2', '--format', '{{.Names}}'])).trim(), 'fresh\nsleeper');
    assert.equal((await same(['ps', '-l', '--format', '{{.Names}}'])).trim(), 'fresh');
    assert.equal((await same(['ps', '--format', '{{.Names}}'])).trim(), 'sleeper');
    await same(['ps', '-a', '--filter', 'label=tier=db', '--format', '{{.Names}} {{.Label "x"}}']);
    // json: the same documents, apart from the clock-dependent fields
    const stable = (text: string): unknown[] =>
      text
        .trim()
        .split('\n')
        .map((l) => {
          const { RunningFor: _r, Status: _s, ...rest } = JSON.parse(l) as Record<string, unknown>;
          return JSON.stringify(rest);
        });
    const json = ['ps', '-a', '--format', 'json'];
    assert.deepEqual(stable((await d.berth(json)).stdout), stable((await d.docker(json)).stdout));
  });

  it('shows sizes: the upper dir, and with the image as "virtual", refreshed when the container runs again', async () => {
    const sized = await same(['ps', '-a', '-s', '--filter', 'name=writer', '--format', '{{.Names}} {{.Size}}']);
    assert.match(sized, /^writer 4(\.\d+)?kB \(virtual [\d.]+[kM]B\)\n$/);
    const list = await d.api('GET', '/containers/json?all=1&size=1&filters=' + encodeURIComponent(JSON.stringify({ name: ['writer'] })));
    const [writer] = list.json<Array<{ SizeRw: number; SizeRootFs: number }>>();
    assert.ok(writer && writer.SizeRw >= 4000 && writer.SizeRw < 8000, JSON.stringify(writer));
    assert.ok(writer.SizeRootFs > writer.SizeRw + 100_000, JSON.stringify(writer));
    const inspect = (await d.api('GET', '/containers/writer/json?size=1')).json<{ SizeRw: number; SizeRootFs: number }>();
    assert.equal(inspect.SizeRw, writer.SizeRw);
    assert.equal(inspect.SizeRootFs, writer.SizeRootFs);
    // Without size=1 nothing is computed and nothing is reported.
    assert.equal('SizeRw' in (await d.api('GET', '/containers/writer/json')).json<object>(), false);
    // The container runs again and appends as much: the cached figure is dropped at its start/exit.
    assert.equal((await d.docker(['start', '-a', 'writer'])).code, 0);
    const again = (await d.api('GET', '/containers/writer/json?size=1')).json<{ SizeRw: number }>();
    assert.ok(again.SizeRw >= 8000 && again.SizeRw < 12000, JSON.stringify(again));
  });

  it('filters by volume: a volume name, a bind source or any destination (docker CLI, berth, dockerode)', async () => {
    const bindSource = join(d.root, 'ps-bind');
    for (const args of [
      ['create', '--name', 'pv-named', '-v', 'psvol:/data', 'busybox', 'true'],
      ['create', '--name', 'pv-anon', '-v', '/cache', 'busybox', 'true'],
      ['create', '--name', 'pv-bind', '-v', `${bindSource}:/srv`, 'busybox', 'true'],
    ]) {
      const r = await d.docker(args);
      assert.equal(r.code, 0, r.stderr);
    }
    const names = async (...values: string[]): Promise<string[]> => {
      const out = await same(['ps', '-a', '--format', '{{.Names}}', ...values.flatMap((v) => ['--filter', `volume=${v}`])]);
      return out.split('\n').filter(Boolean).sort();
    };
    assert.deepEqual(await names('psvol'), ['pv-named']);
    assert.deepEqual(await names('/cache'), ['pv-anon']);
    assert.deepEqual(await names('/data', '/cache'), ['pv-anon', 'pv-named']);
    assert.deepEqual(await names(bindSource), ['pv-bind']);
    assert.deepEqual(await names('nosuchvolume'), []);
    const docker = new Docker({ socketPath: d.socket });
    const listed = await docker.listContainers({ all: true, filters: { volume: ['/srv'] } });
    assert.deepEqual(listed.map((c) => c.Names[0]), ['/pv-bind']);
    for (const name of ['pv-named', 'pv-anon', 'pv-bind']) assert.equal((await d.docker(['rm', '-v', name])).code, 0);
    assert.equal((await d.docker(['volume', 'rm', 'psvol'])).code, 0);
  });
});

describe('completion', () => {
  let d: Berthd;
  before(async () => {
    d = await startBerthd();
    assert.equal((await d.docker(['create', '--name', 'complete-me', 'busybox', 'true'])).code, 0);
  });
  after(async () => {
    await d.destroy();
  });

  /** Sources the generated script and completes `words` (the last one being typed). */
  const complete = (shell: 'bash', words: string[]): Promise<string[]> =>
    new Promise((resolve, reject) => {
      const script = [
        `berth() { ${join(repoRoot, 'bin/berth')} "$@"; }`,
        'source <(berth completion bash)',
        `COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')})`,
        `COMP_CWORD=${words.length - 1}`,
        '_berth',
        'printf "%s\\n" "${COMPREPLY[@]}"',
      ].join('\n');
      const child = spawn(shell, ['-c', script], { env: { ...process.env, BERTH_HOST: d.host, DOCKER_HOST: d.host } });
      let out = '';
      let err = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      child.stderr.on('data', (b: Buffer) => (err += b.toString()));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve(out.split('\n').filter(Boolean)) : reject(new Error(`bash exited ${code}: ${err}`))));
    });

  it('completes commands, subcommands, flags and container names in bash', async () => {
    assert.deepEqual(await complete('bash', ['berth', 'att']), ['attach']);
    const imageL = await complete('bash', ['berth', 'image', 'l']);
    assert.ok(imageL.includes('ls') && imageL.includes('list') && imageL.every((w) => w.startsWith('l')), imageL.join(' '));
    assert.deepEqual(await complete('bash', ['berth', 'ps', '--no-t']), ['--no-trunc']);
    assert.deepEqual(await complete('bash', ['berth', 'attach', '--d']), ['--detach-keys']);
    assert.deepEqual(await complete('bash', ['berth', 'start', '-a', 'complete']), ['complete-me']);
    // A flag's value is not completed as a container.
    assert.deepEqual(await complete('bash', ['berth', 'logs', '--tail', '']), []);
  });

  it('prints a zsh script and refuses other shells', async () => {
    const zsh = await d.berth(['completion', 'zsh']);
    assert.equal(zsh.code, 0);
    assert.match(zsh.stdout, /^#compdef berth\n/);
    assert.match(zsh.stdout, /bashcompinit/);
    const fish = await d.berth(['completion', 'fish']);
    assert.equal(fish.code, 1);
    assert.match(fish.stderr, /unsupported shell "fish"/);
  });
});

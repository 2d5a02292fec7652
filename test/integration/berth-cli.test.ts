/** The berth CLI against berthd, and interactive use of both CLIs through a real pseudo-terminal. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startBerthd, repoRoot, type Berthd } from '../helpers/berthd.js';
import { assertSameAsDocker } from '../helpers/cli-compare.js';
import { fixtures, type Fixtures } from '../helpers/fixtures.js';

/** Runs a command under script(1) so it has a TTY, typing `input` after a pause. */
function underTty(command: string, input: string, env: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    setTimeout(() => child.stdin.write(input), 1000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 137, output });
    });
  });
}

describe('berth CLI', () => {
  let d: Berthd;
  let fx: Fixtures;
  before(async () => {
    fx = await fixtures();
    d = await startBerthd();
  });
  after(async () => {
    await d.destroy();
  });

  it('runs the bundled image: berth run --rm busybox echo hello', async () => {
    const r = await d.berth(['run', '--rm', 'busybox', 'echo', 'hello']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'hello\n');
    const code = await d.berth(['run', '--rm', 'busybox', 'sh', '-c', 'exit 3']);
    assert.equal(code.code, 3);
  });

  it('honours -H and BERTH_HOST, and explains a daemon that is not there', async () => {
    const viaFlag = await d.berth(['-H', d.host, 'version', '--format', '{{.Server.Version}}']);
    assert.equal(viaFlag.code, 0, viaFlag.stderr);
    assert.equal(viaFlag.stdout.trim(), '0.1.0');
    const missing = await d.berth(['-H', `unix://${join(d.root, 'nope.sock')}`, 'ps']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /Cannot connect to the berth daemon/);
  });

  it('pulls with progress, lists, inspects, tags and removes images', async () => {
    const pull = await d.berth(['pull', fx.images.busyboxMulti]);
    assert.equal(pull.code, 0, pull.stderr);
    assert.match(pull.stdout, /Pull complete/);
    assert.match(pull.stdout, new RegExp(`Digest: ${fx.digests.busyboxMulti.manifest}`));
    const images = await d.berth(['images']);
    assert.match(images.stdout, /busybox-multi\s+latest\s+[a-f0-9]{12}/);
    const id = await d.berth(['image', 'inspect', '-f', '{{.Id}}', fx.images.busyboxMulti]);
    assert.equal(id.stdout.trim(), fx.digests.busyboxMulti.config);
    assert.equal((await d.berth(['tag', fx.images.busyboxMulti, 'multi:x'])).code, 0);
    const rmi = await d.berth(['rmi', 'multi:x']);
    assert.match(rmi.stdout, /Untagged: multi:x/);
  });

  it('prints image history as docker does, and answers to image rm/remove/rmi and system events', async () => {
    await assertSameAsDocker(d, ['history', 'busybox']);
    const commit = await d.berth(['run', '--name', 'historian', 'busybox', 'sh', '-c', 'echo layer > /layer-file']);
    assert.equal(commit.code, 0, commit.stderr);
    assert.equal((await d.berth(['commit', '-m', 'one layer', 'historian', 'historied:1'])).code, 0);
    // Absolute dates (-H=false) and IDs only: "N seconds ago" could tick between the two CLIs.
    const history = await assertSameAsDocker(d, ['image', 'history', '-H=false', 'historied:1']);
    const [header, newest, base] = history.stdout.split('\n');
    assert.match(header ?? '', /^IMAGE +CREATED AT +CREATED BY +SIZE +COMMENT$/);
    assert.match(newest ?? '', /^[a-f0-9]{12} +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d) +sh -c echo layer > \/layer-file +\d+ +one layer$/);
    assert.match(base ?? '', /^<missing> +2024-01-01T/);
    await assertSameAsDocker(d, ['history', '--no-trunc', '--format', '{{.ID}} {{.Size}} {{.CreatedBy}}', 'historied:1']);
    await assertSameAsDocker(d, ['history', '--format', 'json', 'busybox']);
    await assertSameAsDocker(d, ['history', '-q', '--human', 'historied:1']);
    await assertSameAsDocker(d, ['history', '-H=maybe', 'busybox']);
    await assertSameAsDocker(d, ['history', 'no-such-image']);
    await assertSameAsDocker(d, ['history']);
    for (const alias of ['rm', 'remove', 'rmi']) {
      assert.equal((await d.berth(['tag', 'busybox', `alias-${alias}:1`])).code, 0);
      const rm = await d.berth(['image', alias, `alias-${alias}:1`]);
      assert.equal(rm.stdout, `Untagged: alias-${alias}:1\n`, rm.stderr);
    }
    await assertSameAsDocker(d, ['system', 'events', '--since', '0', '--until', '1']);
    await assertSameAsDocker(d, ['system', 'events', '--format', '{{.Type}} {{.Action}}', '--filter', 'event=commit', '--since', '0', '--until', String(Math.ceil(Date.now() / 1000))]);
  });

  it('reads --label-file as docker does: comments and bare keys skipped, --label wins, bad files 125', async () => {
    const labels = join(d.root, 'labels');
    const bad = join(d.root, 'bad-labels');
    await writeFile(labels, '# team labels\n\n  tier=web\nbare\ncolor=blue\n');
    await writeFile(bad, 'bad key=1\n');
    for (const [cli, name] of [[d.docker, 'labelled-docker'], [d.berth, 'labelled-berth']] as const) {
      const r = await cli(['create', '--name', name, '--label-file', labels, '-l', 'color=red', 'busybox', 'true']);
      assert.equal(r.code, 0, r.stderr);
    }
    // The docker CLI's {{json}} sorts map keys, so both containers print alike whatever order was sent.
    const shown = await d.docker(['inspect', '-f', '{{json .Config.Labels}}', 'labelled-docker', 'labelled-berth']);
    assert.equal(shown.stdout, '{"color":"red","tier":"web"}\n'.repeat(2));
    await assertSameAsDocker(d, ['create', '--label-file', bad, 'busybox', 'true']);
    await assertSameAsDocker(d, ['run', '--rm', '--label-file', join(d.root, 'no-such-file'), 'busybox', 'true']);
  });

  it('run as the installed command (through its #! line), a missing --env-file is berth\'s error, not node\'s', async () => {
    // Node 20 reads --env-file anywhere on its command line unless `--` ends its own options.
    const missing = join(d.root, 'no-such-env-file');
    const child = spawn(join(repoRoot, 'bin/berth'), ['create', '--env-file', missing, 'busybox', 'true'], {
      env: { ...process.env, BERTH_HOST: d.host },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 125, stderr);
    assert.match(stderr, new RegExp(`^berth: open ${missing}: no such file or directory`, 'm'));
  });

  it("takes the rest of docker's run flags: what berth does is done, the rest refused as dockerd or berthd refuses it", async () => {
    const domain = await d.berth(['run', '-d', '--name', 'nis', '--domainname', 'example.org', '--memory-swappiness', '10', 'busybox', 'sleep', '300']);
    assert.equal(domain.code, 0, domain.stderr);
    // Into the runtime's spec (Debian's runc 1.1.5 does not apply a spec's domainname; dockerd's runc neither).
    const spec = JSON.parse(await readFile(join(d.root, 'data', 'containers', domain.stdout.trim(), 'config.json'), 'utf8')) as { domainname?: string };
    assert.equal(spec.domainname, 'example.org');
    assert.equal((await d.docker(['inspect', '-f', '{{.Config.Domainname}} {{.HostConfig.MemorySwappiness}}', 'nis'])).stdout.trim(), 'example.org 10');
    assert.equal((await d.docker(['rm', '-f', 'nis'])).code, 0);
    for (const flags of [
      ['--link', 'db:database'],
      ['--storage-opt', 'size=1G'],
      ['--storage-opt', 'size'],
      ['--runtime', 'crun'],
      ['--isolation', 'hyperv'],
      ['--cpu-rt-runtime', '1000'],
      ['--volume-driver', 'nfs'],
      ['--memory-swappiness', 'lots'],
    ]) {
      const r = await assertSameAsDocker(d, ['run', '--rm', ...flags, 'busybox', 'true']);
      assert.notEqual(r.code, 0, flags.join(' '));
    }
    // --kernel-memory: dropped by the docker CLI for this API version, and so by berth's.
    const kmem = await assertSameAsDocker(d, ['run', '--rm', '--kernel-memory', '10m', 'busybox', 'true']);
    assert.equal(kmem.code, 0, kmem.stderr);
    // -q: no word of the pull, only the container's output (an image not pulled yet).
    const quiet = await d.berth(['run', '--rm', '-q', fx.images.busyboxDocker, 'echo', 'quiet']);
    assert.deepEqual([quiet.code, quiet.stdout, quiet.stderr], [0, 'quiet\n', '']);
  });

  it('drives a detached container: ps, logs, wait, stop, rm', async () => {
    const run = await d.berth(['run', '-d', '--name', 'cli1', 'busybox', 'sh', '-c', 'echo one; echo two >&2; sleep 30']);
    assert.equal(run.code, 0, run.stderr);
    await new Promise((r) => setTimeout(r, 400));
    const ps = await d.berth(['ps']);
    assert.match(ps.stdout, /cli1/);
    const logs = await d.berth(['logs', 'cli1']);
    assert.equal(logs.stdout, 'one\n');
    assert.equal(logs.stderr, 'two\n');
    const stop = await d.berth(['stop', '-t', '1', 'cli1']);
    assert.equal(stop.code, 0, stop.stderr);
    const wait = await d.berth(['wait', 'cli1']);
    assert.equal(wait.stdout.trim(), '137');
    const q = await d.berth(['ps', '-a', '-q']);
    assert.match(q.stdout, /^[a-f0-9]{12}$/m);
    assert.equal((await d.berth(['rm', 'cli1'])).code, 0);
    const gone = await d.berth(['logs', 'cli1']);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /No such container: cli1/);
  });

  it('pipes stdin with -i', async () => {
    const r = await d.berth(['run', '--rm', '-i', 'busybox', 'sh', '-c', 'cat; echo done'], { input: 'line1\nline2\n', timeoutMs: 10_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'line1\nline2\ndone\n');
    const docker = await d.docker(['run', '--rm', '-i', 'busybox', 'wc', '-l'], { input: 'a\nb\nc\n' });
    assert.equal(docker.stdout.trim(), '3');
  });

  it('gives -it a working interactive shell with a TTY and its window size', async () => {
    const env = { ...process.env, DOCKER_HOST: d.host, BERTH_HOST: d.host };
    const berth = await underTty(`stty rows 33 cols 101; ${join(repoRoot, 'bin/berth')} run -it --rm busybox sh`, 'tty; stty size; exit 5\n', env);
    assert.equal(berth.code, 5, berth.output);
    assert.match(berth.output, /\/dev\/pts\/0/);
    assert.match(berth.output, /33 101/);
    const docker = await underTty('docker run -it --rm busybox sh', 'echo hi-from-tty; exit 4\n', env);
    assert.equal(docker.code, 4, docker.output);
    assert.match(docker.output, /hi-from-tty/);
  });
});

/**
 * Restart policies and health checks through the docker CLI, docker-py and dockerode:
 * on-failure counts, always across a berthd crash, unless-stopped after a stop, health
 * going healthy then unhealthy with its log.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import Docker from 'dockerode';
import { startBerthd, type Berthd, type CommandResult } from '../helpers/berthd.js';
import { fixtures } from '../helpers/fixtures.js';

function python(d: Berthd, code: string): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile('python3', ['-c', code], { env: { ...process.env, DOCKER_HOST: d.host }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Pushes `<registry>/<repo>:latest`: the busybox fixture with `patch` merged into its image
 * config (the layer is mounted from the busybox repository). Returns the reference.
 */
async function pushDerivedImage(repo: string, patch: Record<string, unknown>): Promise<string> {
  const fx = await fixtures();
  const base = `http://${fx.registry}/v2`;
  const want = fx.digests.busybox;
  const manifest = (await (await fetch(`${base}/busybox/manifests/${want.manifest}`, { headers: { Accept: want.mediaType } })).json()) as {
    config: { digest: string; size: number; mediaType: string };
    layers: Array<{ digest: string }>;
  };
  const config = (await (await fetch(`${base}/busybox/blobs/${want.config}`)).json()) as { config: Record<string, unknown> };
  config.config = { ...config.config, ...patch };
  const configBytes = Buffer.from(JSON.stringify(config));
  const configDigest = `sha256:${createHash('sha256').update(configBytes).digest('hex')}`;
  const upload = await fetch(`${base}/${repo}/blobs/uploads/`, { method: 'POST' });
  const location = new URL(upload.headers.get('location') ?? '', `http://${fx.registry}`);
  location.searchParams.set('digest', configDigest);
  const put = await fetch(location, { method: 'PUT', body: configBytes, headers: { 'Content-Type': 'application/octet-stream' } });
  assert.equal(put.status, 201);
  for (const layer of manifest.layers) {
    const mount = await fetch(`${base}/${repo}/blobs/uploads/?mount=${layer.digest}&from=busybox`, { method: 'POST' });
    assert.equal(mount.status, 201);
  }
  const derived = { ...manifest, config: { ...manifest.config, digest: configDigest, size: configBytes.length } };
  const putManifest = await fetch(`${base}/${repo}/manifests/latest`, { method: 'PUT', body: JSON.stringify(derived), headers: { 'Content-Type': want.mediaType } });
  assert.equal(putManifest.status, 201);
  return `${fx.registry}/${repo}:latest`;
}

interface Inspect {
  Id: string;
  RestartCount: number;
  State: { Status: string; Pid: number; ExitCode: number; Health?: { Status: string; FailingStreak: number; Log: Array<{ ExitCode: number; Output: string; Start: string; End: string }> } };
}

describe('restart policies and health checks', () => {
  let d: Berthd;
  const inspect = async (name: string): Promise<Inspect> => (await d.api('GET', `/containers/${name}/json`)).json<Inspect>();
  /** Polls inspect until `done` holds (generous: the machine is shared). */
  const until = async (name: string, done: (i: Inspect) => boolean, timeoutMs = 20_000): Promise<Inspect> => {
    const deadline = Date.now() + timeoutMs;
    let last = await inspect(name);
    while (!done(last)) {
      if (Date.now() > deadline) assert.fail(`${name} never reached the expected state: ${JSON.stringify(last.State)} RestartCount=${last.RestartCount}`);
      await sleep(100);
      last = await inspect(name);
    }
    return last;
  };

  before(async () => {
    d = await startBerthd();
  });
  after(async () => {
    await d.destroy();
  });

  it('on-failure:2 restarts a failing container twice, then leaves it exited', async () => {
    const run = await d.docker(['run', '-d', '--name', 'onfail', '--restart', 'on-failure:2', 'busybox', 'sh', '-c', 'sleep 0.2; exit 3']);
    assert.equal(run.code, 0, run.stderr);
    const final = await until('onfail', (i) => i.State.Status === 'exited' && i.RestartCount === 2);
    assert.equal(final.State.ExitCode, 3);
    await sleep(1500);
    const later = await inspect('onfail');
    assert.equal(later.RestartCount, 2);
    assert.equal(later.State.Status, 'exited');
    const policy = await d.docker(['inspect', '-f', '{{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}', 'onfail']);
    assert.equal(policy.stdout.trim(), 'on-failure:2');
    // An explicit start begins the count afresh.
    const start = await d.docker(['start', 'onfail']);
    assert.equal(start.code, 0, start.stderr);
    assert.ok((await inspect('onfail')).RestartCount < 2);
    await until('onfail', (i) => i.State.Status === 'exited' && i.RestartCount === 2);
    await d.docker(['rm', '-f', 'onfail']);
  });

  it('does not restart after docker stop or kill; unless-stopped stays down (docker-py)', async () => {
    const py = await python(
      d,
      `import docker
c = docker.from_env()
u = c.containers.run('busybox', ['sleep', '300'], name='unless', detach=True, restart_policy={'Name': 'unless-stopped'})
a = c.containers.run('busybox', ['sleep', '300'], name='alw', detach=True, restart_policy={'Name': 'always'})
u.stop(timeout=0)
a.kill()
print('ok')`,
    );
    assert.equal(py.code, 0, py.stderr);
    await sleep(1500);
    for (const name of ['unless', 'alw']) {
      const i = await inspect(name);
      assert.equal(i.State.Status, 'exited', name);
      assert.equal(i.RestartCount, 0, name);
    }
  });

  it('restarts `always` containers after berthd dies, and starts them at berthd start; unless-stopped that were stopped stay down', async () => {
    const run = await d.docker(['run', '-d', '--name', 'survivor', '--restart', 'always', 'busybox', 'sleep', '300']);
    assert.equal(run.code, 0, run.stderr);
    const before = await until('survivor', (i) => i.State.Status === 'running' && i.State.Pid > 0);
    await d.kill9();
    // The container dies while berthd is down: conmon records the exit for the next berthd.
    process.kill(before.State.Pid, 'SIGKILL');
    await sleep(500);
    await d.start();
    const after = await until('survivor', (i) => i.State.Status === 'running' && i.State.Pid > 0 && i.State.Pid !== before.State.Pid);
    assert.equal(after.RestartCount, 1);
    // From the previous test: `alw` (always, killed) is started with the daemon, `unless` is not.
    assert.equal((await inspect('alw')).State.Status, 'running');
    assert.equal((await inspect('unless')).State.Status, 'exited');
    for (const name of ['survivor', 'alw', 'unless']) await d.docker(['rm', '-f', name]);
  });

  it('answers restart, refuses removing a restarting container without force, and rejects --rm with --restart', async () => {
    const run = await d.docker(['run', '-d', '--name', 'flappy', '--restart', 'always', 'busybox', 'sh', '-c', 'exit 1']);
    assert.equal(run.code, 0, run.stderr);
    const restarting = await until('flappy', (i) => i.State.Status === 'restarting' && i.RestartCount >= 3);
    assert.equal(restarting.State.ExitCode, 1);
    const ps = await d.docker(['ps', '--filter', 'name=flappy', '--format', '{{.Status}}']);
    assert.match(ps.stdout, /Restarting \(1\)|Up /);
    // Between restarts or during its short run: either way removal needs force.
    const rm = await d.docker(['rm', 'flappy']);
    assert.notEqual(rm.code, 0);
    assert.match(rm.stderr, /container is (restarting|running): stop the container before removing or force remove/);
    const stop = await d.docker(['stop', 'flappy']);
    assert.equal(stop.code, 0, stop.stderr);
    await sleep(800);
    assert.equal((await inspect('flappy')).State.Status, 'exited');
    await d.docker(['rm', 'flappy']);

    const conflict = await d.docker(['run', '--rm', '--restart', 'always', 'busybox', 'true']);
    assert.notEqual(conflict.code, 0);
    assert.match(conflict.stderr, /conflicting options: cannot specify both --restart and --rm/);
    const berthConflict = await d.berth(['run', '--rm', '--restart', 'always', 'busybox', 'true']);
    assert.equal(berthConflict.code, 125);
    assert.match(berthConflict.stderr, /conflicting options: cannot specify both --restart and --rm/);
    const api = await d.api('POST', '/containers/create', { Image: 'busybox', HostConfig: { AutoRemove: true, RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 1 } } });
    assert.equal(api.status, 400);

    const upd = await d.docker(['run', '-d', '--name', 'upd', 'busybox', 'sh', '-c', 'sleep 0.3; exit 2']);
    assert.equal(upd.code, 0, upd.stderr);
    const set = await d.docker(['update', '--restart', 'on-failure:1', 'upd']);
    assert.equal(set.code, 0, set.stderr);
    await until('upd', (i) => i.State.Status === 'exited' && i.RestartCount === 1);
    await d.docker(['rm', '-f', 'upd']);
  });

  it('runs a health check: healthy, then unhealthy with its log; probes stop with the container (dockerode)', async () => {
    const docker = new Docker({ socketPath: d.socket });
    const container = await docker.createContainer({
      Image: 'busybox',
      name: 'probed',
      Cmd: ['sh', '-c', 'touch /tmp/ok; sleep 300'],
      Healthcheck: { Test: ['CMD-SHELL', 'echo probing; test -f /tmp/ok'], Interval: 200e6, Timeout: 2e9, Retries: 2 },
    });
    await container.start();
    const first = (await container.inspect()).State.Health?.Status;
    assert.ok(first === 'starting' || first === 'healthy', String(first));
    await until('probed', (i) => i.State.Health?.Status === 'healthy');
    const ps = await d.docker(['ps', '--filter', 'name=probed', '--format', '{{.Status}}']);
    assert.match(ps.stdout, /^Up .* \(healthy\)$/m);
    const psAll = await d.docker(['ps']);
    assert.match(psAll.stdout, /\(healthy\)/);
    assert.equal((await d.docker(['ps', '-q', '--filter', 'health=healthy'])).stdout.trim(), container.id.slice(0, 12));
    assert.equal((await d.docker(['ps', '-q', '--filter', 'health=unhealthy'])).stdout.trim(), '');

    const rm = await d.docker(['exec', 'probed', 'rm', '/tmp/ok']);
    assert.equal(rm.code, 0, rm.stderr);
    const sick = await until('probed', (i) => i.State.Health?.Status === 'unhealthy');
    const health = sick.State.Health;
    assert.ok(health && health.FailingStreak >= 2);
    assert.ok(health && health.Log.length <= 5 && health.Log.length > 0);
    const last = health?.Log.at(-1);
    assert.equal(last?.ExitCode, 1);
    assert.equal(last?.Output, 'probing\n');
    assert.ok(last && Date.parse(last.End) >= Date.parse(last.Start));
    assert.match((await d.docker(['ps', '--format', '{{.Status}}', '--filter', 'name=probed'])).stdout, /\(unhealthy\)/);

    await container.stop({ t: 0 });
    const stopped = await inspect('probed');
    const count = stopped.State.Health?.Log.length ?? 0;
    await sleep(700);
    const later = await inspect('probed');
    assert.deepEqual(later.State.Health?.Log.at(-1), stopped.State.Health?.Log.at(-1));
    assert.equal(later.State.Health?.Log.length, count);
    // Each probe's exec session directory is gone: only the `docker exec rm` session's is left.
    const sessions = await readdir(join(d.root, 'data', 'containers', stopped.Id, 'exec')).catch(() => [] as string[]);
    assert.ok(sessions.length <= 1, sessions.join(' '));
    await container.remove({ force: true });
  });

  it("runs the image's HEALTHCHECK, with --health-* flags overriding its fields", async () => {
    const image = await pushDerivedImage('busybox-health', { Healthcheck: { Test: ['CMD-SHELL', 'test -f /tmp/ready'], Interval: 200e6, Retries: 1 } });
    const pull = await d.docker(['pull', '-q', image]);
    assert.equal(pull.code, 0, pull.stderr);
    const run = await d.docker(['run', '-d', '--name', 'imagecheck', image, 'sh', '-c', 'sleep 1; touch /tmp/ready; sleep 300']);
    assert.equal(run.code, 0, run.stderr);
    await until('imagecheck', (i) => i.State.Health?.Status === 'healthy');
    const test = await d.docker(['inspect', '-f', '{{json .Config.Healthcheck.Test}} {{.Config.Healthcheck.Interval}}', 'imagecheck']);
    assert.equal(test.stdout.trim(), '["CMD-SHELL","test -f /tmp/ready"] 200ms');
    const overridden = await d.docker(['run', '-d', '--name', 'overridden', '--health-cmd', 'false', '--health-retries', '2', image, 'sleep', '300']);
    assert.equal(overridden.code, 0, overridden.stderr);
    const sick = await until('overridden', (i) => i.State.Health?.Status === 'unhealthy');
    assert.equal(sick.State.Health?.FailingStreak, 2);
    const disabled = await d.docker(['run', '-d', '--name', 'disabled', '--no-healthcheck', image, 'sleep', '300']);
    assert.equal(disabled.code, 0, disabled.stderr);
    assert.equal((await inspect('disabled')).State.Health, undefined);
    for (const name of ['imagecheck', 'overridden', 'disabled']) await d.docker(['rm', '-f', name]);
  });

  it('keeps the health status, streak and log across a berthd restart, running or stopped (docker CLI, docker-py)', async () => {
    const run = await d.docker(['run', '-d', '--name', 'sickly', '--health-cmd', 'echo check; false', '--health-interval', '1s', '--health-retries', '1', 'busybox', 'sleep', '300']);
    assert.equal(run.code, 0, run.stderr);
    const stopped = await d.docker(['run', '-d', '--name', 'was-fine', '--health-cmd', 'true', '--health-interval', '200ms', 'busybox', 'sleep', '300']);
    assert.equal(stopped.code, 0, stopped.stderr);
    await until('was-fine', (i) => i.State.Health?.Status === 'healthy');
    assert.equal((await d.docker(['stop', '-t', '0', 'was-fine'])).code, 0);
    const fineBefore = (await inspect('was-fine')).State.Health;
    const before = (await until('sickly', (i) => i.State.Health?.Status === 'unhealthy')).State.Health;
    const lastBefore = before?.Log.at(-1);
    assert.ok(lastBefore);
    await d.kill9();
    await d.start();

    const py = await python(d, "import docker, json\nc = docker.from_env()\nprint(json.dumps([c.api.inspect_container(n)['State'].get('Health') for n in ('sickly', 'was-fine')]))");
    assert.equal(py.code, 0, py.stderr);
    const [sickly, wasFine] = JSON.parse(py.stdout) as Array<Inspect['State']['Health']>;
    assert.equal(sickly?.Status, 'unhealthy');
    assert.ok((sickly?.FailingStreak ?? 0) >= (before?.FailingStreak ?? 1), JSON.stringify(sickly));
    assert.ok(sickly?.Log.some((e) => e.Start === lastBefore.Start && e.Output === 'check\n'), JSON.stringify(sickly?.Log));
    assert.deepEqual(wasFine, fineBefore);
    const ps = await d.docker(['ps', '--filter', 'health=unhealthy', '--format', '{{.Names}} {{.Status}}']);
    assert.match(ps.stdout, /^sickly Up .* \(unhealthy\)$/m);
    // A start begins the check afresh; the log is kept.
    assert.equal((await d.docker(['start', 'was-fine'])).code, 0);
    assert.ok(((await inspect('was-fine')).State.Health?.Log.length ?? 0) >= (fineBefore?.Log.length ?? 1));
    for (const name of ['sickly', 'was-fine']) assert.equal((await d.docker(['rm', '-f', name])).code, 0);
  });

  it('reports a probe timeout, and --no-healthcheck disables the check (docker CLI)', async () => {
    const run = await d.docker(['run', '-d', '--name', 'slow', '--health-cmd', 'sleep 5', '--health-timeout', '300ms', '--health-interval', '200ms', '--health-retries', '1', 'busybox', 'sleep', '300']);
    assert.equal(run.code, 0, run.stderr);
    const sick = await until('slow', (i) => i.State.Health?.Status === 'unhealthy');
    const entry = sick.State.Health?.Log.at(-1);
    assert.equal(entry?.ExitCode, -1);
    assert.match(entry?.Output ?? '', /Health check exceeded timeout \(300ms\)/);
    await d.docker(['rm', '-f', 'slow']);

    const none = await d.docker(['run', '-d', '--name', 'nocheck', '--no-healthcheck', 'busybox', 'sleep', '300']);
    assert.equal(none.code, 0, none.stderr);
    const i = await inspect('nocheck');
    assert.equal(i.State.Health, undefined);
    assert.equal((await d.docker(['inspect', '-f', '{{json .Config.Healthcheck.Test}}', 'nocheck'])).stdout.trim(), '["NONE"]');
    await d.docker(['rm', '-f', 'nocheck']);

    const bad = await d.api('POST', '/containers/create', { Image: 'busybox', Healthcheck: { Test: ['CMD', 'true'], Interval: 5 } });
    assert.equal(bad.status, 400);
    assert.match(bad.body, /Interval in Healthcheck cannot be less than 1ms/);
  });
});

/** The real docker CLI driving berthd: run, exit codes, detached lifecycle, logs, ps, inspect, errors. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startBerthd, mountsUnderExceptLayers, type Berthd } from '../helpers/berthd.js';
import { loadRuntimeSpecValidator } from '../helpers/runtime-schema.js';

describe('docker CLI → berthd: containers', () => {
  let d: Berthd;
  before(async () => {
    d = await startBerthd();
  });
  after(async () => {
    await d.destroy();
  });

  it('answers version negotiation and reports itself', async () => {
    const ping = await d.api('GET', '/_ping');
    assert.equal(ping.status, 200);
    assert.equal(ping.body, 'OK');
    const v = await d.docker(['version', '--format', '{{.Server.APIVersion}} {{.Server.Os}}']);
    assert.equal(v.code, 0, v.stderr);
    assert.equal(v.stdout.trim(), '1.50 linux');
    const old = await d.api('GET', '/v1.24/version');
    assert.equal(old.status, 200);
    const tooNew = await d.api('GET', '/v1.99/version');
    assert.equal(tooNew.status, 400);
    assert.match(tooNew.json<{ message: string }>().message, /too new/);
    const info = await d.docker(['info', '--format', '{{.Driver}} {{.OSType}}']);
    assert.equal(info.stdout.trim(), 'overlay linux');
  });

  it('runs the bundled busybox image and prints its output', async () => {
    const r = await d.docker(['run', '--rm', 'busybox', 'echo', 'hello']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'hello\n');
  });

  it('mounts a --rm container\'s root volatile (its upper dir is thrown away) and a kept one not', async () => {
    // Field 5 of mountinfo is the mount point; the super options follow the " - " separator.
    const rootOptions = "awk '$5 == \"/\" { sub(/.* - /, \"\"); print }' /proc/self/mountinfo";
    const throwaway = await d.docker(['run', '--rm', 'busybox', 'sh', '-c', rootOptions]);
    assert.equal(throwaway.code, 0, throwaway.stderr);
    assert.match(throwaway.stdout, /^overlay overlay .*\bvolatile\b/m);
    const kept = await d.docker(['run', '--name', 'kept-root', 'busybox', 'sh', '-c', rootOptions]);
    assert.equal(kept.code, 0, kept.stderr);
    assert.match(kept.stdout, /^overlay overlay /m);
    assert.doesNotMatch(kept.stdout, /volatile/);
    assert.equal((await d.docker(['rm', 'kept-root'])).code, 0);
  });

  it('passes the exit code and keeps stdout and stderr apart', async () => {
    const r = await d.docker(['run', '--rm', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    assert.equal(r.code, 3);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
  });

  it('applies -e, -w, -u, --hostname and --entrypoint', async () => {
    const r = await d.docker(['run', '--rm', '-e', 'GREETING=hi there', '-w', '/tmp', '-u', '65534:65534', '--hostname', 'box1', 'busybox', 'sh', '-c', 'echo "$GREETING|$(pwd)|$(id -u):$(id -g)|$(hostname)|$HOSTNAME"']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'hi there|/tmp|65534:65534|box1|box1\n');
    const ep = await d.docker(['run', '--rm', '--entrypoint', '/bin/echo', 'busybox', 'from', 'entrypoint']);
    assert.equal(ep.stdout, 'from entrypoint\n');
  });

  it('runs with Docker\'s default confinement: 14 capabilities, seccomp filter, masked /proc paths', async () => {
    const r = await d.docker(['run', '--rm', 'busybox', 'sh', '-c', 'grep -E "^(CapBnd|Seccomp):" /proc/self/status; cat /proc/kcore | wc -c; cat /etc/hostname >/dev/null && echo etc-ok; mount | grep -c " /dev/shm "']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /CapBnd:\s+00000000a80425fb/);
    assert.match(r.stdout, /Seccomp:\s+2/);
    assert.match(r.stdout, /^0$/m);
    assert.match(r.stdout, /etc-ok/);
  });

  it('manages a detached container: ps, logs, inspect, stop, rm', async () => {
    const run = await d.docker(['run', '-d', '--name', 'ticker', 'busybox', 'sh', '-c', 'trap "exit 0" TERM; i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done']);
    assert.equal(run.code, 0, run.stderr);
    const id = run.stdout.trim();
    assert.match(id, /^[a-f0-9]{64}$/);
    await new Promise((r) => setTimeout(r, 700));
    const ps = await d.docker(['ps']);
    assert.match(ps.stdout, /CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES/);
    assert.match(ps.stdout, new RegExp(`${id.slice(0, 12)}\\s+busybox\\s+.*Up .*ticker`));
    const logs = await d.docker(['logs', 'ticker']);
    assert.match(logs.stdout, /^tick 0\ntick 1\n/);
    const tail = await d.docker(['logs', '--tail', '1', '-t', 'ticker']);
    assert.match(tail.stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z tick \d+\n$/);
    // --details: the line's attributes (none here) and a space before it, as dockerd writes it.
    const details = await d.docker(['logs', '--details', '--tail', '1', '-t', 'ticker']);
    assert.match(details.stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z  tick \d+\n$/);
    const state = await d.docker(['inspect', '-f', '{{.State.Status}} {{.State.Running}} {{.Name}}', 'ticker']);
    assert.equal(state.stdout.trim(), 'running true /ticker');
    const rmRunning = await d.docker(['rm', 'ticker']);
    assert.notEqual(rmRunning.code, 0);
    assert.match(rmRunning.stderr, /container is running/);
    const stop = await d.docker(['stop', 'ticker']);
    assert.equal(stop.code, 0, stop.stderr);
    const exited = await d.docker(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', id]);
    assert.equal(exited.stdout.trim(), 'exited 0');
    const psa = await d.docker(['ps', '-a']);
    assert.match(psa.stdout, /Exited \(0\) .* ago\s+ticker/);
    assert.equal((await d.docker(['rm', 'ticker'])).code, 0);
    const gone = await d.docker(['inspect', 'ticker']);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /No such object: ticker|No such container: ticker/);
    assert.deepEqual(await mountsUnderExceptLayers(d.root), []);
  });

  it('writes a config.json that validates against the runtime-spec schema', async () => {
    const validate = loadRuntimeSpecValidator();
    const variants = [
      ['run', '-d', 'busybox', 'sleep', '30'],
      ['run', '-d', '-t', '-i', '--network', 'host', '-u', 'nobody', '--read-only', '--cap-add', 'NET_ADMIN', '--cap-drop', 'CHOWN', '-e', 'A=1', 'busybox', 'sleep', '30'],
    ];
    for (const args of variants) {
      const id = (await d.docker(args)).stdout.trim();
      const config = JSON.parse(await readFile(join(d.root, 'data/containers', id, 'config.json'), 'utf8')) as unknown;
      assert.ok(validate(config), JSON.stringify(validate.errors));
      assert.equal((await d.docker(['rm', '-f', id])).code, 0);
    }
  });

  it('follows logs until the container exits', async () => {
    const id = (await d.docker(['run', '-d', 'busybox', 'sh', '-c', 'for i in 1 2 3; do echo n$i; sleep 0.2; done'])).stdout.trim();
    const follow = await d.docker(['logs', '-f', id], { timeoutMs: 10_000 });
    assert.equal(follow.code, 0, follow.stderr);
    assert.equal(follow.stdout, 'n1\nn2\nn3\n');
    await d.docker(['rm', id]);
  });

  it('stops with SIGKILL after the timeout when the stop signal is ignored', async () => {
    const run = await d.docker(['run', '-d', 'busybox', 'sleep', '60']);
    const id = run.stdout.trim();
    const started = Date.now();
    const stop = await d.docker(['stop', '-t', '1', id]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.ok(Date.now() - started < 5000);
    const code = await d.docker(['inspect', '-f', '{{.State.ExitCode}}', id]);
    assert.equal(code.stdout.trim(), '137');
    await d.docker(['rm', id]);
  });

  it('kill sends a signal; wait returns the exit code', async () => {
    const run = await d.docker(['run', '-d', 'busybox', 'sh', '-c', 'trap "exit 42" USR1; while true; do sleep 0.1; done']);
    const id = run.stdout.trim();
    await new Promise((r) => setTimeout(r, 300));
    const waiting = d.docker(['wait', id]);
    assert.equal((await d.docker(['kill', '-s', 'USR1', id])).code, 0);
    const w = await waiting;
    assert.equal(w.stdout.trim(), '42');
    await d.docker(['rm', id]);
  });

  it('refuses bad input with Docker\'s statuses and messages', async () => {
    const noImage = await d.docker(['run', '--rm', '--pull', 'never', 'no-such-image:1', 'true']);
    assert.equal(noImage.code, 125);
    assert.match(noImage.stderr, /No such image: no-such-image:1/);
    const badRef = await d.api('POST', '/containers/create', { Image: 'library/Foo', Cmd: ['true'] });
    assert.equal(badRef.status, 400);
    assert.match(badRef.json<{ message: string }>().message, /must be lowercase/);
    const badName = await d.api('POST', '/containers/create?name=bad%20name', { Image: 'busybox', Cmd: ['true'] });
    assert.equal(badName.status, 400);
    assert.match(badName.json<{ message: string }>().message, /Invalid container name/);
    await d.docker(['create', '--name', 'taken', 'busybox', 'true']);
    const dup = await d.api('POST', '/containers/create?name=taken', { Image: 'busybox', Cmd: ['true'] });
    assert.equal(dup.status, 409);
    assert.match(dup.json<{ message: string }>().message, /already in use/);
    const missing = await d.api('POST', '/containers/nope/start');
    assert.equal(missing.status, 404);
    assert.equal(missing.json<{ message: string }>().message, 'No such container: nope');
    const badJson = await d.api('POST', '/containers/create', { Image: 'busybox', Cmd: 5 });
    assert.equal(badJson.status, 400);
    const notFoundCmd = await d.docker(['run', '--rm', 'busybox', '/no/such/binary']);
    assert.notEqual(notFoundCmd.code, 0);
    assert.match(notFoundCmd.stderr, /no such file or directory|not found/i);
    const before = await readdir(join(d.root, 'data/containers'));
    const noCommand = await d.api('POST', '/containers/create', { Image: 'busybox', Entrypoint: [''], Cmd: [] });
    assert.equal(noCommand.status, 400);
    assert.match(noCommand.json<{ message: string }>().message, /no command specified/);
    assert.deepEqual(await readdir(join(d.root, 'data/containers')), before);
    await d.docker(['rm', 'taken']);
    // --platform: the image must be for it (dockerd's GetImage check); the docker CLI then tries to
    // pull for that platform, which berth refuses, and nothing is created.
    const containersBefore = await readdir(join(d.root, 'data/containers'));
    const arm = await d.api('POST', '/containers/create?platform=linux%2Farm64', { Image: 'busybox', Cmd: ['true'] });
    assert.deepEqual([arm.status, arm.json<{ message: string }>().message], [404, 'image with reference busybox was found but its platform (linux/amd64) does not match the specified platform (linux/arm64)']);
    const armRun = await d.docker(['run', '--rm', '--platform', 'linux/arm64', 'busybox', 'true']);
    assert.equal(armRun.code, 125, armRun.stderr);
    assert.match(armRun.stderr, /platform linux\/arm64 is not supported/);
    assert.deepEqual(await readdir(join(d.root, 'data/containers')), containersBefore);
    const amd = await d.docker(['run', '--name', 'amd', '--platform', 'linux/amd64', 'busybox', 'echo', 'same platform']);
    assert.equal(amd.stdout, 'same platform\n', amd.stderr);
    // Removed and waited for here: a --rm run's unmount would still be under way below.
    assert.equal((await d.docker(['rm', 'amd'])).code, 0);
    // A failed start leaves no mount behind.
    assert.deepEqual((await mountsUnderExceptLayers(d.root)).filter((m) => m.includes('/containers/')), []);
  });
});

/** docker exec / berth exec through conmon's exec mode: output, exit codes, stdin, TTY, user and env. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { startBerthd, type Berthd } from '../helpers/berthd.js';

describe('exec', () => {
  let d: Berthd;
  before(async () => {
    d = await startBerthd();
    const r = await d.docker(['run', '-d', '--name', 'target', 'busybox', 'sleep', '300']);
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    await d.destroy();
  });

  it('runs a command and returns its output and exit code', async () => {
    const hi = await d.docker(['exec', 'target', 'echo', 'hi']);
    assert.equal(hi.code, 0, hi.stderr);
    assert.equal(hi.stdout, 'hi\n');
    const code = await d.docker(['exec', 'target', 'sh', '-c', 'echo out; echo err >&2; exit 7']);
    assert.equal(code.code, 7);
    assert.equal(code.stdout, 'out\n');
    assert.equal(code.stderr, 'err\n');
    const berth = await d.berth(['exec', 'target', 'sh', '-c', 'exit 4']);
    assert.equal(berth.code, 4);
  });

  it('applies -u, -w and -e, and pipes stdin with -i', async () => {
    const who = await d.docker(['exec', '-u', 'nobody', '-w', '/tmp', '-e', 'X=1', 'target', 'sh', '-c', 'echo $(id -u) $(pwd) $X']);
    assert.equal(who.stdout, '65534 /tmp 1\n');
    const piped = await d.docker(['exec', '-i', 'target', 'wc', '-l'], { input: 'a\nb\n' });
    assert.equal(piped.stdout.trim(), '2');
    const berth = await d.berth(['exec', '-i', 'target', 'cat'], { input: 'through berth\n' });
    assert.equal(berth.stdout, 'through berth\n');
  });

  it('detaches with -d and reports the session in exec inspect', async () => {
    assert.equal((await d.docker(['exec', '-d', 'target', 'sh', '-c', 'touch /tmp/detached'])).code, 0);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await d.docker(['exec', 'target', 'ls', '/tmp/detached'])).code, 0);
    const created = await d.api('POST', '/containers/target/exec', { Cmd: ['sh', '-c', 'exit 3'], AttachStdout: true });
    assert.equal(created.status, 201);
    const id = created.json<{ Id: string }>().Id;
    assert.equal((await d.api('POST', `/exec/${id}/start`, { Detach: true })).status, 200);
    await new Promise((r) => setTimeout(r, 300));
    const inspect = (await d.api('GET', `/exec/${id}/json`)).json<{ Running: boolean; ExitCode: number; ContainerID: string }>();
    assert.equal(inspect.Running, false);
    assert.equal(inspect.ExitCode, 3);
    assert.match(inspect.ContainerID, /^[a-f0-9]{64}$/);
    const again = await d.api('POST', `/exec/${id}/start`, { Detach: true });
    assert.equal(again.status, 409);
  });

  it('gives -it a TTY of the requested size', async () => {
    const child = spawn('script', ['-qec', 'stty rows 21 cols 77; docker exec -it target sh', '/dev/null'], { env: { ...process.env, DOCKER_HOST: d.host } });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    setTimeout(() => child.stdin.write('tty; stty size; exit 5\n'), 1000);
    const code = await new Promise<number>((r) => child.on('close', (c) => r(c ?? 137)));
    assert.equal(code, 5, output);
    assert.match(output, /\/dev\/pts\/\d+/);
    assert.match(output, /21 77/);
  });

  it('explains a missing executable (127) and refuses a stopped container (409)', async () => {
    const missing = await d.docker(['exec', 'target', '/no/such/binary']);
    assert.equal(missing.code, 127);
    assert.match(missing.stdout + missing.stderr, /no such file or directory/);
    const unknown = await d.api('GET', '/exec/nope/json');
    assert.equal(unknown.status, 404);
    assert.match(unknown.json<{ message: string }>().message, /No such exec instance/);
    await d.docker(['stop', '-t', '0', 'target']);
    const stopped = await d.api('POST', '/containers/target/exec', { Cmd: ['true'] });
    assert.equal(stopped.status, 409);
    assert.match(stopped.json<{ message: string }>().message, /is not running/);
  });
});

/** docker exec / berth exec through conmon's exec mode: output, exit codes, stdin, TTY, user and env. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { processesMentioning, startBerthd, type Berthd } from '../helpers/berthd.js';

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

  it('passes piped stdin and its end through, every time', async () => {
    const big = 'a'.repeat(100_000);
    for (let i = 0; i < 8; i++) {
      const small = await d.docker(['exec', '-i', 'target', 'cat'], { input: `line ${i}\n`, timeoutMs: 15_000 });
      assert.equal(small.stdout, `line ${i}\n`, `docker exec -i run ${i}: ${small.stderr}`);
      const counted = await d.docker(['exec', '-i', 'target', 'wc', '-c'], { input: big, timeoutMs: 15_000 });
      assert.equal(counted.stdout.trim(), '100000', `docker exec -i (100 kB) run ${i}: ${counted.stderr}`);
    }
    const berth = await d.berth(['exec', '-i', 'target', 'sh', '-c', 'cat; echo done'], { input: 'from berth\n', timeoutMs: 15_000 });
    assert.equal(berth.stdout, 'from berth\ndone\n', berth.stderr);
  });

  it('gives --privileged every capability berthd has, and nothing extra otherwise', async () => {
    const capEff = async (args: string[]): Promise<bigint> => {
      const r = await d.docker(['exec', ...args, 'target', 'sh', '-c', 'grep CapEff /proc/self/status']);
      assert.equal(r.code, 0, r.stderr);
      return BigInt(`0x${r.stdout.trim().split(/\s+/)[1] ?? '0'}`);
    };
    const plain = await capEff([]);
    const privileged = await capEff(['--privileged']);
    const berthd = BigInt(`0x${(/^CapBnd:\s*([0-9a-f]+)$/m.exec(await readFile('/proc/self/status', 'utf8'))?.[1]) ?? '0'}`);
    assert.equal(privileged, berthd);
    assert.ok(plain < privileged && (plain & privileged) === plain, `${plain.toString(16)} vs ${privileged.toString(16)}`);
  });

  it('applies -u, -w and -e', async () => {
    const who = await d.docker(['exec', '-u', 'nobody', '-w', '/tmp', '-e', 'X=1', 'target', 'sh', '-c', 'echo $(id -u) $(pwd) $X']);
    assert.equal(who.stdout, '65534 /tmp 1\n');
    // An unknown user fails before the runtime runs: the conmon started for the session is stopped, its directory removed.
    const id = (await d.docker(['inspect', '-f', '{{.Id}}', 'target'])).stdout.trim();
    const sessions = join(d.root, 'data', 'containers', id, 'exec');
    const before = await readdir(sessions).catch(() => []);
    const unknown = await d.docker(['exec', '-u', 'nobody-here', 'target', 'true']);
    assert.equal(unknown.code, 126, 'exit status of an exec that could not start');
    assert.match(unknown.stdout + unknown.stderr, /unable to find user nobody-here/);
    assert.deepEqual(await processesMentioning(sessions), []);
    assert.deepEqual(await readdir(sessions).catch(() => []), before);
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

describe('pause, unpause, restart, rename', () => {
  let d: Berthd;
  before(async () => {
    d = await startBerthd();
  });
  after(async () => {
    await d.destroy();
  });

  it('freezes and thaws a container', async () => {
    const id = (await d.docker(['run', '-d', '--name', 'counter', 'busybox', 'sh', '-c', 'i=0; while true; do i=$((i+1)); echo $i; sleep 0.1; done'])).stdout.trim();
    await new Promise((r) => setTimeout(r, 400));
    assert.equal((await d.docker(['pause', 'counter'])).code, 0);
    const state = await d.docker(['inspect', '-f', '{{.State.Status}} {{.State.Paused}}', id]);
    assert.equal(state.stdout.trim(), 'paused true');
    assert.match((await d.docker(['ps'])).stdout, /\(Paused\)/);
    const frozen = (await d.docker(['logs', 'counter'])).stdout;
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await d.docker(['logs', 'counter'])).stdout, frozen);
    const again = await d.docker(['pause', 'counter']);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /already paused/);
    const execPaused = await d.api('POST', '/containers/counter/exec', { Cmd: ['true'] });
    assert.equal(execPaused.status, 409);
    assert.equal((await d.docker(['unpause', 'counter'])).code, 0);
    await new Promise((r) => setTimeout(r, 400));
    assert.notEqual((await d.docker(['logs', 'counter'])).stdout, frozen);
    const notPaused = await d.docker(['unpause', 'counter']);
    assert.match(notPaused.stderr, /is not paused/);
    // A paused container still stops promptly: it is thawed after the signal.
    assert.equal((await d.docker(['pause', 'counter'])).code, 0);
    const started = Date.now();
    assert.equal((await d.docker(['stop', '-t', '2', 'counter'])).code, 0);
    assert.ok(Date.now() - started < 5000);
    await d.docker(['rm', 'counter']);
  });

  it('restarts a container and renames it', async () => {
    const id = (await d.docker(['run', '-d', '--name', 'old-name', 'busybox', 'sh', '-c', 'trap "exit 0" TERM; echo started; while true; do sleep 0.1; done'])).stdout.trim();
    await new Promise((r) => setTimeout(r, 300));
    const pid1 = (await d.docker(['inspect', '-f', '{{.State.Pid}}', id])).stdout.trim();
    assert.equal((await d.docker(['restart', '-t', '2', id])).code, 0);
    await new Promise((r) => setTimeout(r, 300));
    const after = await d.docker(['inspect', '-f', '{{.State.Status}} {{.State.Pid}}', id]);
    const [status, pid2] = after.stdout.trim().split(' ');
    assert.equal(status, 'running');
    assert.notEqual(pid2, pid1);
    assert.equal((await d.docker(['logs', id])).stdout, 'started\nstarted\n');
    assert.equal((await d.docker(['rename', 'old-name', 'new-name'])).code, 0);
    assert.equal((await d.docker(['inspect', '-f', '{{.Name}}', id])).stdout.trim(), '/new-name');
    await d.docker(['create', '--name', 'taken2', 'busybox', 'true']);
    const clash = await d.docker(['rename', 'new-name', 'taken2']);
    assert.notEqual(clash.code, 0);
    assert.match(clash.stderr, /already in use/);
    await d.docker(['rm', '-f', id, 'taken2']);
  });
});

describe('top, diff, container prune', () => {
  let d: Berthd;
  before(async () => {
    d = await startBerthd();
  });
  after(async () => {
    await d.destroy();
  });

  it('lists the container\'s processes with ps columns', async () => {
    const id = (await d.docker(['run', '-d', 'busybox', 'sh', '-c', 'sleep 301 & sleep 302'])).stdout.trim();
    await new Promise((r) => setTimeout(r, 300));
    const top = await d.docker(['top', id]);
    assert.equal(top.code, 0, top.stderr);
    assert.match(top.stdout, /^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD/);
    assert.match(top.stdout, /sleep 301/);
    assert.match(top.stdout, /sleep 302/);
    assert.doesNotMatch(top.stdout, /berthd/);
    const custom = await d.docker(['top', id, '-o', 'pid,comm']);
    assert.match(custom.stdout, /PID\s+COMMAND/);
    await d.docker(['rm', '-f', id]);
  });

  it('shows what a container added, changed and deleted', async () => {
    const id = (await d.docker(['run', '-d', 'busybox', 'sh', '-c', 'echo x > /tmp/new; rm /etc/group; echo y >> /etc/passwd; sleep 300'])).stdout.trim();
    await new Promise((r) => setTimeout(r, 400));
    const diff = await d.docker(['diff', id]);
    assert.equal(diff.code, 0, diff.stderr);
    const lines = diff.stdout.trim().split('\n');
    assert.ok(lines.includes('A /tmp/new'), diff.stdout);
    assert.ok(lines.includes('C /tmp'), diff.stdout);
    assert.ok(lines.includes('D /etc/group'), diff.stdout);
    assert.ok(lines.includes('C /etc/passwd'), diff.stdout);
    // The mount points of the /etc files berth bind-mounts are not the container's changes.
    assert.deepEqual(lines.filter((l) => /\/etc\/(hostname|hosts|resolv\.conf)$/.test(l)), [], diff.stdout);
    await d.docker(['rm', '-f', id]);
    const untouched = (await d.docker(['run', '-d', 'busybox', 'true'])).stdout.trim();
    await d.docker(['wait', untouched]);
    const none = await d.docker(['diff', untouched]);
    assert.equal(none.code, 0, none.stderr);
    assert.equal(none.stdout, '', 'a container that changed nothing has an empty diff, as with dockerd');
    await d.docker(['rm', untouched]);
  });

  it('prunes stopped containers only', async () => {
    const running = (await d.docker(['run', '-d', 'busybox', 'sleep', '300'])).stdout.trim();
    const exited = (await d.docker(['run', '-d', 'busybox', 'sh', '-c', 'head -c 100000 /dev/zero > /tmp/blob'])).stdout.trim();
    await d.docker(['wait', exited]);
    const created = (await d.docker(['create', 'busybox', 'true'])).stdout.trim();
    const prune = await d.docker(['container', 'prune', '-f']);
    assert.equal(prune.code, 0, prune.stderr);
    assert.match(prune.stdout, new RegExp(exited));
    assert.match(prune.stdout, new RegExp(created));
    assert.doesNotMatch(prune.stdout, new RegExp(running));
    assert.match(prune.stdout, /Total reclaimed space: 100(\.\d+)?kB/);
    const left = await d.docker(['ps', '-aq', '--no-trunc']);
    assert.equal(left.stdout.trim(), running);
    await d.docker(['rm', '-f', running]);
  });
});

/**
 * attach to a running container: the docker and berth CLIs in a real pty (script), detach
 * keys (default, --detach-keys, the API's detachKeys), re-attach, `start -ai`, `run -it`,
 * the multiplexed stream and half-close through the raw API, and the 4xx cases.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { repoRoot, startBerthd, type Berthd } from '../helpers/berthd.js';

/** A command in a pseudo-terminal: what it printed, typed input, its exit status. */
class Pty {
  private output = '';
  private readonly child: ChildProcessWithoutNullStreams;
  readonly exited: Promise<number>;
  constructor(command: string, env: NodeJS.ProcessEnv) {
    this.child = spawn('script', ['-qec', `stty rows 30 cols 90; ${command}`, '/dev/null'], { env });
    this.child.stdout.on('data', (b: Buffer) => (this.output += b.toString()));
    this.child.stderr.on('data', (b: Buffer) => (this.output += b.toString()));
    this.exited = new Promise((r) => this.child.on('close', (c) => r(c ?? 137)));
    setTimeout(() => this.child.kill('SIGKILL'), 60_000).unref();
  }
  get text(): string {
    return this.output;
  }
  type(s: string): void {
    this.child.stdin.write(s);
  }
  /** Types the keys one at a time, as a person would (the docker CLI matches key by key). */
  async keys(bytes: number[]): Promise<void> {
    for (const b of bytes) {
      this.child.stdin.write(Buffer.from([b]));
      await sleep(150);
    }
  }
  async waitFor(pattern: RegExp, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.output)) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}; output so far: ${JSON.stringify(this.output)}`);
      await sleep(50);
    }
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const CTRL_P_Q = [16, 17];

/** A hijacked POST /containers/{id}/attach on the raw socket. */
async function rawAttach(d: Berthd, path: string): Promise<{ socket: Socket; head: string; data: () => Buffer; closed: Promise<void> }> {
  const socket = connect(d.socket);
  await new Promise<void>((r) => socket.once('connect', () => r()));
  socket.write(`POST ${path} HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n`);
  let buffer = Buffer.alloc(0);
  socket.on('data', (b: Buffer) => (buffer = Buffer.concat([buffer, b])));
  const closed = new Promise<void>((r) => socket.on('close', () => r()));
  const deadline = Date.now() + 10_000;
  while (!buffer.includes('\r\n\r\n')) {
    if (Date.now() > deadline) throw new Error(`no response to ${path}: ${buffer.toString()}`);
    await sleep(20);
  }
  const end = buffer.indexOf('\r\n\r\n') + 4;
  const head = buffer.subarray(0, end).toString();
  buffer = buffer.subarray(end);
  return { socket, head, data: () => buffer, closed };
}

async function waitUntil(what: string, test: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(100);
  }
}

describe('attach', () => {
  let d: Berthd;
  let env: NodeJS.ProcessEnv;
  const berthCli = join(repoRoot, 'bin/berth');
  const status = async (name: string): Promise<string> => (await d.docker(['inspect', '-f', '{{.State.Status}}', name])).stdout.trim();
  before(async () => {
    d = await startBerthd();
    env = { ...process.env, DOCKER_HOST: d.host, BERTH_HOST: d.host };
  });
  after(async () => {
    await d.destroy();
  });

  for (const cli of ['docker', 'berth'] as const) {
    it(`${cli} attach: types into a running shell, detaches with ctrl-p ctrl-q, re-attaches, and returns the exit code`, async () => {
      const name = `sh-${cli}`;
      const bin = cli === 'docker' ? 'docker' : berthCli;
      assert.equal((await d.docker(['run', '-dit', '--name', name, 'busybox', 'sh'])).code, 0);
      const first = new Pty(`${bin} attach ${name}`, env);
      await sleep(800);
      first.type('echo one$((40+2))\n');
      await first.waitFor(/one42/);
      first.type('stty size\n');
      await first.waitFor(/30 90/);
      await first.keys(CTRL_P_Q);
      const code = await first.exited;
      // docker's `attach` reports the detach as an error: "read escape sequence", status 1.
      assert.equal(code, 1, first.text);
      assert.match(first.text, /read escape sequence/);
      assert.equal(await status(name), 'running');

      const second = new Pty(`${bin} attach --detach-keys ctrl-x,y ${name}`, env);
      await sleep(800);
      second.type('echo two$((40+3))\n');
      await second.waitFor(/two43/);
      second.type('exit 3\n');
      assert.equal(await second.exited, 3, second.text);
      assert.equal(await status(name), 'exited');

      // start -ai on the exited container: a new shell, detach → exit 0, it keeps running.
      const third = new Pty(`${bin} start -ai ${name}`, env);
      await sleep(1000);
      third.type('echo three$((40+4))\n');
      await third.waitFor(/three44/);
      await third.keys(CTRL_P_Q);
      assert.equal(await third.exited, 0, third.text);
      assert.equal(await status(name), 'running');
      assert.equal((await d.docker(['rm', '-f', name])).code, 0);
    });

    it(`${cli} run -it: detach keeps the container and its terminal for the next attach`, async () => {
      const name = `run-${cli}`;
      const bin = cli === 'docker' ? 'docker' : berthCli;
      const run = new Pty(`${bin} run -it --name ${name} busybox sh`, env);
      await sleep(1000);
      run.type('echo ran$((50+5))\n');
      await run.waitFor(/ran55/);
      await run.keys(CTRL_P_Q);
      assert.equal(await run.exited, 0, run.text);
      assert.equal(await status(name), 'running');
      // run -it sets StdinOnce; with a TTY the shell's stdin must stay open after the detach.
      const again = new Pty(`${bin} attach ${name}`, env);
      await sleep(800);
      again.type('echo back$((60+6))\n');
      await again.waitFor(/back66/);
      again.type('exit\n');
      assert.equal(await again.exited, 0, again.text);
      assert.equal((await d.docker(['rm', '-f', name])).code, 0);
    });
  }

  it('API: the detach keys end the stream in any chunking, keys from the query, container keeps running', async () => {
    const id = (await d.docker(['run', '-dit', '--name', 'apitty', 'busybox', 'sh'])).stdout.trim();
    const a = await rawAttach(d, `/containers/${id}/attach?stream=1&stdin=1&stdout=1&stderr=1`);
    assert.match(a.head, /^HTTP\/1.1 101 UPGRADED/);
    assert.match(a.head, /application\/vnd.docker.raw-stream/);
    a.socket.write('echo api$((70+7))\n');
    await waitUntil('the echo comes back', async () => a.data().includes('api77'));
    // both keys in one write: a client that is not a terminal
    a.socket.write(Buffer.from(CTRL_P_Q));
    await a.closed;
    assert.equal(await status('apitty'), 'running');

    const b = await rawAttach(d, `/containers/${id}/attach?stream=1&stdin=1&stdout=1&detachKeys=${encodeURIComponent('ctrl-a,b')}`);
    b.socket.write(Buffer.from([16, 17]));
    b.socket.write('echo still$((80+8))\n');
    await waitUntil('ctrl-p ctrl-q no longer detaches', async () => b.data().includes('still88'));
    b.socket.write(Buffer.from([1]));
    b.socket.write('b');
    await b.closed;
    assert.equal(await status('apitty'), 'running');

    const bad = await d.api('POST', `/containers/${id}/attach?stream=1&stdin=1&detachKeys=ctrl-foo`);
    assert.equal(bad.status, 400);
    assert.match(bad.body, /Invalid detach keys \(ctrl-foo\) provided/);
    assert.equal((await d.docker(['pause', 'apitty'])).code, 0);
    const paused = await d.api('POST', `/containers/${id}/attach?stream=1&stdout=1`);
    assert.equal(paused.status, 409);
    assert.match(paused.body, /is paused, unpause the container before attach/);
    assert.equal((await d.docker(['rm', '-f', 'apitty'])).code, 0);
  });

  it('docker-py: attach_socket to a TTY container, custom detach keys, the container keeps running', async () => {
    assert.equal((await d.docker(['run', '-dit', '--name', 'pytty', 'busybox', 'sh'])).code, 0);
    const script = `
import docker, json, socket, time
c = docker.from_env().containers.get('pytty')
s = c.attach_socket(params={'stdin': 1, 'stdout': 1, 'stream': 1, 'detachKeys': 'ctrl-a,b'})
raw = s._sock
raw.sendall(b'echo py$((2+3))\\n')
out = b''
deadline = time.time() + 15
while b'py5' not in out and time.time() < deadline:
    out += raw.recv(4096)
raw.sendall(b'\\x01b')
raw.settimeout(15)
while True:
    chunk = raw.recv(4096)
    if not chunk:
        break
c.reload()
print(json.dumps({'echo': b'py5' in out, 'status': c.status}))
`;
    const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const child = spawn('python3', ['-c', script], { env: { ...process.env, DOCKER_HOST: d.host } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
      child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      setTimeout(() => child.kill('SIGKILL'), 60_000).unref();
      child.on('close', (code) => resolve({ code: code ?? 137, stdout, stderr }));
    });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { echo: true, status: 'running' });
    assert.equal((await d.docker(['rm', '-f', 'pytty'])).code, 0);
  });

  it('API: without a TTY the stream is multiplexed and the half-close ends it, stdin staying open', async () => {
    const id = (await d.docker(['run', '-di', '--name', 'apicat', 'busybox', 'sh', '-c', 'while read l; do echo "got $l"; echo "err $l" >&2; done'])).stdout.trim();
    const a = await rawAttach(d, `/containers/${id}/attach?stream=1&stdin=1&stdout=1&stderr=1`);
    assert.match(a.head, /application\/vnd.docker.multiplexed-stream/);
    a.socket.write('x\n');
    await waitUntil('both frames arrive', async () => a.data().length >= 8 + 6 + 8 + 6);
    const frames: Array<[number, string]> = [];
    let rest = a.data();
    while (rest.length >= 8) {
      const len = rest.readUInt32BE(4);
      frames.push([rest[0] ?? 0, rest.subarray(8, 8 + len).toString()]);
      rest = rest.subarray(8 + len);
    }
    assert.deepEqual(frames.sort(), [[1, 'got x\n'], [2, 'err x\n']]);
    a.socket.end();
    await a.closed;
    // not StdinOnce: the loop still reads, so a second attach is answered
    const b = await rawAttach(d, `/containers/${id}/attach?stream=1&stdin=1&stdout=1`);
    b.socket.write('y\n');
    await waitUntil('the second attach is answered', async () => b.data().includes('got y'));
    b.socket.destroy();
    assert.equal(await status('apicat'), 'running');
    assert.equal((await d.docker(['rm', '-f', 'apicat'])).code, 0);
  });

  it('refuses a stopped container client-side like docker, and a bad detach key spec', async () => {
    assert.equal((await d.docker(['create', '--name', 'idle', 'busybox', 'true'])).code, 0);
    const docker = await d.docker(['attach', 'idle']);
    const berth = await d.berth(['attach', 'idle']);
    assert.equal(docker.code, 1);
    assert.equal(berth.code, 1);
    assert.match(docker.stderr, /cannot attach to a stopped container, start it first/i);
    assert.match(berth.stderr, /cannot attach to a stopped container, start it first/);
    const badKeys = await d.berth(['attach', '--detach-keys', 'ctrl-foo', 'idle']);
    assert.equal(badKeys.code, 1);
    assert.match(badKeys.stderr, /invalid detach keys \(ctrl-foo\)/);
  });
});

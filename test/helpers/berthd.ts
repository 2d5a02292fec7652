/**
 * A real berthd for integration tests: its own data/exec roots and socket, started from
 * dist/, stopped and cleaned (containers, mounts, directories) by the test that made it.
 */
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, readFile, readdir, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { randomInt } from 'node:crypto';
import { basename, join, resolve } from 'node:path';
import { request } from 'node:http';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
export const repoRoot = resolve(new URL('../../..', import.meta.url).pathname);

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

export interface Berthd {
  root: string;
  socket: string;
  host: string;
  pid(): number;
  /** The docker CLI against this berthd. */
  docker(args: string[], options?: RunOptions): Promise<CommandResult>;
  /** The berth CLI against this berthd. */
  berth(args: string[], options?: RunOptions): Promise<CommandResult>;
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: string; json<T>(): T }>;
  start(): Promise<void>;
  kill9(): Promise<void>;
  stop(): Promise<void>;
  /** Removes every container, stops berthd, unmounts and deletes the roots. */
  destroy(): Promise<void>;
  log(): Promise<string>;
}

function run(binary: string, args: string[], env: NodeJS.ProcessEnv, options: RunOptions = {}): Promise<CommandResult> {
  return new Promise((resolvePromise) => {
    const child = spawn(binary, args, { env: { ...env, ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code: code ?? (signal ? 128 + 9 : 1), stdout, stderr });
    });
    if (options.input !== undefined) child.stdin.end(options.input);
    else child.stdin.end();
  });
}

export async function startBerthd(extraArgs: string[] = []): Promise<Berthd> {
  const root = await mkdtemp(join(tmpdir(), 'berth-it-'));
  const dataRoot = join(root, 'data');
  const execRoot = join(root, 'run');
  const socket = join(execRoot, 'berth.sock');
  const host = `unix://${socket}`;
  const logPath = join(root, 'berthd.log');
  // Its own cgroup parent, removed by destroy(): tests leave no cgroup directory behind.
  const cgroupParent = `/berth-test-${basename(root)}`;
  // Its own default bridge and address pool, so concurrent berthds never share a device or subnet.
  const bridge = `bt${basename(root).slice(-8)}`.replace(/[^a-zA-Z0-9]/g, 'x');
  const octet = randomInt(100, 250);
  const networkArgs = ['--bridge', bridge, '--bip', `10.${octet}.0.1/24`, '--default-address-pool', `base=10.${octet}.0.0/16,size=24`];
  let child: ChildProcess | undefined;

  const api: Berthd['api'] = (method, path, body) =>
    new Promise((resolvePromise, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = request({ socketPath: socket, method, path, headers: payload ? { 'Content-Type': 'application/json' } : {} }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body: text, json: <T>() => JSON.parse(text) as T }));
      });
      req.on('error', reject);
      req.end(payload);
    });

  const waitReady = async (): Promise<void> => {
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      try {
        const r = await api('GET', '/_ping');
        if (r.status === 200) return;
      } catch {
        // not listening yet
      }
      if (child?.exitCode !== null && child?.exitCode !== undefined) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`berthd did not become ready: ${await readFile(logPath, 'utf8').catch(() => '')}`);
  };

  const start = async (): Promise<void> => {
    const { openSync, closeSync } = await import('node:fs');
    const fd = openSync(logPath, 'a');
    child = spawn(process.execPath, [join(repoRoot, 'bin/berthd'), '--data-root', dataRoot, '--exec-root', execRoot, '--cgroup-parent', cgroupParent, ...networkArgs, ...extraArgs], {
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    await waitReady();
  };

  const waitExit = (): Promise<void> =>
    new Promise((r) => {
      if (!child || child.exitCode !== null || child.signalCode !== null) return r();
      child.once('exit', () => r());
    });

  const env = { ...process.env, DOCKER_HOST: host, BERTH_HOST: host };
  const berthd: Berthd = {
    root,
    socket,
    host,
    pid: () => child?.pid ?? 0,
    docker: (args, options) => run('docker', args, env, options),
    berth: (args, options) => run(join(repoRoot, 'bin/berth'), args, env, options),
    api,
    start,
    kill9: async () => {
      child?.kill('SIGKILL');
      await waitExit();
    },
    stop: async () => {
      child?.kill('SIGTERM');
      await waitExit();
    },
    destroy: async () => {
      try {
        if (!child || child.exitCode !== null || child.signalCode !== null) await start();
        const list = await api('GET', '/containers/json?all=1');
        for (const c of list.json<Array<{ Id: string }>>()) await api('DELETE', `/containers/${c.Id}?force=1`);
        const networks = await api('GET', '/networks');
        for (const n of networks.json<Array<{ Id: string; Name: string }>>()) {
          if (!['bridge', 'host', 'none'].includes(n.Name)) await api('DELETE', `/networks/${n.Id}`);
        }
      } finally {
        await berthd.stop();
        await removeBridge(bridge);
        await unmountUnder(root);
        await rm(root, { recursive: true, force: true });
        await removeCgroup(cgroupParent);
      }
    },
    log: () => readFile(logPath, 'utf8'),
  };
  await start();
  return berthd;
}

/** The default bridge berthd leaves (as dockerd leaves docker0), with every iptables rule naming it. */
/** `docker ARGS` against `d` that must succeed; its stdout. */
export async function dockerOk(d: Berthd, args: string[]): Promise<string> {
  const r = await d.docker(args);
  assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

export async function removeBridge(bridge: string): Promise<void> {
  await execFileAsync('ip', ['link', 'del', 'dev', bridge]).catch(() => undefined);
  for (const tool of ['iptables', 'ip6tables']) {
    for (const table of ['filter', 'nat']) {
      const rules = await execFileAsync(tool, ['-w', '-t', table, '-S']).then((r) => r.stdout, () => '');
      for (const line of rules.split('\n')) {
        if (!line.startsWith('-A ') || !new RegExp(`[ "]${bridge}([ "]|$)`).test(line)) continue;
        const args = [...line.slice(3).matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? '');
        await execFileAsync(tool, ['-w', '-t', table, '-D', ...args]).catch(() => undefined);
      }
    }
  }
}

/** Unmounts anything still mounted below dir (deepest first), so rm never walks into a live overlay. */
export async function unmountUnder(dir: string): Promise<void> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  const points = info
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((p) => p.startsWith(dir + '/'))
    .sort((a, b) => b.length - a.length);
  for (const p of points) await execFileAsync('umount', ['-l', p]).catch(() => undefined);
}

/**
 * rmdir of a (now empty) cgroup and the cgroups below it (conmon's), deepest first, in every
 * hierarchy: cgroup v1 controllers, v2 or the hybrid's unified.
 */
export async function removeCgroup(path: string): Promise<void> {
  const hierarchies = await readdir('/sys/fs/cgroup').catch(() => [] as string[]);
  const candidates = [join('/sys/fs/cgroup', path), ...hierarchies.map((h) => join('/sys/fs/cgroup', h, path))];
  const removeTree = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) if (entry.isDirectory()) await removeTree(join(dir, entry.name));
    await rmdir(dir).catch(() => undefined);
  };
  for (const dir of candidates) await removeTree(dir);
}

/**
 * Mounts under dir other than squashfs layer images (`snapshots/layers/<id>/fs`), which stay
 * mounted as long as their layer exists: what must be gone once containers are.
 */
export async function mountsUnderExceptLayers(dir: string): Promise<string[]> {
  return (await mountsUnder(dir)).filter((m) => !/\/snapshots\/layers\/[0-9a-f]+\/fs$/.test(m));
}

/** Mounts under dir, for tests asserting nothing is left behind. */
export async function mountsUnder(dir: string): Promise<string[]> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  return info
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((p) => p.startsWith(dir + '/'));
}

/** PIDs of the processes whose command line mentions `text` (conmon names its container's bundle). */
export async function processesMentioning(text: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.split('\0').some((arg) => arg.includes(text))) found.push(Number(entry));
  }
  return found;
}

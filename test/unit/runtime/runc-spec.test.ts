/**
 * One real check of generated specs: run them with runc on a busybox rootfs (Debian's
 * busybox-static at /bin/busybox). Needs root and runc; skipped otherwise.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, rmdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { detectHostFacts, generateSpec, type SpecInput } from '../../../src/runtime/spec.js';
import { resolveUser } from '../../../src/runtime/user.js';

const RUNC = process.env['BERTH_RUNC'] ?? 'runc';
const BUSYBOX = '/bin/busybox';

function runcAvailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  if (!existsSync(BUSYBOX)) return `${BUSYBOX} missing (apt-get install busybox-static)`;
  const v = spawnSync(RUNC, ['--version'], { encoding: 'utf8' });
  if (v.status !== 0) return 'runc not available';
  return undefined;
}

const skip = runcAvailable();

/** rmdir /sys/fs/cgroup/<parent> (v2) and /sys/fs/cgroup/<controller>/<parent> (v1), when present. */
function removeCgroupParent(parent: string): void {
  const candidates = [join('/sys/fs/cgroup', parent)];
  for (const entry of readdirSync('/sys/fs/cgroup', { withFileTypes: true })) {
    if (entry.isDirectory()) candidates.push(join('/sys/fs/cgroup', entry.name, parent));
  }
  for (const path of candidates) {
    if (!existsSync(path)) continue;
    try {
      rmdirSync(path);
    } catch {
      // not empty (a container still in it) or already gone: leave it
    }
  }
}

describe('generated specs run under runc', { skip }, () => {
  let dir = '';
  let stateRoot = '';
  let bundle = '';
  let rootfs = '';
  const started: string[] = [];
  // A parent cgroup of our own: runc removes the container's cgroup but not its parents.
  const cgroupParent = `berth-unit-test-${randomBytes(4).toString('hex')}`;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-runc-'));
    stateRoot = join(dir, 'state');
    bundle = join(dir, 'bundle');
    rootfs = join(bundle, 'rootfs');
    await mkdir(join(rootfs, 'bin'), { recursive: true });
    await mkdir(stateRoot);
    copyFileSync(BUSYBOX, join(rootfs, 'bin/busybox'));
    await symlink('busybox', join(rootfs, 'bin/sh'));
    await writeFile(join(bundle, 'hostname'), 'berth-test\n');
    await writeFile(join(bundle, 'hosts'), '127.0.0.1\tlocalhost\n');
    await writeFile(join(bundle, 'resolv.conf'), 'nameserver 127.0.0.1\n');
  });

  after(async () => {
    for (const id of started) {
      spawnSync(RUNC, ['--root', stateRoot, 'delete', '-f', id], { encoding: 'utf8' });
    }
    await rm(dir, { recursive: true, force: true });
    removeCgroupParent(cgroupParent);
  });

  async function run(over: Partial<SpecInput>, user = ''): Promise<{ status: number | null; stdout: string; stderr: string }> {
    const id = `berth-spec-${randomBytes(6).toString('hex')}`;
    const host = detectHostFacts();
    const resolved = await resolveUser(rootfs, user);
    const spec = generateSpec({
      containerId: id,
      rootfs,
      image: { Cmd: ['/bin/sh', '-c', 'echo ok'] },
      user: resolved,
      hostname: 'berth-test',
      tty: false,
      networkMode: 'none',
      cgroupsPath: `/${cgroupParent}/${id}`,
      cgroupV2: host.cgroupV2,
      etcFiles: { hostname: join(bundle, 'hostname'), hosts: join(bundle, 'hosts'), resolvConf: join(bundle, 'resolv.conf') },
      host,
      ...over,
    });
    await writeFile(join(bundle, 'config.json'), JSON.stringify(spec, null, 2));
    started.push(id);
    const r = spawnSync(RUNC, ['--root', stateRoot, 'run', '--bundle', bundle, id], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
    });
    spawnSync(RUNC, ['--root', stateRoot, 'delete', '-f', id], { encoding: 'utf8' });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  test('sh -c "echo ok" prints ok and exits 0', async () => {
    const r = await run({});
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'ok\n');
  });

  test('the security defaults are in force inside the container', async () => {
    const script = [
      'grep -E "^(Seccomp|NoNewPrivs|CapBnd):" /proc/self/status',
      'cat /etc/hostname',
      'hostname',
      'wc -c < /proc/interrupts',
      '(echo 1 > /proc/sys/vm/overcommit_memory) 2>/dev/null && echo procsys-writable || echo procsys-ro',
      'df -k /dev/shm | tail -n 1 | awk "{print \\$2}"',
      'echo "$PATH|$HOSTNAME|$FOO"',
      'pwd',
      'unshare -m true 2>/dev/null && echo unshare-ok || echo unshare-denied',
      'exit 3',
    ].join('; ');
    const r = await run({
      image: { Cmd: ['/bin/sh', '-c', script], Env: ['FOO=bar'], WorkingDir: '/work/dir' },
      shmSize: 8 * 1024 * 1024,
    });
    assert.equal(r.status, 3, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), [
      'CapBnd:\t00000000a80425fb',
      'NoNewPrivs:\t0',
      'Seccomp:\t2',
      'berth-test',
      'berth-test',
      '0',
      'procsys-ro',
      '8192',
      '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin|berth-test|bar',
      '/work/dir',
      'unshare-denied',
    ]);
  });

  test('a numeric user without passwd entries runs with that uid/gid', async () => {
    const r = await run({ image: { Cmd: ['/bin/sh', '-c', 'id -u; id -g; id -G'] } }, '1234:5678');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '1234\n5678\n5678\n');
  });
});

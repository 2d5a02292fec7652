import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseMountInfo, readMountInfoSync } from '../../../src/core/mountinfo.js';
import { MonitorCgroup, monitorHierarchies } from '../../../src/runtime/monitor-cgroup.js';

describe('monitorHierarchies', () => {
  test('takes cgroup2 and every v1 hierarchy under /sys/fs/cgroup but cpuset', () => {
    const mounts = parseMountInfo(
      [
        '25 20 0:22 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755',
        '26 25 0:23 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw,nsdelegate',
        '27 25 0:24 / /sys/fs/cgroup/systemd rw,nosuid - cgroup cgroup rw,xattr,name=systemd',
        '30 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct',
        '31 25 0:28 / /sys/fs/cgroup/cpuset rw,nosuid - cgroup cgroup rw,cpuset',
        '32 25 0:29 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory',
        // A cgroup mount elsewhere (a container's view, a bind mount) is not the host's hierarchy.
        '40 1 0:29 / /var/lib/other/cgroup rw - cgroup cgroup rw,memory',
        '41 1 8:1 / / rw - ext4 /dev/sda1 rw',
      ].join('\n'),
    );
    assert.deepEqual(monitorHierarchies(mounts), [
      '/sys/fs/cgroup/unified',
      '/sys/fs/cgroup/systemd',
      '/sys/fs/cgroup/cpu,cpuacct',
      '/sys/fs/cgroup/memory',
    ]);
  });

  test('a cgroup v2 host has one hierarchy', () => {
    const mounts = parseMountInfo('26 20 0:23 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n');
    assert.deepEqual(monitorHierarchies(mounts), ['/sys/fs/cgroup']);
  });
});

describe('MonitorCgroup', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-monitor-cgroup-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('makes the cgroup in each hierarchy and writes each PID to its cgroup.procs, one move after the other', async () => {
    const hierarchies = [join(root, 'a'), join(root, 'b')];
    const cgroup = new MonitorCgroup('/berth/conmon', () => hierarchies);
    const written: string[] = [];
    await Promise.all([cgroup.move(101), cgroup.move(202)]);
    for (const h of hierarchies) written.push(await readFile(join(h, 'berth', 'conmon', 'cgroup.procs'), 'utf8'));
    // The files are kept open: each PID is one more write, as the kernel takes them on cgroup.procs.
    assert.deepEqual(written, ['101202', '101202']);
  });

  test('a hierarchy where the cgroup cannot be made is left out; the others still get the process', async () => {
    const blocked = join(root, 'blocked');
    await mkdir(blocked);
    // A file where the cgroup's parent directory should be: mkdir fails.
    await writeFile(join(blocked, 'berth'), '');
    const fine = join(root, 'fine');
    const cgroup = new MonitorCgroup('/berth/conmon', () => [blocked, fine]);
    await cgroup.move(303);
    assert.equal(await readFile(join(fine, 'berth', 'conmon', 'cgroup.procs'), 'utf8'), '303');
  });
});

describe('MonitorCgroup on this host\'s cgroups', () => {
  test('moves a process in every hierarchy, and makes the cgroup again when it was removed under it', async () => {
    const parent = `/berth-unit-${randomBytes(4).toString('hex')}`;
    const hierarchies = monitorHierarchies(readMountInfoSync());
    assert.ok(hierarchies.length > 0, 'no cgroup hierarchy under /sys/fs/cgroup');
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    const pid = sleeper.pid ?? 0;
    const inMonitorCgroup = async (): Promise<boolean> =>
      (await readFile(`/proc/${pid}/cgroup`, 'utf8'))
        .trim()
        .split('\n')
        .filter((line) => !line.split(':')[1]?.split(',').includes('cpuset'))
        .every((line) => line.endsWith(`:${parent}/conmon`));
    // Back to each hierarchy's root cgroup, so that the test's cgroups can go.
    const goHome = async (): Promise<void> => {
      for (const h of hierarchies) await writeFile(join(h, 'cgroup.procs'), String(pid)).catch(() => undefined);
    };
    const removeCgroups = async (): Promise<void> => {
      for (const h of hierarchies) {
        await rmdir(join(h, parent, 'conmon')).catch(() => undefined);
        await rmdir(join(h, parent)).catch(() => undefined);
      }
    };
    try {
      const cgroup = new MonitorCgroup(`${parent}/conmon`);
      await cgroup.move(pid);
      assert.ok(await inMonitorCgroup(), await readFile(`/proc/${pid}/cgroup`, 'utf8'));
      await goHome();
      assert.ok(!(await inMonitorCgroup()));
      await removeCgroups();
      await cgroup.move(pid);
      assert.ok(await inMonitorCgroup(), await readFile(`/proc/${pid}/cgroup`, 'utf8'));
    } finally {
      await goHome();
      sleeper.kill('SIGKILL');
      await removeCgroups();
    }
  });
});

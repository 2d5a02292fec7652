/**
 * Block I/O limits (--device-read-bps/-write-bps/-read-iops/-write-iops, --blkio-weight,
 * --blkio-weight-device) on a loop device the test makes: what the container's cgroup holds,
 * inspect, update, and the refusals (docker CLI, berth CLI, the API).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startBerthd, type Berthd } from '../helpers/berthd.js';
import { assertSameAsDocker } from '../helpers/cli-compare.js';
import { readBlkioSupport } from '../../src/runtime/resources.js';

describe('block I/O limits', () => {
  let d: Berthd;
  let loop = '';
  let numbers = '';
  const cgroupV2 = existsSync('/sys/fs/cgroup/cgroup.controllers');
  const support = readBlkioSupport(cgroupV2);

  before(async () => {
    d = await startBerthd();
    const backing = join(d.root, 'disk.img');
    writeFileSync(backing, Buffer.alloc(8 * 1024 * 1024));
    loop = execFileSync('losetup', ['--find', '--show', backing], { encoding: 'utf8' }).trim();
    // Linux's new_encode_dev layout of a dev_t.
    const rdev = statSync(loop, { bigint: true }).rdev;
    numbers = `${((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn)}:${(rdev & 0xffn) | ((rdev >> 12n) & ~0xffn)}`;
  });
  after(async () => {
    if (loop) execFileSync('losetup', ['-d', loop]);
    await d.destroy();
  });

  it('writes the throttles to the container cgroup and shows them in inspect', async () => {
    const read = cgroupV2
      ? 'cat /sys/fs/cgroup/io.max'
      : 'cd /sys/fs/cgroup/blkio && cat blkio.throttle.read_bps_device blkio.throttle.write_bps_device blkio.throttle.read_iops_device blkio.throttle.write_iops_device';
    const run = await d.docker([
      'run', '--name', 'throttled',
      '--device-read-bps', `${loop}:1mb`, '--device-write-bps', `${loop}:2mb`, '--device-read-iops', `${loop}:100`, '--device-write-iops', `${loop}:200`,
      'busybox', 'sh', '-c', read,
    ]);
    assert.equal(run.code, 0, run.stderr);
    const expected = cgroupV2
      ? `${numbers} rbps=1048576 wbps=2097152 riops=100 wiops=200\n`
      : `${numbers} 1048576\n${numbers} 2097152\n${numbers} 100\n${numbers} 200\n`;
    assert.equal(run.stdout, expected);
    const inspect = (await d.berth(['inspect', '-f', '{{json .HostConfig.BlkioDeviceReadBps}} {{json .HostConfig.BlkioDeviceWriteIOps}} {{.HostConfig.BlkioWeight}}', 'throttled'])).stdout.trim();
    assert.equal(inspect, `[{"Path":"${loop}","Rate":1048576}] [{"Path":"${loop}","Rate":200}] 0`);
    assert.equal((await d.docker(['rm', 'throttled'])).code, 0);
  });

  it('applies a weight where the kernel has one, and otherwise drops it with dockerd\'s warning, at create and at update', async () => {
    const run = await d.berth(['run', '-d', '--name', 'weighted', '--blkio-weight', '300', 'busybox', 'sleep', '300']);
    assert.equal(run.code, 0, run.stderr);
    const weight = (await d.docker(['inspect', '-f', '{{.HostConfig.BlkioWeight}}', 'weighted'])).stdout.trim();
    const update = await d.docker(['update', '--blkio-weight', '400', 'weighted']);
    assert.equal(update.code, 0, update.stderr);
    if (support.weight) {
      assert.equal(weight, '300');
      assert.equal(update.stdout, 'weighted\n');
      assert.equal((await d.docker(['inspect', '-f', '{{.HostConfig.BlkioWeight}}', 'weighted'])).stdout.trim(), '400');
    } else {
      const warning = 'Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.';
      assert.match(run.stderr, new RegExp(`WARNING: ${warning.replace(/\./g, '\\.')}`));
      assert.equal(weight, '0');
      assert.equal(update.stdout, `weighted\n${warning}\n`);
      // Both CLIs print the reply the same way.
      await assertSameAsDocker(d, ['update', '--blkio-weight', '500', 'weighted']);
    }
    assert.equal((await d.docker(['rm', '-f', 'weighted'])).code, 0);
  });

  it("refuses bad devices and values with docker's words, before anything is made", async () => {
    for (const [flags, code] of [
      [['--device-read-bps', 'vda:1mb'], 125],
      [['--device-read-bps', '/dev/vda'], 125],
      [['--device-write-bps', `${loop}:lots`], 125],
      [['--device-read-iops', `${loop}:-5`], 125],
      [['--blkio-weight-device', `${loop}:5`], 125],
      [['--blkio-weight', 'heavy'], 125],
      [['--blkio-weight', '70000'], 125],
      // docker run exits 127 for any error that says "no such file or directory".
      [['--device-read-bps', '/dev/no-such-disk:1mb'], 127],
      [['--device-write-iops', '/dev/null:10'], 125],
    ] as const) {
      const r = await assertSameAsDocker(d, ['run', '--rm', ...flags, 'busybox', 'true']);
      assert.equal(r.code, code, `${flags.join(' ')}: ${r.stderr}`);
    }
    const create = async (hostConfig: Record<string, unknown>): Promise<[number, string]> => {
      const r = await d.api('POST', '/containers/create', { Image: 'busybox', HostConfig: hostConfig });
      return [r.status, r.json<{ message: string }>().message];
    };
    assert.deepEqual(await create({ BlkioDeviceReadBps: [{ Path: '/dev/no-such-disk', Rate: 1 }] }), [400, 'stat /dev/no-such-disk: no such file or directory']);
    assert.deepEqual(await create({ BlkioDeviceWriteBps: [{ Path: '/dev/null', Rate: 1 }] }), [400, '/dev/null is not a block device']);
    assert.deepEqual(await create({ BlkioWeightDevice: [{ Path: loop, Weight: 5 }] }), [400, `invalid weight for device: ${loop}:5`]);
    assert.deepEqual(await create({ BlkioDeviceReadIOps: [{ Path: loop, Rate: 'fast' }] }), [400, 'json: cannot unmarshal string into Go struct field HostConfig.BlkioDeviceReadIOps.Rate of type int64']);
    if (support.weight) assert.deepEqual(await create({ BlkioWeight: 5 }), [400, 'Range of blkio weight is from 10 to 1000']);
    assert.equal((await d.docker(['ps', '-aq'])).stdout, '', 'nothing was created');
  });
});

/** Containers outlive berthd: kill -9 the daemon, start it again, and everything still works. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startBerthd, mountsUnderExceptLayers, type Berthd } from '../helpers/berthd.js';

describe('containers outlive berthd', () => {
  let d: Berthd;
  before(async () => {
    d = await startBerthd();
  });
  after(async () => {
    await d.destroy();
  });

  it('keeps running containers through kill -9 and reports exits that happened meanwhile', async () => {
    const live = await d.docker(['run', '-d', '--name', 'live', 'busybox', 'sh', '-c', 'trap "exit 0" TERM; while true; do echo alive; sleep 0.2; done']);
    assert.equal(live.code, 0, live.stderr);
    const dies = await d.docker(['run', '-d', '--name', 'dies', 'busybox', 'sh', '-c', 'sleep 1; echo bye; exit 7']);
    assert.equal(dies.code, 0, dies.stderr);
    const pid = Number((await d.docker(['inspect', '-f', '{{.State.Pid}}', 'live'])).stdout.trim());
    assert.ok(pid > 0);

    await d.kill9();
    await new Promise((r) => setTimeout(r, 1800));
    // The container process is still there with berthd gone.
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    assert.match(status, /^Name:\s+sh$/m);

    await d.start();
    const ps = await d.docker(['ps', '-a', '--format', '{{.Names}} {{.Status}}']);
    assert.match(ps.stdout, /^live Up /m);
    assert.match(ps.stdout, /^dies Exited \(7\) /m);
    const logs = await d.docker(['logs', 'dies']);
    assert.equal(logs.stdout, 'bye\n');
    const liveLogs = await d.docker(['logs', '--tail', '1', 'live']);
    assert.equal(liveLogs.stdout, 'alive\n');

    const waiting = d.docker(['wait', 'live']);
    const stop = await d.docker(['stop', 'live']);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal((await waiting).stdout.trim(), '0');
    await assert.rejects(readFile(`/proc/${pid}/status`, 'utf8'));

    assert.equal((await d.docker(['rm', 'live', 'dies'])).code, 0);
    assert.deepEqual(await mountsUnderExceptLayers(join(d.root, 'data')), []);
  });

  it('removes an --rm container that exited while berthd was down', async () => {
    const r = await d.docker(['run', '-d', '--rm', '--name', 'ephemeral', 'busybox', 'sh', '-c', 'sleep 1']);
    assert.equal(r.code, 0, r.stderr);
    await d.kill9();
    await new Promise((res) => setTimeout(res, 1800));
    await d.start();
    const ps = await d.docker(['ps', '-a', '--format', '{{.Names}}']);
    assert.doesNotMatch(ps.stdout, /ephemeral/);
    assert.deepEqual(await mountsUnderExceptLayers(join(d.root, 'data')), []);
  });
});

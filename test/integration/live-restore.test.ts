/** Containers outlive berthd: kill -9 the daemon, start it again, and everything still works. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import Docker from 'dockerode';
import tarStream from 'tar-stream';
import { startBerthd, mountsUnder, mountsUnderExceptLayers, processesMentioning, type Berthd } from '../helpers/berthd.js';

const execFileAsync = promisify(execFile);

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

  it("runs each conmon, a container's and an exec's, in <cgroup-parent>/conmon: not in berthd's cgroup, whose end would take the monitors with it", async () => {
    const parent = `/berth-test-${basename(d.root)}`;
    const run = await d.docker(['run', '-d', 'busybox', 'sleep', '30']);
    assert.equal(run.code, 0, run.stderr);
    const id = run.stdout.trim();
    const exec = await d.docker(['exec', '-d', id, 'sleep', '30']);
    assert.equal(exec.code, 0, exec.stderr);
    const bundle = join(d.root, 'data', 'containers', id);
    const execDirs = await readdir(join(bundle, 'exec'));
    assert.equal(execDirs.length, 1);
    const monitors = {
      container: Number(await readFile(join(bundle, 'conmon.pid'), 'utf8')),
      exec: Number(await readFile(join(bundle, 'exec', execDirs[0] ?? '', 'conmon.pid'), 'utf8')),
    };
    // /proc/PID/cgroup lines are HIERARCHY-ID:CONTROLLERS:PATH; cpuset (v1) is left as it is.
    const cgroupsOf = async (pid: number): Promise<string[]> =>
      (await readFile(`/proc/${pid}/cgroup`, 'utf8'))
        .trim()
        .split('\n')
        .filter((line) => !line.split(':')[1]?.split(',').includes('cpuset'));
    for (const [which, pid] of Object.entries(monitors)) {
      assert.ok(pid > 0, which);
      // The move is not awaited on the start path: give it a moment to land.
      let lines: string[] = [];
      for (let i = 0; i < 40; i++) {
        lines = await cgroupsOf(pid);
        if (lines.every((line) => line.endsWith(`:${parent}/conmon`))) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(lines.length > 0);
      for (const line of lines) assert.ok(line.endsWith(`:${parent}/conmon`), `${which} conmon ${pid}: ${line}`);
    }
    for (const line of await cgroupsOf(d.pid())) assert.ok(!line.endsWith(`:${parent}/conmon`), `berthd: ${line}`);
    assert.equal((await d.docker(['rm', '-f', id])).code, 0);
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

  it('clears what a container removed just before a crash left behind (its record goes before its files)', async () => {
    const r = await d.docker(['run', '-d', '--name', 'orphan', 'busybox', 'sleep', '600']);
    assert.equal(r.code, 0, r.stderr);
    const id = r.stdout.trim();
    const pid = Number((await d.docker(['inspect', '-f', '{{.State.Pid}}', id])).stdout.trim());
    await d.kill9();
    // The crash came between the record's deletion and the removal of the files.
    const db = new Database(join(d.root, 'data', 'berth.db'));
    assert.equal(db.prepare('DELETE FROM containers WHERE id = ?').run(id).changes, 1);
    db.close();
    await d.start();
    const gone = async (path: string): Promise<boolean> => access(path).then(() => false, () => true);
    assert.ok(await gone(join(d.root, 'data', 'containers', id)), 'bundle removed');
    assert.ok(await gone(join(d.root, 'data', 'snapshots', 'active', id)), 'snapshot removed');
    assert.ok(await gone(join(d.root, 'run', 'runc', id)), 'runc state removed');
    // runc delete --force killed it; its monitor reaps it a moment later.
    for (let i = 0; i < 50 && !(await gone(`/proc/${pid}`)); i++) await new Promise((res) => setTimeout(res, 100));
    assert.ok(await gone(`/proc/${pid}`), 'the orphaned process was killed');
    assert.deepEqual((await mountsUnder(d.root)).filter((m) => m.includes(id)), []);
  });

  it('a start that a crash cut short (runc had created it, the record did not say running yet) leaves nothing that blocks the next start', async () => {
    const r = await d.docker(['run', '-d', '--name', 'halfway', 'busybox', 'sleep', '600']);
    assert.equal(r.code, 0, r.stderr);
    const id = r.stdout.trim();
    const pid = Number((await d.docker(['inspect', '-f', '{{.State.Pid}}', id])).stdout.trim());
    await d.kill9();
    const db = new Database(join(d.root, 'data', 'berth.db'));
    const row = db.prepare('SELECT record FROM containers WHERE id = ?').get(id) as { record: string };
    const record = JSON.parse(row.record) as { state: Record<string, unknown> };
    record.state = { ...record.state, status: 'created', pid: 0, conmonPid: 0, startedAt: '0001-01-01T00:00:00Z' };
    db.prepare('UPDATE containers SET record = ? WHERE id = ?').run(JSON.stringify(record), id);
    db.close();
    await d.start();

    const gone = async (path: string): Promise<boolean> => access(path).then(() => false, () => true);
    assert.ok(await gone(join(d.root, 'run', 'runc', id)), 'runc state removed');
    for (let i = 0; i < 50 && !(await gone(`/proc/${pid}`)); i++) await new Promise((res) => setTimeout(res, 100));
    assert.ok(await gone(`/proc/${pid}`), 'the process of the cut-short start was killed');
    assert.deepEqual(await processesMentioning(id), [], 'its conmon is gone too');
    assert.deepEqual(await mountsUnderExceptLayers(join(d.root, 'data')), [], 'no rootfs left mounted');
    assert.equal((await d.docker(['inspect', '-f', '{{.State.Status}}', id])).stdout.trim(), 'created');

    const started = await d.docker(['start', id]);
    assert.equal(started.code, 0, started.stderr);
    const exec = await d.docker(['exec', id, 'echo', 'in again']);
    assert.equal(exec.stdout, 'in again\n', exec.stderr);
    assert.equal((await d.docker(['rm', '-f', id])).code, 0);
    assert.deepEqual(await mountsUnderExceptLayers(join(d.root, 'data')), []);
  });

  it('thaws a container that a copy-in left frozen when berthd died mid-copy; one the user paused stays paused (dockerode, docker CLI, berth exec)', async () => {
    for (const name of ['copied', 'held']) {
      const r = await d.docker(['run', '-d', '--name', name, 'busybox', 'sleep', '300']);
      assert.equal(r.code, 0, r.stderr);
    }
    assert.equal((await d.docker(['pause', 'held'])).code, 0);
    const id = (await d.docker(['inspect', '-f', '{{.Id}}', 'copied'])).stdout.trim();
    const runcState = async (): Promise<string> => {
      const out = await execFileAsync('runc', ['--root', join(d.root, 'run', 'runc'), 'state', id]);
      return (JSON.parse(out.stdout) as { status: string }).status;
    };

    // A PUT whose tar never ends (a 1 MiB entry of which 4 KiB are sent): berthd freezes the container, then waits for the rest.
    const body = new PassThrough();
    const docker = new Docker({ socketPath: d.socket });
    const copy = docker.getContainer('copied').putArchive(body, { path: '/tmp' }).catch((err: unknown) => err);
    const pack = tarStream.pack();
    pack.pipe(body);
    pack.entry({ name: 'big.bin', size: 1 << 20 }).write(Buffer.alloc(4096));
    const deadline = Date.now() + 10_000;
    while ((await runcState()) !== 'paused') {
      assert.ok(Date.now() < deadline, 'the copy never froze the container');
      await new Promise((r) => setTimeout(r, 50));
    }
    await d.kill9();
    pack.destroy();
    body.destroy();
    await copy;
    assert.equal(await runcState(), 'paused', 'left frozen by the dead berthd');

    await d.start();
    assert.equal(await runcState(), 'running');
    assert.deepEqual(await readdir(join(d.root, 'run', 'frozen-for-copy')), [], 'the freeze marker goes with the thaw');
    const state = await d.docker(['inspect', '-f', '{{.State.Status}} {{.State.Paused}}', 'copied', 'held']);
    assert.equal(state.stdout, 'running false\npaused true\n');
    const exec = await d.docker(['exec', 'copied', 'echo', 'thawed'], { timeoutMs: 10_000 });
    assert.equal(exec.stdout, 'thawed\n', exec.stderr);
    const viaBerth = await d.berth(['exec', 'copied', 'echo', 'thawed'], { timeoutMs: 10_000 });
    assert.equal(viaBerth.stdout, 'thawed\n', viaBerth.stderr);
    assert.equal((await d.docker(['unpause', 'held'])).code, 0);
    for (const name of ['copied', 'held']) assert.equal((await d.docker(['rm', '-f', name])).code, 0);
  });
});

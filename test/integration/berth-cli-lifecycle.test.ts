/**
 * The berth CLI's pause, unpause, rename, top, diff and its bool flags against a real berthd: what each does
 * to the container (seen through inspect), and the docker CLI on the same berthd as the
 * reference for output, error text and exit status.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBerthd, type Berthd } from '../helpers/berthd.js';
import { assertSameAsDocker } from '../helpers/cli-compare.js';

describe('berth CLI: pause, unpause, rename, top, diff', () => {
  let d: Berthd;
  before(async () => {
    d = await startBerthd();
  });
  after(async () => {
    await d?.destroy();
  });

  const state = async (name: string): Promise<string> => {
    const r = await d.berth(['inspect', '-f', '{{.State.Status}} {{.State.Paused}}', name]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim();
  };

  it('pause and unpause freeze and thaw each container named, and fail like docker', async () => {
    for (const name of ['frozen1', 'frozen2']) assert.equal((await d.berth(['run', '-d', '--name', name, 'busybox', 'sleep', '120'])).code, 0);
    const pause = await d.berth(['pause', 'frozen1', 'frozen2']);
    assert.equal(pause.code, 0, pause.stderr);
    assert.equal(pause.stdout, 'frozen1\nfrozen2\n');
    assert.equal(await state('frozen1'), 'paused true');
    assert.equal(await state('frozen2'), 'paused true');
    // Every name is tried: frozen2 is unpaused although the unknown name comes first.
    const partly = await d.berth(['unpause', 'no-such-ctr', 'frozen2']);
    assert.equal(partly.code, 1);
    assert.equal(partly.stdout, 'frozen2\n');
    assert.equal(partly.stderr, 'Error response from daemon: No such container: no-such-ctr\n');
    assert.equal(await state('frozen2'), 'running false');
    // Errors only from here on, so the docker CLI's run leaves the same state for berth's:
    // pausing a paused container and unpausing a running one are the daemon's 409s.
    await assertSameAsDocker(d, ['pause', 'frozen1', 'no-such-ctr']);
    await assertSameAsDocker(d, ['container', 'unpause', 'frozen2']);
    const unpause = await d.berth(['container', 'unpause', 'frozen1']);
    assert.equal(unpause.stdout, 'frozen1\n');
    assert.equal(await state('frozen1'), 'running false');
    await assertSameAsDocker(d, ['pause']);
  });

  it('rename gives a container its new name and prints nothing; errors as docker words them', async () => {
    assert.equal((await d.berth(['create', '--name', 'before-rename', 'busybox', 'true'])).code, 0);
    const rename = await d.berth(['rename', 'before-rename', 'after-rename']);
    assert.equal(rename.code, 0, rename.stderr);
    assert.equal(rename.stdout + rename.stderr, '');
    const name = await d.berth(['inspect', '-f', '{{.Name}}', 'after-rename']);
    assert.equal(name.stdout, '/after-rename\n');
    assert.equal((await d.berth(['inspect', 'before-rename'])).code, 1);
    await assertSameAsDocker(d, ['rename', 'before-rename', 'elsewhere']);
    await assertSameAsDocker(d, ['rename', 'after-rename', 'frozen1']);
    await assertSameAsDocker(d, ['rename', 'after-rename', ' ']);
    await assertSameAsDocker(d, ['container', 'rename', 'after-rename']);
  });

  it('top lists the sleep process in docker\'s columns, passes ps options through, and fails like docker', async () => {
    const top = await d.berth(['top', 'frozen1']);
    assert.equal(top.code, 0, top.stderr);
    const [header, ...processes] = top.stdout.trimEnd().split('\n');
    // tabwriter with a 20-column minimum and 3 spaces of padding; CMD is the unpadded last cell.
    assert.equal(header, `${['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME'].map((t) => t.padEnd(20)).join('')}CMD`);
    assert.equal(processes.length, 1);
    assert.match(processes[0] ?? '', /^root {16}\d+ +\d+ +.* sleep 120$/);
    // STIME and TIME can tick between two runs: the byte-for-byte checks use stable columns.
    const pids = await assertSameAsDocker(d, ['top', 'frozen1', '-o', 'pid,comm']);
    assert.match(pids.stdout, /^PID {17}COMMAND\n\d+ +sleep\n$/);
    await assertSameAsDocker(d, ['container', 'top', 'frozen2', '-o', 'user,args']);
    await assertSameAsDocker(d, ['top', 'after-rename']);
    await assertSameAsDocker(d, ['top', 'no-such-ctr']);
    await assertSameAsDocker(d, ['top', '-o', 'pid', 'frozen1']);
  });

  it('diff lists what the container added, changed and deleted, as docker prints it', async () => {
    const run = await d.berth(['run', '--name', 'changer', 'busybox', 'sh', '-c', 'echo made > /made-here; rm /etc/group']);
    assert.equal(run.code, 0, run.stderr);
    const diff = await assertSameAsDocker(d, ['diff', 'changer']);
    const lines = diff.stdout.split('\n');
    assert.ok(lines.includes('A /made-here'), diff.stdout);
    assert.ok(lines.includes('D /etc/group'), diff.stdout);
    assert.ok(lines.includes('C /etc'), diff.stdout);
    await assertSameAsDocker(d, ['container', 'diff', 'changer']);
    await assertSameAsDocker(d, ['diff', 'no-such-ctr']);
    await assertSameAsDocker(d, ['diff', '']);
    await assertSameAsDocker(d, ['diff', 'changer', 'after-rename']);
  });

  it('reads bool flags as pflag does: a bare flag never takes the next word, a bad value is refused like docker', async () => {
    const committed = await d.berth(['run', '--name', 'pausable', 'busybox', 'sh', '-c', 'echo kept > /kept']);
    assert.equal(committed.code, 0, committed.stderr);
    // `-p` once took "pausable" for its value and the repository for the container.
    for (const args of [['commit', '-p', 'pausable', 'paused:1'], ['commit', '--pause=false', 'pausable', 'paused:2'], ['commit', '-p=0', 'pausable', 'paused:3']]) {
      const r = await d.berth(args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      const read = await d.berth(['run', '--rm', args.at(-1) ?? '', 'cat', '/kept']);
      assert.equal(read.stdout, 'kept\n', read.stderr);
    }
    await assertSameAsDocker(d, ['commit', '--pause=maybe', 'pausable', 'paused:4']);
    await assertSameAsDocker(d, ['history', '-H', 'paused:1', '--format', '{{.CreatedBy}}']);
    const proxied = await assertSameAsDocker(d, ['run', '--rm', '--sig-proxy', 'busybox', 'echo', '--sig-proxy']);
    assert.equal(proxied.stdout, '--sig-proxy\n');
    await assertSameAsDocker(d, ['run', '--rm', '--sig-proxy=nope', 'busybox', 'true']);
    await assertSameAsDocker(d, ['attach', '--sig-proxy=2', 'pausable']);
  });

  it('words a --format that does not parse as docker does, with its exit status (1 for lists, 64 for single objects and events)', async () => {
    const cases = [
      ['ps', '--format', '{{'],
      ['ps', '--format', '{{.ID}}\n{{if .Names}}'],
      ['images', '--format', '{{'],
      ['volume', 'ls', '--format', '{{'],
      ['network', 'ls', '--format', '{{'],
      ['stats', '--no-stream', '--format', '{{'],
      ['version', '--format', '{{'],
      ['info', '--format', '{{'],
      ['inspect', '--format', '{{', 'busybox'],
      ['events', '--format', '{{', '--since', '0', '--until', '1'],
    ];
    for (const args of cases) {
      const r = await assertSameAsDocker(d, args);
      assert.notEqual(r.code, 0, args.join(' '));
    }
  });

  it('fails on a field a list row does not have as docker does: its Go type, the position, the exit status; ps even with -q or no rows', async () => {
    const ran = await d.berth(['run', '-d', '--name', 'fields', 'busybox', 'sleep', '120']);
    assert.equal(ran.code, 0, ran.stderr);
    const cases = [
      ['ps', '-a', '--format', '{{.Nope}}'],
      ['ps', '-q', '--format', '{{.Nope}}'],
      ['ps', '--filter', 'name=none-such', '--format', 'table {{.Names}}\t{{.Nope}}'],
      ['ps', '-a', '--format', 'x\n{{.ID}} {{.Names.Nope}}'],
      ['ps', '-a', '--format', '{{.label "k"}}'],
      ['images', '--format', '{{index .Nope 1}}'],
      ['network', 'ls', '--format', '{{.ID}} {{.Nope}}'],
      ['volume', 'ls', '--format', '{{.Nope}}'],
      ['history', '--format', '{{.Nope}}', 'busybox'],
      ['stats', '--no-stream', '--format', '{{.Nope}}'],
      ['system', 'df', '--format', '{{.Nope}}'],
    ];
    assert.equal((await d.berth(['volume', 'create', 'fields-vol'])).code, 0);
    for (const args of cases) {
      const r = await assertSameAsDocker(d, args);
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stderr, /can't evaluate field/, args.join(' '));
    }
    // The rows docker marshals for {{json .}}: sorted keys, VirtualSize for images; stats names
    // every container by its short ID, even with --no-trunc.
    // Only busybox: its age reads "2 years ago" in both runs, where a fresh image's seconds may not.
    await assertSameAsDocker(d, ['images', '--format', '{{json .}}', 'busybox']);
    await assertSameAsDocker(d, ['stats', '--no-stream', '--no-trunc', '--format', '{{.Container}} {{.ID}} {{.Name}}']);
    assert.equal((await d.berth(['rm', '-f', 'fields'])).code, 0);
    assert.equal((await d.berth(['volume', 'rm', 'fields-vol'])).code, 0);
  });

  it('ps --format: {{json .}} prints docker\'s whole row with sorted keys, and a template reading .Size asks for sizes', async () => {
    const run = await d.berth(['run', '-d', '--name', 'sized', '-v', '/data', 'busybox', 'sleep', '120']);
    assert.equal(run.code, 0, run.stderr);
    const args = ['ps', '--filter', 'name=sized', '--format', '{{json .}}'];
    const [viaDocker, viaBerth] = await Promise.all([d.docker(args), d.berth(args)]);
    const docker = JSON.parse(viaDocker.stdout) as Record<string, unknown>;
    const berth = JSON.parse(viaBerth.stdout) as Record<string, unknown>;
    assert.deepEqual(Object.keys(berth), Object.keys(docker));
    assert.match(String(berth.Size), /^0B \(virtual [\d.]+[kM]B\)$/);
    assert.equal(berth.Size, docker.Size);
    assert.equal(berth.LocalVolumes, '1');
    await assertSameAsDocker(d, ['ps', '--filter', 'name=sized', '--format', '{{.Names}} {{.Size}} {{.LocalVolumes}} {{.Platform}}']);
    await assertSameAsDocker(d, ['ps', '--filter', 'name=sized', '--format', '{{.Names}} {{.Size}}', '--quiet']);
    // The docker CLI decodes inspect into moby's types and marshals them again: berthd sends
    // HostConfig and GraphDriver in those types' field order, so berth's {{json .}} is the same.
    await assertSameAsDocker(d, ['inspect', '--format', '{{json .}}', 'sized']);
  });

  it('--cidfile writes the new container\'s ID, refuses a file that exists and leaves none after a failed create; create reports errors as docker create does', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-cid-'));
    try {
      const ran = await d.berth(['run', '--rm', '--cidfile', join(dir, 'ran'), 'busybox', 'true']);
      assert.equal(ran.code, 0, ran.stderr);
      assert.match(await readFile(join(dir, 'ran'), 'utf8'), /^[0-9a-f]{64}$/);
      const created = await d.berth(['create', '--cidfile', join(dir, 'created'), 'busybox', 'true']);
      assert.equal(created.code, 0, created.stderr);
      const id = await readFile(join(dir, 'created'), 'utf8');
      assert.equal(created.stdout, `${id}\n`);
      assert.equal((await d.berth(['inspect', '-f', '{{.Id}}', id])).stdout, `${id}\n`);
      await assertSameAsDocker(d, ['run', '--rm', '--cidfile', join(dir, 'ran'), 'busybox', 'true']);
      await assertSameAsDocker(d, ['create', '--cidfile', join(dir, 'ran'), 'busybox', 'true']);
      await assertSameAsDocker(d, ['run', '--rm', '--cidfile', join(dir, 'no-dir', 'x'), 'busybox', 'true']);
      await assertSameAsDocker(d, ['create', '--cidfile', join(dir, 'failed'), '--name', 'bad/name', 'busybox', 'true']);
      assert.deepEqual((await readdir(dir)).sort(), ['created', 'ran']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    for (const args of [
      ['create', '--pull', 'never', 'no-such-image:1', 'true'],
      ['create', '--restart', 'bogus', 'busybox', 'true'],
      ['run', '--restart', 'bogus', 'busybox', 'true'],
      ['create', '--restart', 'on-failure:x', 'busybox', 'true'],
      ['create', '--restart', 'always:3', 'busybox', 'true'],
    ]) {
      const r = await assertSameAsDocker(d, args);
      assert.notEqual(r.code, 0, args.join(' '));
    }
  });
});

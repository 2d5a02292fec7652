/**
 * docker cp / berth cp / docker-py / dockerode against the archive endpoints, and export:
 * both directions, follow-link rules, ownership, hostile symlinks that must stay inside the
 * container's rootfs, stopped containers, and bad input.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { mountsUnder, startBerthd, type Berthd } from '../helpers/berthd.js';

const execFileAsync = promisify(execFile);

/** Runs a docker-py script against this berthd; its stdout. */
async function python(d: Berthd, script: string): Promise<string> {
  const { stdout } = await execFileAsync('python3', ['-c', `import docker, json, io, tarfile, sys\nclient = docker.from_env()\n${script}`], {
    env: { ...process.env, DOCKER_HOST: d.host },
  });
  return stdout;
}

/** A shell pipeline with DOCKER_HOST set; its status and output. */
function sh(d: Berthd, command: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', command], { env: { ...process.env, DOCKER_HOST: d.host, BERTH_HOST: d.host } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

describe('cp and export', () => {
  let d: Berthd;
  let work: string;
  const marker = `berth-cp-${randomBytes(4).toString('hex')}`;
  const berth = (args: string[]): string[] => [join(process.cwd(), 'bin/berth'), ...args];

  before(async () => {
    d = await startBerthd();
    work = fs.mkdtempSync(join(tmpdir(), 'berth-cp-'));
    // Idempotent, so the container runs again after a stop and start.
    const setup = [
      'mkdir -p /data/sub /deep/a && echo hello > /data/sub/f && echo top > /data/top',
      'ln -s / /rootlink && ln -s /data /datalink && ln -s ../../../../../../etc /deep/a/uplink',
      'echo container-secret > /etc/only-in-container',
      'touch /ready',
    ].join(' && ');
    const r = await d.docker(['run', '-d', '--name', 'c1', 'busybox', 'sh', '-c', `[ -e /ready ] || (${setup}); sleep 300`]);
    assert.equal(r.code, 0, r.stderr);
    for (let i = 0; i < 100 && (await d.docker(['exec', 'c1', 'test', '-e', '/ready'])).code !== 0; i++) await new Promise((res) => setTimeout(res, 100));
  });
  after(async () => {
    await d.destroy();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('docker cp copies a file, a directory, dir/. and follows links only with -L', async () => {
    const out = join(work, 'from');
    fs.mkdirSync(out);
    assert.equal((await d.docker(['cp', 'c1:/data/sub/f', join(out, 'f')])).code, 0);
    assert.equal(fs.readFileSync(join(out, 'f'), 'utf8'), 'hello\n');
    assert.equal((await d.docker(['cp', 'c1:/data', join(out, 'data')])).code, 0);
    assert.equal(fs.readFileSync(join(out, 'data/sub/f'), 'utf8'), 'hello\n');
    assert.equal((await d.docker(['cp', 'c1:/data/.', join(out, 'contents')])).code, 0);
    assert.deepEqual(fs.readdirSync(join(out, 'contents')).sort(), ['sub', 'top']);
    assert.equal((await d.docker(['cp', 'c1:/datalink', join(out, 'link')])).code, 0);
    assert.equal(fs.readlinkSync(join(out, 'link')), '/data');
    assert.equal((await d.docker(['cp', '-L', 'c1:/datalink', join(out, 'followed')])).code, 0);
    assert.equal(fs.readFileSync(join(out, 'followed/top'), 'utf8'), 'top\n');
    const tar = await sh(d, 'docker cp c1:/data/top - | tar -t');
    assert.equal(tar.stdout, 'top\n');
    const missing = await d.docker(['cp', 'c1:/nonexistent', out]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /Could not find the file \/nonexistent in container c1/);
  });

  it('reads through hostile symlinks inside the container, never the host', async () => {
    const out = join(work, 'hostile');
    fs.mkdirSync(out);
    assert.equal((await d.docker(['cp', 'c1:/rootlink/etc/only-in-container', join(out, 'a')])).code, 0);
    assert.equal(fs.readFileSync(join(out, 'a'), 'utf8'), 'container-secret\n');
    assert.equal((await d.docker(['cp', 'c1:/deep/a/uplink/only-in-container', join(out, 'b')])).code, 0);
    assert.equal(fs.readFileSync(join(out, 'b'), 'utf8'), 'container-secret\n');
    const passwd = await d.docker(['cp', 'c1:/deep/a/uplink/passwd', '-']);
    const inside = await d.docker(['exec', 'c1', 'cat', '/etc/passwd']);
    assert.ok(passwd.stdout.includes(inside.stdout), 'the container passwd, not the host one');
  });

  it('writes through hostile symlinks inside the container, never the host', async () => {
    const src = join(work, marker);
    fs.writeFileSync(src, 'payload\n');
    assert.equal((await d.docker(['cp', src, 'c1:/rootlink/tmp/'])).code, 0);
    assert.equal((await d.docker(['cp', src, 'c1:/deep/a/uplink/'])).code, 0);
    assert.equal((await d.docker(['exec', 'c1', 'cat', `/tmp/${marker}`, `/etc/${marker}`])).stdout, 'payload\npayload\n');
    assert.equal(fs.existsSync(`/tmp/${marker}`), false);
    assert.equal(fs.existsSync(`/etc/${marker}`), false);
  });

  it('docker cp into a container: root ownership unless -a, "-" as a tar on stdin, no dir over a file', async () => {
    const src = join(work, 'owned.txt');
    fs.writeFileSync(src, 'mine\n');
    fs.chownSync(src, 1234, 5678);
    assert.equal((await d.docker(['cp', src, 'c1:/tmp/rooted'])).code, 0);
    assert.equal((await d.docker(['cp', '-a', src, 'c1:/tmp/kept'])).code, 0);
    const ls = await d.docker(['exec', 'c1', 'stat', '-c', '%u:%g %n', '/tmp/rooted', '/tmp/kept']);
    assert.equal(ls.stdout, '0:0 /tmp/rooted\n1234:5678 /tmp/kept\n');
    const piped = await sh(d, `tar -C ${work} -c owned.txt | docker cp - c1:/data/sub`);
    assert.equal(piped.code, 0, piped.stderr);
    assert.equal((await d.docker(['exec', 'c1', 'cat', '/data/sub/owned.txt'])).stdout, 'mine\n');
    fs.mkdirSync(join(work, 'adir'));
    const clash = await d.docker(['cp', join(work, 'adir'), 'c1:/data/top']);
    assert.notEqual(clash.code, 0);
  });

  it('berth cp works both ways, including - and dir/.', async () => {
    const out = join(work, 'berth');
    fs.mkdirSync(out);
    const run = (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => d.berth(args);
    assert.equal((await run(['cp', 'c1:/data', join(out, 'data')])).code, 0);
    assert.equal(fs.readFileSync(join(out, 'data/sub/f'), 'utf8'), 'hello\n');
    assert.equal((await run(['cp', '-L', 'c1:/datalink', join(out, 'followed')])).code, 0);
    assert.equal(fs.readFileSync(join(out, 'followed/top'), 'utf8'), 'top\n');
    fs.mkdirSync(join(out, 'up/inner'), { recursive: true });
    fs.writeFileSync(join(out, 'up/inner/x'), 'x\n');
    assert.equal((await run(['cp', join(out, 'up'), 'c1:/tmp/up'])).code, 0);
    assert.equal((await run(['cp', `${join(out, 'up')}/.`, 'c1:/tmp/flat'])).code, 0);
    assert.equal((await d.docker(['exec', 'c1', 'cat', '/tmp/up/inner/x', '/tmp/flat/inner/x'])).stdout, 'x\nx\n');
    const piped = await sh(d, `${berth(['cp', 'c1:/data/top', '-']).join(' ')} | tar -xO`);
    assert.equal(piped.stdout, 'top\n');
    const stdin = await sh(d, `tar -C ${out}/up -c inner | ${berth(['cp', '-', 'c1:/tmp']).join(' ')}`);
    assert.equal(stdin.code, 0, stdin.stderr);
    assert.equal((await d.docker(['exec', 'c1', 'cat', '/tmp/inner/x'])).stdout, 'x\n');
    const bad = await run(['cp', 'a', 'b']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /must specify at least one container source/);
  });

  it('docker-py and dockerode read the stat header and the tar, and write archives', async () => {
    const stat = JSON.parse(await python(d, "bits, stat = client.containers.get('c1').get_archive('/datalink')\nprint(json.dumps(stat))")) as Record<string, unknown>;
    assert.equal(stat['name'], 'datalink');
    assert.equal(stat['linkTarget'], '/data');
    assert.equal(stat['mode'], 2 ** 27 + 0o777);
    const dirStat = JSON.parse(await python(d, "bits, stat = client.containers.get('c1').get_archive('/data/')\nprint(json.dumps(stat))")) as Record<string, number>;
    assert.equal(Math.floor((dirStat['mode'] ?? 0) / 2 ** 31), 1, 'a directory has Go ModeDir set');
    const names = await python(
      d,
      "bits, stat = client.containers.get('c1').get_archive('/data')\nbuf = io.BytesIO(b''.join(bits))\nprint('\\n'.join(sorted(tarfile.open(fileobj=buf).getnames())))",
    );
    assert.deepEqual(names.trim().split('\n'), ['data', 'data/sub', 'data/sub/f', 'data/sub/owned.txt', 'data/top']);
    const put = await python(
      d,
      "buf = io.BytesIO()\nt = tarfile.open(fileobj=buf, mode='w')\ndata = b'from python\\n'\ni = tarfile.TarInfo('py.txt'); i.size = len(data); t.addfile(i, io.BytesIO(data)); t.close()\nprint(client.containers.get('c1').put_archive('/tmp', buf.getvalue()))",
    );
    assert.equal(put.trim(), 'True');
    assert.equal((await d.docker(['exec', 'c1', 'cat', '/tmp/py.txt'])).stdout, 'from python\n');

    const docker = new Docker({ socketPath: d.socket });
    const container = docker.getContainer('c1');
    const info = (await container.infoArchive({ path: '/data/top' })) as unknown as { headers: Record<string, string> };
    const header = JSON.parse(Buffer.from(info.headers['x-docker-container-path-stat'] ?? '', 'base64').toString()) as { name: string; size: number };
    assert.deepEqual([header.name, header.size], ['top', 4]);
    const tarFile = join(work, 'node.tar');
    await execFileAsync('tar', ['-C', work, '-cf', tarFile, 'owned.txt']);
    await container.putArchive(tarFile, { path: '/data' });
    assert.equal((await d.docker(['exec', 'c1', 'cat', '/data/owned.txt'])).stdout, 'mine\n');
  });

  it('copies into and out of volumes and binds as the container sees them; read-only mounts refuse writes', async () => {
    const bind = join(work, 'bind-src');
    fs.mkdirSync(bind);
    fs.writeFileSync(join(bind, 'host-file'), 'from the bind\n');
    const run = await d.docker(['run', '-d', '--name', 'mounted', '--read-only', '-v', 'cpvol:/srv/vol', '-v', `${bind}:/bind:ro`, 'busybox', 'sleep', '300']);
    assert.equal(run.code, 0, run.stderr);
    const src = join(work, 'to-volume.txt');
    fs.writeFileSync(src, 'into the volume\n');
    const into = await d.docker(['cp', src, 'mounted:/srv/vol/']);
    assert.equal(into.code, 0, into.stderr);
    assert.equal((await d.docker(['exec', 'mounted', 'cat', '/srv/vol/to-volume.txt'])).stdout, 'into the volume\n');
    // A directory holding a mount point is archived with the mount's content.
    const listing = await sh(d, 'docker cp mounted:/srv - | tar -t');
    assert.deepEqual(listing.stdout.trim().split('\n').sort(), ['srv/', 'srv/vol/', 'srv/vol/to-volume.txt']);
    const out = join(work, 'from-bind');
    assert.equal((await d.docker(['cp', 'mounted:/bind/host-file', out])).code, 0);
    assert.equal(fs.readFileSync(out, 'utf8'), 'from the bind\n');
    // A tree reaching into a mount point from above is refused rather than written under the mount.
    fs.mkdirSync(join(work, 'tree/srv/vol'), { recursive: true });
    fs.writeFileSync(join(work, 'tree/srv/vol/x'), 'x');
    assert.equal((await d.docker(['run', '-d', '--name', 'writable', '-v', 'cpvol:/srv/vol', 'busybox', 'sleep', '300'])).code, 0);
    const across = await d.docker(['cp', `${join(work, 'tree')}/.`, 'writable:/']);
    assert.notEqual(across.code, 0);
    assert.match(across.stderr, /below the mount point "srv\/vol"/);
    assert.equal((await d.docker(['rm', '-f', 'writable'])).code, 0);
    const ro = await d.docker(['cp', src, 'mounted:/bind/']);
    assert.notEqual(ro.code, 0);
    assert.match(ro.stderr, /mounted volume is marked read-only/);
    assert.equal(fs.existsSync(join(bind, 'to-volume.txt')), false);
    assert.equal((await d.docker(['rm', '-f', 'mounted'])).code, 0);
    assert.equal((await d.docker(['volume', 'rm', 'cpvol'])).code, 0);
  });

  it('rejects bad input with a 4xx', async () => {
    assert.equal((await d.api('GET', '/containers/c1/archive')).status, 400);
    assert.equal((await d.api('GET', '/containers/c1/archive?path=/nope')).status, 404);
    assert.equal((await d.api('GET', '/containers/nope/archive?path=/')).status, 404);
    assert.equal((await d.api('GET', '/containers/c1/archive?path=/etc/passwd/x')).status, 400);
    const notDir = await d.api('PUT', '/containers/c1/archive?path=/data/top', 'not a tar');
    assert.equal(notDir.status, 400);
    assert.match(notDir.body, /extraction point is not a directory/);
    const garbage = await d.api('PUT', '/containers/c1/archive?path=/tmp', 'x'.repeat(2000));
    assert.equal(garbage.status, 400);
    const docker = new Docker({ socketPath: d.socket });
    await assert.rejects(docker.getContainer('c1').getArchive({ path: '/nonexistent' }), (e: { statusCode?: number }) => e.statusCode === 404);
    assert.equal((await d.docker(['run', '-d', '--read-only', '--name', 'ro', 'busybox', 'sleep', '300'])).code, 0);
    fs.writeFileSync(join(work, 'ro.txt'), 'x');
    const ro = await d.docker(['cp', join(work, 'ro.txt'), 'ro:/tmp/']);
    assert.notEqual(ro.code, 0);
    assert.match(ro.stderr, /container rootfs is marked read-only/);
    assert.equal((await d.docker(['cp', 'ro:/bin/busybox', join(work, 'from-ro')])).code, 0, 'reading a read-only container is fine');
  });

  it('exports the filesystem (docker export, berth export -o, dockerode)', async () => {
    const list = await sh(d, 'docker export c1 | tar -t');
    const names = list.stdout.split('\n');
    for (const expected of ['bin/', 'bin/busybox', 'data/sub/f', 'etc/only-in-container', 'tmp/py.txt']) assert.ok(names.includes(expected), `${expected} in export`);
    assert.ok(!names.some((n) => n.startsWith('/') || n.startsWith('./')), 'names are relative');
    const file = join(work, 'export.tar');
    assert.equal((await d.berth(['export', '-o', file, 'c1'])).code, 0);
    const { stdout } = await execFileAsync('tar', ['-xOf', file, 'data/sub/f']);
    assert.equal(stdout, 'hello\n');
    const stream = await new Docker({ socketPath: d.socket }).getContainer('c1').export();
    let bytes = 0;
    for await (const chunk of stream as AsyncIterable<Buffer>) bytes += chunk.length;
    assert.ok(bytes > 100_000, `export of busybox is ${bytes} bytes`);
  });

  it('copies from and into a stopped container, and unmounts its rootfs afterwards', async () => {
    assert.equal((await d.docker(['stop', '-t', '1', 'c1'])).code, 0);
    const out = join(work, 'stopped');
    fs.mkdirSync(out);
    assert.equal((await d.docker(['cp', 'c1:/data/sub/f', join(out, 'f')])).code, 0);
    assert.equal(fs.readFileSync(join(out, 'f'), 'utf8'), 'hello\n');
    fs.writeFileSync(join(out, 'in.txt'), 'while stopped\n');
    assert.equal((await d.docker(['cp', join(out, 'in.txt'), 'c1:/data/'])).code, 0);
    assert.equal((await sh(d, 'docker export c1 | tar -t | grep -c data/in.txt')).stdout.trim(), '1');
    const id = (await d.docker(['inspect', '-f', '{{.Id}}', 'c1'])).stdout.trim();
    assert.deepEqual((await mountsUnder(d.root)).filter((m) => m.includes(id)), [], 'nothing of the stopped container stays mounted');
    assert.equal((await d.docker(['start', 'c1'])).code, 0);
    assert.equal((await d.docker(['exec', 'c1', 'cat', '/data/in.txt'])).stdout, 'while stopped\n');
  });
});

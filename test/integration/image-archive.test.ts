/**
 * save/load (docker-archive and OCI layout archives), import, commit, image list filters,
 * system df and system prune — through the docker CLI, docker-py and the berth CLI.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createHash } from 'node:crypto';
import tar from 'tar-stream';
import { repoRoot, startBerthd, type Berthd } from '../helpers/berthd.js';
import { fixtures, type Fixtures } from '../helpers/fixtures.js';

const execFileAsync = promisify(execFile);

async function makeTar(entries: Array<{ name: string; body?: Buffer | string; type?: 'file' | 'symlink' | 'directory'; linkname?: string; mode?: number }>): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((resolve) => pack.on('end', resolve));
  for (const e of entries) {
    if (e.type === 'symlink') pack.entry({ name: e.name, type: 'symlink', linkname: e.linkname ?? '' });
    else if (e.type === 'directory') pack.entry({ name: e.name, type: 'directory', mode: 0o755 });
    else pack.entry({ name: e.name, mode: e.mode ?? 0o644 }, typeof e.body === 'string' ? Buffer.from(e.body) : (e.body ?? Buffer.alloc(0)));
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

async function untar(buf: Buffer): Promise<Map<string, Buffer>> {
  const extract = tar.extract();
  const files = new Map<string, Buffer>();
  const done = (async () => {
    for await (const entry of extract) {
      const parts: Buffer[] = [];
      for await (const c of entry) parts.push(c as Buffer);
      files.set(entry.header.name, Buffer.concat(parts));
    }
  })();
  extract.end(buf);
  await done;
  return files;
}

const sha = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('image archives, import, commit, filters, df and prune', () => {
  let d: Berthd;
  let fx: Fixtures;
  let work: string;

  /** POST a raw body; the status and the response text. */
  const post = (path: string, body: Buffer): Promise<{ status: number; text: string }> =>
    new Promise((resolve, reject) => {
      const req = request({ socketPath: d.socket, method: 'POST', path, headers: { 'Content-Type': 'application/x-tar', 'Content-Length': body.length } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', reject);
      req.end(body);
    });

  const python = async (script: string): Promise<string> => {
    const { stdout } = await execFileAsync('python3', ['-c', script], { env: { ...process.env, DOCKER_HOST: d.host }, timeout: 120_000 });
    return stdout;
  };

  const state = async (): Promise<{ images: string[]; blobs: string[]; layers: string[]; tmp: string[] }> => ({
    images: (await d.api('GET', '/images/json')).json<Array<{ Id: string }>>().map((i) => i.Id).sort(),
    blobs: (await readdir(join(d.root, 'data/content/blobs/sha256'))).sort(),
    layers: (await readdir(join(d.root, 'data/snapshots/layers'))).sort(),
    tmp: await readdir(join(d.root, 'data/tmp')).catch(() => []),
  });

  before(async () => {
    fx = await fixtures();
    d = await startBerthd();
    work = await mkdtemp(join(tmpdir(), 'berth-archive-'));
  });
  after(async () => {
    await d.destroy();
    await rm(work, { recursive: true, force: true });
  });

  it('docker save writes Docker 25+ archives and docker load restores the same image', async () => {
    const id = (await d.docker(['image', 'inspect', '-f', '{{.Id}}', 'busybox'])).stdout.trim();
    assert.match(id, /^sha256:[a-f0-9]{64}$/);
    await d.docker(['tag', 'busybox', 'saved/bb:v1']);
    const file = join(work, 'bb.tar');
    const save = await d.docker(['save', '-o', file, 'busybox:latest', 'saved/bb:v1']);
    assert.equal(save.code, 0, save.stderr);

    const files = await untar(await readFile(file));
    const manifest = JSON.parse((files.get('manifest.json') as Buffer).toString()) as Array<{ Config: string; RepoTags: string[]; Layers: string[] }>;
    assert.equal(manifest.length, 1);
    assert.equal(manifest[0]?.Config, `blobs/sha256/${id.slice(7)}`);
    assert.deepEqual(manifest[0]?.RepoTags.sort(), ['busybox:latest', 'saved/bb:v1']);
    const config = files.get(manifest[0]?.Config ?? '') as Buffer;
    assert.equal(sha(config), id);
    const diffIds = (JSON.parse(config.toString()) as { rootfs: { diff_ids: string[] } }).rootfs.diff_ids;
    assert.deepEqual(manifest[0]?.Layers, diffIds.map((dd) => `blobs/sha256/${dd.slice(7)}`));
    for (const layer of manifest[0]?.Layers ?? []) assert.equal(sha(files.get(layer) as Buffer), `sha256:${layer.slice(13)}`);
    assert.equal((files.get('oci-layout') as Buffer).toString(), '{"imageLayoutVersion": "1.0.0"}');
    const index = JSON.parse((files.get('index.json') as Buffer).toString()) as { manifests: Array<{ digest: string; annotations: Record<string, string> }> };
    assert.deepEqual(index.manifests.map((m) => m.annotations['io.containerd.image.name']).sort(), ['docker.io/library/busybox:latest', 'docker.io/saved/bb:v1']);
    assert.ok(files.has(`blobs/sha256/${index.manifests[0]?.digest.slice(7)}`));
    assert.ok(JSON.parse((files.get('repositories') as Buffer).toString()).busybox.latest);

    assert.equal((await d.docker(['rmi', 'busybox', 'saved/bb:v1'])).code, 0);
    assert.equal((await d.docker(['image', 'inspect', id])).code, 1);
    const load = await d.docker(['load', '-i', file]);
    assert.equal(load.code, 0, load.stderr);
    assert.match(load.stdout, /Loaded image: busybox:latest/);
    assert.match(load.stdout, /Loaded image: saved\/bb:v1/);
    assert.equal((await d.docker(['image', 'inspect', '-f', '{{.Id}}', 'saved/bb:v1'])).stdout.trim(), id);
    const run = await d.docker(['run', '--rm', 'saved/bb:v1', 'echo', 'round-trip']);
    assert.equal(run.stdout, 'round-trip\n', run.stderr);

    // berth's CLI: save to stdout is refused on a terminal only; -o and load -q from stdin work.
    const file2 = join(work, 'bb2.tar');
    const bsave = await d.berth(['save', '-o', file2, 'saved/bb']);
    assert.equal(bsave.code, 0, bsave.stderr);
    assert.equal((await d.berth(['rmi', 'saved/bb:v1'])).code, 0);
    const bload = await d.berth(['load', '-q', '-i', file2]);
    assert.equal(bload.code, 0, bload.stderr);
    assert.equal(bload.stdout, 'Loaded image: saved/bb:v1\n');
    // Through pipes: docker save to stdout, berth load from stdin.
    const piped = join(work, 'piped.tar');
    const env = { ...process.env, DOCKER_HOST: d.host, BERTH_HOST: d.host };
    await execFileAsync('sh', ['-c', `docker save saved/bb:v1 > ${piped}`], { env });
    await d.docker(['rmi', 'saved/bb:v1']);
    const fromStdin = await execFileAsync('sh', ['-c', `${process.execPath} bin/berth load < ${piped}`], { env, cwd: repoRoot });
    assert.equal(fromStdin.stdout, 'Loaded image: saved/bb:v1\n');
    // A compressed archive loads too (docker load accepts gzip).
    const gz = join(work, 'bb.tar.gz');
    await execFileAsync('sh', ['-c', `gzip -c < ${file2} > ${gz}`]);
    await d.docker(['rmi', 'saved/bb:v1']);
    assert.match((await d.docker(['load', '-i', gz])).stdout, /Loaded image: saved\/bb:v1/);
  });

  it('docker-py saves and loads, and loads a skopeo oci-archive of a registry image', async () => {
    const out = await python(`
import docker
c = docker.from_env()
data = b''.join(c.images.get('busybox:latest').save(named='busybox:latest'))
c.images.remove('busybox:latest')
imgs = c.images.load(data)
print(imgs[0].id, sorted(imgs[0].tags))
`);
    assert.match(out, /^sha256:[a-f0-9]{64} \['busybox:latest', 'saved\/bb:v1'\]/);

    const archive = join(work, 'multi-oci.tar');
    await execFileAsync('skopeo', ['copy', '--src-tls-verify=false', `docker://${fx.images.busyboxMulti}`, `oci-archive:${archive}:fixture/multi:v2`], { timeout: 120_000 });
    const load = await d.docker(['load', '-i', archive]);
    assert.equal(load.code, 0, load.stderr);
    assert.match(load.stdout, /Loaded image: fixture\/multi:v2/);
    const id = (await d.docker(['image', 'inspect', '-f', '{{.Id}}', 'fixture/multi:v2'])).stdout.trim();
    assert.equal(id, fx.digests.busyboxMulti.config);
    // layer 3 of the fixture whites out /data/a: the loaded image shows what a pull shows
    const ls = await d.docker(['run', '--rm', '--entrypoint', 'sh', 'fixture/multi:v2', '-c', 'ls /data']);
    assert.equal(ls.stdout, 'b\n', ls.stderr);
    // docker-py loads the same archive (already present: same ID, name kept)
    const py = await python(`
import docker
c = docker.from_env()
print(c.images.load(open('${archive}', 'rb').read())[0].id)
`);
    assert.equal(py.trim(), id);
  });

  it('refuses hostile archives with a 400 and stores nothing', async () => {
    const before = await state();
    const layer = await makeTar([{ name: 'evil', body: 'x' }]);
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha(layer)] } }));
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length }, layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha(layer), size: layer.length }] }));
    const index = JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha(manifest), size: manifest.length, annotations: { 'io.containerd.image.name': 'docker.io/library/hostile:1' } }] });
    const blob = (b: Buffer): { name: string; body: Buffer } => ({ name: `blobs/sha256/${sha(b).slice(7)}`, body: b });
    const good = [{ name: 'oci-layout', body: '{"imageLayoutVersion":"1.0.0"}' }, { name: 'index.json', body: index }, blob(config), blob(manifest)];

    const cases: Array<[string, Buffer, RegExp]> = [
      ['path traversal', await makeTar([{ name: '../../escape', body: 'x' }, ...good, blob(layer)]), /points outside the archive/],
      ['digest mismatch', await makeTar([...good, { name: `blobs/sha256/${sha(layer).slice(7)}`, body: await makeTar([{ name: 'other', body: 'y' }]) }]), /mismatch/],
      ['missing blob', await makeTar(good), /missing from the archive/],
      ['huge manifest', await makeTar([{ name: 'manifest.json', body: Buffer.alloc(5 * 1024 * 1024, 0x20) }]), /more than the \d+ allowed/],
      ['not an archive', Buffer.from('hello, not a tar at all'.repeat(40)), /invalid image archive/],
      ['symlink out', await makeTar([{ name: 'manifest.json', type: 'symlink', linkname: '../../../etc/passwd' }]), /outside the archive/],
    ];
    for (const [what, body, message] of cases) {
      const r = await post('/v1.50/images/load', body);
      assert.equal(r.status, 400, `${what}: ${r.status} ${r.text}`);
      assert.match(r.text, message, what);
    }
    // the valid one loads (proving the cases above failed only for what they break)
    const ok = await post('/v1.50/images/load?quiet=0', await makeTar([...good, blob(layer)]));
    assert.equal(ok.status, 200, ok.text);
    assert.match(ok.text, /Loaded image: hostile:1/);
    assert.match(ok.text, /Loading layer/);
    assert.equal((await d.docker(['rmi', 'hostile:1'])).code, 0);
    assert.deepEqual(await state(), before);
    // A layer whose own entries escape is only found while unpacking: the error ends the stream, nothing stays.
    const evilLayer = await makeTar([{ name: '../../../../tmp/berth-escaped', body: 'x' }]);
    const evilConfig = Buffer.from(JSON.stringify({ os: 'linux', architecture: 'amd64', rootfs: { type: 'layers', diff_ids: [sha(evilLayer)] } }));
    const evil = await makeTar([
      { name: 'layer.tar', body: evilLayer },
      { name: 'config.json', body: evilConfig },
      { name: 'manifest.json', body: JSON.stringify([{ Config: 'config.json', RepoTags: ['evil:1'], Layers: ['layer.tar'] }]) },
    ]);
    const inStream = await post('/v1.50/images/load', evil);
    assert.equal(inStream.status, 200);
    assert.match(inStream.text, /"errorDetail"/);
    assert.doesNotMatch(inStream.text, /Loaded image/);
    assert.deepEqual(await state(), before);
    assert.equal(await readFile('/tmp/berth-escaped').catch(() => 'absent'), 'absent');
    // and the docker CLI shows the daemon's message
    await writeFile(join(work, 'bad.tar'), await makeTar(good));
    const cli = await d.docker(['load', '-i', join(work, 'bad.tar')]);
    assert.equal(cli.code, 1);
    assert.match(cli.stderr, /missing from the archive/);
  });

  it('imports a rootfs tarball with changes (docker import, berth import)', async () => {
    const busybox = await readFile('/bin/busybox');
    const rootfs = await makeTar([
      { name: 'bin/', type: 'directory' },
      { name: 'bin/busybox', body: busybox, mode: 0o755 },
      { name: 'bin/sh', type: 'symlink', linkname: 'busybox' },
      { name: 'bin/echo', type: 'symlink', linkname: 'busybox' },
      { name: 'hello.txt', body: 'imported file\n' },
    ]);
    const file = join(work, 'rootfs.tar');
    await writeFile(file, rootfs);
    const imp = await d.docker(['import', '-c', 'ENV GREETING=hi', '-c', 'CMD ["sh", "-c", "echo $GREETING; cat /hello.txt"]', '-m', 'from a tarball', file, 'imported:1']);
    assert.equal(imp.code, 0, imp.stderr);
    assert.match(imp.stdout, /^sha256:[a-f0-9]{64}$/m);
    const run = await d.docker(['run', '--rm', 'imported:1']);
    assert.equal(run.stdout, 'hi\nimported file\n', run.stderr);
    const comment = await d.docker(['image', 'inspect', '-f', '{{.Comment}} {{json .RootFS.Layers}}', 'imported:1']);
    assert.equal(comment.stdout.trim(), `from a tarball ${JSON.stringify([sha(rootfs)])}`);
    const piped = await execFileAsync('sh', ['-c', `gzip -c < ${file} | docker import - imported:gz`], { env: { ...process.env, DOCKER_HOST: d.host } });
    assert.match(piped.stdout, /^sha256:[a-f0-9]{64}$/m);
    assert.equal((await d.docker(['run', '--rm', 'imported:gz', '/bin/busybox', 'cat', '/hello.txt'])).stdout, 'imported file\n');
    const viaFile = await d.berth(['import', '-c', 'WORKDIR /bin', file, 'imported:2']);
    assert.equal(viaFile.code, 0, viaFile.stderr);
    assert.equal((await d.docker(['run', '--rm', 'imported:2', 'sh', '-c', 'pwd'])).stdout, '/bin\n');
    const bad = await d.docker(['import', '-c', 'RUN echo no', file, 'imported:3']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /RUN is not a valid change command/);
  });

  it('commits a container: added and deleted files, -c CMD, author and message', async () => {
    const c = await d.docker(['run', '--name', 'to-commit', 'busybox', 'sh', '-c', 'echo committed-content > /newfile; rm /etc/group; mkdir -p /d/e; echo x > /d/e/f']);
    assert.equal(c.code, 0, c.stderr);
    const commit = await d.docker(['commit', '-a', 'Tester <t@example.com>', '-m', 'a message', '-c', 'CMD ["cat", "/newfile"]', '-c', 'LABEL stage=committed', 'to-commit', 'committed:1']);
    assert.equal(commit.code, 0, commit.stderr);
    assert.match(commit.stdout, /^sha256:[a-f0-9]{64}\n$/);
    assert.equal((await d.docker(['run', '--rm', 'committed:1'])).stdout, 'committed-content\n');
    const gone = await d.docker(['run', '--rm', 'committed:1', 'sh', '-c', 'test -e /etc/group && echo present || echo deleted; cat /d/e/f']);
    assert.equal(gone.stdout, 'deleted\nx\n', gone.stderr);
    const meta = await d.docker(['image', 'inspect', '-f', '{{.Author}}|{{.Comment}}|{{json .Config.Labels}}|{{len .RootFS.Layers}}', 'committed:1']);
    assert.equal(meta.stdout.trim(), 'Tester <t@example.com>|a message|{"stage":"committed"}|2');

    // a running container, through docker-py, paused while committed; then berth commit
    assert.equal((await d.docker(['run', '-d', '--name', 'live', 'busybox', 'sh', '-c', 'echo live > /live; sleep 600'])).code, 0);
    await new Promise((r) => setTimeout(r, 500));
    const py = await python(`
import docker
c = docker.from_env()
img = c.containers.get('live').commit(repository='pycommit', tag='t', changes=['CMD ["cat", "/live"]'])
print(img.id)
print(c.containers.run('pycommit:t', remove=True).decode(), end='')
`);
    assert.match(py, /^sha256:[a-f0-9]{64}\nlive\n$/);
    assert.equal((await d.docker(['inspect', '-f', '{{.State.Status}}', 'live'])).stdout.trim(), 'running');
    const bc = await d.berth(['commit', '-c', 'ENTRYPOINT ["cat"]', 'live', 'berthcommit']);
    assert.equal(bc.code, 0, bc.stderr);
    assert.equal((await d.docker(['run', '--rm', 'berthcommit', '/live'])).stdout, 'live\n');
    const badChange = await d.docker(['commit', '-c', 'FROM scratch', 'live']);
    assert.equal(badChange.code, 1);
    assert.match(badChange.stderr, /FROM is not a valid change command/);
    const missing = await d.docker(['commit', 'no-such-container']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /No such container/);
    await d.docker(['rm', '-f', 'live']);
  });

  it('filters image lists by label, dangling, before/since and reference; refuses unknown filters', async () => {
    const q = async (filter: string[]): Promise<string[]> => {
      const r = await d.docker(['images', '--format', '{{.Repository}}:{{.Tag}}', ...filter.flatMap((f) => ['-f', f])]);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout.trim().split('\n').filter(Boolean).sort();
    };
    assert.deepEqual(await q(['label=stage=committed']), ['committed:1']);
    assert.deepEqual(await q(['label=stage']), ['committed:1']);
    assert.deepEqual(await q(['reference=commit*']), ['committed:1']);
    const since = await q(['since=committed:1']);
    assert.ok(since.includes('pycommit:t') && since.includes('berthcommit:latest') && !since.includes('committed:1'), since.join(','));
    const beforeList = await q(['before=pycommit:t']);
    assert.ok(beforeList.includes('committed:1') && !beforeList.includes('berthcommit:latest'), beforeList.join(','));
    // an untagged commit is dangling
    const dangling = await d.docker(['commit', 'to-commit']);
    const danglingId = dangling.stdout.trim();
    const ids = (await d.docker(['images', '-q', '--no-trunc', '-f', 'dangling=true'])).stdout.trim().split('\n');
    assert.deepEqual(ids, [danglingId]);
    const unknown = await d.api('GET', `/images/json?filters=${encodeURIComponent('{"colour":{"red":true}}')}`);
    assert.equal(unknown.status, 400);
    assert.match(unknown.body, /invalid filter 'colour'/);
    const cli = await d.docker(['images', '-f', 'colour=red']);
    assert.notEqual(cli.code, 0);
  });

  it('system df reports consistent sizes and system prune removes what it should', async () => {
    const df = await d.api('GET', '/system/df');
    assert.equal(df.status, 200);
    const usage = df.json<{
      LayersSize: number;
      Images: Array<{ Id: string; Size: number; SharedSize: number; Containers: number }>;
      Containers: Array<{ Id: string; SizeRw: number; SizeRootFs: number; Names: string[] }>;
      Volumes: unknown[];
      BuildCache: unknown[];
    }>();
    assert.deepEqual(usage.BuildCache, []);
    assert.ok(Array.isArray(usage.Volumes));
    const committed = usage.Images.find((i) => i.Size > 0 && i.Containers === 0 && i.SharedSize > 0);
    assert.ok(committed, 'images sharing the busybox layer report SharedSize');
    const bb = usage.Images.find((i) => i.Id === (usage.Containers.length ? usage.Images.find((x) => x.Containers > 0)?.Id : undefined));
    assert.ok(bb, 'the image of the to-commit container counts it');
    assert.ok(usage.LayersSize >= Math.max(...usage.Images.map((i) => i.Size)));
    assert.ok(usage.LayersSize <= usage.Images.reduce((s, i) => s + i.Size, 0));
    const ctr = usage.Containers.find((c) => c.Names.includes('/to-commit'));
    assert.ok(ctr && ctr.SizeRw >= 'committed-content\nx\n'.length && ctr.SizeRootFs === ctr.SizeRw + (bb?.Size ?? 0), JSON.stringify(ctr));
    const table = await d.docker(['system', 'df']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE\nImages\s+\d+/);
    assert.match((await d.docker(['system', 'df', '-v'])).stdout, /Images space usage:/);
    assert.match((await d.berth(['system', 'df'])).stdout, /^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE\nImages\s+\d+/);
    for (const format of ['json', '{{.Type}}|{{.TotalCount}}|{{.Active}}|{{.Size}}|{{.Reclaimable}}', 'table {{.Type}}\t{{.Size}}', '{{']) {
      const [viaDocker, viaBerth] = await Promise.all([d.docker(['system', 'df', '--format', format]), d.berth(['system', 'df', '--format', format])]);
      assert.equal(viaBerth.stdout, viaDocker.stdout, `system df --format ${format}`);
      assert.equal(viaBerth.stderr, viaDocker.stderr.replace(/docker/g, 'berth'), `system df --format ${format}`);
      assert.equal(viaBerth.code, viaDocker.code, `system df --format ${format}`);
    }
    assert.match((await d.berth(['system', 'df', '--format', 'json'])).stdout, /^\{"Active":"\d+","Reclaimable":"[^"]+","Size":"[^"]+","TotalCount":"\d+","Type":"Images"\}\n/);
    // -v with a template: it runs once over docker's diskUsageContext (no relative times here,
    // so that the two runs print the same).
    for (const format of [
      '{{range .Images}}{{.Repository}} {{.Tag}} {{.ID}} {{.Digest}} {{.Size}} {{.SharedSize}} {{.UniqueSize}} {{.Containers}}|{{end}}',
      '{{range .Containers}}{{.ID}} {{.Image}} {{.Command}} {{.Size}} {{.LocalVolumes}} {{.Names}}|{{end}}',
      '{{range .Volumes}}{{json .}}{{end}}',
      'table {{len .Images}}\t{{.BuildCache}}',
      '{{.Type}}',
      '{{',
    ]) {
      const [viaDocker, viaBerth] = await Promise.all([d.docker(['system', 'df', '-v', '--format', format]), d.berth(['system', 'df', '-v', '--format', format])]);
      assert.equal(viaBerth.stdout, viaDocker.stdout, `system df -v --format ${format}`);
      assert.equal(viaBerth.stderr, viaDocker.stderr.replace(/docker/g, 'berth'), `system df -v --format ${format}`);
      assert.equal(viaBerth.code, viaDocker.code, `system df -v --format ${format}`);
    }

    assert.deepEqual((await d.api('POST', '/build/prune')).json(), { CachesDeleted: null, SpaceReclaimed: 0 });
    const prune = await d.docker(['system', 'prune', '-f']);
    assert.equal(prune.code, 0, prune.stderr);
    assert.match(prune.stdout, new RegExp(`Deleted Containers:\\n${ctr?.Id}`));
    assert.match(prune.stdout, /Total reclaimed space:/);
    const left = (await d.api('GET', '/images/json')).json<Array<{ RepoTags: string[] }>>();
    assert.ok(left.every((i) => i.RepoTags.length > 0), 'dangling images are gone');
    assert.ok(left.some((i) => i.RepoTags.includes('committed:1')), 'tagged images stay');
    const all = await d.berth(['system', 'prune', '-a', '-f']);
    assert.equal(all.code, 0, all.stderr);
    assert.deepEqual((await d.api('GET', '/images/json')).json(), []);
    const blobs = await readdir(join(d.root, 'data/content/blobs/sha256'));
    assert.deepEqual(blobs, [], 'garbage collection removed every blob');
  });
});

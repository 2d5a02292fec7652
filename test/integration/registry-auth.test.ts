/**
 * A registry that wants credentials (Debian's docker-registry with htpasswd basic auth):
 * pulls fail with a clear "unauthorized" naming the registry until `berth login` (or the
 * docker CLI's config) supplies them, and `logout` takes them away again.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startBerthd, type Berthd } from '../helpers/berthd.js';
import { fixtures, type Fixtures } from '../helpers/fixtures.js';

const execFileAsync = promisify(execFile);

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

describe('registry authentication', () => {
  let d: Berthd;
  let fx: Fixtures;
  let work: string;
  let registry: string;
  let child: ChildProcess | undefined;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    fx = await fixtures();
    work = await mkdtemp(join(tmpdir(), 'berth-auth-'));
    await execFileAsync('htpasswd', ['-Bbc', join(work, 'htpasswd'), 'alice', 's3cret']);
    const port = await freePort();
    registry = `127.0.0.1:${port}`;
    await writeFile(join(work, 'config.yml'), [
      'version: 0.1',
      'storage:',
      `  filesystem: { rootdirectory: ${join(work, 'storage')} }`,
      'http:',
      `  addr: 127.0.0.1:${port}`,
      'auth:',
      '  htpasswd:',
      '    realm: berth-test',
      `    path: ${join(work, 'htpasswd')}`,
      '',
    ].join('\n'));
    child = spawn('docker-registry', ['serve', join(work, 'config.yml')], { stdio: 'ignore' });
    for (let i = 0; i < 100; i++) {
      const r = await fetch(`http://${registry}/v2/`).catch(() => undefined);
      if (r?.status === 401) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    await execFileAsync('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', 'alice:s3cret', `oci:${fx.layoutDir('busybox')}:latest`, `docker://${registry}/private/bb:latest`]);
    await mkdir(join(work, 'docker-config'));
    env = { DOCKER_CONFIG: join(work, 'docker-config') };
    d = await startBerthd();
  });
  after(async () => {
    await d.destroy();
    if (child?.pid) {
      child.kill('SIGTERM');
      await new Promise((r) => child?.once('exit', r));
    }
    await rm(work, { recursive: true, force: true });
  });

  it('refuses an anonymous pull with a message naming the registry', async () => {
    const r = await d.berth(['pull', `${registry}/private/bb:latest`], { env });
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`${registry.replace(/\./g, '\\.')}.*(unauthorized|authentication required)`, 'i'));
  });

  it('logs in, pulls with the stored credentials, and logs out', async () => {
    const bad = await d.berth(['login', '-u', 'alice', '--password-stdin', registry], { env, input: 'wrong\n' });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /unauthorized|authentication required|invalid/i);

    const login = await d.berth(['login', '-u', 'alice', '--password-stdin', registry], { env, input: 's3cret\n' });
    assert.equal(login.code, 0, login.stderr);
    assert.match(login.stdout, /Login Succeeded/);
    const config = JSON.parse(await readFile(join(work, 'docker-config/config.json'), 'utf8')) as { auths: Record<string, { auth: string }> };
    assert.equal(Buffer.from(config.auths[registry]?.auth ?? '', 'base64').toString(), 'alice:s3cret');

    const pull = await d.berth(['pull', `${registry}/private/bb:latest`], { env });
    assert.equal(pull.code, 0, pull.stderr);
    assert.match(pull.stdout, new RegExp(`Digest: ${fx.digests.busybox.manifest}`));
    // The docker CLI reads the same config.json and sends X-Registry-Auth.
    await d.docker(['rmi', `${registry}/private/bb:latest`], { env });
    const viaDocker = await d.docker(['pull', `${registry}/private/bb:latest`], { env });
    assert.equal(viaDocker.code, 0, viaDocker.stderr);

    const logout = await d.berth(['logout', registry], { env });
    assert.equal(logout.code, 0, logout.stderr);
    const after = JSON.parse(await readFile(join(work, 'docker-config/config.json'), 'utf8')) as { auths: Record<string, unknown> };
    assert.equal(after.auths[registry], undefined);
  });
});

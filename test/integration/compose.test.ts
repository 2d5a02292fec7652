/**
 * Debian's docker-compose (v1, docker-py underneath) runs a two-service app on berth: a busybox
 * httpd serving a file from a named volume, and a client that fetches it by service name over
 * the project's network; the web port is published on the host. up -d, ps, logs, exec, down -v.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBerthd, type Berthd } from '../helpers/berthd.js';
import { httpGet } from '../helpers/http.js';

describe('docker-compose', () => {
  let d: Berthd;
  let project: string;
  const port = randomInt(40000, 50000);
  const compose = (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      const child = spawn('docker-compose', ['--no-ansi', ...args], { cwd: project, env: { ...process.env, DOCKER_HOST: d.host, COMPOSE_PROJECT_NAME: 'shop' } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
      child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? 1, stdout, stderr });
      });
    });

  before(async () => {
    d = await startBerthd();
    project = await mkdtemp(join(tmpdir(), 'berth-compose-'));
    await writeFile(
      join(project, 'docker-compose.yml'),
      `version: "3.7"
services:
  web:
    image: busybox
    command: sh -c 'echo served-from-volume > /www/index.html; echo web-ready; exec httpd -f -p 80 -h /www'
    ports:
      - "${port}:80"
    volumes:
      - webdata:/www
    networks: [shopnet]
  client:
    image: busybox
    command: sh -c 'echo client-started; exec sleep 300'
    networks: [shopnet]
networks:
  shopnet: {}
volumes:
  webdata: {}
`,
    );
  });
  after(async () => {
    await compose(['down', '-v', '-t', '1']).catch(() => undefined);
    await d?.destroy();
    await rm(project, { recursive: true, force: true });
  });

  it('brings the app up, serves it by service name and on the host, and tears it down with its volume', async () => {
    const up = await compose(['up', '-d']);
    assert.equal(up.code, 0, up.stderr);
    const ps = await compose(['ps']);
    assert.match(ps.stdout, /shop_web_1 .* Up .*0\.0\.0\.0:\d+->80\/tcp/);
    assert.match(ps.stdout, /shop_client_1 .* Up/);

    let fetched = '';
    for (let i = 0; i < 50 && !fetched.includes('served-from-volume'); i++) {
      fetched = (await compose(['exec', '-T', 'client', 'sh', '-c', `printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | nc web 80`])).stdout;
      if (!fetched.includes('served-from-volume')) await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(fetched, /served-from-volume/);
    assert.equal(await httpGet(`http://127.0.0.1:${port}/index.html`), 'served-from-volume\n');

    const volume = (await d.api('GET', '/volumes/shop_webdata')).json<{ Mountpoint: string }>();
    assert.equal(await readFile(join(volume.Mountpoint, 'index.html'), 'utf8'), 'served-from-volume\n');
    const logs = await compose(['logs', '--no-color', 'client', 'web']);
    assert.match(logs.stdout, /client-started/);
    assert.match(logs.stdout, /web-ready/);
    const network = (await d.api('GET', '/networks/shop_shopnet')).json<{ Containers: Record<string, unknown> }>();
    assert.equal(Object.keys(network.Containers).length, 2);

    const down = await compose(['down', '-v', '-t', '1']);
    assert.equal(down.code, 0, down.stderr);
    assert.equal((await d.api('GET', '/containers/json?all=1')).json<unknown[]>().length, 0);
    assert.equal((await d.api('GET', '/networks/shop_shopnet')).status, 404);
    assert.equal((await d.api('GET', '/volumes/shop_webdata')).status, 404);
  });
});

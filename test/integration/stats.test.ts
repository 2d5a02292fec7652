/** docker stats / berth stats / dockerode / docker-py against GET /containers/{id}/stats. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { startBerthd, type Berthd } from '../helpers/berthd.js';

const execFileAsync = promisify(execFile);
const ZERO_TIME = '0001-01-01T00:00:00Z';

interface Stats {
  read: string;
  preread: string;
  name: string;
  id: string;
  pids_stats: { current?: number };
  num_procs: number;
  blkio_stats: Record<string, unknown[] | null>;
  cpu_stats: { cpu_usage: { total_usage: number; usage_in_kernelmode: number; usage_in_usermode: number }; system_cpu_usage?: number; online_cpus?: number; throttling_data: Record<string, number> };
  precpu_stats: { cpu_usage: { total_usage: number }; system_cpu_usage?: number };
  memory_stats: { usage?: number; limit?: number; stats?: Record<string, number> };
  networks?: Record<string, { rx_bytes: number }>;
}

describe('stats', () => {
  let d: Berthd;
  before(async () => {
    d = await startBerthd();
    for (const args of [
      ['run', '-d', '--name', 's1', 'busybox', 'sh', '-c', 'while :; do :; done'],
      ['run', '-d', '--name', 'quiet', '--network', 'none', 'busybox', 'sleep', '300'],
      ['create', '--name', 'stopped', 'busybox', 'true'],
    ]) {
      const r = await d.docker(args);
      assert.equal(r.code, 0, r.stderr);
    }
  });
  after(async () => {
    await d.destroy();
  });

  it('answers one-shot with every field of Docker\'s StatsResponse and sane figures', async () => {
    const r = await d.api('GET', '/containers/s1/stats?stream=0&one-shot=1');
    assert.equal(r.status, 200, r.body);
    const s = r.json<Stats>();
    assert.ok(Date.parse(s.read) > Date.now() - 60_000);
    assert.equal(s.preread, ZERO_TIME);
    assert.equal(s.name, '/s1');
    assert.match(s.id, /^[a-f0-9]{64}$/);
    assert.ok((s.pids_stats.current ?? 0) >= 1);
    assert.ok((s.memory_stats.usage ?? 0) > 0);
    assert.ok((s.memory_stats.limit ?? 0) > 0);
    assert.ok(s.memory_stats.stats && Object.keys(s.memory_stats.stats).length > 0);
    assert.ok(s.cpu_stats.cpu_usage.total_usage > 0);
    assert.ok((s.cpu_stats.system_cpu_usage ?? 0) > 0);
    assert.ok((s.cpu_stats.online_cpus ?? 0) >= 1);
    assert.deepEqual(Object.keys(s.cpu_stats.throttling_data).sort(), ['periods', 'throttled_periods', 'throttled_time']);
    assert.ok(Array.isArray(s.blkio_stats['io_service_bytes_recursive']));
    assert.equal(s.num_procs, 0);
    assert.equal(s.precpu_stats.cpu_usage.total_usage, 0);
    assert.ok(s.networks?.['eth0'], 'a bridged container reports its eth0');
  });

  it('samples twice without one-shot, so CPU % can be computed; a busy loop shows CPU use', async () => {
    const s = (await d.api('GET', '/containers/s1/stats?stream=false')).json<Stats>();
    assert.notEqual(s.preread, ZERO_TIME);
    assert.ok(Date.parse(s.read) > Date.parse(s.preread));
    assert.ok((s.precpu_stats.system_cpu_usage ?? 0) > 0);
    assert.ok(s.cpu_stats.cpu_usage.total_usage > s.precpu_stats.cpu_usage.total_usage, 'the busy loop used CPU in between');
  });

  it('docker stats --no-stream and berth stats print the table', async () => {
    const docker = await d.docker(['stats', '--no-stream', '--format', '{{.Name}}|{{.PIDs}}|{{.MemUsage}}|{{.CPUPerc}}', 's1']);
    assert.equal(docker.code, 0, docker.stderr);
    const [name, pids, mem, cpu] = docker.stdout.trim().split('|');
    assert.equal(name, 's1');
    assert.ok(Number(pids) >= 1);
    assert.match(mem ?? '', /^[\d.]+[KMG]?i?B \/ [\d.]+[KMGT]iB$/);
    assert.notEqual(mem?.split(' / ')[0], '0B');
    assert.ok(Number.parseFloat(cpu ?? '0') > 1, `a busy loop uses CPU: ${cpu}`);
    const table = await d.berth(['stats', '--no-stream']);
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trim().split('\n');
    assert.match(lines[0] ?? '', /^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+NET I\/O\s+BLOCK I\/O\s+PIDS$/);
    assert.equal(lines.length, 3, 'running containers only');
    const formatted = await d.berth(['stats', '--no-stream', '--format', '{{.Name}} {{.PIDs}}', 'quiet']);
    assert.equal(formatted.stdout, 'quiet 1\n');
    const json = await d.berth(['stats', '--no-stream', '--format', 'json', 'quiet']);
    assert.equal((JSON.parse(json.stdout) as { Name: string }).Name, 'quiet');
    // Streaming redraws the table every second until interrupted.
    const streamed = await d.berth(['stats', 's1'], { timeoutMs: 3500 });
    const tables = streamed.stdout.split('CONTAINER ID').length - 1;
    assert.ok(tables >= 2, `redrawn tables: ${tables}\n${streamed.stdout}`);
    assert.match(streamed.stdout, /\n[0-9a-f]{12}\s+s1\s+[\d.]+%/);
  });

  it('streams one sample a second (dockerode), each with the previous as pre', async () => {
    const stream = (await new Docker({ socketPath: d.socket }).getContainer('s1').stats({ stream: true })) as unknown as NodeJS.ReadableStream & { destroy(): void };
    const samples: Stats[] = [];
    let buffered = '';
    for await (const chunk of stream) {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) samples.push(JSON.parse(line) as Stats);
      if (samples.length >= 2) break;
    }
    stream.destroy();
    assert.equal(samples[0]?.preread, ZERO_TIME);
    assert.equal(samples[1]?.preread, samples[0]?.read);
    assert.equal(samples[1]?.precpu_stats.cpu_usage.total_usage, samples[0]?.cpu_stats.cpu_usage.total_usage);
  });

  it('docker-py reads stats; --network none has no networks', async () => {
    const { stdout } = await execFileAsync('python3', ['-c', "import docker, json\nprint(json.dumps(docker.from_env().containers.get('quiet').stats(stream=False)))"], {
      env: { ...process.env, DOCKER_HOST: d.host },
    });
    const s = JSON.parse(stdout) as Stats;
    assert.equal(s.name, '/quiet');
    assert.ok((s.memory_stats.usage ?? 0) > 0);
    assert.equal(s.networks, undefined);
  });

  it('answers for a stopped container as dockerd does, and rejects bad input', async () => {
    const s = (await d.api('GET', '/containers/stopped/stats?stream=0')).json<Stats>();
    assert.equal(s.read, ZERO_TIME);
    assert.equal(s.name, '/stopped');
    assert.deepEqual(s.memory_stats, {});
    assert.deepEqual(s.pids_stats, {});
    const all = await d.docker(['stats', '--no-stream', '--all', '--format', '{{.Name}} {{.MemUsage}} {{.PIDs}}']);
    assert.match(all.stdout, /^stopped 0B \/ 0B 0$/m);
    assert.equal((await d.api('GET', '/containers/s1/stats?stream=1&one-shot=1')).status, 400);
    assert.equal((await d.api('GET', '/containers/s1/stats?stream=maybe')).status, 400);
    assert.equal((await d.api('GET', '/containers/nope/stats?stream=0')).status, 404);
  });
});

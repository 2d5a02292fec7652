/**
 * The berth CLI's network commands, `port` and the network flags of run/create against a real
 * berthd, with the docker CLI pointed at the same berthd as the reference: identical output,
 * error text and exit status, and identical request bodies (caught by a proxy on the socket).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { createConnection, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { startBerthd, type Berthd, type CommandResult } from '../helpers/berthd.js';
import { httpGet } from '../helpers/http.js';

interface CapturedRequest {
  line: string;
  body: string;
}

/** Splits what a client wrote on one connection into HTTP requests (Content-Length framing). */
function parseRequests(stream: Buffer): CapturedRequest[] {
  const out: CapturedRequest[] = [];
  let rest = stream;
  for (;;) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) return out;
    const head = rest.subarray(0, end).toString('latin1').split('\r\n');
    const length = Number(/^content-length:\s*(\d+)/im.exec(head.join('\n'))?.[1] ?? 0);
    out.push({ line: head[0] ?? '', body: rest.subarray(end + 4, end + 4 + length).toString('utf8') });
    rest = rest.subarray(end + 4 + length);
  }
}

/** A unix-socket proxy in front of berthd that records every request of the non-hijacked connections. */
class RecordingProxy {
  readonly socket: string;
  private server: Server | undefined;
  private connections: Buffer[][] = [];

  constructor(dir: string, private readonly target: string) {
    this.socket = join(dir, 'recording-proxy.sock');
  }

  async start(): Promise<void> {
    this.server = createServer({ allowHalfOpen: true }, (client) => {
      const chunks: Buffer[] = [];
      this.connections.push(chunks);
      const upstream = createConnection({ path: this.target, allowHalfOpen: true });
      client.on('data', (d: Buffer) => chunks.push(d));
      client.pipe(upstream);
      upstream.pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((resolve) => this.server?.listen(this.socket, resolve));
  }

  /** The requests since the last call, minus the pings of version negotiation. */
  take(): CapturedRequest[] {
    const requests = this.connections.flatMap((chunks) => parseRequests(Buffer.concat(chunks)));
    this.connections = [];
    return requests.filter((r) => !r.line.startsWith('HEAD /_ping'));
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

describe('berth CLI: networks and ports', () => {
  let d: Berthd;
  let proxy: RecordingProxy;
  // Subnets of this berthd's own pool would collide with its default bridge; these are outside it.
  const octet = randomInt(10, 250);
  const subnet = `10.253.${octet}.0/24`;
  const prefix = `10.253.${octet}`;

  const berthVia = (args: string[], host: string, input?: string): Promise<CommandResult> =>
    d.berth(['-H', host, ...args], input === undefined ? {} : { input });
  const dockerVia = (args: string[], host: string, input?: string): Promise<CommandResult> =>
    d.docker(['-H', host, ...args], input === undefined ? {} : { input });

  /** Runs the same command with both CLIs; stdout, stderr (docker→berth) and status must match. */
  const same = async (args: string[], input?: string): Promise<CommandResult> => {
    const b = await d.berth(args, input === undefined ? {} : { input });
    const k = await d.docker(args, input === undefined ? {} : { input });
    const label = `berth ${args.join(' ')}`;
    // The docker CLI joins labels in Go map order, which is random: compare them sorted.
    const labelsSorted = (text: string): string => text.replace(/[\w.-]+=[^,\s"]*(,[\w.-]+=[^,\s"]*)+/g, (list) => list.split(',').sort().join(','));
    assert.equal(labelsSorted(b.stdout), labelsSorted(k.stdout), `${label}: stdout`);
    assert.equal(b.stderr, k.stderr.replace(/docker/g, 'berth'), `${label}: stderr`);
    assert.equal(b.code, k.code, `${label}: exit status`);
    return b;
  };

  /** The requests each CLI sent for `args`, run through the proxy; `undo` reverts between the two. */
  const requestsOf = async (args: string[], undo: () => Promise<unknown>): Promise<{ berth: CapturedRequest[]; docker: CapturedRequest[] }> => {
    const host = `unix://${proxy.socket}`;
    proxy.take();
    const k = await dockerVia(args, host);
    assert.equal(k.code, 0, `docker ${args.join(' ')}: ${k.stderr}`);
    const docker = proxy.take();
    await undo();
    proxy.take();
    const b = await berthVia(args, host);
    assert.equal(b.code, 0, `berth ${args.join(' ')}: ${b.stderr}`);
    const berth = proxy.take();
    await undo();
    return { berth, docker };
  };

  before(async () => {
    d = await startBerthd();
    proxy = new RecordingProxy(d.root, d.socket);
    await proxy.start();
  });
  after(async () => {
    await proxy?.stop();
    await d?.destroy();
  });

  it('has help for the network group, each network command and port', async () => {
    const group = await d.berth(['network', '--help']);
    assert.equal(group.code, 0);
    for (const sub of ['connect', 'create', 'disconnect', 'inspect', 'ls', 'prune', 'rm']) assert.match(group.stdout, new RegExp(`\\n  ${sub}\\b`));
    const expectations: Array<[string[], RegExp]> = [
      [['network', 'create', '--help'], /Usage: berth network create \[OPTIONS\] NETWORK[\s\S]*--ip-range[\s\S]*--subnet/],
      [['network', 'ls', '--help'], /Usage: berth network ls\|list \[OPTIONS\][\s\S]*--no-trunc/],
      [['network', 'rm', '--help'], /Usage: berth network rm\|remove NETWORK \[NETWORK\.\.\.\]/],
      [['network', 'connect', '--help'], /--alias[\s\S]*--ip6/],
      [['network', 'prune', '--help'], /Do not prompt for confirmation/],
      [['port', '--help'], /Usage: berth port CONTAINER \[PRIVATE_PORT\[\/PROTO\]\]/],
      [['run', '--help'], /-P, --publish-all[\s\S]*--network-alias/],
    ];
    for (const [args, pattern] of expectations) {
      const r = await d.berth(args);
      assert.equal(r.code, 0, args.join(' '));
      assert.match(r.stdout, pattern, args.join(' '));
    }
  });

  it('creates, lists, inspects and removes networks with the output docker prints', async () => {
    const created = await d.berth(['network', 'create', '--subnet', subnet, '--label', 'suite=cli-net', '--label', 'tier', 'net-a']);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /^[0-9a-f]{64}\n$/);
    assert.equal((await d.berth(['network', 'create', 'net-b'])).code, 0);
    assert.equal((await d.berth(['network', 'create', 'net-10'])).code, 0);
    const info = (await d.api('GET', '/networks/net-a')).json<{ Id: string; IPAM: { Config: Array<{ Subnet: string }> }; Labels: Record<string, string> }>();
    assert.equal(info.Id, created.stdout.trim());
    assert.equal(info.IPAM.Config[0]?.Subnet, subnet);
    assert.deepEqual(info.Labels, { suite: 'cli-net', tier: '' });

    const table = await same(['network', 'ls']);
    assert.match(table.stdout, /^NETWORK ID     NAME      DRIVER    SCOPE\n/);
    // Natural order, where digits sort before letters.
    assert.deepEqual(table.stdout.split('\n').slice(1, -1).map((l) => l.split(/\s+/)[1]), ['bridge', 'host', 'net-10', 'net-a', 'net-b', 'none']);
    await same(['network', 'ls', '-q']);
    await same(['network', 'ls', '--no-trunc']);
    await same(['network', 'ls', '--format', 'json']);
    await same(['network', 'list', '--format', 'table {{.Name}}\t{{.Labels}}\t{{.Internal}}\t{{.CreatedAt}}']);
    const filtered = await same(['network', 'ls', '-f', 'label=suite=cli-net', '--format', '{{.Name}} {{.Label "suite"}}']);
    assert.equal(filtered.stdout, 'net-a cli-net\n');
    await same(['network', 'inspect', 'net-a']);
    await same(['network', 'inspect', 'net-a', 'bridge']);
    await same(['network', 'inspect', '-f', '{{json .IPAM}}', 'net-a', 'net-b']);
    await same(['network', 'inspect', '--format', 'json', 'net-a', 'net-b']);
    await same(['network', 'ls', '--format', 'table  {{.Name}}\t{{.Driver}}  ']);
    const missing = await same(['network', 'inspect', 'nosuchnet', 'net-a', '-f', '{{.Name}}']);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, 'Error response from daemon: network nosuchnet not found\n');

    // rm changes what it acts on, so each CLI gets a network of its own to remove.
    const rm = await d.berth(['network', 'rm', 'net-10', 'nosuchnet']);
    assert.deepEqual([rm.code, rm.stdout, rm.stderr], [1, 'net-10\n', 'Error response from daemon: network nosuchnet not found\nexit status 1\n']);
    assert.equal((await d.berth(['network', 'create', 'net-10'])).code, 0);
    const dockerRm = await d.docker(['network', 'rm', 'net-10', 'nosuchnet']);
    assert.deepEqual([dockerRm.code, dockerRm.stdout, dockerRm.stderr], [rm.code, rm.stdout, rm.stderr]);
    const forced = await d.berth(['network', 'remove', '-f', 'nosuchnet']);
    assert.deepEqual([forced.code, forced.stdout, forced.stderr], [0, '', '']);
  });

  it('runs with --network-alias and --ip on a user network, connects and disconnects', async () => {
    const web = await d.berth(['run', '-d', '--name', 'web', '--network', 'net-a', '--network-alias', 'www', '--ip', `${prefix}.77`, 'busybox', 'sleep', '300']);
    assert.equal(web.code, 0, web.stderr);
    const lookup = await d.berth(['run', '--rm', '--network', 'net-a', 'busybox', 'nslookup', 'www']);
    assert.equal(lookup.code, 0, lookup.stderr + lookup.stdout);
    assert.match(lookup.stdout, new RegExp(`Address: ${prefix.replace(/\./g, '\\.')}\\.77\\b`));
    const endpoint = (await d.api('GET', '/containers/web/json')).json<{ NetworkSettings: { Networks: Record<string, { IPAddress: string; Aliases: string[] | null }> } }>();
    assert.equal(endpoint.NetworkSettings.Networks['net-a']?.IPAddress, `${prefix}.77`);
    assert.deepEqual(endpoint.NetworkSettings.Networks['net-a']?.Aliases, ['www']);

    assert.equal((await d.berth(['run', '-d', '--name', 'client', '--network', 'net-b', 'busybox', 'sleep', '300'])).code, 0);
    const connect = await d.berth(['network', 'connect', '--alias', 'cli', 'net-a', 'client']);
    assert.deepEqual([connect.code, connect.stdout, connect.stderr], [0, '', '']);
    const byAlias = await d.berth(['exec', 'web', 'nslookup', 'cli']);
    assert.equal(byAlias.code, 0, byAlias.stdout + byAlias.stderr);
    const reach = await d.berth(['exec', 'client', 'sh', '-c', 'ping -c1 -W2 www >/dev/null && echo reached']);
    assert.equal(reach.stdout, 'reached\n', reach.stderr);
    const twice = await same(['network', 'connect', 'net-a', 'client']);
    assert.equal(twice.code, 1);
    assert.match(twice.stderr, /already exists in network net-a/);

    const inUse = await same(['network', 'rm', 'net-a']);
    assert.equal(inUse.code, 1);
    assert.match(inUse.stderr, /has active endpoints\nexit status 1\n$/);

    const disconnect = await d.berth(['network', 'disconnect', 'net-a', 'client']);
    assert.deepEqual([disconnect.code, disconnect.stdout, disconnect.stderr], [0, '', '']);
    const gone = await d.berth(['exec', 'client', 'sh', '-c', 'ip link show eth1 >/dev/null 2>&1 && echo still-there; true']);
    assert.equal(gone.stdout, '');
    const notConnected = await same(['network', 'disconnect', 'net-a', 'client']);
    assert.equal(notConnected.code, 1);
    assert.match(notConnected.stderr, /is not connected to network net-a/);
    await same(['network', 'connect', 'nosuchnet', 'client']);
    await same(['network', 'disconnect', 'net-a', 'nosuchctr']);
    assert.equal((await d.berth(['rm', '-f', 'web', 'client'])).code, 0);
  });

  it('prunes unused networks after asking, as docker asks', async () => {
    const warning = 'WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue? [y/N] ';
    assert.equal((await d.berth(['run', '-d', '--name', 'holder', '--network', 'net-a', 'busybox', 'sleep', '300'])).code, 0);
    assert.equal((await d.berth(['network', 'create', 'unused-1'])).code, 0);
    for (const input of [undefined, 'n\n', 'yes\n']) {
      const declined = await d.berth(['network', 'prune'], input === undefined ? {} : { input });
      assert.deepEqual([declined.code, declined.stdout, declined.stderr], [0, warning, ''], JSON.stringify(input));
    }
    assert.equal((await d.api('GET', '/networks/unused-1')).status, 200);
    const accepted = await d.berth(['network', 'prune'], { input: 'y\n' });
    assert.equal(accepted.code, 0, accepted.stderr);
    assert.ok(accepted.stdout.startsWith(`${warning}Deleted Networks:\n`) && accepted.stdout.endsWith('\n\n'), accepted.stdout);
    assert.deepEqual(accepted.stdout.slice(warning.length).split('\n').slice(1, -2).sort(), ['net-b', 'unused-1']);
    assert.equal((await d.api('GET', '/networks/unused-1')).status, 404);
    assert.equal((await d.api('GET', '/networks/net-a')).status, 200);
    // docker's own run of the same prune, on a network made for it, prints the same.
    assert.equal((await d.berth(['network', 'create', 'unused-2'])).code, 0);
    const docker = await d.docker(['network', 'prune'], { input: 'Y' });
    assert.equal(docker.stdout, `${warning}Deleted Networks:\nunused-2\n\n`);
    await same(['network', 'prune', '-f']);
    await same(['network', 'prune', '-f', '--filter', 'label=nomatch']);
    assert.equal((await d.berth(['rm', '-f', 'holder'])).code, 0);
  });

  it('publishes ports (-p forms, ranges, -P with --expose) and shows them in port and ps as docker does', async () => {
    const base = randomInt(20000, 30000);
    const run = await d.berth([
      'run', '-d', '--name', 'httpd',
      '-p', `${base}:80`, '-p', '127.0.0.1::81', '-p', `${base + 1}-${base + 2}:${base + 1}-${base + 2}`, '--expose', '7000',
      'busybox', 'sh', '-c', 'echo served > /tmp/index.html; exec httpd -f -p 80 -h /tmp',
    ]);
    assert.equal(run.code, 0, run.stderr);
    let body = '';
    for (let i = 0; i < 50 && body === ''; i++) {
      body = await httpGet(`http://127.0.0.1:${base}/index.html`).catch(() => '');
      if (body === '') await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(body, 'served\n');

    const all = await same(['port', 'httpd']);
    const ephemeral = /^81\/tcp -> 127\.0\.0\.1:(\d+)$/m.exec(all.stdout)?.[1];
    assert.ok(ephemeral, all.stdout);
    assert.equal(
      all.stdout,
      `80/tcp -> 0.0.0.0:${base}\n81/tcp -> 127.0.0.1:${ephemeral}\n${base + 1}/tcp -> 0.0.0.0:${base + 1}\n${base + 2}/tcp -> 0.0.0.0:${base + 2}\n`,
    );
    assert.equal((await same(['port', 'httpd', '80'])).stdout, `0.0.0.0:${base}\n`);
    await same(['container', 'port', 'httpd', '81/tcp']);
    const unpublished = await same(['port', 'httpd', '7000']);
    assert.deepEqual([unpublished.code, unpublished.stderr], [1, "Error: No public port '7000' published for httpd\n"]);
    await same(['port', 'httpd', '80/udp']);
    await same(['port', 'httpd', 'abc']);
    await same(['port', 'nosuchctr']);

    const ps = await same(['ps', '--filter', 'name=httpd', '--format', '{{.Ports}}']);
    // Same host and container port collapses into a range; other mappings are listed one by one, last.
    assert.equal(ps.stdout, `7000/tcp, 0.0.0.0:${base + 1}-${base + 2}->${base + 1}-${base + 2}/tcp, 0.0.0.0:${base}->80/tcp, 127.0.0.1:${ephemeral}->81/tcp\n`);

    const allPorts = await d.berth(['run', '-d', '--name', 'allp', '-P', '--expose', '5000-5001', 'busybox', 'sleep', '300']);
    assert.equal(allPorts.code, 0, allPorts.stderr);
    const published = await same(['port', 'allp']);
    assert.match(published.stdout, /^5000\/tcp -> 0\.0\.0\.0:\d+\n5001\/tcp -> 0\.0\.0\.0:\d+\n$/);
    assert.equal((await d.berth(['rm', '-f', 'httpd', 'allp'])).code, 0);
  });

  it('sends the request bodies docker sends', async () => {
    const createArgs = [
      'create', '--name', 'bodies', '--network', 'net-a', '--network-alias', 'a1', '--network-alias', 'a2', '--ip', `${prefix}.99`,
      '--mac-address', '02:42:ac:11:00:99', '--dns-search', 'example.test', '--dns-option', 'ndots:2', '--hostname', 'h1',
      '--expose', '7000-7001/udp', '-P', '-p', '8000-8001:80-81', '-p', '127.0.0.1::53/udp', '-p', '90', '-p', '7000-7010:22', '-p', '[::1]:8080:8080',
      'busybox', 'true',
    ];
    const removeContainer = (): Promise<unknown> => d.api('DELETE', '/containers/bodies?force=1');
    const cases: Array<[string[], () => Promise<unknown>]> = [
      [createArgs, removeContainer],
      [['create', '--name', 'bodies', '--network', 'net-a', 'busybox', 'true'], removeContainer],
      [['create', '--name', 'bodies', '-p', '8080', '-p', 'target=53,published=5353,protocol=udp', 'busybox', 'true'], removeContainer],
      [['network', 'create', '--subnet', `10.254.${octet}.0/24`, '--gateway', `10.254.${octet}.1`, '--internal', '--attachable', '--label', 'b=2', '--label', 'a=1', '-o', 'com.docker.network.driver.mtu=1400', 'net-c'], () => d.api('DELETE', '/networks/net-c')],
      [['network', 'ls', '--filter', 'name=net', '--filter', 'driver=bridge', '-q'], async () => undefined],
    ];
    for (const [args, undo] of cases) {
      const { berth, docker } = await requestsOf(args, undo);
      assert.ok(docker.length > 0, args.join(' '));
      assert.deepEqual(berth.map((r) => `${r.line.replace(/HTTP\/1\.1$/, '')}${r.body}`), docker.map((r) => `${r.line.replace(/HTTP\/1\.1$/, '')}${r.body}`), args.join(' '));
    }
    assert.equal((await d.berth(['run', '-d', '--name', 'target', 'busybox', 'sleep', '300'])).code, 0);
    const { berth, docker } = await requestsOf(['network', 'connect', '--alias', 'x,y', '--ip', `${prefix}.98`, 'net-a', 'target'], () =>
      d.api('POST', '/networks/net-a/disconnect', { Container: 'target' }),
    );
    assert.equal(docker.length, 1);
    assert.deepEqual(berth, docker);
    assert.equal((await d.berth(['rm', '-f', 'target'])).code, 0);
  });

  it('refuses bad input with the message and exit status docker gives', async () => {
    const cases: string[][] = [
      ['network', 'create', '--subnet', 'not-a-cidr', 'bad1'],
      ['network', 'create', '--subnet', '10.1.0.0/24', '--gateway', '10.2.0.1', 'bad2'],
      ['network', 'create', '--label', '=x', 'bad3'],
      ['network', 'create', 'net-a'],
      ['network', 'create'],
      ['network', 'rm', 'bridge'],
      ['network', 'ls', '-f', 'bad'],
      ['network', 'ls', '-f', 'bogus=1'],
      ['network', 'ls', 'extra'],
      ['network', 'connect', 'net-a'],
      ['network', 'prune', 'extra'],
      ['network', 'nosuchcommand'],
      ['port'],
      ['port', 'a', 'b', 'c'],
      ['run', '--rm', '--network', 'nosuchnet', 'busybox', 'true'],
      ['run', '--rm', '--network-alias', 'x', 'busybox', 'true'],
      ['run', '--rm', '--network', 'bridge', '--network-alias', 'x', 'busybox', 'true'],
      ['run', '--rm', '-p', '99999:80', 'busybox', 'true'],
      ['run', '--rm', '-p', '8000-8001:80-82', 'busybox', 'true'],
      ['run', '--rm', '-p', '80/foo', 'busybox', 'true'],
      ['run', '--rm', '--expose', '1:2', 'busybox', 'true'],
      ['run', '--rm', '--mac-address', 'zz', 'busybox', 'true'],
      ['run', '--rm', '--dns-search', '-bad', 'busybox', 'true'],
      ['run', '--rm', '--ip', '10.1.2.3', 'busybox', 'true'],
    ];
    for (const args of cases) {
      const r = await same(args);
      assert.notEqual(r.code, 0, args.join(' '));
    }
    const unknown = await d.berth(['run', '--rm', '--network', 'nosuchnet', 'busybox', 'true']);
    assert.equal(unknown.code, 125);
    assert.match(unknown.stderr, /network nosuchnet not found/);
    const list = (await d.api('GET', '/networks')).json<Array<{ Name: string }>>().map((n) => n.Name).sort();
    assert.deepEqual(list, ['bridge', 'host', 'net-a', 'none']);
    assert.equal((await d.berth(['network', 'rm', 'net-a'])).code, 0);
  });
});

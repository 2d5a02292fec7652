/**
 * Bridge networking through CNI: the default bridge, user networks with berth's DNS,
 * isolation, published ports, outbound NAT and DNS forwarding (against a server and a
 * resolver this test runs in a namespace of its own — no packet leaves the machine),
 * connect/disconnect, bad input, and no leaks after runs, stops, kills and a berthd kill -9.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { randomInt } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import dnsPacket from 'dns-packet';
import { startBerthd, type Berthd } from '../helpers/berthd.js';
import { httpGet } from '../helpers/http.js';

const execFileAsync = promisify(execFile);
const sh = async (cmd: string, args: string[]): Promise<string> => (await execFileAsync(cmd, args)).stdout;

interface Inspect {
  Id: string;
  NetworkSettings: {
    IPAddress: string;
    Gateway: string;
    MacAddress: string;
    SandboxKey: string;
    Ports: Record<string, Array<{ HostIp: string; HostPort: string }> | null>;
    Networks: Record<string, { IPAddress: string; Gateway: string; NetworkID: string; Aliases: string[] | null; DNSNames: string[] | null; MacAddress: string }>;
  };
}

/** A stand-in for "the outside world": a namespace routed through the host, with a TCP server that tells who called. */
class OutsideWorld {
  readonly ns = `bt-out-${randomInt(1e6)}`;
  readonly hostSide = `bto${randomInt(1e6)}`;
  readonly subnet = randomInt(0, 60) * 4;
  readonly hostIp = `172.30.${randomInt(1, 250)}.${this.subnet + 1}`;
  readonly serverIp = this.hostIp.replace(/\d+$/, String(this.subnet + 2));
  private server: ChildProcess | undefined;

  async up(): Promise<void> {
    await sh('ip', ['netns', 'add', this.ns]);
    await sh('ip', ['link', 'add', this.hostSide, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', this.ns]);
    await sh('ip', ['addr', 'add', `${this.hostIp}/30`, 'dev', this.hostSide]);
    await sh('ip', ['link', 'set', this.hostSide, 'up']);
    await sh('ip', ['-n', this.ns, 'addr', 'add', `${this.serverIp}/30`, 'dev', 'eth0']);
    await sh('ip', ['-n', this.ns, 'link', 'set', 'eth0', 'up']);
    await sh('ip', ['-n', this.ns, 'link', 'set', 'lo', 'up']);
    const script = `require('net').createServer((s) => s.end('peer=' + s.remoteAddress + '\\n')).listen(8080, '${this.serverIp}', () => console.log('ready'))`;
    this.server = spawn('ip', ['netns', 'exec', this.ns, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => this.server?.stdout?.once('data', () => resolve()));
  }

  async down(): Promise<void> {
    this.server?.kill('SIGKILL');
    await execFileAsync('ip', ['link', 'del', this.hostSide]).catch(() => undefined);
    await execFileAsync('ip', ['netns', 'del', this.ns]).catch(() => undefined);
  }
}

/** A resolver the test runs on a loopback address of its own: berthd forwards to it (berthd --dns). */
class TestResolver {
  readonly address = `127.${randomInt(1, 250)}.${randomInt(1, 250)}.${randomInt(2, 250)}`;
  private socket: Socket | undefined;
  constructor(private readonly records: Record<string, string>) {}

  async up(): Promise<void> {
    const socket = createSocket('udp4');
    socket.on('message', (message, remote) => {
      const query = dnsPacket.decode(message);
      const question = query.questions?.[0];
      const ip = question ? this.records[question.name.toLowerCase()] : undefined;
      const answers = question && ip && question.type === 'A' ? [{ type: 'A' as const, name: question.name, ttl: 5, data: ip }] : [];
      const reply = dnsPacket.encode({ type: 'response', id: query.id ?? 0, flags: dnsPacket.RECURSION_AVAILABLE | (ip ? 0 : 3), questions: query.questions ?? [], answers });
      socket.send(reply, remote.port, remote.address);
    });
    await new Promise<void>((resolve) => socket.bind(53, this.address, resolve));
    this.socket = socket;
  }

  down(): void {
    this.socket?.close();
  }
}

/** What a container's network may leave on the host: veths on the bridge, per-container iptables rules, IPAM leases, pinned namespaces. */
async function traces(d: Berthd, bridges: string[], subnets: string[]): Promise<Record<string, string[]>> {
  const veths: string[] = [];
  for (const bridge of bridges) {
    const out = await execFileAsync('ip', ['-o', 'link', 'show', 'master', bridge]).then((r) => r.stdout, () => '');
    veths.push(...out.split('\n').filter(Boolean).map((l) => l.split(':')[1]?.trim() ?? l));
  }
  // Only this berthd's: other engines on the machine may have CNI rules of their own.
  const ours = (line: string): boolean => subnets.some((prefix) => line.includes(prefix));
  const rules = (await sh('iptables-save', [])).split('\n').filter((l) => l.startsWith('-A ') && /CNI-DN-|CNI-FORWARD/.test(l) && ours(l));
  const ipamDir = join(d.root, 'run', 'network', 'ipam');
  const leases: string[] = [];
  for (const network of await readdir(ipamDir).catch(() => [] as string[])) {
    for (const file of await readdir(join(ipamDir, network))) if (/^[0-9a-f.:]+$/.test(file)) leases.push(`${network}/${file}`);
  }
  const netns = await readdir(join(d.root, 'run', 'netns')).catch(() => [] as string[]);
  return { veths, rules, leases, netns };
}

describe('networking', () => {
  let d: Berthd;
  const outside = new OutsideWorld();
  const resolver = new TestResolver({ 'outside.test': outside.serverIp });
  const defaultBridge = (): Promise<string> => d.api('GET', '/networks/bridge').then((r) => r.json<{ Options: Record<string, string> }>().Options['com.docker.network.bridge.name'] ?? '');
  const inspect = async (name: string): Promise<Inspect> => (await d.api('GET', `/containers/${name}/json`)).json<Inspect>();

  before(async () => {
    await outside.up();
    await resolver.up();
    d = await startBerthd(['--dns', resolver.address]);
  });
  after(async () => {
    await d?.destroy();
    resolver.down();
    await outside.down();
  });

  it('puts containers on the default bridge with an address, a gateway route and berth DNS', async () => {
    const r = await d.docker(['run', '--rm', '--hostname', 'box', '--add-host', 'gw:host-gateway', '--dns-search', 'example.test', 'busybox', 'sh', '-c', 'ip -4 -o addr show eth0; ip route; cat /etc/resolv.conf /etc/hosts']);
    assert.equal(r.code, 0, r.stderr);
    const bridge = await d.api('GET', '/networks/bridge');
    const subnet = bridge.json<{ IPAM: { Config: Array<{ Subnet: string; Gateway: string }> } }>().IPAM.Config[0];
    assert.ok(subnet);
    const prefix = subnet.Subnet.split('.').slice(0, 3).join('.');
    assert.match(r.stdout, new RegExp(`inet ${prefix.replace(/\./g, '\\.')}\\.\\d+/24`));
    assert.match(r.stdout, new RegExp(`default via ${subnet.Gateway.replace(/\./g, '\\.')}`));
    assert.match(r.stdout, new RegExp(`nameserver ${subnet.Gateway.replace(/\./g, '\\.')}`));
    assert.match(r.stdout, /search example\.test/);
    assert.match(r.stdout, new RegExp(`${subnet.Gateway.replace(/\./g, '\\.')}\\tgw`));
    assert.match(r.stdout, new RegExp(`${prefix.replace(/\./g, '\\.')}\\.\\d+\\tbox`));

    assert.equal((await d.docker(['run', '-d', '--name', 'plain', 'busybox', 'sleep', '300'])).code, 0);
    const info = await inspect('plain');
    assert.match(info.NetworkSettings.IPAddress, new RegExp(`^${prefix.replace(/\./g, '\\.')}\\.\\d+$`));
    assert.equal(info.NetworkSettings.Gateway, subnet.Gateway);
    assert.match(info.NetworkSettings.MacAddress, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    assert.equal(info.NetworkSettings.Networks.bridge?.IPAddress, info.NetworkSettings.IPAddress);
    const ps = await d.docker(['inspect', '-f', '{{.NetworkSettings.Networks.bridge.IPAddress}}', 'plain']);
    assert.equal(ps.stdout.trim(), info.NetworkSettings.IPAddress);
    assert.equal((await d.docker(['rm', '-f', 'plain'])).code, 0);
  });

  it('reaches the outside world through NAT and forwards other names to the upstream resolver', async () => {
    const r = await d.docker(['run', '--rm', 'busybox', 'sh', '-c', 'nslookup outside.test; nc outside.test 8080 </dev/null']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, new RegExp(`Address: ${outside.serverIp.replace(/\./g, '\\.')}`));
    // The server saw the host's address on its link, not the container's: masqueraded.
    assert.match(r.stdout, new RegExp(`peer=${outside.hostIp.replace(/\./g, '\\.')}\\b`));
    const unknown = await d.docker(['run', '--rm', 'busybox', 'nslookup', 'nowhere.test']);
    assert.notEqual(unknown.code, 0);
  });

  it('resolves names, aliases and hostnames on a user network and isolates networks from each other', async () => {
    assert.equal((await d.docker(['network', 'create', '--subnet', '10.251.7.0/24', '--label', 'app=test', 'front'])).code, 0);
    assert.equal((await d.docker(['network', 'create', 'back'])).code, 0);
    const web = await d.docker(['run', '-d', '--name', 'web', '--hostname', 'webhost', '--network', 'front', '--network-alias', 'www', '--ip', '10.251.7.77', 'busybox', 'sleep', '300']);
    assert.equal(web.code, 0, web.stderr);
    const lookups = await d.docker(['run', '--rm', '--network', 'front', 'busybox', 'sh', '-c', 'for n in web www webhost; do nslookup $n | grep -q 10.251.7.77 || echo missing $n; done; ping -c1 -W2 web >/dev/null && echo reached']);
    assert.equal(lookups.stdout, 'reached\n', lookups.stderr);
    const info = await inspect('web');
    assert.equal(info.NetworkSettings.Networks.front?.IPAddress, '10.251.7.77');
    assert.deepEqual(info.NetworkSettings.Networks.front?.Aliases, ['www']);
    assert.ok(info.NetworkSettings.Networks.front?.DNSNames?.includes('web'));

    const across = await d.docker(['run', '--rm', '--network', 'back', 'busybox', 'sh', '-c', 'ping -c1 -W1 10.251.7.77 >/dev/null && echo reached; nslookup web >/dev/null 2>&1 && echo resolved; true']);
    assert.equal(across.stdout, '', 'a container on another network reached or resolved web');

    assert.equal((await d.docker(['run', '-d', '--name', 'client', '--network', 'back', 'busybox', 'sleep', '300'])).code, 0);
    const connect = await d.docker(['network', 'connect', '--alias', 'cli', 'front', 'client']);
    assert.equal(connect.code, 0, connect.stderr);
    const twice = await d.docker(['network', 'connect', 'front', 'client']);
    assert.notEqual(twice.code, 0);
    assert.match(twice.stderr, /already exists in network front/);
    const reach = await d.docker(['exec', 'client', 'sh', '-c', 'ping -c1 -W2 web >/dev/null && echo reached; ip -o -4 addr show eth1 | grep -c 10.251.7.']);
    assert.equal(reach.stdout, 'reached\n1\n', reach.stderr);
    const byAlias = await d.docker(['exec', 'web', 'nslookup', 'cli']);
    assert.equal(byAlias.code, 0, byAlias.stdout);
    assert.equal((await d.docker(['network', 'disconnect', 'front', 'client'])).code, 0);
    const gone = await d.docker(['exec', 'client', 'sh', '-c', 'ip link show eth1 >/dev/null 2>&1 && echo still-there; true']);
    assert.equal(gone.stdout, '');

    assert.equal((await d.docker(['network', 'create', '--subnet', '10.251.8.0/24', '--ip-range', '10.251.8.128/25', 'ranged'])).code, 0);
    const ranged = await d.docker(['run', '--rm', '--network', 'ranged', 'busybox', 'ip', '-4', '-o', 'addr', 'show', 'eth0']);
    assert.match(ranged.stdout, /inet 10\.251\.8\.(12[89]|1[3-9]\d|2[0-5]\d)\/24/, ranged.stderr);
    assert.equal((await d.docker(['network', 'rm', 'ranged'])).code, 0);

    const ls = await d.docker(['network', 'ls', '--filter', 'label=app=test', '--format', '{{.Name}}']);
    assert.equal(ls.stdout, 'front\n');
    const inUse = await d.docker(['network', 'rm', 'front']);
    assert.notEqual(inUse.code, 0);
    assert.match(inUse.stderr, /has active endpoints/);
    assert.equal((await d.docker(['rm', '-f', 'web', 'client'])).code, 0);
    assert.equal((await d.docker(['network', 'rm', 'front', 'back'])).code, 0);
  });

  it('publishes ports on the host, reserves them, and picks ephemeral ports', async () => {
    const port = randomInt(20000, 30000);
    const run = await d.docker(['run', '-d', '--name', 'httpd', '-p', `${port}:80`, '-p', '80', 'busybox', 'sh', '-c', 'echo served > /tmp/index.html; exec httpd -f -p 80 -h /tmp']);
    assert.equal(run.code, 0, run.stderr);
    let body = '';
    for (let i = 0; i < 50 && body === ''; i++) {
      body = await httpGet(`http://127.0.0.1:${port}/index.html`).catch(() => '');
      if (body === '') await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(body, 'served\n');
    const ports = await d.docker(['port', 'httpd']);
    assert.match(ports.stdout, new RegExp(`80/tcp -> 0\\.0\\.0\\.0:${port}`));
    const ephemeral = /80\/tcp -> 0\.0\.0\.0:(\d+)/g;
    const published = [...ports.stdout.matchAll(ephemeral)].map((m) => Number(m[1])).filter((p) => p !== port);
    assert.equal(published.length, 1, ports.stdout);
    assert.equal(await httpGet(`http://127.0.0.1:${published[0]}/index.html`), 'served\n');

    const gateway = (await inspect('httpd')).NetworkSettings.Gateway;
    const fromContainer = await d.docker(['run', '--rm', 'busybox', 'sh', '-c', `printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | nc ${gateway} ${port} | tail -1`]);
    assert.equal(fromContainer.stdout, 'served\n', fromContainer.stderr);

    const taken = await d.docker(['run', '--rm', '-p', `${port}:80`, 'busybox', 'true']);
    assert.equal(taken.code, 125);
    assert.match(taken.stderr, new RegExp(`Bind for 0\\.0\\.0\\.0:${port} failed: port is already allocated`));
    const all = await d.docker(['run', '-d', '--name', 'exposed', '--expose', '7000', '-P', 'busybox', 'sleep', '300']);
    assert.equal(all.code, 0, all.stderr);
    const exposed = (await inspect('exposed')).NetworkSettings.Ports['7000/tcp'];
    assert.ok(exposed?.[0] && Number(exposed[0].HostPort) > 0, JSON.stringify(exposed));
    // busybox has no UDP server: a Node one runs in the container's network namespace instead.
    const udpPort = randomInt(30000, 40000);
    const udp = await d.docker(['run', '-d', '--name', 'udp', '-p', `127.0.0.1:${udpPort}:5353/udp`, 'busybox', 'sleep', '300']);
    assert.equal(udp.code, 0, udp.stderr);
    const sandbox = (await inspect('udp')).NetworkSettings.SandboxKey;
    const server = spawn('nsenter', [`--net=${sandbox}`, process.execPath, '-e', "const s = require('dgram').createSocket('udp4'); s.on('message', (m) => { console.log(m.toString()); process.exit(0); }); s.bind(5353, () => console.log('ready'));"]);
    let received = '';
    server.stdout.on('data', (b: Buffer) => (received += b.toString()));
    await new Promise<void>((resolve) => server.stdout.once('data', () => resolve()));
    const sender = createSocket('udp4');
    for (let i = 0; i < 50 && !received.includes('datagram'); i++) {
      sender.send('datagram', udpPort, '127.0.0.1');
      await new Promise((r) => setTimeout(r, 100));
    }
    sender.close();
    server.kill('SIGKILL');
    assert.match(received, /datagram/);
    assert.match((await d.docker(['port', 'udp'])).stdout, new RegExp(`5353/udp -> 127\\.0\\.0\\.1:${udpPort}`));
    assert.equal((await d.docker(['rm', '-f', 'httpd', 'exposed', 'udp'])).code, 0);
    // Released with the container.
    const again = await d.docker(['run', '--rm', '-p', `${port}:80`, 'busybox', 'true']);
    assert.equal(again.code, 0, again.stderr);
  });

  it('gives IPv6 addresses on --ipv6 networks, no way out on --internal ones, and the asked MAC address', async () => {
    assert.equal((await d.docker(['network', 'create', '--ipv6', 'six'])).code, 0);
    assert.equal((await d.docker(['run', '-d', '--name', 'v6peer', '--network', 'six', 'busybox', 'sleep', '300'])).code, 0);
    const v6 = await d.docker(['run', '--rm', '--network', 'six', 'busybox', 'sh', '-c', 'ip -6 -o addr show eth0 scope global | grep -c inet6; ping6 -c1 -W2 v6peer >/dev/null && echo reached']);
    assert.equal(v6.stdout, '1\nreached\n', v6.stderr);
    assert.equal((await d.docker(['network', 'create', '--internal', 'closed'])).code, 0);
    const closed = await d.docker(['run', '--rm', '--network', 'closed', 'busybox', 'sh', '-c', `ip route | grep -c default; nc -w 2 ${outside.serverIp} 8080 </dev/null || echo unreachable`]);
    assert.equal(closed.stdout, '0\nunreachable\n', closed.stderr);
    const mac = await d.docker(['run', '--rm', '--mac-address', '02:42:ac:11:00:99', 'busybox', 'cat', '/sys/class/net/eth0/address']);
    assert.equal(mac.stdout, '02:42:ac:11:00:99\n', mac.stderr);
    assert.equal((await d.docker(['rm', '-f', 'v6peer'])).code, 0);
    assert.equal((await d.docker(['network', 'rm', 'six', 'closed'])).code, 0);
  });

  it('shares a network namespace with container:NAME', async () => {
    assert.equal((await d.docker(['run', '-d', '--name', 'owner', 'busybox', 'sleep', '300'])).code, 0);
    const ip = (await inspect('owner')).NetworkSettings.IPAddress;
    const joined = await d.docker(['run', '--rm', '--network', 'container:owner', 'busybox', 'ip', '-4', '-o', 'addr', 'show', 'eth0']);
    assert.match(joined.stdout, new RegExp(`inet ${ip.replace(/\./g, '\\.')}/`));
    assert.equal((await d.docker(['rm', '-f', 'owner'])).code, 0);
  });

  it('refuses bad input with a clear error and leaves nothing half-created', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['network', 'create', '--subnet', 'not-a-cidr', 'bad1'], /invalid CIDR/],
      [['network', 'create', '--subnet', '10.88.0.0/33', 'bad2'], /invalid CIDR/],
      [['network', 'create', '--subnet', `${outside.hostIp.replace(/\d+$/, '0')}/24`, 'bad3'], /overlaps .*host route/],
      [['network', 'create', '--driver', 'overlay', 'bad4'], /plugin "overlay" not found/],
      [['network', 'rm', 'bridge'], /pre-defined network and cannot be removed/],
      [['run', '--rm', '--network', 'nosuchnet', 'busybox', 'true'], /network nosuchnet not found/],
      [['run', '--rm', '--ip', '10.1.2.3', 'busybox', 'true'], /user configured subnets/],
      [['run', '--rm', '-p', '99999:80', 'busybox', 'true'], /invalid/i],
      // Isolation and binding options berth does not carry out are refused, not ignored.
      [['network', 'create', '-o', 'com.docker.network.bridge.enable_icc=false', '-o', 'com.docker.network.bridge.host_binding_ipv4=127.0.0.1', 'bad5'], /not supported by berth yet: com\.docker\.network\.bridge\.enable_icc=false, com\.docker\.network\.bridge\.host_binding_ipv4=127\.0\.0\.1/],
    ];
    for (const [args, pattern] of cases) {
      const r = await d.docker(args);
      assert.notEqual(r.code, 0, args.join(' '));
      assert.match(r.stderr, pattern, args.join(' '));
    }
    const gwPriority = await d.api('POST', '/networks/bridge/connect', { Container: 'whatever', EndpointConfig: { GwPriority: 5 } });
    assert.deepEqual([gwPriority.status, gwPriority.json<{ message: string }>().message], [501, 'not supported by berth yet: EndpointSettings.GwPriority (network bridge)']);
    assert.equal((await d.docker(['network', 'create', '--subnet', '10.252.0.0/24', 'one'])).code, 0);
    const overlap = await d.docker(['network', 'create', '--subnet', '10.252.0.128/25', 'two']);
    assert.match(overlap.stderr, /Pool overlaps/);
    const dup = await d.docker(['network', 'create', 'one']);
    assert.match(dup.stderr, /already exists/);
    assert.equal((await d.docker(['network', 'rm', 'one'])).code, 0);
    // The refused network's bridge would carry its gateway: no interface of the host has it.
    assert.doesNotMatch(await sh('ip', ['-o', 'addr', 'show']), /10\.252\.0\.129\//);
    const created = await d.api('GET', '/networks');
    assert.deepEqual(created.json<Array<{ Name: string }>>().map((n) => n.Name).sort(), ['bridge', 'host', 'none']);
  });

  it('leaks no veth, iptables rule, IPAM lease or namespace across runs, stops, kills and a berthd kill -9', async () => {
    assert.equal((await d.docker(['network', 'create', 'leaky'])).code, 0);
    const docs = (await d.api('GET', '/networks')).json<Array<{ Id: string; Name: string; IPAM: { Config: Array<{ Subnet: string }> } }>>();
    const mine = docs.filter((n) => n.Name === 'bridge' || n.Name === 'leaky');
    // "10.123.4.0/24" → "10.123.4.": every address of these /24s starts so.
    const subnets = mine.flatMap((n) => n.IPAM.Config.map((c) => c.Subnet.split('.').slice(0, 3).join('.') + '.'));
    const bridgeNames = [await defaultBridge(), ...docs.filter((n) => n.Name === 'leaky').map((n) => `br-${n.Id.slice(0, 12)}`)];
    const bridges = async (): Promise<string[]> => bridgeNames;
    const before = await traces(d, await bridges(), subnets);
    assert.deepEqual(before, { veths: [], rules: [], leases: [], netns: [] });
    const port = randomInt(30000, 40000);
    assert.equal((await d.docker(['run', '--rm', '-p', `${port}:80`, 'busybox', 'true'])).code, 0);
    assert.equal((await d.docker(['run', '-d', '--name', 's1', '--network', 'leaky', 'busybox', 'sleep', '300'])).code, 0);
    assert.equal((await d.docker(['run', '-d', '--name', 's2', '-p', `${port + 1}:80`, 'busybox', 'sleep', '300'])).code, 0);
    assert.equal((await d.docker(['run', '-d', '--name', 's3', 'busybox', 'sleep', '300'])).code, 0);
    assert.equal((await d.docker(['stop', '-t', '1', 's1'])).code, 0);
    assert.equal((await d.docker(['kill', 's2'])).code, 0);
    // Teardown after an exit runs in the background: wait until only s3's veth is left.
    let during = await traces(d, await bridges(), subnets);
    for (let i = 0; i < 50 && during.veths.length !== 1; i++) {
      await new Promise((r) => setTimeout(r, 100));
      during = await traces(d, await bridges(), subnets);
    }
    assert.equal(during.veths.length, 1, JSON.stringify(during));
    const s3Pid = (await d.api('GET', '/containers/s3/json')).json<{ State: { Pid: number } }>().State.Pid;
    assert.ok(s3Pid > 0);
    await d.kill9();
    // s3 exits while berthd is down; its network is torn down at the next start.
    process.kill(s3Pid, 'SIGKILL');
    await d.start();
    assert.equal((await d.docker(['start', 's1'])).code, 0);
    assert.equal((await d.docker(['restart', '-t', '1', 's1'])).code, 0);
    assert.equal((await d.docker(['rm', '-f', 's1', 's2', 's3'])).code, 0);
    let after = await traces(d, await bridges(), subnets);
    for (let i = 0; i < 50 && JSON.stringify(after) !== JSON.stringify(before); i++) {
      await new Promise((r) => setTimeout(r, 100));
      after = await traces(d, await bridges(), subnets);
    }
    assert.deepEqual(after, before);
    assert.equal((await d.docker(['network', 'rm', 'leaky'])).code, 0);
  });

  it('works from docker-py', async () => {
    const script = `
import docker
c = docker.from_env()
n = c.networks.create("pynet", driver="bridge")
ctr = c.containers.run("busybox", "sleep 300", detach=True, network="pynet", name="pyctr")
ctr.reload()
print(ctr.attrs["NetworkSettings"]["Networks"]["pynet"]["IPAddress"] != "")
print(c.containers.run("busybox", "nslookup pyctr", network="pynet", remove=True).decode().count("Address") >= 2)
ctr.remove(force=True)
n.remove()
# network_disabled: no interface but loopback, whatever network is named
print(c.containers.run("busybox", "ls /sys/class/net", network_disabled=True, network="bridge", remove=True).decode().split())
`;
    const r = await new Promise<{ code: number; out: string }>((resolve) => {
      const child = spawn('python3', ['-c', script], { env: { ...process.env, DOCKER_HOST: d.host } });
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      child.stderr.on('data', (b: Buffer) => (out += b.toString()));
      child.on('close', (code) => resolve({ code: code ?? 1, out }));
    });
    assert.equal(r.code, 0, r.out);
    assert.equal(r.out, "True\nTrue\n['lo']\n");
  });
});

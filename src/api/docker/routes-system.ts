/** /_ping, /version, /info, /auth. */
import { hostname, cpus, totalmem, release, arch } from 'node:os';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { invalidArgument } from '../../core/errors.js';
import type { Engine } from '../../engine/engine.js';
import { normalizeRegistryDomain } from '../../registry/reference.js';
import { API_VERSION, MIN_API_VERSION, commonHeaders, readJsonBody, sendJson, type Router } from './http.js';

export const BERTH_VERSION = '0.1.0';

function goArch(): string {
  return arch() === 'x64' ? 'amd64' : arch();
}

function toolVersion(binary: string, args: string[], pattern: RegExp): string {
  try {
    const out = execFileSync(binary, args, { encoding: 'utf8', timeout: 2000 });
    return pattern.exec(out)?.[1] ?? '';
  } catch {
    return '';
  }
}

function operatingSystem(): string {
  try {
    const text = execFileSync('sh', ['-c', '. /etc/os-release && echo "$PRETTY_NAME"'], { encoding: 'utf8', timeout: 2000 });
    return text.trim();
  } catch {
    return 'linux';
  }
}

export function registerSystemRoutes(router: Router, engine: Engine): void {
  const ping = (res: import('node:http').ServerResponse): void => {
    res.writeHead(200, {
      ...commonHeaders(),
      'Builder-Version': '1',
      'Cache-Control': 'no-cache, no-store, must-revalidate',
      Pragma: 'no-cache',
      'Content-Type': 'text/plain; charset=utf-8',
      'Content-Length': '2',
      Swarm: 'inactive',
    });
    res.end('OK');
  };
  router.add('GET', '/_ping', ({ res }) => ping(res));
  router.add('HEAD', '/_ping', ({ res }) => ping(res));

  // Facts about the host that do not change while berthd runs are read once.
  const runcVersion = toolVersion(engine.config.runtimePath, ['--version'], /runc version (\S+)/);
  const conmonVersion = toolVersion(engine.config.conmonPath, ['--version'], /conmon version (\S+)/);
  const os = operatingSystem();
  const cgroupV2 = existsSync('/sys/fs/cgroup/cgroup.controllers');

  router.add('GET', '/version', ({ res }) => {
    const details = { ApiVersion: API_VERSION, Arch: goArch(), BuildTime: '', Experimental: 'false', GitCommit: '', GoVersion: `node${process.versions.node}`, KernelVersion: release(), MinAPIVersion: MIN_API_VERSION, Os: 'linux' };
    sendJson(res, 200, {
      Platform: { Name: 'berth' },
      Components: [
        { Name: 'Engine', Version: BERTH_VERSION, Details: details },
        { Name: 'runc', Version: runcVersion, Details: { GitCommit: '' } },
        { Name: 'conmon', Version: conmonVersion, Details: { GitCommit: '' } },
      ],
      Version: BERTH_VERSION,
      ApiVersion: API_VERSION,
      MinAPIVersion: MIN_API_VERSION,
      GitCommit: '',
      GoVersion: `node${process.versions.node}`,
      Os: 'linux',
      Arch: goArch(),
      KernelVersion: release(),
      BuildTime: '',
    });
  });

  router.add('GET', '/info', ({ res }) => {
    const containers = engine.containers.list();
    const count = (status: string): number => containers.filter((c) => c.state.status === status).length;
    sendJson(res, 200, {
      ID: '',
      Containers: containers.length,
      ContainersRunning: count('running'),
      ContainersPaused: count('paused'),
      ContainersStopped: containers.length - count('running') - count('paused'),
      Images: engine.images.list().length,
      Driver: 'overlay',
      DriverStatus: [
        ['Backing Filesystem', 'overlayfs snapshots'],
        ['Snapshots', `${engine.config.dataRoot}/snapshots`],
        ['Layer Format', engine.snapshots.layerFormat === 'squashfs' ? 'squashfs (lz4, loop-mounted)' : 'dir'],
      ],
      Plugins: { Volume: ['local'], Network: ['bridge', 'host', 'null'], Authorization: null, Log: ['json-file'] },
      MemoryLimit: true,
      SwapLimit: false,
      CpuCfsPeriod: true,
      CpuCfsQuota: true,
      CPUShares: true,
      CPUSet: true,
      PidsLimit: true,
      IPv4Forwarding: true,
      Debug: false,
      NFd: 0,
      OomKillDisable: !cgroupV2,
      NGoroutines: 0,
      SystemTime: new Date().toISOString(),
      LoggingDriver: 'json-file',
      CgroupDriver: 'cgroupfs',
      CgroupVersion: cgroupV2 ? '2' : '1',
      NEventsListener: 0,
      KernelVersion: release(),
      OperatingSystem: os,
      OSVersion: '',
      OSType: 'linux',
      Architecture: arch() === 'x64' ? 'x86_64' : arch(),
      IndexServerAddress: 'https://index.docker.io/v1/',
      RegistryConfig: { IndexConfigs: {}, InsecureRegistryCIDRs: ['127.0.0.0/8', '::1/128'], Mirrors: [], AllowNondistributableArtifactsCIDRs: null, AllowNondistributableArtifactsHostnames: null },
      NCPU: cpus().length,
      MemTotal: totalmem(),
      GenericResources: null,
      DockerRootDir: engine.config.dataRoot,
      HttpProxy: '',
      HttpsProxy: '',
      NoProxy: '',
      Name: hostname(),
      Labels: [],
      ExperimentalBuild: false,
      ServerVersion: BERTH_VERSION,
      Runtimes: { runc: { path: engine.config.runtimePath } },
      DefaultRuntime: 'runc',
      Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
      LiveRestoreEnabled: true,
      Isolation: '',
      InitBinary: '',
      ContainerdCommit: { ID: '' },
      RuncCommit: { ID: '' },
      InitCommit: { ID: '' },
      SecurityOptions: ['name=seccomp,profile=builtin'],
      CDISpecDirs: [],
      Warnings: [],
    });
  });

  router.add('POST', '/auth', async ({ req, res }) => {
    const body = (await readJsonBody<{ username?: string; password?: string; serveraddress?: string; identitytoken?: string }>(req)) ?? {};
    if (!body.serveraddress) throw invalidArgument('serveraddress is required');
    const domain = normalizeRegistryDomain(body.serveraddress);
    await engine.registry.ping(domain, {
      ...(body.username ? { username: body.username } : {}),
      ...(body.password ? { password: body.password } : {}),
      ...(body.identitytoken ? { identityToken: body.identitytoken } : {}),
    });
    sendJson(res, 200, { Status: 'Login Succeeded', IdentityToken: '' });
  });
}

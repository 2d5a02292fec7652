/**
 * version, info, login, logout.
 *
 *   version GET /version
 *   info    GET /info
 *   login   POST /auth {username,password,serveraddress} → store in config.json or a helper
 *   logout  (local only: erases stored credentials)
 */
import { arch, platform } from 'node:os';
import { eraseCredentials, configPath, convertToHostname, storeCredentials } from '../auth.js';
import { MAX_API_VERSION } from '../client.js';
import { CliError, displayError } from '../errors.js';
import { api, eprintln, out, println } from '../io.js';
import { INDEX_SERVER } from '../reference.js';
import { tabwrite } from '../tabwriter.js';
import { bytesSize } from '../../core/units.js';
import { compileFormat } from './images.js';

export const CLI_VERSION = '0.1.0';

function goArch(): string {
  const a = arch();
  return a === 'x64' ? 'amd64' : a === 'ia32' ? '386' : a;
}

/** Go's time.ANSIC ("Mon Jan _2 15:04:05 2006") in UTC, as docker shows build times. */
function ansic(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${days[d.getUTCDay()]} ${months[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
}

interface VersionComponent {
  Name: string;
  Version: string;
  Details?: Record<string, string> | null;
}

interface ServerVersion {
  Platform?: { Name?: string };
  Components?: VersionComponent[] | null;
  Version?: string;
  ApiVersion?: string;
  MinAPIVersion?: string;
  GitCommit?: string;
  GoVersion?: string;
  Os?: string;
  Arch?: string;
  KernelVersion?: string;
  Experimental?: boolean;
  BuildTime?: string;
}

export async function versionCmd(opts: { format?: string }): Promise<number> {
  const client = api();
  let negotiated = MAX_API_VERSION;
  let server: ServerVersion | undefined;
  let serverErr: unknown;
  try {
    negotiated = await client.apiVersion();
    server = await client.json<ServerVersion>({ method: 'GET', path: '/version' });
  } catch (e) {
    serverErr = e;
  }
  const clientInfo = {
    Platform: { Name: '' },
    Version: CLI_VERSION,
    ApiVersion: negotiated,
    DefaultAPIVersion: MAX_API_VERSION,
    NodeVersion: process.version,
    Os: platform(),
    Arch: goArch(),
    Context: 'default',
  };
  if (opts.format) {
    const tpl = compileFormat(opts.format, 'version');
    println(tpl.execute({ Client: clientInfo, Server: server ?? null }));
  } else {
    let t = 'Client:\n';
    t += ` Version:\t${CLI_VERSION}\n`;
    t += ` API version:\t${negotiated}${negotiated !== MAX_API_VERSION ? ` (downgraded from ${MAX_API_VERSION})` : ''}\n`;
    t += ` Node.js version:\t${process.version}\n`;
    t += ` OS/Arch:\t${clientInfo.Os}/${clientInfo.Arch}\n`;
    t += ` Context:\tdefault\n`;
    if (server) {
      t += `\nServer:${server.Platform?.Name ? ` ${server.Platform.Name}` : ''}\n`;
      const components: VersionComponent[] =
        server.Components && server.Components.length > 0
          ? server.Components
          : [
              {
                Name: 'Engine',
                Version: server.Version ?? '',
                Details: {
                  ApiVersion: server.ApiVersion ?? '',
                  MinAPIVersion: server.MinAPIVersion ?? '',
                  GoVersion: server.GoVersion ?? '',
                  GitCommit: server.GitCommit ?? '',
                  BuildTime: server.BuildTime ?? '',
                  Os: server.Os ?? '',
                  Arch: server.Arch ?? '',
                  Experimental: String(server.Experimental ?? false),
                },
              },
            ];
      for (const comp of components) {
        const d = comp.Details ?? {};
        t += ` ${comp.Name}:\n`;
        if (comp.Name === 'Engine') {
          t += `  Version:\t${comp.Version}\n`;
          t += `  API version:\t${d['ApiVersion'] ?? ''} (minimum version ${d['MinAPIVersion'] ?? ''})\n`;
          t += `  Go version:\t${d['GoVersion'] ?? ''}\n`;
          t += `  Git commit:\t${d['GitCommit'] ?? ''}\n`;
          t += `  Built:\t${ansic(d['BuildTime'] ?? '')}\n`;
          t += `  OS/Arch:\t${d['Os'] ?? ''}/${d['Arch'] ?? ''}\n`;
          t += `  Experimental:\t${d['Experimental'] ?? 'false'}\n`;
        } else {
          t += `  Version:\t${comp.Version}\n`;
          for (const k of Object.keys(d).sort()) t += `  ${k}:\t${d[k]}\n`;
        }
      }
    }
    out(tabwrite(t, { minwidth: 20, padding: 1 }));
  }
  if (serverErr !== undefined) throw new CliError(displayError(serverErr), 1);
  return 0;
}

type InfoBody = Record<string, unknown> & {
  Containers?: number;
  ContainersRunning?: number;
  ContainersPaused?: number;
  ContainersStopped?: number;
  Images?: number;
  ServerVersion?: string;
  Driver?: string;
  DriverStatus?: Array<[string, string]> | null;
  LoggingDriver?: string;
  CgroupDriver?: string;
  CgroupVersion?: string;
  Plugins?: { Volume?: string[] | null; Network?: string[] | null; Authorization?: string[] | null; Log?: string[] | null };
  Swarm?: { LocalNodeState?: string };
  Runtimes?: Record<string, unknown> | null;
  DefaultRuntime?: string;
  InitBinary?: string;
  ContainerdCommit?: { ID?: string };
  RuncCommit?: { ID?: string };
  InitCommit?: { ID?: string };
  SecurityOptions?: string[] | null;
  KernelVersion?: string;
  OperatingSystem?: string;
  OSType?: string;
  Architecture?: string;
  NCPU?: number;
  MemTotal?: number;
  Name?: string;
  ID?: string;
  DockerRootDir?: string;
  Debug?: boolean;
  ExperimentalBuild?: boolean;
  HttpProxy?: string;
  HttpsProxy?: string;
  NoProxy?: string;
  Labels?: string[] | null;
  RegistryConfig?: { InsecureRegistryCIDRs?: string[] | null; Mirrors?: string[] | null; IndexConfigs?: Record<string, { Secure?: boolean; Name?: string }> | null };
  LiveRestoreEnabled?: boolean;
  Warnings?: string[] | null;
};

export async function infoCmd(opts: { format?: string }): Promise<number> {
  const info = await api().json<InfoBody>({ method: 'GET', path: '/info' });
  if (opts.format) {
    println(compileFormat(opts.format).execute(info));
    return 0;
  }
  const lines: string[] = [];
  const p = (s: string): number => lines.push(s);
  p('Client:');
  p(` Version:    ${CLI_VERSION}`);
  p(' Context:    default');
  p(' Debug Mode: false');
  p('');
  p('Server:');
  p(` Containers: ${info.Containers ?? 0}`);
  p(`  Running: ${info.ContainersRunning ?? 0}`);
  p(`  Paused: ${info.ContainersPaused ?? 0}`);
  p(`  Stopped: ${info.ContainersStopped ?? 0}`);
  p(` Images: ${info.Images ?? 0}`);
  p(` Server Version: ${info.ServerVersion ?? ''}`);
  p(` Storage Driver: ${info.Driver ?? ''}`);
  for (const [k, v] of info.DriverStatus ?? []) p(`  ${k}: ${v}`);
  p(` Logging Driver: ${info.LoggingDriver ?? ''}`);
  p(` Cgroup Driver: ${info.CgroupDriver ?? ''}`);
  if (info.CgroupVersion) p(` Cgroup Version: ${info.CgroupVersion}`);
  p(' Plugins:');
  p(`  Volume: ${(info.Plugins?.Volume ?? []).join(' ')}`);
  p(`  Network: ${(info.Plugins?.Network ?? []).join(' ')}`);
  if ((info.Plugins?.Authorization ?? []).length > 0) p(`  Authorization: ${(info.Plugins?.Authorization ?? []).join(' ')}`);
  p(`  Log: ${(info.Plugins?.Log ?? []).join(' ')}`);
  p(` Swarm: ${info.Swarm?.LocalNodeState ?? 'inactive'}`);
  if (info.Runtimes) p(` Runtimes: ${Object.keys(info.Runtimes).sort().join(' ')}`);
  if (info.DefaultRuntime) p(` Default Runtime: ${info.DefaultRuntime}`);
  if (info.InitBinary !== undefined) p(` Init Binary: ${info.InitBinary}`);
  if (info.ContainerdCommit) p(` containerd version: ${info.ContainerdCommit.ID ?? ''}`);
  if (info.RuncCommit) p(` runc version: ${info.RuncCommit.ID ?? ''}`);
  if (info.InitCommit) p(` init version: ${info.InitCommit.ID ?? ''}`);
  const secopts = info.SecurityOptions ?? [];
  if (secopts.length > 0) {
    p(' Security Options:');
    for (const o of secopts) {
      const kv = Object.fromEntries(o.split(',').map((x) => { const i = x.indexOf('='); return [x.slice(0, i), x.slice(i + 1)]; }));
      p(`  ${kv['name'] ?? o}`);
      for (const [k, v] of Object.entries(kv)) {
        if (k === 'name') continue;
        p(`   ${k === 'profile' ? 'Profile' : k}: ${v}`);
      }
    }
  }
  p(` Kernel Version: ${info.KernelVersion ?? ''}`);
  p(` Operating System: ${info.OperatingSystem ?? ''}`);
  p(` OSType: ${info.OSType ?? ''}`);
  p(` Architecture: ${info.Architecture ?? ''}`);
  p(` CPUs: ${info.NCPU ?? 0}`);
  p(` Total Memory: ${bytesSize(info.MemTotal ?? 0)}`);
  p(` Name: ${info.Name ?? ''}`);
  p(` ID: ${info.ID ?? ''}`);
  p(` Docker Root Dir: ${info.DockerRootDir ?? ''}`);
  p(` Debug Mode: ${info.Debug ? 'true' : 'false'}`);
  if (info.HttpProxy) p(` HTTP Proxy: ${info.HttpProxy}`);
  if (info.HttpsProxy) p(` HTTPS Proxy: ${info.HttpsProxy}`);
  if (info.NoProxy) p(` No Proxy: ${info.NoProxy}`);
  if ((info.Labels ?? []).length > 0) {
    p(' Labels:');
    for (const l of info.Labels ?? []) p(`  ${l}`);
  }
  p(` Experimental: ${info.ExperimentalBuild ? 'true' : 'false'}`);
  const insecure = info.RegistryConfig?.InsecureRegistryCIDRs ?? [];
  const insecureIdx = Object.values(info.RegistryConfig?.IndexConfigs ?? {})
    .filter((x) => x.Secure === false && x.Name !== undefined)
    .map((x) => x.Name as string);
  if (insecure.length + insecureIdx.length > 0) {
    p(' Insecure Registries:');
    for (const r of [...insecureIdx, ...insecure]) p(`  ${r}`);
  }
  const mirrors = info.RegistryConfig?.Mirrors ?? [];
  if (mirrors.length > 0) {
    p(' Registry Mirrors:');
    for (const m of mirrors) p(`  ${m}`);
  }
  p(` Live Restore Enabled: ${info.LiveRestoreEnabled ? 'true' : 'false'}`);
  p('');
  out(`${lines.join('\n')}\n`);
  for (const w of info.Warnings ?? []) eprintln(w);
  return 0;
}

// ---- login / logout ----------------------------------------------------------------------------

async function readAllStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

async function prompt(question: string, hidden: boolean): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(question);
  if (!hidden || !stdin.isTTY) {
    const { createInterface } = await import('node:readline');
    const rl = createInterface({ input: stdin, terminal: false });
    const line = await new Promise<string>((resolve) => {
      rl.once('line', resolve);
      rl.once('close', () => resolve(''));
    });
    rl.close();
    return line.trim();
  }
  stdin.setRawMode(true);
  return new Promise((resolve) => {
    let value = '';
    const onData = (d: Buffer): void => {
      for (const ch of d.toString('utf8')) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') {
          stdin.setRawMode(false);
          stdin.removeListener('data', onData);
          stdin.pause();
          process.stderr.write('\n');
          resolve(value);
          return;
        }
        if (ch === '\u0003') {
          stdin.setRawMode(false);
          process.exit(130);
        }
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.on('data', onData);
  });
}

/** docker login's server address: the Hub's index URL by default, else its host[:port]. */
export function loginServerAddress(server: string | undefined): string {
  if (!server || server === 'docker.io' || server === INDEX_SERVER) return INDEX_SERVER;
  const host = convertToHostname(server);
  return host === 'index.docker.io' || host === 'registry-1.docker.io' ? INDEX_SERVER : host;
}

export async function loginCmd(
  server: string | undefined,
  opts: { username?: string; password?: string; passwordStdin?: boolean },
): Promise<number> {
  let password = opts.password;
  if (opts.password !== undefined) {
    eprintln('WARNING! Using --password via the CLI is insecure. Use --password-stdin.');
    if (opts.passwordStdin) throw new CliError('--password and --password-stdin are mutually exclusive', 1);
  }
  if (opts.passwordStdin) {
    if (!opts.username) throw new CliError('Must provide --username with --password-stdin', 1);
    password = (await readAllStdin()).replace(/\n$/, '').replace(/\r$/, '');
  }
  const serverAddress = loginServerAddress(server);
  let username = opts.username;
  if (!username || password === undefined) {
    if (!process.stdin.isTTY) throw new CliError('Error: Cannot perform an interactive login from a non TTY device', 1);
    if (!username) username = await prompt('Username: ', false);
    if (!username) throw new CliError('Error: Non-null Username Required', 1);
    if (password === undefined) password = await prompt('Password: ', true);
    if (!password) throw new CliError('Error: Password Required', 1);
  }
  const res = await api().json<{ Status?: string; IdentityToken?: string } | undefined>({
    method: 'POST',
    path: '/auth',
    body: { username, password, serveraddress: serverAddress },
  });
  const identitytoken = res?.IdentityToken ? res.IdentityToken : undefined;
  let stored: { helper?: string; path: string };
  try {
    stored = await storeCredentials(serverAddress, {
      username,
      password,
      ...(identitytoken ? { identitytoken } : {}),
    });
  } catch (e) {
    throw new CliError(`Error saving credentials: ${displayError(e)}`, 1);
  }
  if (!stored.helper) {
    eprintln(`\nWARNING! Your credentials are stored unencrypted in '${stored.path}'.`);
    eprintln('Configure a credential helper to remove this warning. See');
    eprintln('https://docs.docker.com/go/credential-store/\n');
  }
  println(res?.Status && res.Status !== '' ? res.Status : 'Login Succeeded');
  return 0;
}

export async function logoutCmd(server: string | undefined): Promise<number> {
  const serverAddress = loginServerAddress(server);
  const isDefault = serverAddress === INDEX_SERVER;
  const keys = isDefault
    ? [serverAddress]
    : [serverAddress, `http://${serverAddress}`, `https://${serverAddress}`];
  if (server && !isDefault && server !== serverAddress) keys.unshift(server);
  println(`Removing login credentials for ${serverAddress}`);
  await eraseCredentials(keys, configPath());
  return 0;
}

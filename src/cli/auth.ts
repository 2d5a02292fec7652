/**
 * Registry credentials on the client side, as the docker CLI keeps them: ~/.docker/config.json
 * (or $DOCKER_CONFIG/config.json) `auths` entries holding base64("user:pass"), or a credential
 * helper `docker-credential-<name>` chosen by `credHelpers[host]` / `credsStore`. The CLI sends
 * the credentials for a registry to the daemon in the X-Registry-Auth header: base64url (with
 * padding) of the JSON AuthConfig, `e30=` (`{}`) when there are none.
 */
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { promises as fs } from 'node:fs';

export interface AuthConfig {
  username?: string;
  password?: string;
  auth?: string;
  email?: string;
  serveraddress?: string;
  identitytoken?: string;
  registrytoken?: string;
}

/** registry.EncodeAuthConfig: JSON (docker's field order, empty fields omitted) → base64url with padding. */
export function encodeAuthConfig(cfg: AuthConfig | undefined): string {
  const ordered: AuthConfig = {};
  const keys: Array<keyof AuthConfig> = [
    'username',
    'password',
    'auth',
    'email',
    'serveraddress',
    'identitytoken',
    'registrytoken',
  ];
  for (const k of keys) {
    const v = cfg?.[k];
    if (v !== undefined && v !== '') ordered[k] = v;
  }
  return Buffer.from(JSON.stringify(ordered), 'utf8').toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

/** Inverse of encodeAuthConfig (accepts padded or unpadded, url or std alphabet). */
export function decodeAuthConfig(header: string): AuthConfig {
  const std = header.replace(/-/g, '+').replace(/_/g, '/');
  return JSON.parse(Buffer.from(std, 'base64').toString('utf8')) as AuthConfig;
}

/** credentials.ConvertToHostname: "https://reg:5000/v2/" → "reg:5000". */
export function convertToHostname(address: string): string {
  let s = address;
  if (s.includes('://')) {
    try {
      const u = new URL(s);
      if (u.hostname !== '') return u.port === '' ? u.hostname : `${u.hostname.includes(':') && !u.hostname.startsWith('[') ? `[${u.hostname}]` : u.hostname}:${u.port}`;
    } catch {
      // fall through to the plain cut
    }
    s = s.replace(/^[a-z]+:\/\//i, '');
  }
  return s.split('/')[0] ?? s;
}

export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  const d = env['DOCKER_CONFIG'];
  return d && d !== '' ? d : join(homedir(), '.docker');
}

export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(configDir(env), 'config.json');
}

interface FileAuthEntry {
  auth?: string;
  email?: string;
  identitytoken?: string;
  registrytoken?: string;
  username?: string;
  password?: string;
}

export interface ConfigFile {
  auths?: Record<string, FileAuthEntry>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  [key: string]: unknown;
}

export async function loadConfig(path: string = configPath()): Promise<ConfigFile> {
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return {};
    throw err;
  }
  if (text.trim() === '') return {};
  try {
    const parsed = JSON.parse(text) as unknown;
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as ConfigFile) : {};
  } catch (err) {
    throw new Error(`loading config file: ${path}: ${(err as Error).message}`);
  }
}

/** Writes config.json atomically (temp file + fsync + rename), mode 0600, following a symlink. */
export async function saveConfig(config: ConfigFile, path: string = configPath()): Promise<void> {
  let target = path;
  try {
    target = await fs.realpath(path);
  } catch {
    // does not exist yet
  }
  await fs.mkdir(dirname(target), { recursive: true, mode: 0o700 });
  const tmp = `${target}.${process.pid}.${Date.now()}.tmp`;
  const fh = await fs.open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(JSON.stringify(config, null, '\t'));
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await fs.chmod(tmp, 0o600);
    await fs.rename(tmp, target);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}

function decodeAuthField(auth: string): { username: string; password: string } {
  const decoded = Buffer.from(auth, 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) throw new Error('invalid auth configuration file');
  return { username: decoded.slice(0, i), password: decoded.slice(i + 1).replace(/\0+$/, '') };
}

/** The credential helper responsible for a server key, if any. */
export function helperFor(config: ConfigFile, serverKey: string): string | undefined {
  const h = config.credHelpers?.[convertToHostname(serverKey)] ?? config.credHelpers?.[serverKey];
  if (h) return h;
  return config.credsStore && config.credsStore !== '' ? config.credsStore : undefined;
}

async function runHelper(helper: string, action: 'get' | 'store' | 'erase', input: string): Promise<string> {
  const { spawn } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    const child = spawn(`docker-credential-${helper}`, [action], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) =>
      reject(new Error(`error getting credentials - err: ${e.message}, out: \`docker-credential-${helper} ${action}\``)),
    );
    child.on('close', (code) => {
      const stdout = Buffer.concat(out).toString('utf8').trim();
      if (code === 0) resolve(stdout);
      else reject(new HelperError(stdout || Buffer.concat(err).toString('utf8').trim() || `exit status ${code}`));
    });
    child.stdin.end(input);
  });
}

class HelperError extends Error {
  get notFound(): boolean {
    return /credentials not found/i.test(this.message);
  }
}

/** configfile.GetAuthConfig: the credentials for a server key ("https://index.docker.io/v1/", "host:port"). */
export async function getAuthConfig(serverKey: string, config?: ConfigFile): Promise<AuthConfig> {
  const cfg = config ?? (await loadConfig());
  const helper = helperFor(cfg, serverKey);
  if (helper) {
    try {
      const out = await runHelper(helper, 'get', serverKey);
      const creds = JSON.parse(out) as { Username?: string; Secret?: string; ServerURL?: string };
      const ac: AuthConfig = { serveraddress: serverKey };
      if (creds.Username === '<token>') ac.identitytoken = creds.Secret ?? '';
      else {
        ac.username = creds.Username ?? '';
        ac.password = creds.Secret ?? '';
      }
      return ac;
    } catch (err) {
      if (err instanceof HelperError && err.notFound) return {};
      throw err;
    }
  }
  const auths = cfg.auths ?? {};
  let key: string | undefined = Object.prototype.hasOwnProperty.call(auths, serverKey) ? serverKey : undefined;
  if (key === undefined) {
    const host = convertToHostname(serverKey);
    key = Object.keys(auths).find((k) => convertToHostname(k) === host);
  }
  if (key === undefined) return {};
  const entry = auths[key] ?? {};
  const ac: AuthConfig = { serveraddress: key };
  if (entry.auth) Object.assign(ac, decodeAuthField(entry.auth));
  else {
    if (entry.username) ac.username = entry.username;
    if (entry.password) ac.password = entry.password;
  }
  if (entry.email) ac.email = entry.email;
  if (entry.identitytoken) ac.identitytoken = entry.identitytoken;
  if (entry.registrytoken) ac.registrytoken = entry.registrytoken;
  return ac;
}

/** The X-Registry-Auth value for a server key ("e30=" when nothing is stored). */
export async function registryAuthHeader(serverKey: string): Promise<string> {
  try {
    return encodeAuthConfig(await getAuthConfig(serverKey));
  } catch {
    return encodeAuthConfig({});
  }
}

/** Stores credentials (helper or file) and records the server in config.json. Returns where they went. */
export async function storeCredentials(
  serverKey: string,
  creds: { username: string; password: string; identitytoken?: string },
  path: string = configPath(),
): Promise<{ helper?: string; path: string }> {
  const cfg = await loadConfig(path);
  const helper = helperFor(cfg, serverKey);
  cfg.auths ??= {};
  if (helper) {
    const secret = creds.identitytoken ?? creds.password;
    const username = creds.identitytoken ? '<token>' : creds.username;
    await runHelper(helper, 'store', JSON.stringify({ ServerURL: serverKey, Username: username, Secret: secret }));
    cfg.auths[serverKey] = {};
    await saveConfig(cfg, path);
    return { helper, path };
  }
  const password = creds.identitytoken ? '' : creds.password;
  const entry: FileAuthEntry = { auth: Buffer.from(`${creds.username}:${password}`, 'utf8').toString('base64') };
  if (creds.identitytoken) entry.identitytoken = creds.identitytoken;
  cfg.auths[serverKey] = entry;
  await saveConfig(cfg, path);
  return { path };
}

/** Removes credentials for the given keys; returns the keys that were known. */
export async function eraseCredentials(keys: readonly string[], path: string = configPath()): Promise<string[]> {
  const cfg = await loadConfig(path);
  const removed: string[] = [];
  for (const key of keys) {
    const helper = helperFor(cfg, key);
    const known = cfg.auths !== undefined && Object.prototype.hasOwnProperty.call(cfg.auths, key);
    if (helper) {
      try {
        await runHelper(helper, 'erase', key);
      } catch {
        // docker only warns when every erase failed
      }
    }
    if (known && cfg.auths) {
      delete cfg.auths[key];
      removed.push(key);
    }
  }
  if (removed.length > 0) await saveConfig(cfg, path);
  return removed;
}

/**
 * Registry credentials and authentication, following the Docker CLI (cli/config/configfile,
 * docker-credential-helpers) and the distribution token protocol
 * (docs.docker.com/reference/api/registry/auth).
 *
 * - CredentialStore reads `<DOCKER_CONFIG or ~/.docker>/config.json`: `auths` (base64 `auth` or
 *   `username`/`password`, `identitytoken`, `registrytoken`), `credHelpers` (per registry) and
 *   `credsStore` (default helper), and stores/erases credentials for login/logout.
 * - parseWWWAuthenticate parses Basic/Bearer challenges.
 * - Authorizer turns challenges into Authorization headers: Basic from credentials, Bearer tokens
 *   fetched from the realm (GET with Basic creds, or OAuth2 POST with an identity token), cached
 *   per (registry, scope) until `expires_in`.
 *
 * Errors: 'unauthorized' (token endpoint refused the credentials, or Basic required and none),
 * 'unavailable' (token endpoint unreachable / 5xx, or a credential helper failed),
 * 'invalid-argument' (malformed config.json or token response).
 */
import { spawn } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { request, type Dispatcher } from 'undici';
import { BerthError, errnoCode, errorMessage, invalidArgument, unavailable } from '../core/errors.js';
import { writeFileAtomic } from '../core/fs-atomic.js';
import { credentialServerAddress } from './reference.js';

/** Credentials for one registry. Exactly what a request may need; secrets never logged. */
export interface AuthConfig {
  username?: string;
  password?: string;
  /** OAuth2 refresh token (Docker's `identitytoken`; helpers return it as Username "<token>"). */
  identityToken?: string;
  /** A bearer token to send as-is (Docker's `registrytoken`). */
  registryToken?: string;
}

/** Anything that can produce credentials for a registry domain ("docker.io", "127.0.0.1:5000"). */
export interface CredentialSource {
  get(domain: string): Promise<AuthConfig | undefined>;
}

/** A fixed map domain → credentials (tests, API requests that carry X-Registry-Auth). */
export class StaticCredentials implements CredentialSource {
  constructor(private readonly entries: Record<string, AuthConfig> = {}) {}

  async get(domain: string): Promise<AuthConfig | undefined> {
    return this.entries[domain] ?? this.entries[credentialServerAddress(domain)];
  }
}

export const noCredentials: CredentialSource = { get: async () => undefined };

// -----------------------------------------------------------------------------------------------
// ~/.docker/config.json
// -----------------------------------------------------------------------------------------------

export interface CredentialStoreOptions {
  /** Directory holding config.json. Default: $DOCKER_CONFIG, else ~/.docker. */
  configDir?: string;
  /** Environment for helpers (PATH lookup of docker-credential-*) and DOCKER_CONFIG. Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Kill a credential helper after this long. Default 30 s. */
  helperTimeoutMs?: number;
}

interface ConfigAuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
  registrytoken?: string;
  email?: string;
  [key: string]: unknown;
}

type ConfigFile = Record<string, unknown> & {
  auths?: Record<string, ConfigAuthEntry>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
};

const TOKEN_USERNAME = '<token>';
const HELPER_NOT_FOUND = 'credentials not found in native keychain';

export class CredentialStore implements CredentialSource {
  readonly configDir: string;
  readonly configPath: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly helperTimeoutMs: number;

  constructor(options: CredentialStoreOptions = {}) {
    this.env = options.env ?? process.env;
    this.configDir = options.configDir ?? this.env.DOCKER_CONFIG ?? join(this.env.HOME ?? homedir(), '.docker');
    this.configPath = join(this.configDir, 'config.json');
    this.helperTimeoutMs = options.helperTimeoutMs ?? 30_000;
  }

  /** Credentials for a registry domain, or undefined when none are configured. */
  async get(domain: string): Promise<AuthConfig | undefined> {
    const config = await this.load();
    const server = credentialServerAddress(domain);
    const helper = this.helperFor(config, server);
    if (helper) {
      const fromHelper = await this.helperGet(helper, server);
      if (fromHelper) return fromHelper;
      // docker's native store also only falls back to the file's non-secret fields; be lenient
      // and use a file entry if one exists (e.g. written before credsStore was configured).
    }
    const entry = findAuthEntry(config.auths ?? {}, server);
    return entry ? decodeEntry(entry, server) : undefined;
  }

  /**
   * Stores credentials for `domain` (login). Through the configured helper if any (leaving an
   * empty `auths` entry in config.json, as Docker does), else base64 in `auths`, with config.json
   * written atomically with mode 0600.
   */
  async store(domain: string, auth: AuthConfig): Promise<void> {
    const config = await this.load();
    const server = credentialServerAddress(domain);
    const helper = this.helperFor(config, server);
    const auths: Record<string, ConfigAuthEntry> = { ...(config.auths ?? {}) };
    for (const key of Object.keys(auths)) {
      if (key !== server && convertToHostname(key) === convertToHostname(server)) delete auths[key];
    }
    if (helper) {
      const username = auth.identityToken ? TOKEN_USERNAME : (auth.username ?? '');
      const secret = auth.identityToken ?? auth.password ?? '';
      await this.runHelper(helper, 'store', JSON.stringify({ ServerURL: server, Username: username, Secret: secret }));
      auths[server] = {};
    } else {
      const entry: ConfigAuthEntry = {};
      if (auth.username !== undefined || auth.password !== undefined) {
        entry.auth = Buffer.from(`${auth.username ?? ''}:${auth.password ?? ''}`).toString('base64');
      }
      if (auth.identityToken) entry.identitytoken = auth.identityToken;
      if (auth.registryToken) entry.registrytoken = auth.registryToken;
      auths[server] = entry;
    }
    await this.save({ ...config, auths });
  }

  /** Removes credentials for `domain` (logout). No error if there were none. */
  async erase(domain: string): Promise<void> {
    const config = await this.load();
    const server = credentialServerAddress(domain);
    const helper = this.helperFor(config, server);
    if (helper) {
      try {
        await this.runHelper(helper, 'erase', server);
      } catch (err) {
        if (!errorMessage(err).includes(HELPER_NOT_FOUND)) throw err;
      }
    }
    const auths: Record<string, ConfigAuthEntry> = { ...(config.auths ?? {}) };
    let changed = false;
    for (const key of Object.keys(auths)) {
      if (key === server || convertToHostname(key) === convertToHostname(server)) {
        delete auths[key];
        changed = true;
      }
    }
    if (changed) await this.save({ ...config, auths });
  }

  private helperFor(config: ConfigFile, server: string): string | undefined {
    const helpers = config.credHelpers ?? {};
    const byExact = helpers[server];
    if (typeof byExact === 'string' && byExact !== '') return byExact;
    const host = convertToHostname(server);
    for (const [key, value] of Object.entries(helpers)) {
      if (convertToHostname(key) === host && typeof value === 'string' && value !== '') return value;
    }
    return typeof config.credsStore === 'string' && config.credsStore !== '' ? config.credsStore : undefined;
  }

  private async helperGet(helper: string, server: string): Promise<AuthConfig | undefined> {
    let out: string;
    try {
      out = await this.runHelper(helper, 'get', server);
    } catch (err) {
      if (errorMessage(err).includes(HELPER_NOT_FOUND)) return undefined;
      throw err;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(out);
    } catch {
      throw unavailable(`error getting credentials - docker-credential-${helper} returned invalid JSON`);
    }
    if (!parsed || typeof parsed !== 'object') return undefined;
    const { Username, Secret } = parsed as { Username?: unknown; Secret?: unknown };
    const username = typeof Username === 'string' ? Username : '';
    const secret = typeof Secret === 'string' ? Secret : '';
    if (username === '' && secret === '') return undefined;
    if (username === TOKEN_USERNAME) return { identityToken: secret };
    return { username, password: secret };
  }

  /** Runs `docker-credential-<helper> <action>` with `input` on stdin; resolves with stdout. */
  private runHelper(helper: string, action: 'get' | 'store' | 'erase', input: string): Promise<string> {
    const program = `docker-credential-${helper}`;
    return new Promise((resolve, reject) => {
      const child = spawn(program, [action], { env: this.env, stdio: ['pipe', 'pipe', 'pipe'] });
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      let settled = false;
      const finish = (err: Error | undefined, value?: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(value ?? '');
      };
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        finish(unavailable(`error getting credentials - ${program} ${action} timed out after ${this.helperTimeoutMs} ms`));
      }, this.helperTimeoutMs);
      child.stdout.on('data', (c: Buffer) => stdout.push(c));
      child.stderr.on('data', (c: Buffer) => stderr.push(c));
      child.on('error', (err) => {
        const what = errnoCode(err) === 'ENOENT' ? `exec: "${program}": executable file not found in $PATH` : errorMessage(err);
        finish(unavailable(`error getting credentials - err: ${what}`, err));
      });
      child.on('close', (code) => {
        const out = Buffer.concat(stdout).toString('utf8').trim();
        if (code === 0) finish(undefined, out);
        else {
          const detail = out || Buffer.concat(stderr).toString('utf8').trim() || `exit status ${code}`;
          finish(unavailable(`error ${action === 'get' ? 'getting' : action === 'store' ? 'storing' : 'erasing'} credentials - err: exit status ${code}, out: \`${detail}\``));
        }
      });
      child.stdin.on('error', () => undefined);
      child.stdin.end(input);
    });
  }

  private async load(): Promise<ConfigFile> {
    let text: string;
    try {
      text = await readFile(this.configPath, 'utf8');
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return {};
      throw err;
    }
    if (text.trim() === '') return {};
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw invalidArgument(`${this.configPath}: invalid JSON: ${errorMessage(err)}`);
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw invalidArgument(`${this.configPath}: expected a JSON object`);
    }
    return parsed as ConfigFile;
  }

  private async save(config: ConfigFile): Promise<void> {
    await mkdir(this.configDir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(this.configPath, JSON.stringify(config, null, '\t') + '\n', 0o600);
  }
}

/** Docker's registry.ConvertToHostname: strips the scheme and any path. */
export function convertToHostname(address: string): string {
  let value = address;
  if (value.startsWith('http://')) value = value.slice(7);
  else if (value.startsWith('https://')) value = value.slice(8);
  const slash = value.indexOf('/');
  return slash >= 0 ? value.slice(0, slash) : value;
}

function findAuthEntry(auths: Record<string, ConfigAuthEntry>, server: string): ConfigAuthEntry | undefined {
  const exact = auths[server];
  if (exact && typeof exact === 'object') return exact;
  const host = convertToHostname(server);
  for (const [key, entry] of Object.entries(auths)) {
    if (convertToHostname(key) === host && entry && typeof entry === 'object') return entry;
  }
  return undefined;
}

function decodeEntry(entry: ConfigAuthEntry, server: string): AuthConfig | undefined {
  const out: AuthConfig = {};
  if (typeof entry.auth === 'string' && entry.auth !== '') {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw invalidArgument(`config.json: invalid auth entry for ${server}: expected base64 of "user:password"`);
    out.username = decoded.slice(0, colon);
    out.password = decoded.slice(colon + 1).replace(/\0+$/, '');
  } else {
    if (typeof entry.username === 'string') out.username = entry.username;
    if (typeof entry.password === 'string') out.password = entry.password;
  }
  if (typeof entry.identitytoken === 'string' && entry.identitytoken !== '') out.identityToken = entry.identitytoken;
  if (typeof entry.registrytoken === 'string' && entry.registrytoken !== '') out.registryToken = entry.registrytoken;
  return Object.keys(out).length > 0 ? out : undefined;
}

// -----------------------------------------------------------------------------------------------
// WWW-Authenticate
// -----------------------------------------------------------------------------------------------

export interface Challenge {
  /** Lower-cased scheme: "basic", "bearer", … */
  scheme: string;
  /** Parameter names lower-cased; values unquoted. */
  params: Record<string, string>;
}

/**
 * Parses one or more WWW-Authenticate header values (RFC 7235), e.g.
 * `Bearer realm="https://auth.example/token",service="registry",scope="repository:a/b:pull,push"`.
 * Quoted values may contain commas and backslash escapes; several challenges may share a header.
 */
export function parseWWWAuthenticate(header: string | readonly string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  const values = typeof header === 'string' ? [header] : header;
  const out: Challenge[] = [];
  for (const value of values) out.push(...parseOneHeader(value));
  return out;
}

function parseOneHeader(input: string): Challenge[] {
  const challenges: Challenge[] = [];
  let i = 0;
  const n = input.length;
  const skipWs = (): void => {
    while (i < n && (input[i] === ' ' || input[i] === '\t')) i++;
  };
  const readToken = (): string => {
    const start = i;
    while (i < n && /[!#$%&'*+\-.^_`|~0-9A-Za-z]/.test(input[i] ?? '')) i++;
    return input.slice(start, i);
  };
  let current: Challenge | undefined;
  while (i < n) {
    skipWs();
    if (input[i] === ',') {
      i++;
      continue;
    }
    const token = readToken();
    if (token === '') {
      i++; // skip a stray character
      continue;
    }
    skipWs();
    if (input[i] === '=' && current) {
      // auth-param: name=value
      i++;
      skipWs();
      let value = '';
      if (input[i] === '"') {
        i++;
        while (i < n && input[i] !== '"') {
          if (input[i] === '\\' && i + 1 < n) i++;
          value += input[i];
          i++;
        }
        i++; // closing quote
      } else {
        const vStart = i;
        while (i < n && input[i] !== ',' && input[i] !== ' ' && input[i] !== '\t') i++;
        value = input.slice(vStart, i);
      }
      current.params[token.toLowerCase()] = value;
    } else if (input[i] === '=' && !current) {
      // token68 or malformed before any scheme: skip to the next comma
      while (i < n && input[i] !== ',') i++;
    } else {
      // a new scheme; a following token68 (e.g. "Negotiate abc==") is ignored
      current = { scheme: token.toLowerCase(), params: {} };
      challenges.push(current);
    }
  }
  return challenges;
}

// -----------------------------------------------------------------------------------------------
// Authorizer: challenge → Authorization header, bearer token cache
// -----------------------------------------------------------------------------------------------

export interface AuthorizerOptions {
  userAgent?: string;
  /** Dispatcher for requests to a token realm (TLS settings per host). Default: undici's global. */
  dispatcherFor?: (url: URL) => Dispatcher | undefined;
  /** Client id sent to token servers (Docker sends "docker"). */
  clientId?: string;
  now?: () => number;
}

interface CachedToken {
  header: string;
  expiresAt: number;
}

/** Docker clamps token lifetimes below 60 s to 60 s (registry/auth token handler). */
const MIN_TOKEN_LIFETIME_S = 60;

export class Authorizer {
  private readonly challenges = new Map<string, Challenge[]>();
  private readonly tokens = new Map<string, CachedToken>();
  private readonly inflight = new Map<string, Promise<string | undefined>>();
  private readonly creds = new Map<string, { value: Promise<AuthConfig | undefined>; expiresAt: number }>();
  private readonly now: () => number;

  constructor(
    private readonly credentials: CredentialSource,
    private readonly options: AuthorizerOptions = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  /** Remembers the challenge a registry answered with (e.g. from the GET /v2/ ping). */
  recordChallenge(domain: string, header: string | readonly string[] | undefined): void {
    const parsed = parseWWWAuthenticate(header).filter((c) => c.scheme === 'basic' || c.scheme === 'bearer');
    if (parsed.length > 0) this.challenges.set(domain, parsed);
  }

  knowsChallenge(domain: string): boolean {
    return this.challenges.has(domain);
  }

  /**
   * The Authorization header to send to `domain` for `scope` (e.g. "repository:library/busybox:pull"),
   * using the cached challenge and token. Undefined when the registry has not asked for auth.
   */
  async authorize(domain: string, scopes: readonly string[]): Promise<string | undefined> {
    const challenge = pickChallenge(this.challenges.get(domain));
    if (!challenge) return undefined;
    const key = tokenKey(domain, scopes);
    const cached = this.tokens.get(key);
    if (cached && cached.expiresAt > this.now()) return cached.header;
    return this.obtain(domain, challenge, scopes);
  }

  /**
   * Called on a 401: records the new challenge, drops the cached token for the scope and obtains
   * a new one. Returns undefined when there is nothing (more) to try: no usable challenge, or a
   * Basic challenge without credentials.
   */
  async onUnauthorized(
    domain: string,
    scopes: readonly string[],
    header: string | readonly string[] | undefined,
  ): Promise<string | undefined> {
    this.recordChallenge(domain, header);
    this.tokens.delete(tokenKey(domain, scopes));
    const challenge = pickChallenge(this.challenges.get(domain));
    if (!challenge) return undefined;
    // Merge the scope the registry asked for with ours (Docker sends its own; some registries need theirs).
    const asked = challenge.scheme === 'bearer' ? challenge.params.scope : undefined;
    const all = asked && !scopes.includes(asked) ? [...scopes, ...asked.split(' ').filter((s) => s !== '')] : scopes;
    return this.obtain(domain, challenge, all, tokenKey(domain, scopes));
  }

  /** Drops every cached token and credential (e.g. after login/logout). */
  clear(): void {
    this.tokens.clear();
    this.creds.clear();
  }

  /** Credentials are looked up at most every 30 s per registry (helpers are processes). */
  private credentialsFor(domain: string): Promise<AuthConfig | undefined> {
    const cached = this.creds.get(domain);
    if (cached && cached.expiresAt > this.now()) return cached.value;
    const value = this.credentials.get(domain);
    this.creds.set(domain, { value, expiresAt: this.now() + 30_000 });
    value.catch(() => this.creds.delete(domain));
    return value;
  }

  private async obtain(
    domain: string,
    challenge: Challenge,
    scopes: readonly string[],
    cacheKey = tokenKey(domain, scopes),
  ): Promise<string | undefined> {
    const running = this.inflight.get(cacheKey);
    if (running) return running;
    const work = (async (): Promise<string | undefined> => {
      const creds = await this.credentialsFor(domain);
      if (creds?.registryToken) return `Bearer ${creds.registryToken}`;
      if (challenge.scheme === 'basic') {
        if (!creds || (creds.username === undefined && creds.password === undefined)) return undefined;
        const header = `Basic ${Buffer.from(`${creds.username ?? ''}:${creds.password ?? ''}`).toString('base64')}`;
        this.tokens.set(cacheKey, { header, expiresAt: Number.POSITIVE_INFINITY });
        return header;
      }
      const { token, expiresIn } = await this.fetchToken(domain, challenge, scopes, creds);
      const header = `Bearer ${token}`;
      const lifetime = Math.max(expiresIn ?? MIN_TOKEN_LIFETIME_S, MIN_TOKEN_LIFETIME_S);
      // Refresh a little early so a token does not expire between check and use.
      this.tokens.set(cacheKey, { header, expiresAt: this.now() + (lifetime - 5) * 1000 });
      return header;
    })();
    this.inflight.set(cacheKey, work);
    try {
      return await work;
    } finally {
      this.inflight.delete(cacheKey);
    }
  }

  /** Fetches a bearer token from the challenge's realm. */
  async fetchToken(
    domain: string,
    challenge: Challenge,
    scopes: readonly string[],
    creds: AuthConfig | undefined,
  ): Promise<{ token: string; expiresIn?: number }> {
    const realm = challenge.params.realm;
    if (!realm) throw new BerthError('unauthorized', `registry ${domain}: bearer challenge without realm`);
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new BerthError('unauthorized', `registry ${domain}: invalid token realm "${realm}"`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new BerthError('unauthorized', `registry ${domain}: unsupported token realm scheme "${url.protocol}"`);
    }
    const service = challenge.params.service;
    const clientId = this.options.clientId ?? 'berth';
    const headers: Record<string, string> = {};
    if (this.options.userAgent) headers['user-agent'] = this.options.userAgent;
    let method: 'GET' | 'POST' = 'GET';
    let body: string | undefined;
    if (creds?.identityToken) {
      // OAuth2 refresh-token grant (Docker: registry/auth.go fetchTokenWithOAuth).
      method = 'POST';
      const form = new URLSearchParams();
      form.set('grant_type', 'refresh_token');
      form.set('refresh_token', creds.identityToken);
      form.set('client_id', clientId);
      if (service) form.set('service', service);
      for (const s of scopes) form.append('scope', s);
      body = form.toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    } else {
      if (service) url.searchParams.set('service', service);
      for (const s of scopes) url.searchParams.append('scope', s);
      if (creds && (creds.username !== undefined || creds.password !== undefined)) {
        headers.authorization = `Basic ${Buffer.from(`${creds.username ?? ''}:${creds.password ?? ''}`).toString('base64')}`;
        if (creds.username) url.searchParams.set('account', creds.username);
        url.searchParams.set('client_id', clientId);
        url.searchParams.set('offline_token', 'true');
      }
    }
    let res: Dispatcher.ResponseData;
    try {
      res = await request(url, {
        method,
        headers,
        body,
        dispatcher: this.options.dispatcherFor?.(url),
      });
    } catch (err) {
      throw unavailable(`token server ${url.host} for registry ${domain} unreachable: ${networkErrorMessage(err)}`, err);
    }
    const text = await readLimited(res.body, 1024 * 1024);
    if (res.statusCode === 401 || res.statusCode === 403) {
      throw new BerthError(
        'unauthorized',
        `registry ${domain}: token server ${url.host} refused the credentials (${res.statusCode})${detailFromBody(text)}`,
      );
    }
    if (res.statusCode >= 500) {
      throw unavailable(`token server ${url.host} for registry ${domain} failed with status ${res.statusCode}${detailFromBody(text)}`);
    }
    if (res.statusCode !== 200) {
      throw new BerthError('unauthorized', `registry ${domain}: token request failed with status ${res.statusCode}${detailFromBody(text)}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw invalidArgument(`registry ${domain}: token server ${url.host} returned invalid JSON`);
    }
    const obj = (parsed && typeof parsed === 'object' ? parsed : {}) as {
      token?: unknown;
      access_token?: unknown;
      expires_in?: unknown;
    };
    const token =
      typeof obj.access_token === 'string' && obj.access_token !== ''
        ? obj.access_token
        : typeof obj.token === 'string' && obj.token !== ''
          ? obj.token
          : undefined;
    if (!token) throw invalidArgument(`registry ${domain}: token server ${url.host} returned no token`);
    const out: { token: string; expiresIn?: number } = { token };
    if (typeof obj.expires_in === 'number' && Number.isFinite(obj.expires_in)) out.expiresIn = obj.expires_in;
    return out;
  }
}

function pickChallenge(list: Challenge[] | undefined): Challenge | undefined {
  if (!list) return undefined;
  return list.find((c) => c.scheme === 'bearer') ?? list.find((c) => c.scheme === 'basic');
}

function tokenKey(domain: string, scopes: readonly string[]): string {
  return `${domain}\n${[...scopes].sort().join(' ')}`;
}

/** Human text for an undici / socket error, unwrapping AggregateError (happy-eyeballs). */
export function networkErrorMessage(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) {
    const messages = [...new Set(err.errors.map((e: unknown) => errorMessage(e)))];
    return messages.join('; ');
  }
  const message = errorMessage(err);
  if (message === '' && err && typeof err === 'object' && 'code' in err) return String((err as { code: unknown }).code);
  return message;
}

/** Reads at most `limit` bytes of a body (the rest is discarded). */
export async function readLimited(body: Dispatcher.ResponseData['body'], limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of body) {
      const buf = chunk as Buffer;
      if (total + buf.length > limit) {
        chunks.push(buf.subarray(0, limit - total));
        total = limit;
        break;
      }
      chunks.push(buf);
      total += buf.length;
    }
  } catch {
    // a broken error body is not worth failing over
  } finally {
    body.destroy();
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** `: code: message` from a registry/token JSON error body, or a short text excerpt. */
function detailFromBody(text: string): string {
  const detail = registryErrorDetail(text);
  return detail ? `: ${detail}` : '';
}

/**
 * Formats a distribution error body `{"errors":[{"code","message","detail"}]}` the way Docker
 * does (errcode.Error: "<code description>: <message>", shortened when they are equal), or the
 * token server's `{"details": …}` / `{"error": …}`; falls back to a trimmed text excerpt.
 */
export function registryErrorDetail(text: string): string {
  const trimmed = text.trim();
  if (trimmed === '') return '';
  try {
    const parsed: unknown = JSON.parse(trimmed);
    if (parsed && typeof parsed === 'object') {
      const errors = (parsed as { errors?: unknown }).errors;
      if (Array.isArray(errors) && errors.length > 0) {
        return errors
          .map((e: unknown) => {
            const { code, message } = (e ?? {}) as { code?: unknown; message?: unknown };
            const codeText = typeof code === 'string' ? code.replace(/_/g, ' ').toLowerCase() : '';
            const msg = typeof message === 'string' ? message : '';
            if (codeText && msg && codeText !== msg.toLowerCase()) return `${codeText}: ${msg}`;
            return msg || codeText || 'unknown error';
          })
          .join('; ');
      }
      const { details, error, message } = parsed as { details?: unknown; error?: unknown; message?: unknown };
      for (const v of [details, error, message]) if (typeof v === 'string' && v !== '') return v;
    }
  } catch {
    // not JSON
  }
  const oneLine = trimmed.replace(/\s+/g, ' ');
  return oneLine.length > 200 ? `${oneLine.slice(0, 200)}…` : oneLine;
}

/**
 * A small Docker Engine API client over node:http: version negotiation via HEAD /_ping
 * (Api-Version header, capped at the version this CLI speaks), one keep-alive agent so
 * consecutive calls reuse a connection, JSON helpers, Docker's error wording, and the
 * connection hijack (`Connection: Upgrade`, `Upgrade: tcp`, 101) used by attach and exec.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import { ApiError, DaemonUnreachableError } from './errors.js';
import type { DaemonAddress } from './host.js';

export const MAX_API_VERSION = '1.50';
/** What docker assumes when a daemon's /_ping carries no Api-Version. */
export const FALLBACK_API_VERSION = '1.24';
export const USER_AGENT = 'Berth-Client/0.1.0 (linux)';

export type QueryValue = string | number | boolean | undefined | null;
export type Query = Record<string, QueryValue | readonly string[]>;

export interface RequestOptions {
  method: string;
  /** Unversioned API path, e.g. "/containers/json"; the client adds "/v1.NN". */
  path: string;
  query?: Query;
  /** Sent as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Streamed as the body instead of `body` (e.g. a tar for PUT /containers/{id}/archive). */
  bodyStream?: NodeJS.ReadableStream;
}

export interface HijackedStream {
  socket: Socket;
  /** Bytes the HTTP parser read past the 101 response; they belong to the stream. */
  head: Buffer;
  contentType: string | undefined;
}

/** Compares dotted API versions numerically ("1.9" < "1.41"). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map((x) => Number.parseInt(x, 10) || 0);
  const pb = b.split('.').map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** url.Values.Encode(): keys sorted, booleans as 1/0, undefined/null/false-y omitted by callers. */
export function encodeQuery(query: Query | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const key of Object.keys(query).sort()) {
    const v = query[key];
    if (v === undefined || v === null) continue;
    if (Array.isArray(v)) for (const x of v) params.append(key, String(x));
    else params.append(key, typeof v === 'boolean' ? (v ? '1' : '0') : String(v));
  }
  const s = params.toString();
  return s === '' ? '' : `?${s}`;
}

/** A JSON request body as Go's json.Encoder writes it (moby's client uses one): newline-terminated. */
function encodeBody(body: unknown): Buffer {
  return Buffer.from(`${JSON.stringify(body)}\n`);
}

/** Escapes a path segment the way Go's url.URL does for Path: '/' and ':' stay as they are. */
export function pathSegment(s: string): string {
  return encodeURI(s).replace(/[?#]/g, (c) => encodeURIComponent(c));
}

export async function readBody(res: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function errnoOf(err: unknown): string | undefined {
  if (err && typeof err === 'object' && 'code' in err) {
    const c = (err as { code: unknown }).code;
    return typeof c === 'string' ? c : undefined;
  }
  return undefined;
}

export class ApiClient {
  readonly address: DaemonAddress;
  private readonly agent: http.Agent;
  private version: string | undefined;
  private negotiating: Promise<string> | undefined;

  constructor(address: DaemonAddress, opts: { apiVersion?: string } = {}) {
    this.address = address;
    this.agent = new http.Agent({ keepAlive: true });
    this.version = opts.apiVersion;
  }

  private connectOptions(): http.RequestOptions & { servername: string } {
    // An empty TLS server name: the connection is plain HTTP, and without it node's agent
    // derives one with isIP(), whose first call compiles a regex for ~5 ms of every command.
    return this.address.kind === 'unix'
      ? { socketPath: this.address.socketPath, servername: '' }
      : { host: this.address.host, port: this.address.port, servername: '' };
  }

  /** Maps socket-level failures to docker's messages. */
  connectionError(err: unknown): Error {
    const code = errnoOf(err);
    if (code === 'ECONNREFUSED' || code === 'ENOENT' || code === 'ENOTDIR' || code === 'EHOSTUNREACH') {
      return new DaemonUnreachableError(`Cannot connect to the berth daemon at ${this.address.url}. Is berthd running?`);
    }
    if (code === 'EACCES' || code === 'EPERM') {
      return new DaemonUnreachableError(
        `permission denied while trying to connect to the berth daemon socket at ${this.address.url}: connect: permission denied`,
      );
    }
    if (err instanceof Error && err.name === 'AbortError') return err;
    const msg = err instanceof Error ? err.message : String(err);
    return new DaemonUnreachableError(`error during connect: ${msg}`);
  }

  /** The negotiated API version ("1.50" at most). */
  apiVersion(): Promise<string> {
    if (this.version !== undefined) return Promise.resolve(this.version);
    this.negotiating ??= this.ping().then((h) => {
      const server = h.apiVersion ?? FALLBACK_API_VERSION;
      this.version = compareVersions(server, MAX_API_VERSION) < 0 ? server : MAX_API_VERSION;
      return this.version;
    });
    return this.negotiating;
  }

  /** HEAD /_ping; returns the server's headers of interest. */
  ping(): Promise<{ apiVersion?: string; osType?: string; experimental?: boolean; status: number }> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        { ...this.connectOptions(), agent: this.agent, method: 'HEAD', path: '/_ping', headers: { 'User-Agent': USER_AGENT } },
        (res) => {
          res.resume();
          const v = res.headers['api-version'];
          const os = res.headers['ostype'];
          resolve({
            status: res.statusCode ?? 0,
            ...(typeof v === 'string' && v !== '' ? { apiVersion: v } : {}),
            ...(typeof os === 'string' ? { osType: os } : {}),
            experimental: res.headers['docker-experimental'] === 'true',
          });
        },
      );
      req.on('error', (e) => reject(this.connectionError(e)));
      req.end();
    });
  }

  private async fullPath(path: string, query?: Query): Promise<string> {
    const v = await this.apiVersion();
    return `/v${v}${path}${encodeQuery(query)}`;
  }

  /**
   * Sends a request and resolves once the response headers are in. 4xx/5xx responses are read
   * and rejected as ApiError with the daemon's message.
   */
  async request(opts: RequestOptions): Promise<http.IncomingMessage> {
    const path = await this.fullPath(opts.path, opts.query);
    const payload = opts.body === undefined ? undefined : encodeBody(opts.body);
    const headers: Record<string, string> = { 'User-Agent': USER_AGENT, ...opts.headers };
    if (payload) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = String(payload.length);
    } else if ((opts.method === 'POST' || opts.method === 'PUT') && !opts.bodyStream) {
      headers['Content-Length'] = '0';
    }
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.request(
        { ...this.connectOptions(), agent: this.agent, method: opts.method, path, headers, ...(opts.signal ? { signal: opts.signal } : {}) },
        resolve,
      );
      req.on('error', (e) => reject(this.connectionError(e)));
      if (opts.bodyStream) {
        opts.bodyStream.on('error', (e: Error) => req.destroy(e));
        opts.bodyStream.pipe(req);
      } else req.end(payload);
    });
    const status = res.statusCode ?? 0;
    if (status >= 400) throw await this.errorFrom(res, path);
    return res;
  }

  /** Sends a raw request body (a tar for load/import), streamed with chunked encoding. */
  async upload(opts: RequestOptions, body: NodeJS.ReadableStream, contentType: string): Promise<http.IncomingMessage> {
    const path = await this.fullPath(opts.path, opts.query);
    const headers: Record<string, string> = { 'User-Agent': USER_AGENT, 'Content-Type': contentType, ...opts.headers };
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.request({ ...this.connectOptions(), agent: this.agent, method: opts.method, path, headers }, resolve);
      req.on('error', (e) => reject(this.connectionError(e)));
      body.on('error', (e) => req.destroy(e));
      body.pipe(req);
    });
    const status = res.statusCode ?? 0;
    if (status >= 400) throw await this.errorFrom(res, path);
    return res;
  }

  /** Reads an error response into docker's wording. */
  async errorFrom(res: http.IncomingMessage, path: string): Promise<ApiError> {
    const status = res.statusCode ?? 0;
    let text = '';
    try {
      text = (await readBody(res)).toString('utf8');
    } catch {
      // the body is best effort
    }
    if (text.trim() === '') {
      const statusText = http.STATUS_CODES[status] ?? String(status);
      const msg = `request returned ${statusText} for API route and version ${path}, check if the server supports the requested API version`;
      return new ApiError(status, msg, msg);
    }
    let message = text.trim();
    const ct = String(res.headers['content-type'] ?? '');
    if (ct.includes('json') || message.startsWith('{')) {
      try {
        const parsed = JSON.parse(text) as { message?: unknown };
        if (typeof parsed.message === 'string') message = parsed.message.trim();
      } catch {
        // not JSON after all: keep the text
      }
    }
    return new ApiError(status, message);
  }

  /** Request + parse a JSON body. */
  async json<T>(opts: RequestOptions): Promise<T> {
    const res = await this.request(opts);
    const body = await readBody(res);
    if (body.length === 0) return undefined as T;
    return JSON.parse(body.toString('utf8')) as T;
  }

  /** Request whose body (if any) is ignored. */
  async send(opts: RequestOptions): Promise<void> {
    const res = await this.request(opts);
    res.resume();
    await new Promise<void>((resolve) => {
      if (res.complete) resolve();
      else {
        res.on('end', resolve);
        res.on('close', resolve);
      }
    });
  }

  /** Upgrades a POST to a raw bidirectional stream (attach, exec start). */
  async hijack(opts: RequestOptions): Promise<HijackedStream> {
    const path = await this.fullPath(opts.path, opts.query);
    const payload = opts.body === undefined ? undefined : encodeBody(opts.body);
    const headers: Record<string, string> = {
      'User-Agent': USER_AGENT,
      Connection: 'Upgrade',
      Upgrade: 'tcp',
      'Content-Type': payload ? 'application/json' : 'text/plain',
      'Content-Length': String(payload?.length ?? 0),
      ...opts.headers,
    };
    return new Promise<HijackedStream>((resolve, reject) => {
      const req = http.request({ ...this.connectOptions(), agent: false, method: opts.method, path, headers });
      req.on('upgrade', (res, socket, head) => {
        const ct = res.headers['content-type'];
        resolve({ socket: socket as Socket, head, contentType: typeof ct === 'string' ? ct : undefined });
      });
      req.on('response', (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 400) {
          this.errorFrom(res, path).then(reject, reject);
        } else {
          res.resume();
          reject(new Error(`unable to upgrade to tcp, received ${status}`));
        }
      });
      req.on('error', (e) => reject(this.connectionError(e)));
      req.end(payload);
    });
  }

  /** Closes idle keep-alive connections so the process can exit. */
  close(): void {
    this.agent.destroy();
  }
}

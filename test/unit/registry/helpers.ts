/** Test helpers: a scriptable fake distribution registry on 127.0.0.1, a credential helper, ports. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer } from 'node:net';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256, type Digest } from '../../../src/core/digest.js';

export interface LoggedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
}

export type AuthMode =
  | { kind: 'none' }
  | { kind: 'basic'; username: string; password: string }
  | { kind: 'bearer'; token: string; username?: string; password?: string; expiresIn?: number; field?: 'token' | 'access_token' };

export type BlobHook = (req: IncomingMessage, res: ServerResponse, blob: Buffer, attempt: number) => boolean;

export class FakeRegistry {
  readonly requests: LoggedRequest[] = [];
  readonly tokenRequests: LoggedRequest[] = [];
  readonly manifests = new Map<string, { bytes: Buffer; mediaType: string; headerDigest?: string }>();
  readonly blobs = new Map<string, Buffer>();
  readonly blobAttempts = new Map<string, number>();
  auth: AuthMode = { kind: 'none' };
  blobHook: BlobHook | undefined;
  manifestStatus: { status: number; body: string } | undefined;
  port = 0;
  scheme: 'http' | 'https' = 'http';
  /** HTTP parse errors, e.g. a TLS ClientHello sent to this plain-HTTP server. */
  clientErrors = 0;
  private server: Server | undefined;

  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(tls?: { key: Buffer; cert: Buffer }): Promise<void> {
    if (tls) {
      this.scheme = 'https';
      this.server = createHttpsServer({ key: tls.key, cert: tls.cert }, (req, res) => this.handle(req, res));
    } else {
      this.server = createServer((req, res) => this.handle(req, res));
      this.server.on('clientError', (_err, socket) => {
        this.clientErrors += 1;
        socket.destroy();
      });
    }
    this.port = await listen(this.server);
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  /** Adds a manifest under `repo` by tag and by digest. */
  putManifest(repo: string, tag: string | undefined, doc: unknown | Buffer, mediaType: string): { digest: Digest; bytes: Buffer } {
    const bytes = Buffer.isBuffer(doc) ? doc : Buffer.from(JSON.stringify(doc, null, 3));
    const digest = sha256(bytes);
    this.manifests.set(`${repo}@${digest}`, { bytes, mediaType });
    if (tag) this.manifests.set(`${repo}@${tag}`, { bytes, mediaType });
    return { digest, bytes };
  }

  putBlob(data: Buffer): Digest {
    const digest = sha256(data);
    this.blobs.set(digest, data);
    return digest;
  }

  private authorized(req: IncomingMessage): boolean {
    const got = req.headers.authorization;
    switch (this.auth.kind) {
      case 'none':
        return true;
      case 'basic':
        return got === `Basic ${Buffer.from(`${this.auth.username}:${this.auth.password}`).toString('base64')}`;
      case 'bearer':
        return got === `Bearer ${this.auth.token}`;
    }
  }

  private challenge(res: ServerResponse, scope: string | undefined): void {
    if (this.auth.kind === 'basic') {
      res.setHeader('www-authenticate', 'Basic realm="fake registry"');
    } else if (this.auth.kind === 'bearer') {
      const scopePart = scope ? `,scope="${scope}"` : '';
      res.setHeader('www-authenticate', `Bearer realm="${this.scheme}://${this.host}/token",service="fake-registry"${scopePart}`);
    }
    json(res, 401, { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required', detail: null }] });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', `${this.scheme}://${this.host}`);
    const entry = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers };
    res.setHeader('docker-distribution-api-version', 'registry/2.0');

    if (url.pathname === '/token') {
      this.tokenRequests.push(entry);
      if (this.auth.kind !== 'bearer') return json(res, 404, {});
      if (this.auth.username !== undefined) {
        const want = `Basic ${Buffer.from(`${this.auth.username}:${this.auth.password ?? ''}`).toString('base64')}`;
        if (req.headers.authorization !== want) {
          return json(res, 401, { details: 'incorrect username or password' });
        }
      }
      const field = this.auth.field ?? 'token';
      return json(res, 200, { [field]: this.auth.token, expires_in: this.auth.expiresIn ?? 300 });
    }
    this.requests.push(entry);
    if (!url.pathname.startsWith('/v2/')) return json(res, 404, {});

    const rest = url.pathname.slice(4);
    const kindMatch = /^(.+)\/(manifests|blobs)\/([^/]+)$/.exec(rest);
    const scope = kindMatch ? `repository:${kindMatch[1]}:pull` : undefined;
    if (!this.authorized(req)) return this.challenge(res, scope);
    if (url.pathname === '/v2/') return json(res, 200, {});
    if (!kindMatch) return json(res, 404, { errors: [{ code: 'NAME_UNKNOWN', message: 'repository name not known to registry' }] });
    const [, repo, kind, ref] = kindMatch as unknown as [string, string, string, string];

    if (kind === 'manifests') {
      if (this.manifestStatus) {
        res.statusCode = this.manifestStatus.status;
        res.setHeader('content-type', 'application/json');
        res.end(this.manifestStatus.body);
        return;
      }
      const m = this.manifests.get(`${repo}@${ref}`);
      if (!m) {
        return json(res, 404, { errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown', detail: { Tag: ref } }] });
      }
      res.statusCode = 200;
      res.setHeader('content-type', m.mediaType);
      res.setHeader('content-length', m.bytes.length);
      res.setHeader('docker-content-digest', m.headerDigest ?? sha256(m.bytes));
      res.end(req.method === 'HEAD' ? undefined : m.bytes);
      return;
    }

    const blob = this.blobs.get(ref);
    if (!blob) return json(res, 404, { errors: [{ code: 'BLOB_UNKNOWN', message: 'blob unknown to registry', detail: ref }] });
    const attempt = (this.blobAttempts.get(ref) ?? 0) + 1;
    this.blobAttempts.set(ref, attempt);
    if (this.blobHook && this.blobHook(req, res, blob, attempt)) return;
    serveBlob(req, res, blob);
  }
}

/** Serves a blob honouring `Range: bytes=N-`. */
export function serveBlob(req: IncomingMessage, res: ServerResponse, blob: Buffer, opts: { ignoreRange?: boolean } = {}): void {
  const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  res.setHeader('content-type', 'application/octet-stream');
  res.setHeader('accept-ranges', 'bytes');
  res.setHeader('docker-content-digest', sha256(blob));
  if (range && !opts.ignoreRange) {
    const start = Number(range[1]);
    if (start >= blob.length) {
      res.statusCode = 416;
      res.end();
      return;
    }
    res.statusCode = 206;
    res.setHeader('content-range', `bytes ${start}-${blob.length - 1}/${blob.length}`);
    res.setHeader('content-length', blob.length - start);
    res.end(blob.subarray(start));
    return;
  }
  res.statusCode = 200;
  res.setHeader('content-length', blob.length);
  res.end(blob);
}

/** Sends the headers for the full (or ranged) blob, `fraction` of the body, then kills the socket. */
export function serveBlobThenDrop(req: IncomingMessage, res: ServerResponse, blob: Buffer, fraction: number): void {
  const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  const start = range ? Number(range[1]) : 0;
  const body = blob.subarray(start);
  res.statusCode = range ? 206 : 200;
  if (range) res.setHeader('content-range', `bytes ${start}-${blob.length - 1}/${blob.length}`);
  res.setHeader('content-length', body.length);
  res.setHeader('content-type', 'application/octet-stream');
  const cut = Math.floor(body.length * fraction);
  res.write(body.subarray(0, cut), () => {
    setTimeout(() => res.socket?.destroy(), 20);
  });
}

export function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(text));
  res.end(text);
}

export function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address && typeof address === 'object') resolve(address.port);
      else reject(new Error('no port'));
    });
  });
}

/** A throwaway self-signed certificate for 127.0.0.1 (openssl). */
export async function selfSignedCert(dir: string): Promise<{ key: Buffer; cert: Buffer }> {
  const { execFile } = await import('node:child_process');
  const { readFile } = await import('node:fs/promises');
  await mkdir(dir, { recursive: true });
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  await new Promise<void>((resolve, reject) =>
    execFile(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
      (err) => (err ? reject(err) : resolve()),
    ),
  );
  return { key: await readFile(keyPath), cert: await readFile(certPath) };
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
export async function freePort(): Promise<number> {
  const srv = createNetServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', () => resolve()));
  const address = srv.address();
  const port = address && typeof address === 'object' ? address.port : 0;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/**
 * Writes `<dir>/docker-credential-<name>`: a credential helper backed by `<dir>/<name>-store.json`
 * that logs its calls to `<dir>/<name>-calls.log`. Returns the directory to put on PATH.
 */
export async function makeCredentialHelper(dir: string, name: string, initial: Record<string, { Username: string; Secret: string }> = {}): Promise<string> {
  await mkdir(dir, { recursive: true });
  const storePath = join(dir, `${name}-store.json`);
  const logPath = join(dir, `${name}-calls.log`);
  const store: Record<string, { ServerURL: string; Username: string; Secret: string }> = {};
  for (const [server, v] of Object.entries(initial)) store[server] = { ServerURL: server, ...v };
  await writeFile(storePath, JSON.stringify(store));
  const script = `#!${process.execPath}
const fs = require('fs');
const storePath = ${JSON.stringify(storePath)};
const action = process.argv[2];
let input = '';
process.stdin.on('data', (d) => { input += d; });
process.stdin.on('end', () => {
  fs.appendFileSync(${JSON.stringify(logPath)}, action + ' ' + input.replace(/"Secret":"[^"]*"/, '"Secret":"***"') + '\\n');
  const store = JSON.parse(fs.readFileSync(storePath, 'utf8'));
  if (action === 'get') {
    const c = store[input.trim()];
    if (!c) { process.stdout.write('credentials not found in native keychain\\n'); process.exit(1); }
    process.stdout.write(JSON.stringify(c));
  } else if (action === 'store') {
    const c = JSON.parse(input);
    store[c.ServerURL] = c;
    fs.writeFileSync(storePath, JSON.stringify(store));
  } else if (action === 'erase') {
    if (!store[input.trim()]) { process.stdout.write('credentials not found in native keychain\\n'); process.exit(1); }
    delete store[input.trim()];
    fs.writeFileSync(storePath, JSON.stringify(store));
  } else { process.exit(2); }
});
`;
  const path = join(dir, `docker-credential-${name}`);
  await writeFile(path, script);
  await chmod(path, 0o755);
  return dir;
}

/**
 * Distribution (OCI / Docker Registry HTTP API v2) client: manifest resolution and blob fetch.
 *
 * Transport
 * - HTTPS by default. Loopback registries (localhost, 127.0.0.0/8, ::1) and listed insecure
 *   registries (exact "host[:port]", a bare host matching any port, or a CIDR) may use plain
 *   HTTP: like Docker, HTTPS is tried first (certificate not verified) and, if it fails, HTTP.
 *   The working scheme is probed once per registry with `GET /v2/`, which also records the
 *   registry's auth challenge, and is then cached.
 * - Redirects (e.g. 307 to object storage) are followed by hand; Authorization is dropped when the
 *   redirect leaves the registry's origin.
 * - Auth: Authorizer (auth.ts) — cached bearer token per (registry, scope), a single retry on 401.
 *
 * Errors (BerthError codes)
 * - 'unavailable'      "registry 127.0.0.1:5999 unreachable: connect ECONNREFUSED 127.0.0.1:5999";
 *                      5xx and 429 answers; truncated bodies (retried by fetchBlob).
 * - 'unauthorized'     401/403 after authenticating (or no credentials for a Basic registry),
 *                      token server refusing the credentials.
 * - 'not-found'        "manifest for 127.0.0.1:5000/x:y not found: manifest unknown",
 *                      "blob sha256:… not found in 127.0.0.1:5000/x: blob unknown to registry".
 * - 'failed-precondition'  content digest/size mismatch (DigestMismatchError from content/).
 * - 'invalid-argument' malformed manifest / unsupported media type / other 4xx answers.
 * - 'not-implemented'  Docker schema 1 manifests.
 * Registry JSON errors `{errors:[{code,message}]}` are included in the message.
 */
import { BlockList, isIP } from 'node:net';
import { Readable, Transform, pipeline, type TransformCallback, type Writable } from 'node:stream';
import { Agent, request, type Dispatcher } from 'undici';
import { BerthError, invalidArgument, isBerthError, notFound, unavailable } from '../core/errors.js';
import { type Digest, digestAlgorithm, isDigest, newHasher } from '../core/digest.js';
import type { Descriptor } from '../oci/image.js';
import { MediaType, manifestAcceptTypes } from '../oci/media-types.js';
import { ContentStore, DigestMismatchError } from '../content/store.js';
import {
  Authorizer,
  type AuthConfig,
  type CredentialSource,
  StaticCredentials,
  networkErrorMessage,
  noCredentials,
  readLimited,
  registryErrorDetail,
} from './auth.js';
import { type ImageReference, familiarName, parseReference, registryApiHost } from './reference.js';

export { selectPlatformManifest, hostPlatform, normalizePlatform, platformMatches, formatPlatform, parsePlatform } from './platform.js';

export interface RegistryClientOptions {
  /** Registries that may be reached over plain HTTP / unverified TLS: "host:port", "host", or CIDR ("10.0.0.0/8"). */
  insecureRegistries?: string[];
  /** Where credentials come from; usually a CredentialStore over ~/.docker/config.json. */
  credentials?: CredentialSource;
  userAgent?: string;
  /** Attempts per blob download (each resumes with Range from the bytes already stored). Default 5. */
  blobAttempts?: number;
  /** First retry delay for blob downloads in ms (doubles). Default 250. */
  retryDelayMs?: number;
  /** Largest manifest accepted, bytes. Default 4 MiB (containerd's limit). */
  maxManifestBytes?: number;
  /** Time to wait for response headers / between body chunks. Defaults 60 s / 120 s. */
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
}

export interface ResolvedManifest {
  /** Digest of `bytes` (verified against the reference's digest when pulled by digest). */
  digest: Digest;
  mediaType: string;
  /** The manifest or index exactly as received. */
  bytes: Buffer;
  size: number;
}

export interface FetchBlobOptions {
  onProgress?: (bytesSoFar: number) => void;
  /** See IngestOptions.tee: receives the blob's bytes while downloading, ended only after verification. */
  tee?: Writable;
  signal?: AbortSignal;
  /** Ingest ref; default `remote-<digest>` so pulls of one blob from different repos share (and resume) one ingest. */
  ingestRef?: string;
}

type Ref = ImageReference | string;

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const SCHEMA1_TYPES = new Set([
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
]);

interface SendResult {
  res: Dispatcher.ResponseData;
  url: URL;
}

export class RegistryClient {
  private readonly insecureNames = new Set<string>();
  private readonly insecureHosts = new Set<string>();
  private readonly insecureNets = new BlockList();
  private readonly credentials: CredentialSource;
  private readonly authorizer: Authorizer;
  private readonly secureAgent: Agent;
  private readonly insecureAgent: Agent;
  private readonly endpoints = new Map<string, string>();
  private readonly probing = new Map<string, Promise<string>>();
  private readonly userAgent: string;
  private readonly blobAttempts: number;
  private readonly retryDelayMs: number;
  private readonly maxManifestBytes: number;

  constructor(options: RegistryClientOptions = {}) {
    for (const entry of options.insecureRegistries ?? []) this.addInsecure(entry);
    this.credentials = options.credentials ?? noCredentials;
    this.userAgent = options.userAgent ?? `berth/0.1.0 node/${process.versions.node}`;
    this.blobAttempts = options.blobAttempts ?? 5;
    this.retryDelayMs = options.retryDelayMs ?? 250;
    this.maxManifestBytes = options.maxManifestBytes ?? 4 * 1024 * 1024;
    const timeouts = { headersTimeout: options.headersTimeoutMs ?? 60_000, bodyTimeout: options.bodyTimeoutMs ?? 120_000 };
    this.secureAgent = new Agent({ ...timeouts });
    this.insecureAgent = new Agent({ ...timeouts, connect: { rejectUnauthorized: false } });
    this.authorizer = new Authorizer(this.credentials, {
      userAgent: this.userAgent,
      dispatcherFor: (url) => this.dispatcherFor(url),
    });
  }

  /** Forgets cached tokens and credentials (call after login/logout). */
  clearAuthCache(): void {
    this.authorizer.clear();
  }

  /** Closes pooled connections. */
  async close(): Promise<void> {
    await Promise.all([this.secureAgent.close(), this.insecureAgent.close()]);
  }

  /** Whether `domain` may be reached over plain HTTP (loopback or configured insecure). */
  isInsecure(domain: string): boolean {
    if (this.insecureNames.has(domain)) return true;
    const host = hostOf(domain);
    if (isLoopbackHost(host)) return true;
    if (this.insecureHosts.has(host)) return true;
    const family = isIP(host);
    if (family === 4) return this.insecureNets.check(host, 'ipv4');
    if (family === 6) return this.insecureNets.check(host, 'ipv6');
    return false;
  }

  /**
   * `GET /v2/` against a registry domain ("docker.io", "127.0.0.1:5000"), authenticating with
   * `auth` if given (login check) or the configured credentials. Resolves if the registry accepts.
   */
  async ping(domain: string, auth?: AuthConfig): Promise<void> {
    const authorizer = auth
      ? new Authorizer(new StaticCredentials({ [domain]: auth }), {
          userAgent: this.userAgent,
          dispatcherFor: (url) => this.dispatcherFor(url),
        })
      : this.authorizer;
    const { res } = await this.send(domain, [], 'GET', '/v2/', {}, authorizer, { fresh: true });
    if (res.statusCode >= 200 && res.statusCode < 300) {
      await res.body.dump();
      return;
    }
    throw await this.responseError(res, domain, `registry ${domain}`, { path: '' });
  }

  /**
   * Resolves a tag or digest reference to its manifest or index, exactly as received. Accepts the
   * four manifest/index media types. When the reference carries a digest the bytes are verified
   * against it; otherwise a Docker-Content-Digest header, if present, must match them.
   */
  async resolve(refInput: Ref): Promise<ResolvedManifest> {
    const ref = toRef(refInput);
    const reference = ref.digest ?? ref.tag ?? 'latest';
    const { mediaType, bytes, headerDigest } = await this.getManifest(ref, reference);
    let digest: Digest;
    if (ref.digest) {
      digest = ref.digest;
      verifyBytes(bytes, digest, `manifest ${ref.name}@${digest}`);
    } else {
      const algorithm = headerDigest && isDigest(headerDigest) ? digestAlgorithm(headerDigest) : 'sha256';
      digest = `${algorithm}:${newHasher(algorithm).update(bytes).digest('hex')}` as Digest;
      if (headerDigest && isDigest(headerDigest) && headerDigest !== digest) {
        throw new DigestMismatchError('digest', `manifest ${ref.name}:${reference} (Docker-Content-Digest)`, { digest: headerDigest, size: bytes.length }, { size: bytes.length, digest });
      }
    }
    return { digest, mediaType, bytes, size: bytes.length };
  }

  /** Fetches a manifest/index by digest (e.g. a platform manifest chosen from an index) and verifies it. */
  async fetchManifest(refInput: Ref, digest: Digest): Promise<{ mediaType: string; bytes: Buffer }> {
    const ref = toRef(refInput);
    const { mediaType, bytes } = await this.getManifest(ref, digest);
    verifyBytes(bytes, digest, `manifest ${ref.name}@${digest}`);
    return { mediaType, bytes };
  }

  /**
   * Opens a blob from byte `offset` (Range: bytes=offset-). If the server ignores the range
   * (200 instead of 206) the first `offset` bytes are skipped here. The stream is NOT verified;
   * use ContentStore.ingest / fetchBlob for that.
   */
  async openBlob(refInput: Ref, descriptor: Pick<Descriptor, 'digest' | 'size'>, offset = 0): Promise<Readable> {
    const ref = toRef(refInput);
    const headers: Record<string, string> = {};
    if (offset > 0) headers.range = `bytes=${offset}-`;
    const { res } = await this.send(ref.domain, [pullScope(ref)], 'GET', `/v2/${ref.path}/blobs/${descriptor.digest}`, headers);
    const what = `blob ${descriptor.digest}`;
    if (res.statusCode === 206) {
      const range = /^bytes (\d+)-(\d+)?\/(\d+|\*)$/.exec(headerValue(res.headers['content-range']) ?? '');
      const start = range ? Number(range[1]) : offset;
      if (start > offset) {
        res.body.destroy();
        throw unavailable(`registry ${ref.domain} returned bytes from ${start} for ${what}, asked for ${offset}`);
      }
      return start < offset ? skipBytes(res.body, offset - start) : res.body;
    }
    if (res.statusCode === 200) {
      return offset > 0 ? skipBytes(res.body, offset) : res.body;
    }
    if (res.statusCode === 416 && offset >= descriptor.size) {
      await res.body.dump();
      return Readable.from([]);
    }
    throw await this.responseError(res, ref.domain, `${what} in ${ref.domain}/${ref.path}`, { path: ref.path, blob: true });
  }

  /**
   * Downloads a blob into the content store: verified (size, then digest), resumable, retried
   * up to `blobAttempts` times with Range from the bytes already stored. No-op if present.
   */
  async fetchBlob(refInput: Ref, descriptor: Pick<Descriptor, 'digest' | 'size'>, store: ContentStore, options: FetchBlobOptions = {}): Promise<void> {
    const ref = toRef(refInput);
    await store.ingest(
      options.ingestRef ?? `remote-${descriptor.digest}`,
      { digest: descriptor.digest, size: descriptor.size },
      (offset) => this.openBlob(ref, descriptor, offset),
      {
        attempts: this.blobAttempts,
        retryDelayMs: this.retryDelayMs,
        onProgress: options.onProgress,
        tee: options.tee,
        signal: options.signal,
      },
    );
  }

  // ---------------------------------------------------------------------------------------------

  private async getManifest(
    ref: ImageReference,
    reference: string,
  ): Promise<{ mediaType: string; bytes: Buffer; headerDigest?: string }> {
    const { res } = await this.send(ref.domain, [pullScope(ref)], 'GET', `/v2/${ref.path}/manifests/${reference}`, {
      accept: manifestAcceptTypes.join(', '),
    });
    const shown = `${familiarName(ref)}${isDigest(reference) ? '@' : ':'}${reference}`;
    if (res.statusCode !== 200) {
      throw await this.responseError(res, ref.domain, `manifest for ${shown}`, { path: ref.path, manifest: true });
    }
    const declared = Number(headerValue(res.headers['content-length']) ?? 'NaN');
    if (Number.isFinite(declared) && declared > this.maxManifestBytes) {
      res.body.destroy();
      throw invalidArgument(`manifest for ${shown} is too large: ${declared} bytes (limit ${this.maxManifestBytes})`);
    }
    const chunks: Buffer[] = [];
    let total = 0;
    try {
      for await (const chunk of res.body) {
        const buf = chunk as Buffer;
        total += buf.length;
        if (total > this.maxManifestBytes) {
          throw invalidArgument(`manifest for ${shown} is too large: more than ${this.maxManifestBytes} bytes`);
        }
        chunks.push(buf);
      }
    } catch (err) {
      res.body.destroy();
      if (isBerthError(err)) throw err;
      throw unavailable(`registry ${ref.domain}: reading manifest for ${shown} failed: ${networkErrorMessage(err)}`, err);
    }
    const bytes = Buffer.concat(chunks);
    const mediaType = detectManifestMediaType(headerValue(res.headers['content-type']), bytes, `manifest for ${shown}`);
    const headerDigest = headerValue(res.headers['docker-content-digest']);
    return headerDigest ? { mediaType, bytes, headerDigest } : { mediaType, bytes };
  }

  /**
   * Sends a request to a registry path with auth: cached credentials first, one retry after a
   * 401 with a freshly obtained token. Returns the final response (any status) for the caller.
   */
  private async send(
    domain: string,
    scopes: readonly string[],
    method: 'GET' | 'HEAD',
    path: string,
    headers: Record<string, string>,
    authorizer: Authorizer = this.authorizer,
    opts: { fresh?: boolean } = {},
  ): Promise<SendResult> {
    const base = await this.endpoint(domain, opts.fresh === true, authorizer);
    const url = new URL(path, base);
    const auth = await authorizer.authorize(domain, scopes);
    let result = await this.http(domain, method, url, auth ? { ...headers, authorization: auth } : headers);
    if (result.res.statusCode === 401) {
      const challenge = result.res.headers['www-authenticate'];
      const retryAuth = await authorizer.onUnauthorized(domain, scopes, challenge);
      if (retryAuth !== undefined && retryAuth !== auth) {
        await result.res.body.dump();
        result = await this.http(domain, method, url, { ...headers, authorization: retryAuth });
      }
    }
    return result;
  }

  /** One request, following redirects by hand (Authorization dropped when leaving the origin). */
  private async http(domain: string, method: 'GET' | 'HEAD', start: URL, headers: Record<string, string>): Promise<SendResult> {
    let url = start;
    let currentMethod = method;
    const sent: Record<string, string> = { 'user-agent': this.userAgent, ...headers };
    for (let hop = 0; ; hop++) {
      let res: Dispatcher.ResponseData;
      try {
        res = await request(url, {
          method: currentMethod,
          headers: sent,
          dispatcher: this.dispatcherFor(url),
          maxRedirections: 0,
        });
      } catch (err) {
        const where = url.host === start.host ? `registry ${domain}` : `registry ${domain} (redirected to ${url.host})`;
        throw unavailable(`${where} unreachable: ${networkErrorMessage(err)}`, err);
      }
      const location = headerValue(res.headers.location);
      if (REDIRECT_STATUSES.has(res.statusCode) && location) {
        await res.body.dump();
        if (hop >= 10) throw unavailable(`registry ${domain}: too many redirects for ${start.pathname}`);
        const next = new URL(location, url);
        if (next.origin !== start.origin) delete sent.authorization;
        if (res.statusCode === 303 && currentMethod !== 'HEAD') currentMethod = 'GET';
        url = next;
        continue;
      }
      return { res, url };
    }
  }

  /**
   * Base URL for a registry: probes `GET /v2/` over HTTPS and, for insecure/loopback registries,
   * falls back to HTTP. Cached per domain; the 401 challenge is recorded for the authorizer.
   */
  private async endpoint(domain: string, fresh: boolean, authorizer: Authorizer): Promise<string> {
    if (!fresh) {
      const cached = this.endpoints.get(domain);
      if (cached) return cached;
      const running = this.probing.get(domain);
      if (running) return running;
    }
    const work = this.probe(domain, authorizer);
    if (!fresh) this.probing.set(domain, work);
    try {
      const base = await work;
      this.endpoints.set(domain, base);
      return base;
    } finally {
      if (this.probing.get(domain) === work) this.probing.delete(domain);
    }
  }

  private async probe(domain: string, authorizer: Authorizer): Promise<string> {
    const host = registryApiHost(domain);
    const known = this.endpoints.get(domain);
    const schemes = known ? [new URL(known).protocol.replace(':', '')] : this.isInsecure(domain) ? ['https', 'http'] : ['https'];
    let lastError: unknown;
    for (const scheme of schemes) {
      const base = `${scheme}://${host}`;
      let result: SendResult;
      try {
        result = await this.http(domain, 'GET', new URL('/v2/', base), {});
      } catch (err) {
        lastError = err;
        continue;
      }
      if (result.res.statusCode === 401) authorizer.recordChallenge(domain, result.res.headers['www-authenticate']);
      await result.res.body.dump();
      return base;
    }
    if (isBerthError(lastError)) throw lastError;
    throw unavailable(`registry ${domain} unreachable: ${networkErrorMessage(lastError)}`, lastError);
  }

  private dispatcherFor(url: URL): Dispatcher {
    return this.isInsecure(url.host) ? this.insecureAgent : this.secureAgent;
  }

  private addInsecure(entry: string): void {
    const value = entry.trim().replace(/^https?:\/\//, '').replace(/\/+$/, '');
    if (value === '') return;
    const slash = value.indexOf('/');
    if (slash > 0) {
      const net = value.slice(0, slash);
      const prefix = Number(value.slice(slash + 1));
      const family = isIP(net);
      if (family !== 0 && Number.isInteger(prefix)) {
        this.insecureNets.addSubnet(net, prefix, family === 4 ? 'ipv4' : 'ipv6');
        return;
      }
    }
    this.insecureNames.add(value);
    if (hostOf(value) === value.replace(/^\[|\]$/g, '')) this.insecureHosts.add(hostOf(value));
  }

  /** Maps a non-success response to a BerthError carrying the registry's error text. */
  private async responseError(
    res: Dispatcher.ResponseData,
    domain: string,
    what: string,
    ctx: { path: string; manifest?: boolean; blob?: boolean },
  ): Promise<BerthError> {
    const text = await readLimited(res.body, 64 * 1024);
    const detail = registryErrorDetail(text) || `status ${res.statusCode}`;
    const status = res.statusCode;
    if (status === 401 || status === 403) {
      const target = ctx.path ? `${domain}/${ctx.path}` : domain;
      return new BerthError('unauthorized', `registry ${domain}: access to ${target} denied (${status}): ${detail}`);
    }
    if (status === 404) {
      if (ctx.manifest || ctx.blob) return notFound(`${what} not found: ${detail}`);
      return notFound(`registry ${domain}: ${what} not found (404): ${detail}`);
    }
    if (status === 429 || status >= 500) {
      return unavailable(`registry ${domain} failed for ${what} (${status}): ${detail}`);
    }
    if (status === 405 || status === 501) {
      return new BerthError('not-implemented', `registry ${domain} does not support the request for ${what} (${status}): ${detail}`);
    }
    return invalidArgument(`registry ${domain} rejected the request for ${what} (${status}): ${detail}`);
  }
}

// -----------------------------------------------------------------------------------------------

function toRef(input: Ref): ImageReference {
  return typeof input === 'string' ? parseReference(input) : input;
}

function pullScope(ref: ImageReference): string {
  return `repository:${ref.path}:pull`;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value[0] : value;
}

/** "host:port" / "[v6]:port" / "host" → host without port or brackets. */
export function hostOf(domain: string): string {
  if (domain.startsWith('[')) {
    const end = domain.indexOf(']');
    return end > 0 ? domain.slice(1, end) : domain;
  }
  const colon = domain.indexOf(':');
  if (colon >= 0 && domain.indexOf(':', colon + 1) < 0) return domain.slice(0, colon);
  return domain;
}

export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

function verifyBytes(bytes: Buffer, expected: Digest, what: string): void {
  const algorithm = digestAlgorithm(expected);
  const actual = `${algorithm}:${newHasher(algorithm).update(bytes).digest('hex')}` as Digest;
  if (actual !== expected) {
    throw new DigestMismatchError('digest', what, { digest: expected, size: bytes.length }, { size: bytes.length, digest: actual });
  }
}

/**
 * Media type of a manifest: the Content-Type (parameters ignored) when it is one of the four
 * manifest/index types — a `mediaType` field must then agree (distribution-spec) — else the
 * `mediaType` field, else inferred (manifests[] → OCI index, config+layers → OCI manifest).
 */
export function detectManifestMediaType(contentType: string | undefined, bytes: Buffer, what = 'manifest'): string {
  const ct = contentType?.split(';')[0]?.trim().toLowerCase();
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw invalidArgument(`${what}: invalid JSON`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw invalidArgument(`${what}: not a JSON object`);
  const doc = parsed as { mediaType?: unknown; schemaVersion?: unknown; manifests?: unknown; config?: unknown; layers?: unknown };
  const field = typeof doc.mediaType === 'string' ? doc.mediaType : undefined;
  if ((ct && SCHEMA1_TYPES.has(ct)) || (field && SCHEMA1_TYPES.has(field)) || doc.schemaVersion === 1) {
    throw new BerthError(
      'not-implemented',
      `${what}: Docker Image manifest version 2, schema 1 is not supported; the image must be re-pushed with a v2 schema 2 or OCI manifest`,
    );
  }
  const known = new Set(manifestAcceptTypes);
  if (ct && known.has(ct)) {
    if (field && field !== ct) {
      throw invalidArgument(`${what}: mediaType "${field}" does not match Content-Type "${ct}"`);
    }
    return ct;
  }
  if (field && known.has(field)) return field;
  if (field === undefined) {
    if (Array.isArray(doc.manifests)) return MediaType.ociIndex;
    if (doc.config && typeof doc.config === 'object' && Array.isArray(doc.layers)) return MediaType.ociManifest;
  }
  throw invalidArgument(`${what}: unsupported media type "${field ?? ct ?? 'none'}"`);
}

class SkipBytes extends Transform {
  constructor(private remaining: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.remaining >= chunk.length) {
      this.remaining -= chunk.length;
      callback();
      return;
    }
    const out = this.remaining > 0 ? chunk.subarray(this.remaining) : chunk;
    this.remaining = 0;
    callback(null, out);
  }
}

function skipBytes(body: Readable, count: number): Readable {
  const skipper = new SkipBytes(count);
  pipeline(body, skipper, () => undefined);
  return skipper;
}

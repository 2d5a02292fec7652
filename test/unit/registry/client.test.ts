import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { RegistryClient, selectPlatformManifest, detectManifestMediaType } from '../../../src/registry/client.js';
import { CredentialStore, StaticCredentials } from '../../../src/registry/auth.js';
import { parseReference } from '../../../src/registry/reference.js';
import { ContentStore, DigestMismatchError } from '../../../src/content/store.js';
import { sha256 } from '../../../src/core/digest.js';
import { isBerthError } from '../../../src/core/errors.js';
import { MediaType } from '../../../src/oci/media-types.js';
import type { ImageIndex } from '../../../src/oci/image.js';
import { FakeRegistry, freePort, listen, makeCredentialHelper, selfSignedCert, serveBlob, serveBlobThenDrop } from './helpers.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('RegistryClient against an in-test registry', () => {
  const reg = new FakeRegistry();
  let dir: string;
  let store: ContentStore;
  let layer: Buffer;
  let layerDigest: ReturnType<typeof sha256>;
  let config: Buffer;
  let configDigest: ReturnType<typeof sha256>;
  let manifestDigest: ReturnType<typeof sha256>;
  const clients: RegistryClient[] = [];
  const client = (opts: ConstructorParameters<typeof RegistryClient>[0] = {}) => {
    const c = new RegistryClient({ retryDelayMs: 5, ...opts });
    clients.push(c);
    return c;
  };

  before(async () => {
    await reg.start();
    dir = await mkdtemp(join(tmpdir(), 'berth-regclient-'));
    layer = randomBytes(300_000);
    layerDigest = reg.putBlob(layer);
    config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
    configDigest = reg.putBlob(config);
    manifestDigest = reg.putManifest(
      'app/img',
      'v1',
      {
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        config: { mediaType: MediaType.ociConfig, digest: configDigest, size: config.length },
        layers: [{ mediaType: MediaType.ociLayerGzip, digest: layerDigest, size: layer.length }],
      },
      MediaType.ociManifest,
    ).digest;
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await reg.stop();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    reg.auth = { kind: 'none' };
    reg.blobHook = undefined;
    reg.manifestStatus = undefined;
    reg.requests.length = 0;
    reg.tokenRequests.length = 0;
    reg.blobAttempts.clear();
    store = new ContentStore(join(dir, `content-${Math.random().toString(16).slice(2)}`));
    await store.init();
  });

  test('resolve by tag and by digest: exact bytes, digest, media type, Accept header', async () => {
    const c = client();
    const byTag = await c.resolve(`${reg.host}/app/img:v1`);
    assert.equal(byTag.digest, manifestDigest);
    assert.equal(byTag.mediaType, MediaType.ociManifest);
    assert.equal(sha256(byTag.bytes), manifestDigest);
    const byDigest = await c.resolve(parseReference(`${reg.host}/app/img@${manifestDigest}`));
    assert.deepEqual(byDigest.bytes, byTag.bytes);
    const manifestReq = reg.requests.find((r) => r.url.includes('/manifests/v1'));
    const accept = String(manifestReq?.headers.accept);
    for (const t of [MediaType.ociIndex, MediaType.ociManifest, MediaType.dockerManifestList, MediaType.dockerManifest]) {
      assert.ok(accept.includes(t), `Accept lacks ${t}`);
    }
    assert.match(String(manifestReq?.headers['user-agent']), /^berth\//);
    assert.equal(reg.requests[0]?.url, '/v2/', 'registry pinged first');
  });

  test('fetchBlob stores config and layer verified', async () => {
    const c = client();
    const progress: number[] = [];
    await c.fetchBlob(`${reg.host}/app/img:v1`, { digest: configDigest, size: config.length }, store);
    await c.fetchBlob(`${reg.host}/app/img:v1`, { digest: layerDigest, size: layer.length }, store, { onProgress: (n) => progress.push(n) });
    assert.deepEqual(await store.readBytes(layerDigest), layer);
    assert.deepEqual(await store.readBytes(configDigest), config);
    assert.equal(progress[progress.length - 1], layer.length);
  });

  test('manifest unknown → not-found naming the reference and the registry error', async () => {
    const c = client();
    await assert.rejects(c.resolve(`${reg.host}/app/img:nosuchtag`), (e: unknown) => {
      assert.ok(isBerthError(e, 'not-found'));
      assert.equal(e.message, `manifest for ${reg.host}/app/img:nosuchtag not found: manifest unknown`);
      return true;
    });
    await assert.rejects(c.openBlob(`${reg.host}/app/img`, { digest: sha256('x'), size: 1 }), (e: unknown) => {
      assert.ok(isBerthError(e, 'not-found'));
      assert.match(e.message, /blob sha256:[0-9a-f]+ in 127\.0\.0\.1:\d+\/app\/img not found: blob unknown: blob unknown to registry/);
      return true;
    });
  });

  test('registry JSON errors on 5xx are surfaced as unavailable', async () => {
    reg.manifestStatus = { status: 503, body: JSON.stringify({ errors: [{ code: 'UNAVAILABLE', message: 'backend storage is down' }] }) };
    await assert.rejects(client().resolve(`${reg.host}/app/img:v1`), (e: unknown) => {
      assert.ok(isBerthError(e, 'unavailable'));
      assert.ok(e.message.includes(reg.host));
      assert.match(e.message, /503.*backend storage is down/);
      return true;
    });
  });

  test('unreachable registry → unavailable naming registry and cause', async () => {
    const port = await freePort();
    await assert.rejects(client().resolve(`127.0.0.1:${port}/x:y`), (e: unknown) => {
      assert.ok(isBerthError(e, 'unavailable'));
      assert.match(e.message, new RegExp(`^registry 127\\.0\\.0\\.1:${port} unreachable: connect ECONNREFUSED 127\\.0\\.0\\.1:${port}`));
      return true;
    });
  });

  test('pulled by digest but the registry serves other bytes → digest mismatch', async () => {
    const fakeDigest = sha256('something else');
    reg.manifests.set(`app/img@${fakeDigest}`, { bytes: Buffer.from('{"schemaVersion":2,"manifests":[]}'), mediaType: MediaType.ociIndex });
    await assert.rejects(client().resolve(`${reg.host}/app/img@${fakeDigest}`), (e: unknown) => e instanceof DigestMismatchError && e.code === 'failed-precondition');
    const tagged = reg.manifests.get('app/img@v1');
    assert.ok(tagged);
    reg.manifests.set('app/img@liar', { ...tagged, headerDigest: sha256('nope') });
    await assert.rejects(client().resolve(`${reg.host}/app/img:liar`), (e: unknown) => e instanceof DigestMismatchError);
  });

  test('bearer auth: token endpoint with Basic creds, token reused for manifests and blobs', async () => {
    reg.auth = { kind: 'bearer', token: 'secret-token', username: 'alice', password: 'pw' };
    const c = client({ credentials: new StaticCredentials({ [reg.host]: { username: 'alice', password: 'pw' } }) });
    const resolved = await c.resolve(`${reg.host}/app/img:v1`);
    assert.equal(resolved.digest, manifestDigest);
    await c.fetchBlob(`${reg.host}/app/img:v1`, { digest: layerDigest, size: layer.length }, store);
    assert.deepEqual(await store.readBytes(layerDigest), layer);
    assert.equal(reg.tokenRequests.length, 1, 'one token for the repository scope');
    const tokenUrl = new URL(reg.tokenRequests[0]?.url ?? '', 'http://x');
    assert.equal(tokenUrl.searchParams.get('service'), 'fake-registry');
    assert.equal(tokenUrl.searchParams.get('scope'), 'repository:app/img:pull');
    assert.equal(reg.tokenRequests[0]?.headers.authorization, `Basic ${b64('alice:pw')}`);
    const authed = reg.requests.filter((r) => r.url !== '/v2/');
    assert.ok(authed.every((r) => r.headers.authorization === 'Bearer secret-token'));
  });

  test('bearer auth without credentials where the token server requires them → unauthorized', async () => {
    reg.auth = { kind: 'bearer', token: 'secret-token', username: 'alice', password: 'pw' };
    await assert.rejects(client().resolve(`${reg.host}/app/img:v1`), (e: unknown) => {
      assert.ok(isBerthError(e, 'unauthorized'));
      assert.ok(e.message.includes(reg.host));
      return true;
    });
  });

  test('a token rejected by the registry is refreshed once, then unauthorized', async () => {
    reg.auth = { kind: 'bearer', token: 'good' };
    const c = client();
    await c.resolve(`${reg.host}/app/img:v1`);
    reg.auth = { kind: 'bearer', token: 'rotated' };
    await c.resolve(`${reg.host}/app/img:v1`);
    assert.equal(reg.tokenRequests.length, 2, 'stale token replaced after a 401');
  });

  test('basic auth from a temp config.json; wrong password → unauthorized', async () => {
    reg.auth = { kind: 'basic', username: 'bob', password: 'hunter2' };
    const cfg = join(dir, 'docker-basic');
    await mkdir(cfg, { recursive: true });
    await writeFile(join(cfg, 'config.json'), JSON.stringify({ auths: { [reg.host]: { auth: b64('bob:hunter2') } } }));
    const c = client({ credentials: new CredentialStore({ configDir: cfg }) });
    assert.equal((await c.resolve(`${reg.host}/app/img:v1`)).digest, manifestDigest);
    await c.fetchBlob(`${reg.host}/app/img:v1`, { digest: configDigest, size: config.length }, store);
    assert.ok(await store.has(configDigest));

    const badCfg = join(dir, 'docker-basic-bad');
    await mkdir(badCfg, { recursive: true });
    await writeFile(join(badCfg, 'config.json'), JSON.stringify({ auths: { [reg.host]: { auth: b64('bob:wrong') } } }));
    await assert.rejects(client({ credentials: new CredentialStore({ configDir: badCfg }) }).resolve(`${reg.host}/app/img:v1`), (e: unknown) => {
      assert.ok(isBerthError(e, 'unauthorized'));
      assert.match(e.message, /authentication required/);
      return true;
    });
    await assert.rejects(client().resolve(`${reg.host}/app/img:v1`), (e: unknown) => isBerthError(e, 'unauthorized'));
  });

  test('basic auth through a credential helper on PATH (docker-credential-test)', async () => {
    reg.auth = { kind: 'basic', username: 'carol', password: 'from-helper' };
    const bin = await makeCredentialHelper(join(dir, 'helperbin'), 'test', { [reg.host]: { Username: 'carol', Secret: 'from-helper' } });
    const cfg = join(dir, 'docker-helper');
    await mkdir(cfg, { recursive: true });
    await writeFile(join(cfg, 'config.json'), JSON.stringify({ credHelpers: { [reg.host]: 'test' } }));
    const creds = new CredentialStore({ configDir: cfg, env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` } });
    const c = client({ credentials: creds });
    assert.equal((await c.resolve(`${reg.host}/app/img:v1`)).digest, manifestDigest);
  });

  test('ping: login check with explicit credentials', async () => {
    reg.auth = { kind: 'bearer', token: 'tkn', username: 'dave', password: 'ok' };
    const c = client();
    await c.ping(reg.host, { username: 'dave', password: 'ok' });
    await assert.rejects(c.ping(reg.host, { username: 'dave', password: 'bad' }), (e: unknown) => isBerthError(e, 'unauthorized'));
    reg.auth = { kind: 'basic', username: 'dave', password: 'ok' };
    await c.ping(reg.host, { username: 'dave', password: 'ok' });
    await assert.rejects(c.ping(reg.host, { username: 'dave', password: 'bad' }), (e: unknown) => isBerthError(e, 'unauthorized'));
    await assert.rejects(c.ping(reg.host), (e: unknown) => isBerthError(e, 'unauthorized'));
    reg.auth = { kind: 'none' };
    await c.ping(reg.host);
  });

  test('connection dropped half way through a blob: resumed with Range, final blob verifies', async () => {
    reg.blobHook = (req, res, blob, attempt) => {
      if (attempt === 1) {
        serveBlobThenDrop(req, res, blob, 0.5);
        return true;
      }
      return false;
    };
    const tee = new PassThrough();
    const chunks: Buffer[] = [];
    tee.on('data', (c: Buffer) => chunks.push(c));
    const done = new Promise((resolve) => tee.on('end', resolve));
    await client().fetchBlob(`${reg.host}/app/img:v1`, { digest: layerDigest, size: layer.length }, store, { tee });
    await done;
    assert.deepEqual(await store.readBytes(layerDigest), layer);
    assert.deepEqual(Buffer.concat(chunks), layer, 'tee saw every byte exactly once');
    const blobReqs = reg.requests.filter((r) => r.url.includes('/blobs/'));
    assert.equal(blobReqs.length, 2);
    assert.equal(blobReqs[0]?.headers.range, undefined);
    const m = /^bytes=(\d+)-$/.exec(String(blobReqs[1]?.headers.range));
    assert.ok(m, `second request has a Range header: ${String(blobReqs[1]?.headers.range)}`);
    const offset = Number(m[1]);
    assert.ok(offset > 0 && offset <= layer.length / 2, `resumed from ${offset}`);
    assert.deepEqual(await store.listIngests(), []);
  });

  test('server ignores Range on the retry (200 with the whole blob): leading bytes skipped', async () => {
    reg.blobHook = (req, res, blob, attempt) => {
      if (attempt === 1) serveBlobThenDrop(req, res, blob, 0.3);
      else serveBlob(req, res, blob, { ignoreRange: true });
      return true;
    };
    await client().fetchBlob(`${reg.host}/app/img:v1`, { digest: layerDigest, size: layer.length }, store);
    assert.deepEqual(await store.readBytes(layerDigest), layer);
    assert.equal(reg.requests.filter((r) => r.url.includes('/blobs/')).length, 2);
  });

  test('openBlob with offset on a Range-ignoring server still starts at the offset', async () => {
    reg.blobHook = (req, res, blob) => {
      serveBlob(req, res, blob, { ignoreRange: true });
      return true;
    };
    const s = await client().openBlob(`${reg.host}/app/img`, { digest: layerDigest, size: layer.length }, 1000);
    const parts: Buffer[] = [];
    for await (const c of s) parts.push(c as Buffer);
    assert.deepEqual(Buffer.concat(parts), layer.subarray(1000));
  });

  test('wrong bytes: ingest fails with digest mismatch, nothing in blobs/, no ingest left', async () => {
    reg.blobHook = (req, res, blob) => {
      const bad = Buffer.from(blob);
      bad[bad.length - 1] ^= 0x01;
      serveBlob(req, res, bad);
      return true;
    };
    await assert.rejects(client().fetchBlob(`${reg.host}/app/img:v1`, { digest: layerDigest, size: layer.length }, store), (e: unknown) => {
      assert.ok(e instanceof DigestMismatchError);
      assert.equal(e.kind, 'digest');
      assert.ok(e.message.includes(layerDigest));
      return true;
    });
    assert.equal(await store.has(layerDigest), false);
    assert.deepEqual(await store.list(), []);
    assert.deepEqual(await store.listIngests(), []);
    assert.equal(reg.requests.filter((r) => r.url.includes('/blobs/')).length, 1, 'a mismatch is not retried');
  });

  test('307 redirect to another host: followed, Authorization not forwarded', async () => {
    reg.auth = { kind: 'bearer', token: 'tok' };
    const storageSeen: Array<string | undefined> = [];
    const storage: Server = createServer((req, res) => {
      storageSeen.push(req.headers.authorization);
      serveBlob(req, res, layer);
    });
    const storagePort = await listen(storage);
    try {
      reg.blobHook = (_req, res) => {
        res.statusCode = 307;
        res.setHeader('location', `http://127.0.0.1:${storagePort}/bucket/${layerDigest}?sig=abc`);
        res.end();
        return true;
      };
      await client().fetchBlob(`${reg.host}/app/img:v1`, { digest: layerDigest, size: layer.length }, store);
      assert.deepEqual(await store.readBytes(layerDigest), layer);
      assert.deepEqual(storageSeen, [undefined]);
      const blobReq = reg.requests.find((r) => r.url.includes('/blobs/'));
      assert.equal(blobReq?.headers.authorization, 'Bearer tok', 'registry itself got the token');
    } finally {
      storage.closeAllConnections();
      await new Promise((resolve) => storage.close(resolve));
    }
  });

  test('index: resolve, select platform, fetch the platform manifest by digest', async () => {
    const armManifest = reg.putManifest('multi/img', undefined, { schemaVersion: 2, mediaType: MediaType.dockerManifest, config: { mediaType: MediaType.dockerConfig, digest: configDigest, size: config.length }, layers: [] }, MediaType.dockerManifest);
    const amdManifest = reg.putManifest('multi/img', undefined, { schemaVersion: 2, mediaType: MediaType.dockerManifest, config: { mediaType: MediaType.dockerConfig, digest: configDigest, size: config.length }, layers: [{ mediaType: MediaType.dockerLayerGzip, digest: layerDigest, size: layer.length }] }, MediaType.dockerManifest);
    const list = {
      schemaVersion: 2,
      mediaType: MediaType.dockerManifestList,
      manifests: [
        { mediaType: MediaType.dockerManifest, digest: armManifest.digest, size: armManifest.bytes.length, platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } },
        { mediaType: MediaType.dockerManifest, digest: amdManifest.digest, size: amdManifest.bytes.length, platform: { architecture: 'amd64', os: 'linux' } },
      ],
    };
    const listDigest = reg.putManifest('multi/img', 'latest', list, MediaType.dockerManifestList).digest;
    const c = client();
    const resolved = await c.resolve(`${reg.host}/multi/img`);
    assert.equal(resolved.digest, listDigest);
    assert.equal(resolved.mediaType, MediaType.dockerManifestList);
    const index = JSON.parse(resolved.bytes.toString()) as ImageIndex;
    const amd = selectPlatformManifest(index, { os: 'linux', architecture: 'amd64' });
    assert.equal(amd.digest, amdManifest.digest);
    const fetched = await c.fetchManifest(`${reg.host}/multi/img`, amd.digest);
    assert.equal(fetched.mediaType, MediaType.dockerManifest);
    assert.deepEqual(fetched.bytes, amdManifest.bytes);
    assert.equal(selectPlatformManifest(index, { os: 'linux', architecture: 'aarch64' }).digest, armManifest.digest);
  });

  test('manifest media type detection', () => {
    const oci = Buffer.from(JSON.stringify({ schemaVersion: 2, config: {}, layers: [] }));
    assert.equal(detectManifestMediaType('application/vnd.oci.image.manifest.v1+json; charset=utf-8', oci), MediaType.ociManifest);
    assert.equal(detectManifestMediaType('application/octet-stream', oci), MediaType.ociManifest);
    assert.equal(detectManifestMediaType(undefined, Buffer.from('{"schemaVersion":2,"manifests":[]}')), MediaType.ociIndex);
    assert.throws(
      () => detectManifestMediaType(MediaType.ociManifest, Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.dockerManifest, config: {}, layers: [] }))),
      (e: unknown) => isBerthError(e, 'invalid-argument'),
    );
    assert.throws(
      () => detectManifestMediaType('application/vnd.docker.distribution.manifest.v1+prettyjws', Buffer.from('{"schemaVersion":1}')),
      (e: unknown) => isBerthError(e, 'not-implemented'),
    );
  });

  test('loopback registry: HTTPS is tried first, then plain HTTP (like Docker); the scheme is cached', async () => {
    const before = reg.clientErrors;
    const c = client();
    await c.resolve(`${reg.host}/app/img:v1`);
    await c.resolve(`${reg.host}/app/img:v1`);
    assert.equal(reg.clientErrors - before, 1, 'exactly one TLS ClientHello hit the plain-HTTP server');
  });

  test('loopback registry over HTTPS with a self-signed certificate (verification skipped for insecure registries)', async () => {
    const tlsReg = new FakeRegistry();
    await tlsReg.start(await selfSignedCert(join(dir, 'tls')));
    try {
      tlsReg.auth = { kind: 'bearer', token: 'tls-token' };
      const m = tlsReg.putManifest('x', 'y', { schemaVersion: 2, mediaType: MediaType.ociManifest, config: { mediaType: MediaType.ociConfig, digest: configDigest, size: config.length }, layers: [] }, MediaType.ociManifest);
      tlsReg.putBlob(config);
      const c = client();
      assert.equal((await c.resolve(`${tlsReg.host}/x:y`)).digest, m.digest);
      await c.fetchBlob(`${tlsReg.host}/x:y`, { digest: configDigest, size: config.length }, store);
      assert.ok(await store.has(configDigest));
      assert.equal(tlsReg.tokenRequests.length, 1, 'https token realm used');
    } finally {
      await tlsReg.stop();
    }
  });

  test('insecure registries: loopback, exact names, bare hosts and CIDRs', () => {
    const c = client({ insecureRegistries: ['myreg.local:5000', 'plainhost', '10.1.0.0/16', 'fd00::/8'] });
    assert.ok(c.isInsecure('localhost:5000'));
    assert.ok(c.isInsecure('127.0.0.1:5000'));
    assert.ok(c.isInsecure('127.9.9.9'));
    assert.ok(c.isInsecure('[::1]:5000'));
    assert.ok(c.isInsecure('myreg.local:5000'));
    assert.ok(!c.isInsecure('myreg.local:5001'));
    assert.ok(c.isInsecure('plainhost:1234'));
    assert.ok(c.isInsecure('10.1.2.3:5000'));
    assert.ok(!c.isInsecure('10.2.0.1:5000'));
    assert.ok(c.isInsecure('[fd12::1]:5000'));
    assert.ok(!c.isInsecure('registry-1.docker.io'));
    assert.ok(!c.isInsecure('docker.io'));
  });
});

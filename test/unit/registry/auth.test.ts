import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CredentialStore, parseWWWAuthenticate, convertToHostname, registryErrorDetail, Authorizer, StaticCredentials } from '../../../src/registry/auth.js';
import { isBerthError } from '../../../src/core/errors.js';
import { FakeRegistry, makeCredentialHelper } from './helpers.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('parseWWWAuthenticate', () => {
  test('Bearer with realm, service and a scope containing commas', () => {
    const [c, ...rest] = parseWWWAuthenticate(
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push"',
    );
    assert.equal(rest.length, 0);
    assert.equal(c?.scheme, 'bearer');
    assert.deepEqual(c?.params, {
      realm: 'https://auth.docker.io/token',
      service: 'registry.docker.io',
      scope: 'repository:samalba/my-app:pull,push',
    });
  });
  test('Basic, case-insensitive scheme and parameter names, spaces, escapes', () => {
    const [c] = parseWWWAuthenticate('BASIC  Realm = "my \\"quoted\\" realm" , charset=UTF-8');
    assert.equal(c?.scheme, 'basic');
    assert.equal(c?.params.realm, 'my "quoted" realm');
    assert.equal(c?.params.charset, 'UTF-8');
  });
  test('several challenges in one header and across header lines', () => {
    const list = parseWWWAuthenticate(['Basic realm="a", Bearer realm="https://t/x",service="s"', 'Negotiate']);
    assert.deepEqual(list.map((c) => c.scheme), ['basic', 'bearer', 'negotiate']);
    assert.equal(list[1]?.params.service, 's');
    assert.deepEqual(parseWWWAuthenticate(undefined), []);
  });
});

describe('registry error formatting', () => {
  test('errcode JSON like Docker; token server details; text fallback', () => {
    assert.equal(registryErrorDetail('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"x"}}]}'), 'manifest unknown');
    assert.equal(registryErrorDetail('{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}'), 'denied: requested access to the resource is denied');
    assert.equal(registryErrorDetail('{"errors":[{"code":"UNAUTHORIZED"}]}'), 'unauthorized');
    assert.equal(registryErrorDetail('{"details":"incorrect username or password"}'), 'incorrect username or password');
    assert.equal(registryErrorDetail('<html>\n Bad   gateway</html>'), '<html> Bad gateway</html>');
    assert.equal(convertToHostname('https://index.docker.io/v1/'), 'index.docker.io');
  });
});

describe('CredentialStore (~/.docker/config.json)', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-auth-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('missing config: no credentials', async () => {
    const store = new CredentialStore({ configDir: join(dir, 'none') });
    assert.equal(await store.get('127.0.0.1:5000'), undefined);
  });

  test('auths: base64 auth, username/password fields, hostname-normalised keys, Docker Hub key, identity token', async () => {
    const cfg = join(dir, 'file');
    await mkdir(cfg);
    await writeFile(
      join(cfg, 'config.json'),
      JSON.stringify({
        auths: {
          'https://index.docker.io/v1/': { auth: b64('hubuser:hub:pass') },
          'http://127.0.0.1:5000/v2/': { auth: b64('alice:s3cret') },
          'registry.example:443': { username: 'bob', password: 'pw' },
          'tokens.example': { identitytoken: 'refresh-me' },
        },
        otherKey: { keep: true },
      }),
    );
    const store = new CredentialStore({ configDir: cfg });
    assert.deepEqual(await store.get('docker.io'), { username: 'hubuser', password: 'hub:pass' });
    assert.deepEqual(await store.get('127.0.0.1:5000'), { username: 'alice', password: 's3cret' });
    assert.deepEqual(await store.get('registry.example:443'), { username: 'bob', password: 'pw' });
    assert.deepEqual(await store.get('tokens.example'), { identityToken: 'refresh-me' });
    assert.equal(await store.get('127.0.0.1:5001'), undefined);
  });

  test('DOCKER_CONFIG from env', async () => {
    const cfg = join(dir, 'envdir');
    await mkdir(cfg);
    await writeFile(join(cfg, 'config.json'), JSON.stringify({ auths: { 'h:1': { auth: b64('u:p') } } }));
    const store = new CredentialStore({ env: { DOCKER_CONFIG: cfg } });
    assert.equal(store.configPath, join(cfg, 'config.json'));
    assert.deepEqual(await store.get('h:1'), { username: 'u', password: 'p' });
  });

  test('store/erase into auths: atomic 0600 file, other keys kept', async () => {
    const cfg = join(dir, 'write');
    await mkdir(cfg);
    await writeFile(join(cfg, 'config.json'), JSON.stringify({ psFormat: 'table', auths: { 'other:1': { auth: b64('o:p') } } }));
    const store = new CredentialStore({ configDir: cfg });
    await store.store('127.0.0.1:5000', { username: 'alice', password: 'pw1' });
    await store.store('docker.io', { username: 'hub', password: 'pw2' });
    const written = JSON.parse(await readFile(join(cfg, 'config.json'), 'utf8'));
    assert.equal(written.psFormat, 'table');
    assert.equal(written.auths['127.0.0.1:5000'].auth, b64('alice:pw1'));
    assert.equal(written.auths['https://index.docker.io/v1/'].auth, b64('hub:pw2'));
    assert.equal(written.auths['other:1'].auth, b64('o:p'));
    assert.equal((await stat(join(cfg, 'config.json'))).mode & 0o777, 0o600);
    assert.deepEqual(await store.get('127.0.0.1:5000'), { username: 'alice', password: 'pw1' });
    await store.erase('127.0.0.1:5000');
    assert.equal(await store.get('127.0.0.1:5000'), undefined);
    assert.ok(await store.get('docker.io'));
    await store.erase('never-stored:1');
  });

  test('creates the config dir and file when absent', async () => {
    const cfg = join(dir, 'fresh', '.docker');
    const store = new CredentialStore({ configDir: cfg });
    await store.store('h:2', { username: 'x', password: 'y' });
    assert.equal((await stat(cfg)).mode & 0o777, 0o700);
    assert.deepEqual(await store.get('h:2'), { username: 'x', password: 'y' });
  });

  test('credHelpers / credsStore: docker-credential-<name> get/store/erase over stdin', async () => {
    const bin = await makeCredentialHelper(join(dir, 'bin'), 'test', {
      '127.0.0.1:6000': { Username: 'helperuser', Secret: 'helpersecret' },
      'https://index.docker.io/v1/': { Username: '<token>', Secret: 'idtoken' },
    });
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` };
    const cfg = join(dir, 'helpers');
    await mkdir(cfg);
    await writeFile(join(cfg, 'config.json'), JSON.stringify({ credHelpers: { '127.0.0.1:6000': 'test' }, auths: {} }));
    const store = new CredentialStore({ configDir: cfg, env });
    assert.deepEqual(await store.get('127.0.0.1:6000'), { username: 'helperuser', password: 'helpersecret' });
    assert.equal(await store.get('127.0.0.1:6001'), undefined, 'no helper for that host, no auths entry');

    // credsStore applies to every registry; "<token>" means an identity token.
    await writeFile(join(cfg, 'config.json'), JSON.stringify({ credsStore: 'test' }));
    assert.deepEqual(await store.get('docker.io'), { identityToken: 'idtoken' });
    assert.equal(await store.get('127.0.0.1:7000'), undefined, '"credentials not found" is not an error');

    await store.store('127.0.0.1:7000', { username: 'new', password: 'newpw' });
    const written = JSON.parse(await readFile(join(cfg, 'config.json'), 'utf8'));
    assert.deepEqual(written.auths['127.0.0.1:7000'], {}, 'secret went to the helper, not the file');
    const helperStore = JSON.parse(await readFile(join(bin, 'test-store.json'), 'utf8'));
    assert.deepEqual(helperStore['127.0.0.1:7000'], { ServerURL: '127.0.0.1:7000', Username: 'new', Secret: 'newpw' });
    assert.deepEqual(await store.get('127.0.0.1:7000'), { username: 'new', password: 'newpw' });
    await store.erase('127.0.0.1:7000');
    assert.equal(await store.get('127.0.0.1:7000'), undefined);
    const calls = await readFile(join(bin, 'test-calls.log'), 'utf8');
    assert.match(calls, /^get 127\.0\.0\.1:6000$/m);
    assert.match(calls, /^erase 127\.0\.0\.1:7000$/m);
  });

  test('a configured helper that is not installed is an unavailable error naming it', async () => {
    const cfg = join(dir, 'missinghelper');
    await mkdir(cfg);
    await writeFile(join(cfg, 'config.json'), JSON.stringify({ credsStore: 'does-not-exist' }));
    const store = new CredentialStore({ configDir: cfg, env: { PATH: '/nonexistent' } });
    await assert.rejects(store.get('x:1'), (e: unknown) => isBerthError(e, 'unavailable') && /docker-credential-does-not-exist/.test(e.message));
  });

  test('malformed config.json is invalid-argument', async () => {
    const cfg = join(dir, 'bad');
    await mkdir(cfg);
    await writeFile(join(cfg, 'config.json'), '{not json');
    await assert.rejects(new CredentialStore({ configDir: cfg }).get('x'), (e: unknown) => isBerthError(e, 'invalid-argument'));
  });
});

describe('Authorizer (bearer token fetch and cache)', () => {
  const reg = new FakeRegistry();
  before(() => reg.start());
  after(() => reg.stop());

  test('fetches a token with service, scope and Basic creds; caches it per scope', async () => {
    reg.auth = { kind: 'bearer', token: 'tok-1', username: 'u', password: 'p', field: 'access_token', expiresIn: 3600 };
    const auth = new Authorizer(new StaticCredentials({ [reg.host]: { username: 'u', password: 'p' } }));
    auth.recordChallenge(reg.host, `Bearer realm="http://${reg.host}/token",service="fake-registry"`);
    const h1 = await auth.authorize(reg.host, ['repository:a/b:pull']);
    const h2 = await auth.authorize(reg.host, ['repository:a/b:pull']);
    assert.equal(h1, 'Bearer tok-1');
    assert.equal(h2, h1);
    assert.equal(reg.tokenRequests.length, 1);
    const url = new URL(reg.tokenRequests[0]?.url ?? '', 'http://x');
    assert.equal(url.searchParams.get('service'), 'fake-registry');
    assert.equal(url.searchParams.get('scope'), 'repository:a/b:pull');
    assert.equal(url.searchParams.get('account'), 'u');
    assert.equal(reg.tokenRequests[0]?.headers.authorization, `Basic ${b64('u:p')}`);
    await auth.authorize(reg.host, ['repository:c/d:pull']);
    assert.equal(reg.tokenRequests.length, 2, 'another scope, another token');
  });

  test('expired tokens are refetched (expires_in below 60 s counts as 60 s)', async () => {
    reg.tokenRequests.length = 0;
    reg.auth = { kind: 'bearer', token: 'tok-2', expiresIn: 1 };
    let now = 1_000_000;
    const auth = new Authorizer(new StaticCredentials(), { now: () => now });
    auth.recordChallenge(reg.host, `Bearer realm="http://${reg.host}/token",service="fake-registry"`);
    await auth.authorize(reg.host, ['repository:a:pull']);
    now += 30_000;
    await auth.authorize(reg.host, ['repository:a:pull']);
    assert.equal(reg.tokenRequests.length, 1);
    now += 60_000;
    await auth.authorize(reg.host, ['repository:a:pull']);
    assert.equal(reg.tokenRequests.length, 2);
    assert.equal(reg.tokenRequests[0]?.headers.authorization, undefined, 'anonymous token request');
  });

  test('token endpoint refusing the credentials is unauthorized', async () => {
    reg.auth = { kind: 'bearer', token: 't', username: 'u', password: 'right' };
    const auth = new Authorizer(new StaticCredentials({ [reg.host]: { username: 'u', password: 'wrong' } }));
    auth.recordChallenge(reg.host, `Bearer realm="http://${reg.host}/token",service="fake-registry"`);
    await assert.rejects(auth.authorize(reg.host, ['repository:a:pull']), (e: unknown) => {
      assert.ok(isBerthError(e, 'unauthorized'));
      assert.match(e.message, /incorrect username or password/);
      assert.ok(e.message.includes(reg.host));
      return true;
    });
  });
});

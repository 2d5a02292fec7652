import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  convertToHostname,
  decodeAuthConfig,
  encodeAuthConfig,
  eraseCredentials,
  getAuthConfig,
  loadConfig,
  storeCredentials,
} from '../../../src/cli/auth.js';
import { apiTag, authConfigKey, parseNormalizedNamed } from '../../../src/cli/reference.js';

test('X-Registry-Auth: "e30=" for no credentials, base64url JSON in docker field order otherwise', () => {
  assert.equal(encodeAuthConfig(undefined), 'e30=');
  assert.equal(encodeAuthConfig({}), 'e30=');
  assert.equal(encodeAuthConfig({ username: '', password: '' }), 'e30=');
  // The value docker 28 sends for alice/pw stored for 127.0.0.1:5000 (checked against the docker CLI).
  assert.equal(
    encodeAuthConfig({ serveraddress: '127.0.0.1:5000', password: 'pw', username: 'alice' }),
    'eyJ1c2VybmFtZSI6ImFsaWNlIiwicGFzc3dvcmQiOiJwdyIsInNlcnZlcmFkZHJlc3MiOiIxMjcuMC4wLjE6NTAwMCJ9',
  );
  // URL alphabet with padding (Go's base64.URLEncoding).
  const enc = encodeAuthConfig({ username: '??>', password: 'ÿÿ' });
  assert.match(enc, /^[A-Za-z0-9_=-]+$/);
  assert.equal(enc.length % 4, 0);
  assert.deepEqual(decodeAuthConfig(enc), { username: '??>', password: 'ÿÿ' });
});

test('config keys: Docker Hub uses the index URL, other registries host[:port]', () => {
  assert.equal(authConfigKey(parseNormalizedNamed('busybox')), 'https://index.docker.io/v1/');
  assert.equal(authConfigKey(parseNormalizedNamed('127.0.0.1:5000/busybox:1')), '127.0.0.1:5000');
  assert.equal(apiTag(parseNormalizedNamed('127.0.0.1:5000/bbplus@sha256:' + 'a'.repeat(64))), 'sha256:' + 'a'.repeat(64));
  assert.equal(convertToHostname('https://myreg:5000/v2/'), 'myreg:5000');
  assert.equal(convertToHostname('http://myreg'), 'myreg');
  assert.equal(convertToHostname('myreg:5000/x'), 'myreg:5000');
});

test('credentials round-trip through config.json, written atomically with mode 0600', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-cli-auth-'));
  try {
    const path = join(dir, 'sub', 'config.json');
    await storeCredentials('127.0.0.1:5000', { username: 'alice', password: 'pw' }, path);
    const text = await readFile(path, 'utf8');
    assert.deepEqual(JSON.parse(text), { auths: { '127.0.0.1:5000': { auth: 'YWxpY2U6cHc=' } } });
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    const cfg = await loadConfig(path);
    assert.deepEqual(await getAuthConfig('127.0.0.1:5000', cfg), {
      serveraddress: '127.0.0.1:5000',
      username: 'alice',
      password: 'pw',
    });
    assert.deepEqual(await getAuthConfig('other:1', cfg), {});
    assert.deepEqual(await eraseCredentials(['127.0.0.1:5000', 'http://127.0.0.1:5000'], path), ['127.0.0.1:5000']);
    assert.deepEqual(JSON.parse(await readFile(path, 'utf8')), { auths: {} });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('legacy keys with a scheme match by hostname; other config keys survive a store', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-cli-auth-'));
  try {
    const path = join(dir, 'config.json');
    await writeFile(
      path,
      JSON.stringify({ auths: { 'https://reg.example:5000': { auth: Buffer.from('bob:s:e:c').toString('base64') } }, psFormat: 'x' }),
    );
    const cfg = await loadConfig(path);
    assert.deepEqual(await getAuthConfig('reg.example:5000', cfg), {
      serveraddress: 'https://reg.example:5000',
      username: 'bob',
      password: 's:e:c',
    });
    await storeCredentials('https://index.docker.io/v1/', { username: 'u', password: 'p', identitytoken: 'tok' }, path);
    const after = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
    assert.equal(after['psFormat'], 'x');
    assert.deepEqual((after['auths'] as Record<string, unknown>)['https://index.docker.io/v1/'], {
      auth: Buffer.from('u:').toString('base64'),
      identitytoken: 'tok',
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseReference,
  familiarName,
  registryApiHost,
  credentialServerAddress,
  normalizeRegistryDomain,
  withDigest,
  withTag,
} from '../../../src/registry/reference.js';
import { isBerthError } from '../../../src/core/errors.js';

const D = 'sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff';
const D2 = 'sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c';
const HEX64 = '1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a';

interface Valid {
  input: string;
  domain: string;
  path: string;
  tag?: string;
  digest?: string;
  familiar: string;
  canonical: string;
}

const valid: Valid[] = [
  { input: 'busybox', domain: 'docker.io', path: 'library/busybox', tag: 'latest', familiar: 'busybox:latest', canonical: 'docker.io/library/busybox:latest' },
  { input: 'busybox:1.36', domain: 'docker.io', path: 'library/busybox', tag: '1.36', familiar: 'busybox:1.36', canonical: 'docker.io/library/busybox:1.36' },
  { input: 'library/busybox', domain: 'docker.io', path: 'library/busybox', tag: 'latest', familiar: 'busybox:latest', canonical: 'docker.io/library/busybox:latest' },
  { input: 'docker.io/busybox', domain: 'docker.io', path: 'library/busybox', tag: 'latest', familiar: 'busybox:latest', canonical: 'docker.io/library/busybox:latest' },
  { input: 'index.docker.io/library/debian', domain: 'docker.io', path: 'library/debian', tag: 'latest', familiar: 'debian:latest', canonical: 'docker.io/library/debian:latest' },
  { input: 'index.docker.io/debian', domain: 'docker.io', path: 'library/debian', tag: 'latest', familiar: 'debian:latest', canonical: 'docker.io/library/debian:latest' },
  { input: 'dmcgowan/myapp', domain: 'docker.io', path: 'dmcgowan/myapp', tag: 'latest', familiar: 'dmcgowan/myapp:latest', canonical: 'docker.io/dmcgowan/myapp:latest' },
  { input: 'docker.io/library/foo/bar', domain: 'docker.io', path: 'library/foo/bar', tag: 'latest', familiar: 'library/foo/bar:latest', canonical: 'docker.io/library/foo/bar:latest' },
  { input: 'other/library', domain: 'docker.io', path: 'other/library', tag: 'latest', familiar: 'other/library:latest', canonical: 'docker.io/other/library:latest' },
  { input: 'localhost/foo', domain: 'localhost', path: 'foo', tag: 'latest', familiar: 'localhost/foo:latest', canonical: 'localhost/foo:latest' },
  { input: 'localhost:5000/a/b:t', domain: 'localhost:5000', path: 'a/b', tag: 't', familiar: 'localhost:5000/a/b:t', canonical: 'localhost:5000/a/b:t' },
  { input: `127.0.0.1:5000/x@${D}`, domain: '127.0.0.1:5000', path: 'x', digest: D, familiar: `127.0.0.1:5000/x@${D}`, canonical: `127.0.0.1:5000/x@${D}` },
  { input: `busybox:latest@${D2}`, domain: 'docker.io', path: 'library/busybox', tag: 'latest', digest: D2, familiar: `busybox:latest@${D2}`, canonical: `docker.io/library/busybox:latest@${D2}` },
  { input: `redis@${D2}`, domain: 'docker.io', path: 'library/redis', digest: D2, familiar: `redis@${D2}`, canonical: `docker.io/library/redis@${D2}` },
  { input: 'test:5000/repo:tag', domain: 'test:5000', path: 'repo', tag: 'tag', familiar: 'test:5000/repo:tag', canonical: 'test:5000/repo:tag' },
  { input: 'test.com:8080/foo', domain: 'test.com:8080', path: 'foo', tag: 'latest', familiar: 'test.com:8080/foo:latest', canonical: 'test.com:8080/foo:latest' },
  { input: 'test_com/foo', domain: 'docker.io', path: 'test_com/foo', tag: 'latest', familiar: 'test_com/foo:latest', canonical: 'docker.io/test_com/foo:latest' },
  { input: 'xn--n3h.com:18080/foo', domain: 'xn--n3h.com:18080', path: 'foo', tag: 'latest', familiar: 'xn--n3h.com:18080/foo:latest', canonical: 'xn--n3h.com:18080/foo:latest' },
  { input: 'b.gcr.io/test.example.com/my-app:test.example.com', domain: 'b.gcr.io', path: 'test.example.com/my-app', tag: 'test.example.com', familiar: 'b.gcr.io/test.example.com/my-app:test.example.com', canonical: 'b.gcr.io/test.example.com/my-app:test.example.com' },
  { input: '[::1]:5000/repo:tag', domain: '[::1]:5000', path: 'repo', tag: 'tag', familiar: '[::1]:5000/repo:tag', canonical: '[::1]:5000/repo:tag' },
  { input: '[2001:db8::1]/repo', domain: '[2001:db8::1]', path: 'repo', tag: 'latest', familiar: '[2001:db8::1]/repo:latest', canonical: '[2001:db8::1]/repo:latest' },
  { input: '192.168.1.1:5000/repo:5050', domain: '192.168.1.1:5000', path: 'repo', tag: '5050', familiar: '192.168.1.1:5000/repo:5050', canonical: '192.168.1.1:5000/repo:5050' },
  // "192.168.0.1:80" has no slash: a Docker Hub name with a tag.
  { input: '192.168.0.1:80', domain: 'docker.io', path: 'library/192.168.0.1', tag: '80', familiar: '192.168.0.1:80', canonical: 'docker.io/library/192.168.0.1:80' },
  { input: 'lowercase:Uppercase', domain: 'docker.io', path: 'library/lowercase', tag: 'Uppercase', familiar: 'lowercase:Uppercase', canonical: 'docker.io/library/lowercase:Uppercase' },
  // An upper-case first component is taken as a domain (distribution/reference FIXME, kept for compatibility).
  { input: 'Foo/bar', domain: 'Foo', path: 'bar', tag: 'latest', familiar: 'Foo/bar:latest', canonical: 'Foo/bar:latest' },
  { input: `docker.io/${HEX64}`, domain: 'docker.io', path: `library/${HEX64}`, tag: 'latest', familiar: `${HEX64}:latest`, canonical: `docker.io/library/${HEX64}:latest` },
  { input: 'docker---rules/docker', domain: 'docker.io', path: 'docker---rules/docker', tag: 'latest', familiar: 'docker---rules/docker:latest', canonical: 'docker.io/docker---rules/docker:latest' },
  { input: 'dock__er/docker', domain: 'docker.io', path: 'dock__er/docker', tag: 'latest', familiar: 'dock__er/docker:latest', canonical: 'docker.io/dock__er/docker:latest' },
  { input: 'a/b:' + 'x'.repeat(128), domain: 'docker.io', path: 'a/b', tag: 'x'.repeat(128), familiar: 'a/b:' + 'x'.repeat(128), canonical: 'docker.io/a/b:' + 'x'.repeat(128) },
  { input: 'a:_under.score-dash', domain: 'docker.io', path: 'library/a', tag: '_under.score-dash', familiar: 'a:_under.score-dash', canonical: 'docker.io/library/a:_under.score-dash' },
  { input: `sha256:${D2.slice(7)}`, domain: 'docker.io', path: 'library/sha256', tag: D2.slice(7), familiar: `sha256:${D2.slice(7)}`, canonical: `docker.io/library/sha256:${D2.slice(7)}` },
  // 255-character path is the limit
  { input: 'a/'.repeat(127) + 'a:tag-puts-this-over-max', domain: 'docker.io', path: 'a/'.repeat(127) + 'a', tag: 'tag-puts-this-over-max', familiar: 'a/'.repeat(127) + 'a:tag-puts-this-over-max', canonical: 'docker.io/' + 'a/'.repeat(127) + 'a:tag-puts-this-over-max' },
];

const invalid: Array<[string, string | RegExp]> = [
  ['', 'invalid reference format'],
  [':justtag', 'invalid reference format'],
  [`@${D}`, 'invalid reference format'],
  ['Uppercase:tag', 'invalid reference format: repository name (library/Uppercase) must be lowercase'],
  ['library/Foo', 'invalid reference format: repository name (library/Foo) must be lowercase'],
  ['docker/Docker', 'invalid reference format: repository name (docker/Docker) must be lowercase'],
  ['test:5000/Uppercase/lowercase:tag', 'invalid reference format: repository name (Uppercase/lowercase) must be lowercase'],
  [HEX64, `invalid repository name (${HEX64}), cannot specify 64-byte hexadecimal strings`],
  ['repo@sha256:ffffffffffffffffffffffffffffffffff', 'invalid checksum digest length'],
  [`validname@invaliddigest:${'f'.repeat(64)}`, 'unsupported digest algorithm'],
  [`busybox@sha256:${'F'.repeat(64)}`, 'invalid checksum digest format'],
  ['repo@sha256:abc', 'invalid reference format'],
  ['aa/asdf$$^/aa', 'invalid reference format'],
  ['https://github.com/docker/docker', 'invalid reference format'],
  ['-docker', 'invalid reference format'],
  ['-docker/docker', 'invalid reference format'],
  ['docker-/docker', 'invalid reference format'],
  ['docker///docker', 'invalid reference format'],
  ['____/____', 'invalid reference format'],
  ['dock..er/docker', 'invalid reference format'],
  ['dock_.er/docker', 'invalid reference format'],
  ['docker/', 'invalid reference format'],
  ['[fc00::1]', 'invalid reference format'],
  ['[fc00::1]:5000', 'invalid reference format'],
  ['fc00::1:5000/debian', 'invalid reference format'],
  ['[fe80::1%eth0]:5000/debian', 'invalid reference format'],
  ['busybox:', 'invalid reference format'],
  ['busybox:-tag', 'invalid reference format'],
  ['busybox:' + 'x'.repeat(129), 'invalid reference format'],
  ['busybox with space', 'invalid reference format'],
  ['a/'.repeat(128) + 'a:tag', 'repository name must not be more than 255 characters'],
  [
    'this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255/docker',
    'repository name must not be more than 255 characters',
  ],
];

describe('parseReference (distribution/reference ParseNormalizedNamed + TagNameOnly)', () => {
  for (const c of valid) {
    test(`valid: ${c.input.length > 60 ? c.input.slice(0, 60) + '…' : c.input}`, () => {
      const r = parseReference(c.input);
      assert.equal(r.domain, c.domain);
      assert.equal(r.path, c.path);
      assert.equal(r.tag, c.tag);
      assert.equal(r.digest, c.digest);
      assert.equal(r.name, `${c.domain}/${c.path}`);
      assert.equal(r.familiar, c.familiar);
      assert.equal(r.canonical, c.canonical);
      // canonical form is a fixed point
      assert.equal(parseReference(r.canonical).canonical, r.canonical);
    });
  }
  for (const [input, message] of invalid) {
    test(`invalid: ${JSON.stringify(input.length > 60 ? input.slice(0, 60) + '…' : input)}`, () => {
      assert.throws(
        () => parseReference(input),
        (err: unknown) => {
          assert.ok(isBerthError(err, 'invalid-argument'), `expected invalid-argument, got ${String(err)}`);
          if (typeof message === 'string') assert.equal(err.message, message);
          else assert.match(err.message, message);
          return true;
        },
      );
    });
  }
});

describe('reference helpers', () => {
  test('familiarName strips docker.io and library/ only for single-level official names', () => {
    assert.equal(familiarName('docker.io/library/redis'), 'redis');
    assert.equal(familiarName('docker.io/dmcgowan/myapp'), 'dmcgowan/myapp');
    assert.equal(familiarName('docker.io/library/foo/bar'), 'library/foo/bar');
    assert.equal(familiarName('127.0.0.1:8000/privatebase'), '127.0.0.1:8000/privatebase');
    assert.equal(familiarName(parseReference('example.com:8000/private/moonbase:1')), 'example.com:8000/private/moonbase');
  });

  test('registry API host and credential key', () => {
    assert.equal(registryApiHost('docker.io'), 'registry-1.docker.io');
    assert.equal(registryApiHost('localhost:5000'), 'localhost:5000');
    assert.equal(registryApiHost('ghcr.io'), 'ghcr.io');
    assert.equal(credentialServerAddress('docker.io'), 'https://index.docker.io/v1/');
    assert.equal(credentialServerAddress('127.0.0.1:5000'), '127.0.0.1:5000');
    assert.equal(normalizeRegistryDomain('https://index.docker.io/v1/'), 'docker.io');
    assert.equal(normalizeRegistryDomain('http://127.0.0.1:5000/v2/'), '127.0.0.1:5000');
  });

  test('withDigest / withTag', () => {
    const r = parseReference('127.0.0.1:5000/x:y');
    assert.equal(withDigest(r, D).canonical, `127.0.0.1:5000/x:y@${D}`);
    assert.equal(withTag(withDigest(r, D), 'z').canonical, '127.0.0.1:5000/x:z');
    assert.throws(() => withTag(r, '-bad'), (e: unknown) => isBerthError(e, 'invalid-argument'));
  });
});

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  selectPlatformManifest,
  normalizePlatform,
  hostPlatform,
  platformMatches,
  parsePlatform,
  formatPlatform,
} from '../../../src/registry/client.js';
import { platformVector } from '../../../src/registry/platform.js';
import type { Descriptor, ImageIndex, Platform } from '../../../src/oci/image.js';
import { sha256 } from '../../../src/core/digest.js';
import { isBerthError } from '../../../src/core/errors.js';

function entry(name: string, platform?: Platform): Descriptor {
  const d: Descriptor = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(name), size: 100, annotations: { name } };
  if (platform) d.platform = platform;
  return d;
}
function index(...manifests: Descriptor[]): ImageIndex {
  return { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests };
}
const p = (architecture: string, variant?: string, os = 'linux'): Platform => (variant ? { os, architecture, variant } : { os, architecture });
const pick = (idx: ImageIndex, want?: Platform) => selectPlatformManifest(idx, want).annotations?.name;

describe('platform normalisation (containerd normalizeArch)', () => {
  const cases: Array<[Platform, Platform]> = [
    [p('x86_64'), p('amd64')],
    [p('x86-64'), p('amd64')],
    [p('amd64', 'v1'), p('amd64')],
    [p('amd64', 'v3'), p('amd64', 'v3')],
    [p('aarch64'), p('arm64')],
    [p('arm64', 'v8'), p('arm64')],
    [p('arm64', '8'), p('arm64')],
    [p('arm64', 'v8.2'), p('arm64', 'v8.2')],
    [p('armhf'), p('arm', 'v7')],
    [p('armel'), p('arm', 'v6')],
    [p('arm'), p('arm', 'v7')],
    [p('arm', '6'), p('arm', 'v6')],
    [p('i386'), p('386')],
    [p('AMD64', undefined, 'Linux'), p('amd64')],
  ];
  for (const [input, want] of cases) {
    test(`${formatPlatform(input)} → ${formatPlatform(want)}`, () => {
      assert.deepEqual(normalizePlatform(input), want);
    });
  }

  test('vectors', () => {
    assert.deepEqual(platformVector(p('amd64')).map(formatPlatform), ['linux/amd64', 'linux/386']);
    assert.deepEqual(platformVector(p('amd64', 'v3')).map(formatPlatform), ['linux/amd64/v3', 'linux/amd64/v2', 'linux/amd64/v1', 'linux/386']);
    assert.deepEqual(platformVector(p('arm', 'v7')).map(formatPlatform), ['linux/arm/v7', 'linux/arm/v6', 'linux/arm/v5']);
    assert.deepEqual(platformVector(p('arm64')).map(formatPlatform), ['linux/arm64', 'linux/arm/v8', 'linux/arm/v7', 'linux/arm/v6', 'linux/arm/v5']);
    assert.deepEqual(platformVector(p('arm64', 'v8.2')).map(formatPlatform), [
      'linux/arm64/v8.2', 'linux/arm64/v8.1', 'linux/arm64/v8', 'linux/arm/v8', 'linux/arm/v7', 'linux/arm/v6', 'linux/arm/v5',
    ]);
    assert.deepEqual(platformVector(p('arm64', 'v9.1')).map(formatPlatform).slice(0, 4), [
      'linux/arm64/v9.1', 'linux/arm64/v9', 'linux/arm64/v8.6', 'linux/arm64/v8.5',
    ]);
  });

  test('host platform is linux + mapped process.arch', () => {
    const host = hostPlatform();
    assert.equal(host.os, 'linux');
    const expected: Record<string, string> = { x64: 'amd64', arm64: 'arm64', ia32: '386', arm: 'arm' };
    if (expected[process.arch]) assert.equal(host.architecture, expected[process.arch]);
    assert.equal(parsePlatform('linux/arm/v7').variant, 'v7');
    assert.deepEqual(parsePlatform('arm64'), p('arm64'));
  });
});

describe('selectPlatformManifest', () => {
  test('exact amd64 preferred over an earlier 386 entry', () => {
    assert.equal(pick(index(entry('i386', p('386')), entry('amd', p('amd64'))), p('amd64')), 'amd');
  });
  test('amd64 falls back to 386 only when no amd64', () => {
    assert.equal(pick(index(entry('arm', p('arm64')), entry('i386', p('386'))), p('amd64')), 'i386');
  });
  test('x86_64 and aarch64 requests are normalised', () => {
    const idx = index(entry('amd', p('amd64')), entry('arm64', p('arm64', 'v8')), entry('armv7', p('arm', 'v7')));
    assert.equal(pick(idx, p('x86_64')), 'amd');
    assert.equal(pick(idx, p('aarch64')), 'arm64');
    assert.equal(pick(idx, p('arm64', 'v8')), 'arm64');
    assert.equal(pick(idx, p('armhf')), 'armv7');
  });
  test('arm64 accepts arm/v7 when it is all there is; arm/v7 accepts v6, not v8', () => {
    assert.equal(pick(index(entry('armv7', p('arm', 'v7'))), p('arm64')), 'armv7');
    assert.equal(pick(index(entry('v6', p('arm', 'v6')), entry('v5', p('arm', 'v5'))), p('arm', 'v7')), 'v6');
    assert.throws(() => pick(index(entry('v8', p('arm', 'v8'))), p('arm', 'v7')), (e: unknown) => isBerthError(e, 'not-found'));
  });
  test('first match wins among equal candidates', () => {
    assert.equal(pick(index(entry('first', p('amd64')), entry('second', p('x86_64'))), p('amd64')), 'first');
  });
  test('other OS and unknown/unknown attestation entries are never chosen', () => {
    const idx = index(entry('win', p('amd64', undefined, 'windows')), entry('att', { os: 'unknown', architecture: 'unknown' }), entry('lin', p('amd64')));
    assert.equal(pick(idx, p('amd64')), 'lin');
  });
  test('entries without platform match last', () => {
    assert.equal(pick(index(entry('noplat'), entry('amd', p('amd64'))), p('amd64')), 'amd');
    assert.equal(pick(index(entry('noplat')), p('amd64')), 'noplat');
  });
  test('amd64/v3 host prefers v3, then v2, then plain amd64', () => {
    const idx = index(entry('plain', p('amd64')), entry('v2', p('amd64', 'v2')));
    assert.equal(pick(idx, p('amd64', 'v3')), 'v2');
    assert.equal(pick(index(entry('plain', p('amd64'))), p('amd64', 'v3')), 'plain');
  });
  test('default platform is the host', () => {
    const host = hostPlatform();
    const idx = index(entry('other', p('s390x')), entry('host', host));
    assert.equal(pick(idx), 'host');
    assert.ok(platformMatches(host, host));
  });
  test('no match: not-found with Docker wording', () => {
    assert.throws(
      () => selectPlatformManifest(index(entry('amd', p('amd64'))), p('s390x')),
      (e: unknown) => isBerthError(e, 'not-found') && e.message === 'no matching manifest for linux/s390x in the manifest list entries',
    );
  });
});

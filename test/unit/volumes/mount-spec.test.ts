import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeTmpfsOptions, parseApiMount, parseBind, parseContainerMounts, parseTmpfs, parseVolumesFrom, readApiMount, validMountMode } from '../../../src/volumes/mount-spec.js';
import { localMount, validateLocalOptions } from '../../../src/volumes/local-options.js';
import { validateVolumeName } from '../../../src/volumes/store.js';
import { BerthError } from '../../../src/core/errors.js';

const invalid = (fn: () => unknown, message: RegExp): void => {
  assert.throws(fn, (err: unknown) => err instanceof BerthError && err.code === 'invalid-argument' && message.test(err.message));
};

test('-v NAME:/path[:ro] is a named volume; Mode is "z" unless options are given', () => {
  const rw = parseBind('data:/srv/data/');
  assert.equal(rw.type, 'volume');
  assert.equal(rw.name, 'data');
  assert.equal(rw.destination, '/srv/data');
  assert.equal(rw.rw, true);
  assert.equal(rw.mode, 'z');
  assert.equal(rw.copyData, true);
  assert.equal(rw.anonymous, false);
  const ro = parseBind('data:/d:ro');
  assert.equal(ro.rw, false);
  assert.equal(ro.mode, 'ro');
  assert.equal(parseBind('data:/d:nocopy').copyData, false);
});

test('-v /host:/path[:ro|rw][,z|Z][,propagation] is a bind created if missing, rprivate by default', () => {
  const b = parseBind('/srv//host/:/data:ro,Z');
  assert.equal(b.type, 'bind');
  assert.equal(b.source, '/srv/host');
  assert.equal(b.destination, '/data');
  assert.equal(b.rw, false);
  assert.equal(b.mode, 'ro,Z');
  assert.equal(b.propagation, 'rprivate');
  assert.equal(b.createSource, true);
  assert.equal(parseBind('/h:/d:rw,rshared').propagation, 'rshared');
});

test('a bare destination in Binds is an anonymous volume', () => {
  const a = parseBind('/cache');
  assert.equal(a.type, 'volume');
  assert.equal(a.name, '');
  assert.equal(a.anonymous, true);
});

test('bad -v specs are refused with moby\'s messages', () => {
  invalid(() => parseBind(':/x'), /^invalid volume specification: ':\/x'$/);
  invalid(() => parseBind('/x:ro'), /^invalid volume specification: '\/x:ro'$/);
  invalid(() => parseBind('a:/b:c:d'), /invalid volume specification/);
  invalid(() => parseBind('v:/x:bogus'), /^invalid mode: bogus$/);
  invalid(() => parseBind('v:/x:ro,rw'), /^invalid mode: ro,rw$/);
  invalid(() => parseBind('v:relative'), /mount path must be absolute/);
  invalid(() => parseBind('/host:/'), /destination can't be '\/'/);
  invalid(() => parseBind('v:/'), /destination can't be '\/'/);
  invalid(() => parseBind('bad/name:/x'), /includes invalid characters for a local volume name/);
  invalid(() => parseBind('../etc:/x'), /includes invalid characters/);
  invalid(() => parseBind('/h:/x:nocopy'), /field VolumeOptions must not be specified/);
  invalid(() => parseBind('v:/x:rshared'), /field BindOptions must not be specified/);
});

test('volume names follow ^[a-zA-Z0-9][a-zA-Z0-9_.-]+$ and can never be a path', () => {
  for (const ok of ['ab', 'my_vol.1', 'A-b', 'a..']) validateVolumeName(ok);
  for (const bad of ['a', '.hidden', '..', '../x', 'a/b', '-x', '_x', 'a b', '', 'x'.repeat(256)]) {
    invalid(() => validateVolumeName(bad), /invalid characters/);
  }
});

test('validMountMode allows one option of each kind', () => {
  assert.equal(validMountMode(''), true);
  assert.equal(validMountMode('ro,z,rslave,nocopy'), true);
  assert.equal(validMountMode('z,Z'), false);
  assert.equal(validMountMode('shared,slave'), false);
  assert.equal(validMountMode('exec'), false);
});

test('HostConfig.Mounts: bind, volume and tmpfs with their options', () => {
  const bind = parseApiMount(readApiMount({ Type: 'bind', Source: '/h', Target: '/d', ReadOnly: true, BindOptions: { Propagation: 'rslave', NonRecursive: true } }));
  assert.deepEqual([bind.type, bind.source, bind.rw, bind.propagation, bind.nonRecursive, bind.createSource, bind.mode], ['bind', '/h', false, 'rslave', true, false, '']);
  assert.equal(parseApiMount({ Type: 'bind', Source: '/h', Target: '/d', BindOptions: { CreateMountpoint: true } }).createSource, true);
  const vol = parseApiMount(readApiMount({ Type: 'volume', Source: 'vol', Target: '/d', VolumeOptions: { NoCopy: true, Labels: { a: 'b' }, DriverConfig: { Name: 'local', Options: { type: 'tmpfs', device: 'tmpfs' } } } }));
  assert.deepEqual([vol.type, vol.name, vol.copyData, vol.mode], ['volume', 'vol', false, 'z']);
  assert.deepEqual(vol.volumeOptions, { driver: 'local', labels: { a: 'b' }, driverOptions: { type: 'tmpfs', device: 'tmpfs' } });
  const anon = parseApiMount({ Type: 'volume', Target: '/d' });
  assert.equal(anon.anonymous, true);
  assert.equal(anon.mode, '');
  const tmpfs = parseApiMount({ Type: 'tmpfs', Target: '/t', TmpfsOptions: { SizeBytes: 2 * 1024 * 1024, Mode: 0o1770 } });
  assert.equal(tmpfs.tmpfsData, 'mode=1770,size=2m');
  assert.equal(parseApiMount({ Type: 'tmpfs', Target: '/t', ReadOnly: true, TmpfsOptions: { SizeBytes: 1000 } }).tmpfsData, 'ro,size=1000');
  assert.equal(parseApiMount({ Type: 'tmpfs', Target: '/t', TmpfsOptions: { Options: [['noexec'], ['uid', '1000']] } }).tmpfsData, 'noexec,uid=1000');
});

test('HostConfig.Mounts: bad input is refused', () => {
  invalid(() => parseApiMount({ Type: 'nfs', Target: '/x' }), /^invalid mount config for type "nfs": mount type unknown$/);
  invalid(() => parseApiMount({ Target: '/x' }), /mount type unknown/);
  invalid(() => parseApiMount({ Type: 'bind', Target: '/x' }), /field Source must not be empty/);
  invalid(() => parseApiMount({ Type: 'bind', Source: 'rel', Target: '/x' }), /mount path must be absolute/);
  invalid(() => parseApiMount({ Type: 'bind', Source: '/h', Target: '/' }), /destination can't be '\/'/);
  invalid(() => parseApiMount({ Type: 'bind', Source: '/h', Target: 'x' }), /mount path must be absolute/);
  invalid(() => parseApiMount({ Type: 'bind', Source: '/h', Target: '/x', BindOptions: { Propagation: 'sideways' } }), /invalid propagation mode/);
  invalid(() => parseApiMount({ Type: 'bind', Source: '/h', Target: '/x', VolumeOptions: {} }), /field VolumeOptions must not be specified/);
  invalid(() => parseApiMount({ Type: 'tmpfs', Source: 'x', Target: '/x' }), /field Source must not be specified/);
  invalid(() => parseApiMount({ Type: 'volume', Source: 'a/b', Target: '/x' }), /invalid characters/);
  invalid(() => parseApiMount({ Type: 'volume', Target: '/x', BindOptions: {} }), /field BindOptions must not be specified/);
  invalid(() => parseApiMount({ Type: 'tmpfs', Target: '/x', TmpfsOptions: { Options: [['bogus']] } }), /invalid option/);
  invalid(() => readApiMount({ Type: 'bind', ReadOnly: 'yes' }), /cannot unmarshal string into Go struct field Mount.ReadOnly/);
  invalid(() => readApiMount('bind'), /cannot unmarshal/);
});

test('HostConfig.Tmpfs entries: absolute, not /, known options and valid sizes', () => {
  assert.deepEqual(parseTmpfs('/run/', 'rw,noexec,size=64m'), { destination: '/run', data: 'rw,noexec,size=64m' });
  assert.deepEqual(parseTmpfs('/t', ''), { destination: '/t', data: '' });
  invalid(() => parseTmpfs('run', ''), /mount path must be absolute/);
  invalid(() => parseTmpfs('/', ''), /destination can't be '\/'/);
  invalid(() => parseTmpfs('/t', 'size=lots'), /invalid size "lots"/);
  invalid(() => parseTmpfs('/t', 'mode=999'), /invalid mode/);
  invalid(() => parseTmpfs('/t', 'frobnicate'), /invalid tmpfs option/);
});

test('mergeTmpfsOptions: later options win over their opposites and earlier values', () => {
  assert.deepEqual(mergeTmpfsOptions(['noexec', 'nosuid', 'nodev', 'rprivate', 'exec', 'size=1m', 'size=2m']), ['nosuid', 'nodev', 'rprivate', 'exec', 'size=2m']);
  assert.deepEqual(mergeTmpfsOptions(['rprivate', 'rshared']), ['rshared']);
});

test('--volumes-from CONTAINER[:ro|rw]', () => {
  assert.deepEqual(parseVolumesFrom('data'), { container: 'data', readOnly: false });
  assert.deepEqual(parseVolumesFrom('data:ro'), { container: 'data', readOnly: true });
  invalid(() => parseVolumesFrom(''), /cannot be an empty string/);
  invalid(() => parseVolumesFrom('data:rshared'), /invalid mode: rshared/);
  invalid(() => parseVolumesFrom('data:nocopy'), /invalid mode: nocopy/);
  invalid(() => parseVolumesFrom(':ro'), /invalid volumes-from/);
});

test('duplicate mount points across Binds, Mounts and Tmpfs are refused', () => {
  invalid(() => parseContainerMounts(['va:/d', 'vb:/d/'], [], {}), /^Duplicate mount point: \/d$/);
  invalid(() => parseContainerMounts(['va:/d'], [{ Type: 'tmpfs', Target: '/d' }], {}), /Duplicate mount point: \/d/);
  invalid(() => parseContainerMounts(['/h:/d'], [], { '/d': '' }), /Duplicate mount point/);
  const ok = parseContainerMounts(['va:/a', '/h:/b'], [{ Type: 'tmpfs', Target: '/c' }], { '/e/': 'size=1m' });
  assert.deepEqual(ok.requests.map((r) => r.destination), ['/a', '/b', '/c']);
  assert.deepEqual(ok.tmpfs, { '/e': 'size=1m' });
});

test('local driver options: type/device/o checked like moby, o split into flags and data', () => {
  validateLocalOptions({});
  validateLocalOptions({ type: 'tmpfs', device: 'tmpfs', o: 'size=10m,uid=1000' });
  invalid(() => validateLocalOptions({ foo: 'bar' }), /^invalid option: "foo"$/);
  invalid(() => validateLocalOptions({ type: 'tmpfs' }), /^missing required option: "device"$/);
  invalid(() => validateLocalOptions({ o: 'bind' , device: '/x' }), /missing required option: "type"/);
  invalid(() => validateLocalOptions({ type: 'tmpfs', device: 'tmpfs', size: '10m' }), /quota/);
  assert.deepEqual(localMount({ type: 'tmpfs', device: 'tmpfs', o: 'size=10m,noexec,uid=1000' }), { source: 'tmpfs', fstype: 'tmpfs', flags: 0x8, data: 'size=10m,uid=1000' });
  assert.deepEqual(localMount({ type: 'none', device: '/srv/x', o: 'bind,ro' }), { source: '/srv/x', fstype: null, flags: 0x1000 | 0x1, data: null });
});

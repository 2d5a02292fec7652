import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMountFlag } from '../../../src/cli/mount-opt.js';
import { buildCreateRequest, FlagError } from '../../../src/cli/create-config.js';

test('--mount: type defaults to volume; src/dst aliases; flags without values', () => {
  assert.deepEqual(parseMountFlag('src=data,dst=/d,readonly,volume-nocopy'), { Type: 'volume', Source: 'data', Target: '/d', ReadOnly: true, VolumeOptions: { NoCopy: true } });
  assert.deepEqual(parseMountFlag('type=bind,source=./x,target=/d,bind-propagation=RSLAVE', '/work'), { Type: 'bind', Source: '/work/x', Target: '/d', BindOptions: { Propagation: 'rslave' } });
  assert.deepEqual(parseMountFlag('type=tmpfs,destination=/t,tmpfs-size=64m,tmpfs-mode=1770'), { Type: 'tmpfs', Target: '/t', TmpfsOptions: { SizeBytes: 64 * 1024 * 1024, Mode: 0o1770 } });
  assert.deepEqual(parseMountFlag('type=volume,src=v,dst=/d,volume-label=a=b,volume-driver=local,volume-opt=type=tmpfs,volume-opt=device=tmpfs,ro=false'), {
    Type: 'volume',
    Source: 'v',
    Target: '/d',
    ReadOnly: false,
    VolumeOptions: { Labels: { a: 'b' }, DriverConfig: { Name: 'local', Options: { type: 'tmpfs', device: 'tmpfs' } } },
  });
  assert.deepEqual(parseMountFlag('"type=bind","src=/a,b",dst=/d'), { Type: 'bind', Source: '/a,b', Target: '/d' });
});

test('--mount: bad values are flag errors with docker\'s wording', () => {
  const bad = (value: string, message: RegExp): void => assert.throws(() => parseMountFlag(value), (e: unknown) => e instanceof FlagError && message.test(e.message));
  bad('', /value is empty/);
  bad('type=bind,src=/a', /target is required/);
  bad('type=bind,src=/a,dst=/b,foo=bar', /unexpected key 'foo' in 'foo=bar'/);
  bad('dst=/b,bogus', /invalid field 'bogus' must be a key=value pair/);
  bad('type=volume,dst=/b,tmpfs-size=1m', /cannot mix 'tmpfs-\*' options with mount type 'volume'/);
  bad('type=tmpfs,dst=/b,bind-propagation=shared', /cannot mix 'bind-\*' options/);
  bad('type=bind,src=/a,dst=/b,volume-nocopy', /cannot mix 'volume-\*' options/);
  bad('type=tmpfs,dst=/b,tmpfs-size=huge', /invalid value for tmpfs-size: huge/);
  bad('type=tmpfs,dst=/b,tmpfs-mode=9', /invalid value for tmpfs-mode: 9/);
  bad('dst=/b,readonly=maybe', /invalid value for readonly: maybe/);
});

test('run flags: -v, --mount, --tmpfs, --volumes-from land where the docker CLI puts them', () => {
  const req = buildCreateRequest('busybox', [], {
    volume: ['/anon', 'named:/n:ro', './rel:/r'],
    mount: ['type=tmpfs,dst=/t'],
    tmpfs: ['/run:size=1m'],
    volumesFrom: ['other:ro'],
  }, { env: {}, command: 'run' });
  const hc = req.body['HostConfig'] as Record<string, unknown>;
  assert.deepEqual(req.body['Volumes'], { '/anon': {} });
  assert.deepEqual(hc['Binds'], ['named:/n:ro', `${process.cwd()}/rel:/r`]);
  assert.deepEqual(hc['Mounts'], [{ Type: 'tmpfs', Target: '/t' }]);
  assert.deepEqual(hc['Tmpfs'], { '/run': 'size=1m' });
  assert.deepEqual(hc['VolumesFrom'], ['other:ro']);
  const keys = Object.keys(hc);
  assert.equal(keys.indexOf('Mounts'), keys.indexOf('IOMaximumBandwidth') + 1);
});

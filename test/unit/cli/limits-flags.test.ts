import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildCreateRequest, healthcheckFromFlags, parseDeviceFlag, parseUlimitFlag } from '../../../src/cli/create-config.js';
import { updateBody } from '../../../src/cli/commands/update.js';

test('limit flags fill the HostConfig fields docker sends', () => {
  const req = buildCreateRequest(
    'busybox',
    ['true'],
    { memory: '32m', memorySwap: '-1', memoryReservation: '16m', cpuShares: '512', cpuQuota: '20000', cpuPeriod: '50000', cpusetCpus: '0', pidsLimit: '10', ulimit: ['nofile=1024:2048'], device: ['/dev/null:/dev/n:rw'], sysctl: ['kernel.shmmax=1'], oomKillDisable: true, oomScoreAdj: '100', init: true },
    { env: {}, command: 'run' },
  );
  const hc = req.body['HostConfig'] as Record<string, unknown>;
  assert.equal(hc['Memory'], 32 * 1024 * 1024);
  assert.equal(hc['MemorySwap'], -1);
  assert.equal(hc['MemoryReservation'], 16 * 1024 * 1024);
  assert.equal(hc['CpuShares'], 512);
  assert.equal(hc['CpuQuota'], 20000);
  assert.equal(hc['CpuPeriod'], 50000);
  assert.equal(hc['CpusetCpus'], '0');
  assert.equal(hc['PidsLimit'], 10);
  assert.deepEqual(hc['Ulimits'], [{ Name: 'nofile', Hard: 2048, Soft: 1024 }]);
  assert.deepEqual(hc['Devices'], [{ PathOnHost: '/dev/null', PathInContainer: '/dev/n', CgroupPermissions: 'rw' }]);
  assert.deepEqual(hc['Sysctls'], { 'kernel.shmmax': '1' });
  assert.equal(hc['OomKillDisable'], true);
  assert.equal(hc['OomScoreAdj'], 100);
  assert.equal(hc['Init'], true);
  // docker's order: Sysctls right after ShmSize, Init last.
  const keys = Object.keys(hc);
  assert.equal(keys[keys.indexOf('ShmSize') + 1], 'Sysctls');
  assert.equal(keys.at(-1), 'Init');
});

test('--ulimit, --device and the health flags parse like docker', () => {
  assert.deepEqual(parseUlimitFlag('core=unlimited'), { Name: 'core', Hard: -1, Soft: -1 });
  assert.throws(() => parseUlimitFlag('nofile=10:5'), /soft limit must be less than or equal to hard limit/);
  assert.deepEqual(parseDeviceFlag('/dev/fuse'), { PathOnHost: '/dev/fuse', PathInContainer: '/dev/fuse', CgroupPermissions: 'rwm' });
  assert.deepEqual(parseDeviceFlag('/dev/fuse:r'), { PathOnHost: '/dev/fuse', PathInContainer: '/dev/fuse', CgroupPermissions: 'r' });
  assert.throws(() => parseDeviceFlag('/dev/a:/dev/b:xyz'), /bad mode specified: xyz/);
  assert.deepEqual(healthcheckFromFlags({ healthCmd: 'true', healthInterval: '200ms', healthRetries: '2' }), { Test: ['CMD-SHELL', 'true'], Interval: 200e6, Retries: 2 });
  assert.deepEqual(healthcheckFromFlags({ healthcheck: false }), { Test: ['NONE'] });
  assert.throws(() => healthcheckFromFlags({ healthcheck: false, healthCmd: 'x' }), /--no-healthcheck conflicts with --health-\* options/);
  assert.equal(healthcheckFromFlags({}), undefined);
  const body = buildCreateRequest('busybox', ['true'], { healthCmd: 'true' }, { env: {}, command: 'run' }).body;
  assert.deepEqual(Object.keys(body).slice(Object.keys(body).indexOf('Cmd'), Object.keys(body).indexOf('Cmd') + 3), ['Cmd', 'Healthcheck', 'Image']);
  assert.throws(() => buildCreateRequest('busybox', [], { rm: true, restart: 'always' }, { env: {}, command: 'run' }), /cannot specify both --restart and --rm/);
});

test('update sends docker UpdateConfig fields; RestartPolicy only with --restart', () => {
  const body = updateBody({ memory: '64m', cpus: '1.5', restart: 'on-failure:3' });
  assert.equal(body['Memory'], 64 * 1024 * 1024);
  assert.equal(body['NanoCpus'], 1.5e9);
  assert.deepEqual(body['RestartPolicy'], { Name: 'on-failure', MaximumRetryCount: 3 });
  assert.equal('RestartPolicy' in updateBody({ memory: '8m' }), false);
});

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isBerthError } from '../../../src/core/errors.js';
import { parseStorageOpts, readConfigFile } from '../../../src/engine/config.js';

test('--storage-opt overlay.layer_format: auto by default, squashfs or dir; anything else refused', () => {
  assert.deepEqual(parseStorageOpts([]), { layerFormat: 'auto' });
  assert.deepEqual(parseStorageOpts(['overlay.layer_format=squashfs']), { layerFormat: 'squashfs' });
  assert.deepEqual(parseStorageOpts(['overlay.layer_format=squashfs', 'Overlay.Layer_Format = dir']), { layerFormat: 'dir' });
  assert.throws(() => parseStorageOpts(['overlay.layer_format=erofs']), (err: unknown) => isBerthError(err, 'invalid-argument') && /auto, squashfs or dir/.test((err as Error).message));
  assert.throws(() => parseStorageOpts(['overlay.size=10G']), /unknown storage option "overlay.size=10G"/);
  assert.throws(() => parseStorageOpts(['overlay.layer_format']), /must be auto, squashfs or dir/);
});

test('daemon.json storage-opts', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-config-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'daemon.json');
  await writeFile(path, JSON.stringify({ 'storage-opts': ['overlay.layer_format=dir'] }));
  assert.deepEqual(readConfigFile(path), { layerFormat: 'dir' });
  await writeFile(path, JSON.stringify({ 'storage-opts': 'overlay.layer_format=dir' }));
  assert.throws(() => readConfigFile(path), /must be a list of strings/);
});

test('daemon.json log-driver and log-opts, in either order', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-config-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'daemon.json');
  await writeFile(path, JSON.stringify({ 'log-opts': { 'max-size': '10m' }, 'log-driver': 'json-file' }));
  assert.deepEqual(readConfigFile(path), { logConfig: { type: 'json-file', config: { 'max-size': '10m' } } });
  await writeFile(path, JSON.stringify({ 'log-driver': 'json-file', 'log-opts': { 'max-file': '1' } }));
  assert.deepEqual(readConfigFile(path), { logConfig: { type: 'json-file', config: { 'max-file': '1' } } });
  await writeFile(path, JSON.stringify({ 'log-opts': { 'max-size': 10 } }));
  assert.throws(() => readConfigFile(path), /"log-opts" must be an object of strings/);
});

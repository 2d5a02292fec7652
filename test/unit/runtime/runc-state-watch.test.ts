/**
 * Runc.watchStateSaved against a state root that behaves as runc's: the container's directory
 * appears, a temporary file is written in it and renamed to state.json.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Runc } from '../../../src/runtime/runc.js';

const settledWithin = <T>(promise: Promise<T>, ms: number): Promise<boolean> =>
  Promise.race([promise.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms))]);

async function saveStateAsRunc(root: string, id: string): Promise<void> {
  const dir = join(root, id);
  await mkdir(dir);
  await writeFile(join(dir, 'exec.fifo'), '');
  await writeFile(join(dir, 'state-123'), '{}');
  await rename(join(dir, 'state-123'), join(dir, 'state.json'));
}

describe('Runc.watchStateSaved', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-runc-root-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('resolves once state.json is in the container directory made after the watch began', async () => {
    const runc = new Runc('runc', root);
    const watch = runc.watchStateSaved('c1');
    try {
      assert.equal(await settledWithin(watch.saved, 50), false);
      await saveStateAsRunc(root, 'c1');
      assert.equal(await settledWithin(watch.saved, 2000), true);
    } finally {
      watch.close();
    }
  });

  test("another container's state does not count", async () => {
    const runc = new Runc('runc', root);
    const watch = runc.watchStateSaved('c2');
    try {
      await saveStateAsRunc(root, 'other');
      assert.equal(await settledWithin(watch.saved, 200), false);
    } finally {
      watch.close();
    }
  });

  test('makes the state root when runc has not made it yet', async () => {
    const fresh = join(root, 'not-yet');
    const watch = new Runc('runc', fresh).watchStateSaved('c3');
    try {
      await saveStateAsRunc(fresh, 'c3');
      assert.equal(await settledWithin(watch.saved, 2000), true);
    } finally {
      watch.close();
    }
  });

  test('stays pending once closed', async () => {
    const watch = new Runc('runc', root).watchStateSaved('c4');
    watch.close();
    await saveStateAsRunc(root, 'c4');
    assert.equal(await settledWithin(watch.saved, 200), false);
  });
});

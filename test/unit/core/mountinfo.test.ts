/** /proc/self/mountinfo lines as the kernel writes them, escapes and optional fields included. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMountInfo } from '../../../src/core/mountinfo.js';

test('parses mount points (unescaped), propagation tags, type and super options; skips malformed lines', () => {
  const text = [
    '22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw',
    '80 22 0:45 / /tmp/with\\040space rw,nosuid - tmpfs shm rw,size=65536k',
    '81 22 0:46 / /var/lib/x/merged rw master:3 shared:7 - overlay overlay rw,upperdir=/u,workdir=/w',
    'garbage',
    '',
  ].join('\n');
  assert.deepEqual(parseMountInfo(text), [
    { mountPoint: '/', optionalFields: ['shared:1'], fsType: 'ext4', superOptions: 'rw' },
    { mountPoint: '/tmp/with space', optionalFields: [], fsType: 'tmpfs', superOptions: 'rw,size=65536k' },
    { mountPoint: '/var/lib/x/merged', optionalFields: ['master:3', 'shared:7'], fsType: 'overlay', superOptions: 'rw,upperdir=/u,workdir=/w' },
  ]);
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_DETACH_KEYS, DetachScanner, parseDetachKeys } from '../../../src/api/docker/detach-keys.js';
import { BerthError } from '../../../src/core/errors.js';

describe('detach keys (daemon side)', () => {
  it('parses term.ToBytes specs and refuses the rest with a 400-class error', () => {
    assert.deepEqual(parseDetachKeys('ctrl-p,ctrl-q'), [16, 17]);
    assert.deepEqual(parseDetachKeys('ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_'), [0, 27, 28, 29, 30, 31]);
    assert.deepEqual(parseDetachKeys('a,ctrl-X'), [97, 24]);
    for (const bad of ['ctrl-foo', 'ab', 'ctrl-1', '', 'ctrl-']) {
      assert.throws(
        () => parseDetachKeys(bad),
        (err: unknown) => err instanceof BerthError && err.code === 'invalid-argument' && err.message === `Invalid detach keys (${bad}) provided`,
        bad,
      );
    }
  });

  it('finds the sequence across any chunking and forwards everything else unchanged', () => {
    const s = new DetachScanner(DEFAULT_DETACH_KEYS);
    assert.deepEqual(s.scan(Buffer.from('ls\n')), { forward: Buffer.from('ls\n'), detach: false });
    // a held ctrl-p is released when the next byte does not continue the sequence
    assert.deepEqual(s.scan(Buffer.from([16])), { forward: Buffer.alloc(0), detach: false });
    assert.deepEqual(s.scan(Buffer.from('x')), { forward: Buffer.from([16, 120]), detach: false });
    // ctrl-p ctrl-p ctrl-q: the first ctrl-p is data, the last two detach
    assert.deepEqual(s.scan(Buffer.from([65, 16, 16, 17, 66])), { forward: Buffer.from([65, 16]), detach: true });
    const split = new DetachScanner([1, 2, 3]);
    assert.equal(split.scan(Buffer.from([1])).detach, false);
    assert.equal(split.scan(Buffer.from([2])).detach, false);
    assert.deepEqual(split.scan(Buffer.from([3])), { forward: Buffer.alloc(0), detach: true });
  });
});

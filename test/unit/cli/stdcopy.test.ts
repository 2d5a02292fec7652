import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameDemuxer, DemuxError, isMultiplexed, muxFrame } from '../../../src/cli/stdcopy.js';

function collect(chunks: Buffer[]): { out: string; err: string; order: number[] } {
  let out = '';
  let err = '';
  const order: number[] = [];
  const d = new FrameDemuxer((stream, payload) => {
    order.push(stream);
    if (stream === 2) err += payload.toString();
    else out += payload.toString();
  });
  for (const c of chunks) d.push(c);
  assert.ok(d.atBoundary);
  return { out, err, order };
}

test('demultiplexes the frames of the 02b trace (stdout then stderr in one read)', () => {
  // S>C raw 24B: \x01\0\0\0\0\0\0\x04out\n\x02\0\0\0\0\0\0\x04err\n
  const wire = Buffer.from('0100000000000004' + Buffer.from('out\n').toString('hex') + '0200000000000004' + Buffer.from('err\n').toString('hex'), 'hex');
  assert.equal(wire.length, 24);
  assert.deepEqual(collect([wire]), { out: 'out\n', err: 'err\n', order: [1, 2] });
});

test('frames split at every possible byte boundary give the same result', () => {
  const wire = Buffer.concat([muxFrame(1, 'hello world\n'), muxFrame(2, 'oops\n'), muxFrame(1, ''), muxFrame(1, 'bye\n')]);
  for (let cut = 1; cut < wire.length; cut++) {
    const r = collect([wire.subarray(0, cut), wire.subarray(cut)]);
    assert.equal(r.out, 'hello world\nbye\n', `cut at ${cut}`);
    assert.equal(r.err, 'oops\n', `cut at ${cut}`);
  }
  const bytewise = collect([...wire].map((b) => Buffer.from([b])));
  assert.equal(bytewise.out, 'hello world\nbye\n');
  assert.equal(bytewise.err, 'oops\n');
});

test('large frames are delivered in pieces without waiting for the whole frame', () => {
  const big = Buffer.alloc(100_000, 0x61);
  const wire = muxFrame(1, big);
  const pieces: number[] = [];
  const d = new FrameDemuxer((_s, p) => pieces.push(p.length));
  d.push(wire.subarray(0, 8 + 1000));
  assert.deepEqual(pieces, [1000]);
  d.push(wire.subarray(8 + 1000));
  assert.equal(pieces.reduce((a, b) => a + b, 0), 100_000);
  assert.ok(d.atBoundary);
});

test('stdin frames go to stdout; a systemerr frame and unknown types are errors', () => {
  assert.equal(collect([muxFrame(0, 'in\n')]).out, 'in\n');
  const d = new FrameDemuxer(() => undefined);
  assert.throws(() => d.push(muxFrame(3, 'boom')), (e: unknown) => e instanceof DemuxError && /error from daemon in stream: boom/.test(e.message));
  const d2 = new FrameDemuxer(() => undefined);
  assert.throws(() => d2.push(Buffer.from([7, 0, 0, 0, 0, 0, 0, 1, 0x41])), /Unrecognized input header: 7/);
});

test('isMultiplexed: Content-Type says so, else the container Tty decides', () => {
  assert.equal(isMultiplexed('application/vnd.docker.multiplexed-stream', false), true);
  assert.equal(isMultiplexed('application/vnd.docker.multiplexed-stream', true), true);
  // API 1.41 daemons label multiplexed attach streams raw-stream and send no type on logs.
  assert.equal(isMultiplexed('application/vnd.docker.raw-stream', false), true);
  assert.equal(isMultiplexed(undefined, false), true);
  assert.equal(isMultiplexed('application/vnd.docker.raw-stream', true), false);
  assert.equal(isMultiplexed(undefined, true), false);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import {
  displayJSONMessages,
  JSONMessageError,
  JSONStreamSplitter,
  progressString,
} from '../../../src/cli/jsonmessage.js';

// The stream dockerd sent for `docker pull 127.0.0.1:5000/bbplus:1` (trace 07-pull).
const PULL = [
  '{"status":"Pulling from bbplus","id":"1"}',
  '{"status":"Already exists","progressDetail":{},"id":"e319a33b6e2f"}',
  '{"status":"Pulling fs layer","progressDetail":{},"id":"2a80451f1a0b"}',
  '{"status":"Downloading","progressDetail":{"current":114,"total":114},"progress":"[==================================================\\u003e]     114B/114B","id":"2a80451f1a0b"}',
  '{"status":"Verifying Checksum","progressDetail":{},"id":"2a80451f1a0b"}',
  '{"status":"Download complete","progressDetail":{},"id":"2a80451f1a0b"}',
  '{"status":"Extracting","progressDetail":{"current":114,"total":114},"progress":"[==================================================\\u003e]     114B/114B","id":"2a80451f1a0b"}',
  '{"status":"Pull complete","progressDetail":{},"id":"2a80451f1a0b"}',
  '{"status":"Digest: sha256:1d10bda5f87a8b571631191b8821cc51c0031833fbd748924e12d31336c16b95"}',
  '{"status":"Status: Downloaded newer image for 127.0.0.1:5000/bbplus:1"}',
].map((l) => `${l}\r\n`);

async function render(chunks: string[], tty: boolean): Promise<string> {
  let out = '';
  await displayJSONMessages(Readable.from(chunks.map((c) => Buffer.from(c))), (s) => (out += s), tty, () => 200);
  return out;
}

test('not a terminal: one line per message, byte-progress messages skipped', async () => {
  assert.equal(
    await render(PULL, false),
    [
      '1: Pulling from bbplus',
      'e319a33b6e2f: Already exists',
      '2a80451f1a0b: Pulling fs layer',
      '2a80451f1a0b: Verifying Checksum',
      '2a80451f1a0b: Download complete',
      '2a80451f1a0b: Pull complete',
      'Digest: sha256:1d10bda5f87a8b571631191b8821cc51c0031833fbd748924e12d31336c16b95',
      'Status: Downloaded newer image for 127.0.0.1:5000/bbplus:1',
      '',
    ].join('\n'),
  );
});

test('messages split across chunks or concatenated without newlines still parse', async () => {
  const joined = PULL.join('');
  const pieces = joined.match(/.{1,7}/gs) ?? [];
  assert.equal(await render(pieces, false), await render(PULL, false));
  const s = new JSONStreamSplitter();
  assert.deepEqual(s.push('{"a":"}{"}{"b":[1,{"c":2}]}'), [{ a: '}{' }, { b: [1, { c: 2 }] }]);
});

test('terminal: per-layer lines rewritten in place (bytes as the docker CLI writes them)', async () => {
  const out = await render(PULL.slice(0, 4), true);
  assert.equal(
    out,
    '1: Pulling from bbplus\n' +
      '\n\x1b[1A\x1b[2K\re319a33b6e2f: Already exists \r\x1b[1B' +
      '\n\x1b[1A\x1b[2K\r2a80451f1a0b: Pulling fs layer \r\x1b[1B' +
      '\x1b[1A\x1b[2K\r2a80451f1a0b: Downloading [==================================================>]     114B/114B\r\x1b[1B',
  );
});

test('progress bar text (JSONProgress.String)', () => {
  assert.equal(
    progressString({ current: 1_000_000, total: 4_260_000 }, 150),
    '[===========>                                       ]      1MB/4.26MB',
  );
  assert.equal(progressString({ current: 1_000_000, total: 4_260_000 }, 80), '     1MB/4.26MB');
  assert.equal(progressString({ current: 5, total: 0 }, 200), '      5B');
  assert.equal(progressString({}, 200), '');
});

test('an error message ends the stream with its text; 401 reads "authentication is required"', async () => {
  await assert.rejects(
    render(['{"status":"Pulling from x","id":"1"}\r\n', '{"errorDetail":{"message":"dial tcp: connection refused"},"error":"dial tcp: connection refused"}\r\n'], false),
    (e: unknown) => e instanceof JSONMessageError && e.message === 'dial tcp: connection refused',
  );
  await assert.rejects(render(['{"errorDetail":{"code":401,"message":"unauthorized"},"error":"unauthorized"}'], false), /authentication is required/);
});

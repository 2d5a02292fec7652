import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isBerthError } from '../../../src/core/errors.js';
import { isValidSignal, parseSignal, signalName, signalNumber } from '../../../src/runtime/signals.js';

test('parseSignal accepts names with and without SIG, any case, and numbers', () => {
  const table: Array<[string, number, string]> = [
    ['SIGTERM', 15, 'SIGTERM'],
    ['TERM', 15, 'SIGTERM'],
    ['term', 15, 'SIGTERM'],
    ['sigkill', 9, 'SIGKILL'],
    ['15', 15, 'SIGTERM'],
    ['9', 9, 'SIGKILL'],
    ['SIGHUP', 1, 'SIGHUP'],
    ['SIGUSR1', 10, 'SIGUSR1'],
    ['SIGWINCH', 28, 'SIGWINCH'],
    ['SIGIOT', 6, 'SIGABRT'],
    ['SIGCLD', 17, 'SIGCHLD'],
    ['POLL', 29, 'SIGIO'],
    ['SIGRTMIN', 34, 'SIGRTMIN'],
    ['SIGRTMIN+3', 37, 'SIGRTMIN+3'],
    ['RTMIN+15', 49, 'SIGRTMIN+15'],
    ['SIGRTMAX-14', 50, 'SIGRTMAX-14'],
    ['SIGRTMAX-1', 63, 'SIGRTMAX-1'],
    ['SIGRTMAX', 64, 'SIGRTMAX'],
    ['37', 37, 'SIGRTMIN+3'],
    ['64', 64, 'SIGRTMAX'],
    ['32', 32, 'SIG32'],
  ];
  for (const [raw, num, name] of table) {
    assert.deepEqual(parseSignal(raw), { number: num, name }, raw);
    assert.equal(signalNumber(raw), num, raw);
  }
});

test('parseSignal rejects what Docker rejects with "Invalid signal: X"', () => {
  for (const raw of ['', '0', 'SIGFOO', 'FOO', 'SIG', 'SIGRTMIN+16', 'SIGRTMAX-15', '65', '-1', ' 15', '1.5', 'SIG15']) {
    assert.throws(
      () => parseSignal(raw),
      (err: unknown) => isBerthError(err, 'invalid-argument') && err.message === `Invalid signal: ${raw}`,
      JSON.stringify(raw),
    );
    assert.equal(isValidSignal(raw), false);
  }
});

test('signalName gives canonical names', () => {
  assert.equal(signalName(2), 'SIGINT');
  assert.equal(signalName(19), 'SIGSTOP');
  assert.equal(signalName(35), 'SIGRTMIN+1');
  assert.equal(signalName(60), 'SIGRTMAX-4');
  assert.throws(() => signalName(0));
  assert.throws(() => signalName(65));
});

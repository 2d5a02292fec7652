import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidGoBool, normalizeGoBools } from '../../../src/cli/go-bools.js';
import { buildProgram } from '../../../src/cli/program.js';

const normalize = (argv: string[]): string[] => normalizeGoBools(buildProgram(), argv);

test('a bare bool flag becomes --long=true and leaves the next word an argument', () => {
  assert.deepEqual(normalize(['commit', '-p', 'ctr', 'img']), ['commit', '--pause=true', 'ctr', 'img']);
  assert.deepEqual(normalize(['-H', 'unix:///x.sock', 'attach', '--sig-proxy', 'ctr']), ['-H', 'unix:///x.sock', 'attach', '--sig-proxy=true', 'ctr']);
  assert.deepEqual(normalize(['image', 'history', '-H', 'img']), ['image', 'history', '--human=true', 'img']);
});

test('an explicit value is read as strconv.ParseBool reads it; anything else is refused', () => {
  assert.deepEqual(normalize(['commit', '-p=0', 'ctr']), ['commit', '--pause=false', 'ctr']);
  assert.deepEqual(normalize(['commit', '--pause=True', 'ctr']), ['commit', '--pause=true', 'ctr']);
  assert.throws(() => normalize(['commit', '--pause=maybe', 'ctr']), (e: unknown) => e instanceof InvalidGoBool && e.message === 'invalid argument "maybe" for "-p, --pause" flag: strconv.ParseBool: parsing "maybe": invalid syntax');
});

test("the container's command line is never rewritten, nor a flag's value", () => {
  assert.deepEqual(normalize(['run', '--sig-proxy', '--name', '--sig-proxy', 'busybox', 'echo', '--sig-proxy']), ['run', '--sig-proxy=true', '--name', '--sig-proxy', 'busybox', 'echo', '--sig-proxy']);
  assert.deepEqual(normalize(['run', 'busybox', 'sh', '--sig-proxy=x']), ['run', 'busybox', 'sh', '--sig-proxy=x']);
  assert.deepEqual(normalize(['commit', '--', '-p']), ['commit', '--', '-p']);
});

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { x32AbiAvailable } from '../../../src/core/libc.js';

/** The kernel's build configuration, when it publishes one (CONFIG_IKCONFIG_PROC). */
function kernelConfig(): string | undefined {
  try {
    return gunzipSync(readFileSync('/proc/config.gz')).toString('utf8');
  } catch {
    return undefined;
  }
}

describe('x32AbiAvailable', () => {
  test('agrees with the kernel configuration', { skip: process.arch !== 'x64' && 'x86_64 only' }, (t) => {
    const config = kernelConfig();
    if (config === undefined) {
      t.skip('this kernel does not publish /proc/config.gz');
      return;
    }
    const built = /^CONFIG_X86_X32_ABI=y$/m.test(config);
    // Built in, it can still be switched off at boot (syscall.x32=n); left out, it never answers.
    if (!built) assert.equal(x32AbiAvailable(), false);
    else assert.equal(typeof x32AbiAvailable(), 'boolean');
  });
});

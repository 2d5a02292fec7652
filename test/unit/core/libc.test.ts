import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { x32AbiAvailable } from '../../../src/core/libc.js';

describe('x32AbiAvailable', () => {
  test('agrees with the same probe made by another program (python3 ctypes)', { skip: process.arch !== 'x64' && 'x86_64 only' }, () => {
    // getpid through the x32 syscall number (__X32_SYSCALL_BIT | 39): the PID with the ABI, -1 (ENOSYS) without.
    const script = 'import ctypes, os; print(ctypes.CDLL(None).syscall(0x40000000 + 39) == os.getpid())';
    const other = execFileSync('python3', ['-c', script], { encoding: 'utf8' }).trim();
    assert.equal(String(x32AbiAvailable()), other === 'True' ? 'true' : 'false');
  });
});

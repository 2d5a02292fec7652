import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isBerthError } from '../../../src/core/errors.js';
import type { LinuxSeccomp, LinuxSyscall } from '../../../src/oci/runtime-spec.js';
import {
  buildSeccomp,
  defaultSeccomp,
  defaultSeccompProfile,
  parseSeccompProfile,
  seccompFor,
} from '../../../src/runtime/seccomp.js';
import { DEFAULT_CAPABILITIES } from '../../../src/runtime/spec.js';

const x64 = { arch: 'x64', kernelRelease: '6.1.0-13-amd64' };

function rulesFor(profile: LinuxSeccomp, name: string): LinuxSyscall[] {
  return (profile.syscalls ?? []).filter((r) => r.names.includes(name));
}

function allowed(profile: LinuxSeccomp, name: string): boolean {
  return rulesFor(profile, name).some((r) => r.action === 'SCMP_ACT_ALLOW' && !r.args);
}

describe('Docker default profile', () => {
  const def = defaultSeccomp(DEFAULT_CAPABILITIES, x64);

  test('default action, errno and x86_64 architectures', () => {
    assert.equal(def.defaultAction, 'SCMP_ACT_ERRNO');
    assert.equal(def.defaultErrnoRet, 1);
    assert.deepEqual(def.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
  });

  test('x32 is left out when the kernel has no x32 ABI; the rules are the same', () => {
    const withoutX32 = defaultSeccomp(DEFAULT_CAPABILITIES, { ...x64, x32Abi: false });
    assert.deepEqual(withoutX32.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86']);
    assert.deepEqual(withoutX32.syscalls, def.syscalls);
    assert.deepEqual(defaultSeccomp(DEFAULT_CAPABILITIES, x64).architectures, def.architectures, 'the cache keeps the two apart');
  });

  test('ordinary syscalls are allowed', () => {
    for (const name of ['read', 'write', 'openat', 'execve', 'exit_group', 'futex', 'chroot']) {
      assert.ok(allowed(def, name), name);
    }
    assert.ok(allowed(def, 'arch_prctl'), 'amd64-only rule kept on x64');
    assert.ok(!allowed(def, 's390_runtime_instr'));
  });

  test('capability-gated rules follow the bounding set', () => {
    for (const name of ['kcmp', 'pidfd_getfd', 'process_madvise', 'mount', 'umount2', 'unshare', 'setns', 'bpf', 'reboot']) {
      assert.equal(rulesFor(def, name).length, 0, `${name} must not be allowed without its capability`);
    }
    const ptrace = defaultSeccomp([...DEFAULT_CAPABILITIES, 'CAP_SYS_PTRACE'], x64);
    assert.ok(allowed(ptrace, 'kcmp'));
    assert.ok(allowed(ptrace, 'pidfd_getfd'));
    const admin = defaultSeccomp([...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN'], x64);
    assert.ok(allowed(admin, 'mount'));
    assert.ok(allowed(admin, 'setns'));
    // Dropping SYS_CHROOT removes chroot.
    const noChroot = defaultSeccomp(DEFAULT_CAPABILITIES.filter((c) => c !== 'CAP_SYS_CHROOT'), x64);
    assert.equal(rulesFor(noChroot, 'chroot').length, 0);
  });

  test('clone3 returns ENOSYS (38) without CAP_SYS_ADMIN; clone is flag-filtered', () => {
    const clone3 = rulesFor(def, 'clone3');
    assert.deepEqual(clone3, [{ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 }]);
    const clone = rulesFor(def, 'clone');
    assert.equal(clone.length, 1);
    assert.deepEqual(clone[0]?.args, [{ index: 0, value: 2114060288, op: 'SCMP_CMP_MASKED_EQ' }]);
    const admin = defaultSeccomp(['CAP_SYS_ADMIN'], x64);
    assert.ok(allowed(admin, 'clone3'));
    assert.ok(!rulesFor(admin, 'clone3').some((r) => r.action === 'SCMP_ACT_ERRNO'));
  });

  test('minKernel: ptrace needs 4.8', () => {
    assert.ok(allowed(def, 'ptrace'));
    const old = defaultSeccomp(DEFAULT_CAPABILITIES, { arch: 'x64', kernelRelease: '4.4.0-210-generic' });
    assert.ok(!allowed(old, 'ptrace'));
  });

  test('arm64 gets its own architectures and rules', () => {
    const arm = defaultSeccomp(DEFAULT_CAPABILITIES, { arch: 'arm64', kernelRelease: '6.1.0' });
    assert.deepEqual(arm.architectures, ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
    assert.ok(!allowed(arm, 'arch_prctl'));
    assert.ok(allowed(arm, 'cacheflush'));
  });

  test('converted once per capability set (order-insensitive), frozen', () => {
    const again = defaultSeccomp([...DEFAULT_CAPABILITIES].reverse(), x64);
    assert.equal(again, def);
    assert.ok(Object.isFrozen(def));
    assert.ok(Object.isFrozen(def.syscalls?.[0]?.names));
    assert.equal(defaultSeccompProfile(), defaultSeccompProfile());
  });

  test('seccompFor: unconfined is no seccomp', () => {
    assert.equal(seccompFor('unconfined', DEFAULT_CAPABILITIES, x64), undefined);
    assert.equal(seccompFor('default', DEFAULT_CAPABILITIES, x64), def);
  });
});

describe('user-supplied profiles', () => {
  test('Docker-format profile with name/names, includes/excludes, archMap', () => {
    const profile = parseSeccompProfile(
      JSON.stringify({
        defaultAction: 'SCMP_ACT_ALLOW',
        archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86'] }],
        syscalls: [
          { name: 'mkdir', action: 'SCMP_ACT_ERRNO', errnoRet: 13 },
          { names: ['chmod', 'fchmod'], action: 'SCMP_ACT_ERRNO', args: [] },
          { names: ['swapon'], action: 'SCMP_ACT_ERRNO', excludes: { caps: ['CAP_SYS_ADMIN'] } },
          { names: ['personality'], action: 'SCMP_ACT_ERRNO', includes: { arches: ['s390x'] } },
          { names: ['kill'], action: 'SCMP_ACT_LOG', args: [{ index: 1, value: 9, op: 'SCMP_CMP_EQ' }] },
        ],
      }),
    );
    const out = buildSeccomp(profile, DEFAULT_CAPABILITIES, x64);
    assert.deepEqual(out, {
      defaultAction: 'SCMP_ACT_ALLOW',
      architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
      syscalls: [
        { names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 },
        { names: ['chmod', 'fchmod'], action: 'SCMP_ACT_ERRNO' },
        { names: ['swapon'], action: 'SCMP_ACT_ERRNO' },
        { names: ['kill'], action: 'SCMP_ACT_LOG', args: [{ index: 1, value: 9, op: 'SCMP_CMP_EQ' }] },
      ],
    });
    const admin = buildSeccomp(profile, ['CAP_SYS_ADMIN'], x64);
    assert.equal(admin?.syscalls?.some((r) => r.names.includes('swapon')), false);
  });

  test('old-style architectures are kept verbatim', () => {
    const out = buildSeccomp(
      parseSeccompProfile('{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64"],"syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"}]}'),
      [],
      x64,
    );
    assert.deepEqual(out?.architectures, ['SCMP_ARCH_X86_64']);
  });

  test('an empty profile means no seccomp', () => {
    assert.equal(buildSeccomp(parseSeccompProfile('{}'), [], x64), undefined);
  });

  test('bad profiles are invalid-argument errors', () => {
    const bad = (text: string, re: RegExp) =>
      assert.throws(
        () => buildSeccomp(parseSeccompProfile(text), [], x64),
        (err: unknown) => isBerthError(err, 'invalid-argument') && re.test(err.message),
        text,
      );
    bad('{not json', /^Decoding seccomp profile failed: /);
    bad('[]', /^Decoding seccomp profile failed: /);
    bad('{"defaultAction":"SCMP_ACT_NOPE"}', /unknown seccomp action/);
    bad('{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["x"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":1,"op":"EQ"}]}]}', /unknown seccomp operator/);
    bad('{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["x"],"action":"SCMP_ACT_ALLOW","includes":{"minKernel":"4"}}]}', /invalid kernel version/);
    bad('{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86"],"archMap":[{"architecture":"SCMP_ARCH_X86_64","subArchitectures":null}]}', /both 'architectures' and 'archMap'/);
    bad('{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"name":"a","names":["b"],"action":"SCMP_ACT_ALLOW"}]}', /both 'name' and 'names'/);
  });
});

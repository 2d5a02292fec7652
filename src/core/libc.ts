/**
 * The syscalls Node lacks, called through koffi. Everything here is synchronous and
 * fast (no I/O waits beyond the syscall itself); callers keep them off hot loops.
 */
import koffi from 'koffi';
import { closeSync, constants as fsConstants, openSync } from 'node:fs';
import { constants as osConstants } from 'node:os';

const libc = koffi.load('libc.so.6');

const mountFn = libc.func('int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)');
const umount2Fn = libc.func('int umount2(const char *target, int flags)');
const mknodFn = libc.func('int mknod(const char *path, uint32_t mode, uint64_t dev)');
const lsetxattrFn = libc.func('int lsetxattr(const char *path, const char *name, const void *value, size_t size, int flags)');
const lgetxattrFn = libc.func('intptr_t lgetxattr(const char *path, const char *name, _Out_ void *value, size_t size)');
const llistxattrFn = libc.func('intptr_t llistxattr(const char *path, _Out_ void *list, size_t size)');
const unshareFn = libc.func('int unshare(int flags)');
const setnsFn = libc.func('int setns(int fd, int nstype)');
const socketFn = libc.func('int socket(int domain, int type, int protocol)');
const ioctlFn = libc.func('int ioctl(int fd, unsigned long request, _Inout_ uint8_t *arg)');
const closeFn = libc.func('int close(int fd)');
const syscallFn = libc.func('long syscall(long number, ...)');
const pipe2Fn = libc.func('int pipe2(_Out_ uint8_t *fds, int flags)');
const fcntlFn = libc.func('int fcntl(int fd, int cmd, ...)');

export const MS_RDONLY = 0x1;
export const MS_NOSUID = 0x2;
export const MS_NODEV = 0x4;
export const MS_NOEXEC = 0x8;
export const MS_REMOUNT = 0x20;
export const MS_BIND = 0x1000;
export const MS_REC = 0x4000;
export const MS_PRIVATE = 0x40000;
export const MNT_DETACH = 0x2;
export const CLONE_NEWNET = 0x40000000;

export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;
export const S_IFIFO = 0o010000;

const errnoNames = new Map<number, string>(
  Object.entries(osConstants.errno).map(([name, value]) => [value, name]),
);

/** `ENOENT` for 2, and so on. */
export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `E${errno}`;
}

/** An error shaped like Node's own system errors, so `errnoCode()` works on both. */
export class SyscallError extends Error {
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;

  constructor(syscall: string, errno: number, path: string) {
    const code = errnoName(errno);
    super(`${syscall} ${path}: ${code}`);
    this.code = code;
    this.errno = errno;
    this.syscall = syscall;
  }
}

function check(result: number, syscall: string, path: string): void {
  if (result < 0) throw new SyscallError(syscall, koffi.errno(), path);
}

export function mount(source: string, target: string, fstype: string | null, flags: number, data: string | null): void {
  check(mountFn(source, target, fstype, flags, data), 'mount', target);
}

export function umount2(target: string, flags = 0): void {
  check(umount2Fn(target, flags), 'umount2', target);
}

/**
 * umount2 on a thread-pool thread: unmounting an overlay syncs its upper filesystem (the whole
 * host filesystem's dirty data: tens of milliseconds, more on a busy disk) and must not stall
 * the event loop meanwhile. Resolves true when it unmounted. koffi does not carry errno back
 * from its worker thread, so a caller that needs the reason of a failure asks umount2() again.
 */
export function umount2Async(target: string, flags = 0): Promise<boolean> {
  return new Promise((resolve, reject) => {
    umount2Fn.async(target, flags, (err: unknown, result: number) => {
      if (err) reject(err instanceof Error ? err : new Error(String(err)));
      else resolve(result === 0);
    });
  });
}

/** makedev as glibc encodes it for 64-bit dev_t. */
export function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major);
  const mi = BigInt(minor);
  return ((ma & 0xfffn) << 8n) | ((ma & ~0xfffn) << 32n) | (mi & 0xffn) | ((mi & ~0xffn) << 12n);
}

export function mknod(path: string, mode: number, major = 0, minor = 0): void {
  check(mknodFn(path, mode, makedev(major, minor)), 'mknod', path);
}

export function lsetxattr(path: string, name: string, value: Uint8Array): void {
  check(lsetxattrFn(path, name, value, value.length, 0), 'lsetxattr', path);
}

/** Returns undefined when the attribute is absent (ENODATA). */
export function lgetxattr(path: string, name: string): Buffer | undefined {
  const buf = Buffer.alloc(4096);
  const n = Number(lgetxattrFn(path, name, buf, buf.length));
  if (n < 0) {
    const errno = koffi.errno();
    if (errnoNames.get(errno) === 'ENODATA') return undefined;
    throw new SyscallError('lgetxattr', errno, path);
  }
  return buf.subarray(0, n);
}

/** Names of the extended attributes of `path` (not following a symlink); [] where unsupported. */
export function llistxattr(path: string): string[] {
  const buf = Buffer.alloc(65536);
  const n = Number(llistxattrFn(path, buf, buf.length));
  if (n < 0) {
    const errno = koffi.errno();
    // squashfs answers EOPNOTSUPP for inodes of an image without any xattr
    if (errnoNames.get(errno) === 'EOPNOTSUPP' || errnoNames.get(errno) === 'ENOTSUP') return [];
    throw new SyscallError('llistxattr', errno, path);
  }
  return buf.toString('latin1', 0, n).split('\0').filter(Boolean);
}

const O_CLOEXEC = 0o2000000;
const F_SETPIPE_SZ = 1031;

/**
 * A pipe whose ends are both close-on-exec, so a child gets only the end handed to it as stdio
 * (spawn dup2()s it, which clears the flag on the copy). Returns [read fd, write fd].
 */
export function pipe(): [number, number] {
  const fds = Buffer.alloc(8);
  check(pipe2Fn(fds, O_CLOEXEC), 'pipe2', '');
  return [fds.readInt32LE(0), fds.readInt32LE(4)];
}

/** Grows a pipe's kernel buffer (F_SETPIPE_SZ); bounded by /proc/sys/fs/pipe-max-size for non-root. */
export function setPipeSize(fd: number, bytes: number): void {
  check(fcntlFn(fd, F_SETPIPE_SZ, 'int', bytes), 'fcntl(F_SETPIPE_SZ)', `fd ${fd}`);
}

/** Moves the calling thread into new namespaces (only this thread: Node's main thread when called from JS). */
export function unshare(flags: number): void {
  check(unshareFn(flags), 'unshare', '');
}

/** Moves the calling thread into the namespace `fd` refers to. */
export function setns(fd: number, nstype: number): void {
  check(setnsFn(fd, nstype), 'setns', `fd ${fd}`);
}

const AF_INET = 2;
const SOCK_DGRAM = 2;
const SIOCGIFFLAGS = 0x8913;
const SIOCSIFFLAGS = 0x8914;
const IFF_UP = 0x1;
/** struct ifreq: a 16-byte interface name, then a 24-byte union whose first member here is the short flags. */
const IFREQ_SIZE = 40;

/**
 * Brings a network interface up in the calling thread's network namespace: the classic
 * SIOCGIFFLAGS/SIOCSIFFLAGS pair on a datagram socket, which needs no netlink.
 */
export function interfaceUp(name: string): void {
  const fd = socketFn(AF_INET, SOCK_DGRAM, 0);
  check(fd, 'socket', name);
  try {
    const ifreq = Buffer.alloc(IFREQ_SIZE);
    ifreq.write(name, 0, 15, 'latin1');
    check(ioctlFn(fd, SIOCGIFFLAGS, ifreq), 'ioctl(SIOCGIFFLAGS)', name);
    ifreq.writeUInt16LE(ifreq.readUInt16LE(16) | IFF_UP, 16);
    check(ioctlFn(fd, SIOCSIFFLAGS, ifreq), 'ioctl(SIOCSIFFLAGS)', name);
  } finally {
    closeFn(fd);
  }
}

/** getpid's number in the x32 ABI: __X32_SYSCALL_BIT | 39. */
const X32_GETPID = 0x40000000 + 39;

/**
 * Whether this x86_64 kernel runs x32-ABI programs (CONFIG_X86_X32_ABI, not disabled at boot):
 * getpid through the x32 syscall number answers with our PID, or ENOSYS without the ABI.
 * Harmless everywhere: the call has no arguments and no effect. Only meaningful on x86_64.
 */
export function x32AbiAvailable(): boolean {
  return syscallFn(X32_GETPID) === process.pid;
}

const LOOP_CTL_GET_FREE = 0x4c82;
const LOOP_CONFIGURE = 0x4c0a;
const LO_FLAGS_READ_ONLY = 0x1;
const LO_FLAGS_AUTOCLEAR = 0x4;
/**
 * struct loop_config (linux/loop.h): u32 fd, u32 block_size, struct loop_info64 (232 bytes: five
 * u64, four u32 — lo_flags the fourth —, three name/key arrays of 64+64+32 bytes, two u64), then
 * eight reserved u64.
 */
const LOOP_CONFIG_SIZE = 304;
const LOOP_CONFIG_FLAGS_OFFSET = 8 + 5 * 8 + 3 * 4;
/** Another process can take the device LOOP_CTL_GET_FREE returned before we configure it. */
const LOOP_ATTEMPTS = 16;

/**
 * Mounts the filesystem image `image` read-only on `target` through a loop device, without
 * losetup/mount(8): LOOP_CTL_GET_FREE, LOOP_CONFIGURE (Linux >= 5.8) with the backing file, a
 * read-only and auto-clearing device, then mount(2). The device fd is closed before returning:
 * from then on the mount alone holds the device, so unmounting it frees the device too
 * (LO_FLAGS_AUTOCLEAR), and a failed mount frees it right away. Returns the device path.
 */
export function mountLoopImage(image: string, target: string, fstype: string, flags: number): string {
  const backing = openSync(image, fsConstants.O_RDONLY);
  try {
    const control = openSync('/dev/loop-control', fsConstants.O_RDWR);
    let lastError: unknown;
    try {
      for (let attempt = 0; attempt < LOOP_ATTEMPTS; attempt++) {
        const index = ioctlFn(control, LOOP_CTL_GET_FREE, null);
        check(index, 'ioctl(LOOP_CTL_GET_FREE)', '/dev/loop-control');
        const device = `/dev/loop${index}`;
        let loopFd: number;
        try {
          loopFd = openSync(device, fsConstants.O_RDWR);
        } catch (err) {
          // the node may not exist yet (udev/devtmpfs) or vanished: ask for another device
          lastError = err;
          continue;
        }
        try {
          const config = Buffer.alloc(LOOP_CONFIG_SIZE);
          config.writeUInt32LE(backing, 0);
          config.writeUInt32LE(LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR, LOOP_CONFIG_FLAGS_OFFSET);
          if (ioctlFn(loopFd, LOOP_CONFIGURE, config) < 0) {
            const error = new SyscallError('ioctl(LOOP_CONFIGURE)', koffi.errno(), device);
            if (error.code !== 'EBUSY') throw error;
            lastError = error;
            continue;
          }
          check(mountFn(device, target, fstype, flags | MS_RDONLY, null), 'mount', target);
          return device;
        } finally {
          closeSync(loopFd);
        }
      }
    } finally {
      closeSync(control);
    }
    throw lastError instanceof Error ? lastError : new Error(`no free loop device for ${image}`);
  } finally {
    closeSync(backing);
  }
}

const posixSpawnpFn = libc.func('int posix_spawnp(_Out_ int *pid, const char *file, void *fileActions, void *attributes, const char **argv, const char **envp)');
const actionsInit = libc.func('int posix_spawn_file_actions_init(void *fileActions)');
const actionsDestroy = libc.func('int posix_spawn_file_actions_destroy(void *fileActions)');
const actionsDup2 = libc.func('int posix_spawn_file_actions_adddup2(void *fileActions, int fd, int newFd)');
const actionsChdir = libc.func('int posix_spawn_file_actions_addchdir_np(void *fileActions, const char *path)');
const attrInit = libc.func('int posix_spawnattr_init(void *attributes)');
const attrDestroy = libc.func('int posix_spawnattr_destroy(void *attributes)');
const attrSetFlags = libc.func('int posix_spawnattr_setflags(void *attributes, short flags)');
const attrSetSigDefault = libc.func('int posix_spawnattr_setsigdefault(void *attributes, void *signals)');
const attrSetSigMask = libc.func('int posix_spawnattr_setsigmask(void *attributes, void *signals)');
const waitpidFn = libc.func('int waitpid(int pid, _Out_ int *status, int options)');

// glibc's x86_64/aarch64 layouts, with room to spare: the library only writes inside them.
const FILE_ACTIONS_SIZE = 128;
const ATTRIBUTES_SIZE = 512;
const SIGSET_SIZE = 128;
const POSIX_SPAWN_SETSIGDEF = 0x04;
const POSIX_SPAWN_SETSIGMASK = 0x08;
const POSIX_SPAWN_SETSID = 0x80;
const WNOHANG = 1;

export interface PosixSpawnOptions {
  /** fdMap[i] becomes the child's fd i (dup2, which clears close-on-exec on the copy). */
  fdMap: readonly number[];
  cwd?: string;
  newSession?: boolean;
}

/**
 * posix_spawnp(3): `file` (searched in PATH unless it has a slash) with `argv` and `envp`
 * ("K=V"). Every signal starts at its default disposition and none is blocked; all bits are set
 * rather than sigfillset(), which leaves out glibc's internal signals 32 and 33 (the child would
 * otherwise start with those ignored). Returns the PID; throws SyscallError when it cannot start.
 */
export function posixSpawn(file: string, argv: readonly string[], envp: readonly string[], options: PosixSpawnOptions): number {
  const actions = Buffer.alloc(FILE_ACTIONS_SIZE);
  const attributes = Buffer.alloc(ATTRIBUTES_SIZE);
  const allSignals = Buffer.alloc(SIGSET_SIZE, 0xff);
  const noSignals = Buffer.alloc(SIGSET_SIZE);
  actionsInit(actions);
  attrInit(attributes);
  try {
    attrSetSigDefault(attributes, allSignals);
    attrSetSigMask(attributes, noSignals);
    attrSetFlags(attributes, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | (options.newSession ? POSIX_SPAWN_SETSID : 0));
    if (options.cwd !== undefined) actionsChdir(actions, options.cwd);
    options.fdMap.forEach((source, childFd) => actionsDup2(actions, source, childFd));
    const pid = [0];
    const result = posixSpawnpFn(pid, file, actions, attributes, [...argv, null], [...envp, null]);
    if (result !== 0) throw new SyscallError('posix_spawn', result, file);
    return pid[0] ?? 0;
  } finally {
    actionsDestroy(actions);
    attrDestroy(attributes);
  }
}

/** waitpid(pid, WNOHANG): the raw wait status once the child has exited, else undefined. */
export function waitpidNoHang(pid: number): number | undefined {
  const status = [0];
  return waitpidFn(pid, status, WNOHANG) === pid ? (status[0] ?? 0) : undefined;
}

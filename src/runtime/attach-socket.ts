/**
 * conmon's attach socket is AF_UNIX SOCK_SEQPACKET, which Node's net module cannot open.
 * berth only writes to it (container stdin; output is read from the log file), so the
 * socket is created and connected through libc and written with fs.write on its fd.
 */
import { closeSync, openSync, write } from 'node:fs';
import { join } from 'node:path';
import koffi from 'koffi';
import { SyscallError } from '../core/libc.js';

const libc = koffi.load('libc.so.6');
const socketFn = libc.func('int socket(int domain, int type, int protocol)');
const connectFn = libc.func('int connect(int fd, const void *addr, uint32_t len)');
const shutdownFn = libc.func('int shutdown(int fd, int how)');

const AF_UNIX = 1;
const SOCK_SEQPACKET = 5;
const SOCK_CLOEXEC = 0o2000000;
const SHUT_WR = 1;
const MAX_PACKET = 8192;

export interface AttachWriter {
  write(data: Buffer): Promise<void>;
  /** Closes the connection: conmon then closes the container's stdin (unless told to keep it open). */
  close(): void;
}

/** Connects to `<bundle>/attach`; the path goes through /proc/self/fd to stay under sun_path's 108 bytes. */
export function connectAttachSocket(bundle: string): AttachWriter {
  const dirFd = openSync(bundle, 'r');
  let fd = -1;
  try {
    const path = join(`/proc/self/fd/${dirFd}`, 'attach');
    const addr = Buffer.alloc(110);
    addr.writeUInt16LE(AF_UNIX, 0);
    addr.write(path, 2, 'utf8');
    fd = socketFn(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0) as number;
    if (fd < 0) throw new SyscallError('socket', koffi.errno(), path);
    if ((connectFn(fd, addr, 2 + Buffer.byteLength(path) + 1) as number) < 0) {
      const errno = koffi.errno();
      closeSync(fd);
      throw new SyscallError('connect', errno, join(bundle, 'attach'));
    }
  } finally {
    closeSync(dirFd);
  }
  let closed = false;
  let pending: Promise<void> = Promise.resolve();
  return {
    write(data: Buffer): Promise<void> {
      // conmon reads one packet into a fixed buffer: larger packets would be truncated.
      if (data.length > MAX_PACKET) {
        for (let i = 0; i < data.length; i += MAX_PACKET) void this.write(data.subarray(i, i + MAX_PACKET));
        return pending;
      }
      // Writes are chained so bytes reach the container in order.
      pending = pending.then(
        () =>
          new Promise<void>((resolve, reject) => {
            if (closed) return resolve();
            write(fd, data, (err) => (err ? reject(err) : resolve()));
          }),
      );
      return pending;
    },
    close(): void {
      if (closed) return;
      // After the queued writes: conmon reads the data, then the EOF, and closes the container's stdin.
      void pending.finally(() => {
        if (closed) return;
        closed = true;
        shutdownFn(fd, SHUT_WR);
        closeSync(fd);
      });
    },
  };
}

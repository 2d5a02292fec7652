/**
 * conmon's attach socket is AF_UNIX SOCK_SEQPACKET, which Node's net module cannot open.
 * berth writes the container's stdin to it (output is read from the log file), so the socket
 * is created and connected through libc and written with fs.write on its fd.
 *
 * conmon also writes the container's output back to every attach connection, and it treats
 * a failed write as the client gone: it closes the connection without ever reading the
 * client's EOF, so the container's stdin would stay open forever (`sh -c 'cat; echo done'`
 * hung about one run in eight). The output conmon sends is therefore drained and dropped,
 * and after stdin ends the connection is only half-closed, until conmon closes it (when the
 * process exits). Draining also keeps conmon's blocking writes from stalling on a full buffer.
 */
import { closeSync, openSync, write } from 'node:fs';
import { join } from 'node:path';
import koffi from 'koffi';
import { SyscallError } from '../core/libc.js';

const libc = koffi.load('libc.so.6');
const socketFn = libc.func('int socket(int domain, int type, int protocol)');
const connectFn = libc.func('int connect(int fd, const void *addr, uint32_t len)');
const shutdownFn = libc.func('int shutdown(int fd, int how)');
const recvFn = libc.func('intptr_t recv(int fd, _Out_ uint8_t *buf, size_t len, int flags)');

const AF_UNIX = 1;
const SOCK_SEQPACKET = 5;
const SOCK_CLOEXEC = 0o2000000;
const SHUT_WR = 1;
const MAX_PACKET = 8192;
const MSG_DONTWAIT = 0x40;
const EAGAIN = 11;
const EINTR = 4;
/** An idle connection is checked for output to drop at intervals backing off to the maximum; a busy one is drained at once. */
const DRAIN_MIN_INTERVAL_MS = 5;
const DRAIN_MAX_INTERVAL_MS = 100;

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
  let ending = false;
  let released = false;
  let idleInterval = DRAIN_MIN_INTERVAL_MS;
  let pending: Promise<void> = Promise.resolve();
  const release = (): void => {
    if (released) return;
    released = true;
    closeSync(fd);
  };
  const sink = Buffer.alloc(64 * 1024);
  const drain = (): void => {
    if (released) return;
    for (let packets = 0; packets < 64; packets++) {
      const n = Number(recvFn(fd, sink, sink.length, MSG_DONTWAIT));
      if (n > 0) {
        idleInterval = DRAIN_MIN_INTERVAL_MS;
        continue;
      }
      const errno = n < 0 ? koffi.errno() : 0;
      if (n < 0 && errno === EINTR) continue;
      if (n < 0 && errno === EAGAIN) {
        setTimeout(drain, idleInterval).unref();
        idleInterval = Math.min(idleInterval * 2, DRAIN_MAX_INTERVAL_MS);
        return;
      }
      // 0: conmon closed its end (the process exited); anything else: the connection is gone.
      ending = true;
      void pending.finally(release);
      return;
    }
    setImmediate(drain);
  };
  drain();
  return {
    write(data: Buffer): Promise<void> {
      if (ending) return pending;
      // conmon reads one packet into a fixed buffer: larger packets would be truncated.
      if (data.length > MAX_PACKET) {
        for (let i = 0; i < data.length; i += MAX_PACKET) void this.write(data.subarray(i, i + MAX_PACKET));
        return pending;
      }
      // Writes are chained so bytes reach the container in order.
      pending = pending.then(
        () =>
          new Promise<void>((resolve, reject) => {
            if (released) return resolve();
            write(fd, data, (err) => (err ? reject(err) : resolve()));
          }),
      );
      return pending;
    },
    close(): void {
      if (ending) return;
      ending = true;
      // After the queued writes: conmon reads the data, then the EOF, and closes the
      // container's stdin; the fd itself is released when conmon closes its end (drain).
      void pending.finally(() => {
        if (!released) shutdownFn(fd, SHUT_WR);
      });
    },
  };
}

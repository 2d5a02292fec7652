/** Docker's stream formats: the 8-byte multiplexed frame header, and the hijack handshake. */
import type { Duplex, Writable } from 'node:stream';
import { commonHeaders } from './http.js';

export const STDOUT = 1;
export const STDERR = 2;

export function frame(stream: number, data: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(data.length, 4);
  return Buffer.concat([header, data]);
}

/** Writes and honours backpressure, so a slow client slows the reader instead of filling memory. */
export function writeWithBackpressure(out: Writable, data: Buffer): Promise<void> | void {
  if (out.destroyed) return;
  if (!out.write(data)) {
    return new Promise((resolve) => {
      const done = (): void => {
        out.off('drain', done);
        out.off('close', done);
        resolve();
      };
      out.on('drain', done);
      out.on('close', done);
    });
  }
}

/** The 101 response dockerd sends before the connection becomes a raw stream. */
export function writeUpgradeHeaders(socket: Duplex, multiplexed: boolean): void {
  const headers = {
    'Content-Type': multiplexed ? 'application/vnd.docker.multiplexed-stream' : 'application/vnd.docker.raw-stream',
    Connection: 'Upgrade',
    Upgrade: 'tcp',
    ...commonHeaders(),
  };
  socket.write(`HTTP/1.1 101 UPGRADED\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`);
}

/**
 * A minimal POSIX (pax) tar writer for layers berth produces itself. tar-stream cannot be used
 * for these: it encodes PAX values as UTF-8 strings, which corrupts binary xattr values such as
 * `security.capability`. Here PAX records are raw bytes; a PAX header is written only when an
 * entry needs one (long or non-ASCII names, big ids or sizes, xattrs).
 */
import type { Readable, Writable } from 'node:stream';

export type TarType = 'file' | 'link' | 'symlink' | 'character-device' | 'block-device' | 'directory' | 'fifo';

export interface TarHeader {
  name: string;
  type: TarType;
  mode: number;
  uid: number;
  gid: number;
  mtime: Date;
  size?: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** xattr name → raw value, written as `SCHILY.xattr.<name>`. */
  xattrs?: Map<string, Buffer>;
}

const typeflags: Record<TarType, string> = { file: '0', link: '1', symlink: '2', 'character-device': '3', 'block-device': '4', directory: '5', fifo: '6' };

/** `<len> <key>=<value>\n`, len counting the whole record in bytes. */
function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`, 'utf8'), value, Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

function fitsOctal(n: number, width: number): boolean {
  return Number.isSafeInteger(n) && n >= 0 && n < 8 ** (width - 1);
}

function writeOctal(buf: Buffer, offset: number, width: number, n: number): void {
  buf.write(`${n.toString(8).padStart(width - 1, '0')}\0`, offset, width, 'latin1');
}

function isPlainAscii(s: string): boolean {
  return /^[\x20-\x7e]*$/.test(s);
}

function header(name: string, typeflag: string, h: Omit<TarHeader, 'name' | 'type'>, size: number): Buffer {
  const buf = Buffer.alloc(512);
  buf.write(name, 0, 100, 'latin1');
  writeOctal(buf, 100, 8, h.mode & 0o7777);
  writeOctal(buf, 108, 8, fitsOctal(h.uid, 8) ? h.uid : 0);
  writeOctal(buf, 116, 8, fitsOctal(h.gid, 8) ? h.gid : 0);
  writeOctal(buf, 124, 12, fitsOctal(size, 12) ? size : 0);
  writeOctal(buf, 136, 12, Math.max(0, Math.floor(h.mtime.getTime() / 1000)));
  buf.fill(0x20, 148, 156);
  buf.write(typeflag, 156, 1, 'latin1');
  if (h.linkname && isPlainAscii(h.linkname) && h.linkname.length <= 100) buf.write(h.linkname, 157, 100, 'latin1');
  buf.write('ustar\0' + '00', 257, 8, 'latin1');
  writeOctal(buf, 329, 8, h.devmajor ?? 0);
  writeOctal(buf, 337, 8, h.devminor ?? 0);
  let sum = 0;
  for (const byte of buf) sum += byte;
  buf.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return buf;
}

function padding(size: number): Buffer {
  return Buffer.alloc((512 - (size % 512)) % 512);
}

/** The header block(s) of one entry: a PAX header first when the ustar fields cannot hold it all. */
export function encodeHeader(h: TarHeader): Buffer {
  const size = h.type === 'file' ? (h.size ?? 0) : 0;
  const records: Buffer[] = [];
  const nameFits = isPlainAscii(h.name) && h.name.length <= 100;
  if (!nameFits) records.push(paxRecord('path', Buffer.from(h.name, 'utf8')));
  if (h.linkname && !(isPlainAscii(h.linkname) && h.linkname.length <= 100)) records.push(paxRecord('linkpath', Buffer.from(h.linkname, 'utf8')));
  if (!fitsOctal(h.uid, 8)) records.push(paxRecord('uid', Buffer.from(String(h.uid))));
  if (!fitsOctal(h.gid, 8)) records.push(paxRecord('gid', Buffer.from(String(h.gid))));
  if (!fitsOctal(size, 12)) records.push(paxRecord('size', Buffer.from(String(size))));
  for (const [key, value] of h.xattrs ?? []) records.push(paxRecord(`SCHILY.xattr.${key}`, value));
  const main = header(nameFits ? h.name : Buffer.from(h.name, 'utf8').subarray(0, 100).toString('latin1'), typeflags[h.type], h, size);
  if (records.length === 0) return main;
  const pax = Buffer.concat(records);
  return Buffer.concat([header('PaxHeader', 'x', { ...h, linkname: '' }, pax.length), pax, padding(pax.length), main]);
}

/** Writes `chunk`, waiting for 'drain' when the consumer is full. */
async function write(out: Writable, chunk: Buffer): Promise<void> {
  if (out.destroyed) throw new Error('tar output closed');
  if (out.write(chunk)) return;
  await new Promise<void>((resolve, reject) => {
    const cleanup = (): void => {
      out.off('drain', onDrain);
      out.off('close', onClose);
    };
    const onDrain = (): void => {
      cleanup();
      resolve();
    };
    const onClose = (): void => {
      cleanup();
      reject(new Error('tar output closed'));
    };
    out.on('drain', onDrain);
    out.on('close', onClose);
  });
}

export class TarWriter {
  constructor(private readonly out: Writable) {}

  /** An entry without a body (or a file whose body is given whole). */
  async entry(h: TarHeader, body?: Buffer): Promise<void> {
    await write(this.out, encodeHeader({ ...h, size: body?.length ?? (h.type === 'file' ? 0 : undefined) }));
    if (body && body.length) {
      await write(this.out, body);
      await write(this.out, padding(body.length));
    }
  }

  /** A regular file streamed from `source`, which must yield exactly `h.size` bytes. */
  async file(h: TarHeader & { size: number }, source: Readable): Promise<void> {
    try {
      await this.streamedFile(h, source);
    } finally {
      source.destroy();
    }
  }

  /** A regular file whose body is the chunks of `data` (exactly `h.size` bytes), consumed here. */
  async streamedFile(h: TarHeader & { size: number }, data: AsyncIterable<Buffer>): Promise<void> {
    await write(this.out, encodeHeader(h));
    let written = 0;
    for await (const chunk of data) {
      written += chunk.length;
      if (written > h.size) throw new Error(`${h.name} grew while it was archived`);
      await write(this.out, chunk);
    }
    if (written !== h.size) throw new Error(`${h.name} shrank while it was archived`);
    await write(this.out, padding(h.size));
  }

  async finish(): Promise<void> {
    await write(this.out, Buffer.alloc(1024));
    this.out.end();
  }
}

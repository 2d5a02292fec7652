/** Fixture helpers for the snapshot tests: tar building with tar-stream, temp dirs, mounts. */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { TestContext } from 'node:test';
import tar from 'tar-stream';
import type { Digest } from '../../../src/core/digest.js';
import { MNT_DETACH, umount2 } from '../../../src/core/libc.js';

export interface TarEntry {
  name: string;
  type?: 'file' | 'link' | 'symlink' | 'directory' | 'block-device' | 'character-device' | 'fifo' | 'pax-header';
  data?: string | Buffer;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: Date;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  pax?: Record<string, string>;
}

/** Build an uncompressed tar with tar-stream's pack. Names are written verbatim (hostile ones too). */
export async function makeTar(entries: TarEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const done = (async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of pack) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  })();
  for (const e of entries) {
    const rawPax = e.type === 'pax-header';
    const type = rawPax ? 'file' : (e.type ?? 'file');
    const data = e.data === undefined ? undefined : Buffer.from(e.data);
    const header = {
      name: rawPax ? RAW_PAX_MARKER : e.name,
      type: type as 'file',
      mode: e.mode ?? (type === 'directory' ? 0o755 : type === 'symlink' ? 0o777 : 0o644),
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      mtime: e.mtime ?? new Date(1_600_000_000_000),
      size: data?.length ?? 0,
      ...(e.linkname !== undefined ? { linkname: e.linkname } : {}),
      ...(e.devmajor !== undefined ? { devmajor: e.devmajor } : {}),
      ...(e.devminor !== undefined ? { devminor: e.devminor } : {}),
      ...(e.pax !== undefined ? { pax: e.pax } : {}),
    };
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null): void => (err ? reject(err) : resolve());
      pack.entry(header, data ?? Buffer.alloc(0), cb);
    });
  }
  pack.finalize();
  return patchRawPax(await done);
}

const RAW_PAX_MARKER = '@@berth-raw-pax@@';

/** Turn the marker file entries into PAX extended headers (typeflag 'x') and fix their checksums. */
function patchRawPax(buf: Buffer): Buffer {
  let offset = 0;
  while (offset + 512 <= buf.length) {
    const header = buf.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const size = parseInt(header.toString('latin1', 124, 136).replace(/\0.*$/, '').trim() || '0', 8);
    if (header.toString('latin1', 0, RAW_PAX_MARKER.length) === RAW_PAX_MARKER) {
      header.fill(0, 0, 100);
      header.write('PaxHeaders/raw', 0, 'latin1');
      header[156] = 'x'.charCodeAt(0);
      header.fill(0x20, 148, 156);
      let sum = 0;
      for (const b of header) sum += b;
      header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
    }
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return buf;
}

/** A raw PAX record `<len> key=value\n` with binary-safe value. */
export function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

export function sha256Of(data: Buffer): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export function streamOf(data: Buffer, chunkSize = 7919): Readable {
  function* chunks(): Generator<Buffer> {
    for (let i = 0; i < data.length; i += chunkSize) yield data.subarray(i, i + chunkSize);
  }
  return Readable.from(chunks());
}

/** A temp dir removed (after unmounting anything below it) when the test ends, pass or fail. */
export async function tempDir(t: TestContext, prefix = 'berth-snap-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.after(async () => {
    await unmountBelow(dir);
    await rm(dir, { recursive: true, force: true });
  });
  return dir;
}

export async function mountPoints(): Promise<string[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => (line.split(' ')[4] ?? '').replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8))));
}

export async function unmountBelow(dir: string): Promise<void> {
  for (let i = 0; i < 64; i++) {
    const below = (await mountPoints()).filter((m) => m === dir || m.startsWith(dir + '/'));
    const last = below[below.length - 1];
    if (last === undefined) return;
    try {
      umount2(last, MNT_DETACH);
    } catch {
      return;
    }
  }
}

export function exists(path: string): boolean {
  return existsSync(path);
}


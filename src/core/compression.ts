/**
 * Stream decompression for archives and layers whose compression is only known from their
 * first bytes (docker load/import accept gzip and zstd as dockerd's DecompressStream does).
 */
import { spawn } from 'node:child_process';
import { Duplex, PassThrough, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { BerthError, errorMessage, invalidArgument } from './errors.js';

export type Compression = 'none' | 'gzip' | 'zstd';

/** gzip: 1f 8b; zstd frame magic: 28 b5 2f fd. Anything else is taken as uncompressed. */
export function detectCompression(head: Uint8Array): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  return 'none';
}

/** A decompressing duplex (`none` → a plain pass-through). Errors of zstd surface as 400s. */
export function decompressor(compression: Compression): Duplex {
  if (compression === 'gzip') return createGunzip();
  if (compression === 'none') return new PassThrough();
  const child = spawn('zstd', ['-d', '-c', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const output = new PassThrough();
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (t: string) => {
    if (stderr.length < 2048) stderr += t;
  });
  child.stdout.pipe(output, { end: false });
  child.stdin.on('error', () => undefined);
  child.once('error', (err) => output.destroy(new BerthError('failed-precondition', `cannot run zstd: ${errorMessage(err)}`)));
  child.once('close', (code, signal) => {
    if (code === 0) output.end();
    else output.destroy(invalidArgument(`cannot decompress zstd data: zstd exited ${code ?? signal}: ${stderr.trim()}`));
  });
  const duplex = Duplex.from({ writable: child.stdin, readable: output });
  duplex.on('close', () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return duplex;
}

/**
 * Peeks at the first bytes of `input` and returns a stream of its decompressed content,
 * with the compression found.
 */
export async function autoDecompress(input: Readable): Promise<{ stream: Readable; compression: Compression }> {
  const head = await peek(input, 4);
  const compression = detectCompression(head);
  const out = decompressor(compression);
  input.on('error', (err) => out.destroy(err));
  out.write(head);
  if (input.readableEnded) out.end();
  else input.pipe(out);
  return { stream: out, compression };
}

/** Reads up to `n` bytes (fewer at end of stream) without losing them: they are returned to be written on. */
async function peek(input: Readable, n: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for (;;) {
    const chunk = input.read() as Buffer | null;
    if (chunk !== null) {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= n) break;
      continue;
    }
    if (input.readableEnded) break;
    const ended = await new Promise<boolean>((resolve, reject) => {
      const cleanup = (): void => {
        input.off('readable', onReadable);
        input.off('end', onEnd);
        input.off('error', onError);
      };
      const onReadable = (): void => {
        cleanup();
        resolve(false);
      };
      const onEnd = (): void => {
        cleanup();
        resolve(true);
      };
      const onError = (err: Error): void => {
        cleanup();
        reject(err);
      };
      input.once('readable', onReadable);
      input.once('end', onEnd);
      input.once('error', onError);
    });
    if (ended) break;
  }
  return Buffer.concat(chunks);
}

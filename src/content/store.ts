/**
 * Content-addressed blob store, modelled on containerd's local content store
 * (plugins/content/local/store.go):
 *
 *   <root>/blobs/<alg>/<hex>            committed, verified, read-only blobs
 *   <root>/ingest/<sha256(ref)>/        in-progress writes: data, ref, expected, total, startedat, updatedat
 *
 * Invariants
 * - Nothing partial or unverified ever appears under blobs/: a blob is written under ingest/,
 *   fsynced, checked (size first, then digest), chmod'ed read-only, renamed into blobs/ and the
 *   blobs directory is fsynced.
 * - A killed process leaves only ingest/ leftovers. A later `ingest()` with the same ref and the
 *   same expected digest/size resumes: it re-hashes the existing data and asks `open(offset)` for
 *   the rest only.
 * - Two ingests of the same ref, or of the same digest under different refs, are serialised by an
 *   in-process lock (ref first, then digest); the second one then finds the blob committed and
 *   returns without calling `open`. (Like containerd, the lock is per process: two berthd
 *   processes must not share one content root.)
 *
 * Errors
 * - 'not-found'            blob absent (readBytes, createReadStream, size, delete)
 * - 'invalid-argument'     malformed digest / size arguments
 * - 'failed-precondition'  DigestMismatchError: size or digest of the received bytes differ from
 *                          the expected descriptor (containerd uses FailedPrecondition for this too).
 *                          The ingest is discarded.
 * - 'unavailable'          the source ended before `size` bytes arrived (retryable), or
 *                          whatever `open()` / the stream threw after the last attempt.
 */
import { createReadStream as fsCreateReadStream, openSync, type ReadStream } from 'node:fs';
import { chmod, mkdir, open, readdir, readFile, rename, rm, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes, type Hash } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import { BerthError, errnoCode, errorMessage, invalidArgument, isBerthError, notFound, unavailable } from '../core/errors.js';
import { type Digest, digestAlgorithm, digestHex, isDigest, newHasher, sha256 } from '../core/digest.js';
import { fsyncDir } from '../core/fs-atomic.js';
import { KeyedMutex } from './lock.js';

/** The expected identity of a blob being ingested. */
export interface ExpectedBlob {
  digest: Digest;
  size: number;
}

/** Thrown (code 'failed-precondition') when received content does not match its descriptor. */
export class DigestMismatchError extends BerthError {
  readonly kind: 'size' | 'digest';
  readonly expected: ExpectedBlob;
  /** `digest` is only known when the size matched (size is checked first); `atLeast` when the source sent too much. */
  readonly actual: { size: number; digest?: Digest; atLeast?: boolean };

  constructor(
    kind: 'size' | 'digest',
    ref: string,
    expected: ExpectedBlob,
    actual: { size: number; digest?: Digest; atLeast?: boolean },
  ) {
    const what =
      kind === 'size'
        ? `size mismatch: expected ${expected.size} bytes, got ${actual.atLeast ? 'at least ' : ''}${actual.size}`
        : `digest mismatch: expected ${expected.digest}, got ${actual.digest ?? 'unknown'}`;
    super('failed-precondition', `content ${expected.digest} (ref ${ref}): ${what}`);
    this.name = 'DigestMismatchError';
    this.kind = kind;
    this.expected = expected;
    this.actual = actual;
  }
}

export interface IngestOptions {
  /** Called with the number of bytes of the blob held so far (after resume re-hash and after every chunk). */
  onProgress?: (bytesSoFar: number) => void;
  /**
   * Receives the blob's bytes from offset 0, in order, as they stream (bytes resumed from a
   * previous partial ingest are replayed from disk first). Backpressure is honoured: the download
   * waits while `tee.write()` returns false until 'drain'.
   * - success: `tee.end()` is called only after the size and digest verified and the blob was
   *   committed, so 'finish' on the tee means "these bytes are the blob";
   * - failure (mismatch, network, abort): `tee.destroy(err)` with the same error `ingest()` rejects
   *   with, so a consumer unpacking while downloading learns that its input was bad.
   * - if the tee itself errors, the ingest stops (partial data kept for resume) and rejects with
   *   that error.
   * If the blob already exists, its stored bytes are streamed into the tee and it is ended.
   * Consumers must treat their result as valid only once `ingest()` resolved.
   */
  tee?: Writable;
  /** Total number of times `open()` may be called for this ingest (>= 1, default 1). */
  attempts?: number;
  /** Whether a failure of `open()` or of the stream may be retried. Default: any error that is
   * not a BerthError, or a BerthError with code 'unavailable'. Mismatches are never retried. */
  isRetryable?: (err: unknown) => boolean;
  /** First retry delay in ms, doubled per consecutive failure without progress (capped at 5 s). Default 250. */
  retryDelayMs?: number;
  signal?: AbortSignal;
}

export interface IngestStatus {
  ref: string;
  expected: Digest;
  total: number;
  offset: number;
  startedAt?: Date;
  updatedAt?: Date;
}

/** Marks errors raised by the tee so they are neither retried nor re-forwarded to the tee. */
class TeeFailure extends Error {
  constructor(readonly inner: unknown) {
    super(errorMessage(inner));
  }
}

const defaultRetryable = (err: unknown): boolean => !(err instanceof BerthError) || err.code === 'unavailable';

export class ContentStore {
  readonly root: string;
  private readonly locks = new KeyedMutex();

  constructor(root: string) {
    this.root = root;
  }

  /** Creates the layout and removes temp files of writeBlob calls a crash interrupted (partial ingests are kept: they resume). */
  async init(): Promise<void> {
    await mkdir(join(this.root, 'blobs', 'sha256'), { recursive: true });
    await mkdir(join(this.root, 'ingest'), { recursive: true });
    for (const name of await readdir(join(this.root, 'ingest'))) {
      if (name.startsWith('.write-')) await rm(join(this.root, 'ingest', name), { force: true });
    }
  }

  blobPath(digest: Digest): string {
    checkDigest(digest);
    return join(this.root, 'blobs', digestAlgorithm(digest), digestHex(digest));
  }

  async has(digest: Digest): Promise<boolean> {
    try {
      return (await stat(this.blobPath(digest))).isFile();
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return false;
      throw err;
    }
  }

  async size(digest: Digest): Promise<number> {
    try {
      return (await stat(this.blobPath(digest))).size;
    } catch (err) {
      throw mapNotFound(err, digest);
    }
  }

  /** Reads a whole blob into memory; meant for manifests, indexes and configs. */
  async readBytes(digest: Digest): Promise<Buffer> {
    try {
      return await readFile(this.blobPath(digest));
    } catch (err) {
      throw mapNotFound(err, digest);
    }
  }

  /** Opens the blob synchronously, so a missing blob throws 'not-found' here rather than later on the stream. */
  createReadStream(digest: Digest, options?: { start?: number; highWaterMark?: number }): ReadStream {
    let fd: number;
    try {
      fd = openSync(this.blobPath(digest), 'r');
    } catch (err) {
      throw mapNotFound(err, digest);
    }
    return fsCreateReadStream('', { fd, start: options?.start, highWaterMark: options?.highWaterMark ?? 256 * 1024 });
  }

  /**
   * Stores a small blob given whole (manifests are kept as the exact bytes received).
   * If `expected` is given the bytes must hash to it (DigestMismatchError otherwise).
   */
  async writeBlob(data: Uint8Array, expected?: Digest): Promise<Digest> {
    if (expected !== undefined) checkDigest(expected);
    const algorithm = expected ? digestAlgorithm(expected) : 'sha256';
    const actual: Digest =
      algorithm === 'sha256' ? sha256(data) : (`sha512:${newHasher('sha512').update(data).digest('hex')}` as Digest);
    if (expected !== undefined && actual !== expected) {
      throw new DigestMismatchError('digest', 'writeBlob', { digest: expected, size: data.byteLength }, { size: data.byteLength, digest: actual });
    }
    const release = await this.locks.acquire(`digest:${actual}`);
    try {
      if (await this.has(actual)) return actual;
      const ingestRoot = join(this.root, 'ingest');
      await mkdir(ingestRoot, { recursive: true });
      const tmp = join(ingestRoot, `.write-${randomBytes(8).toString('hex')}`);
      try {
        const fh = await open(tmp, 'wx', 0o644);
        try {
          await fh.writeFile(data);
          await fh.sync();
        } finally {
          await fh.close();
        }
        await this.commitFile(tmp, actual);
      } finally {
        await rm(tmp, { force: true });
      }
      return actual;
    } finally {
      release();
    }
  }

  /**
   * Resumable, verified ingest of one blob. `open(offset)` must return a stream of the blob's
   * bytes starting at `offset` (the registry Range request). See IngestOptions for retries and tee.
   */
  async ingest(
    ref: string,
    expected: ExpectedBlob,
    openAt: (offset: number) => Promise<Readable>,
    options: IngestOptions = {},
  ): Promise<void> {
    const tee = options.tee;
    try {
      checkDigest(expected.digest);
      if (!Number.isSafeInteger(expected.size) || expected.size < 0) {
        throw invalidArgument(`invalid size ${expected.size} for ${expected.digest}`);
      }
      if (ref === '') throw invalidArgument('ingest ref must not be empty');
      if (await this.has(expected.digest)) {
        await this.replayCommitted(expected.digest, tee);
      } else {
        const release = await this.locks.acquireAll([`ref:${ref}`, `digest:${expected.digest}`]);
        try {
          if (await this.has(expected.digest)) await this.replayCommitted(expected.digest, tee);
          else await this.ingestLocked(ref, expected, openAt, options);
        } finally {
          release();
        }
      }
      tee?.end();
    } catch (err) {
      const reported = err instanceof TeeFailure ? err.inner : err;
      if (tee && !(err instanceof TeeFailure) && !tee.destroyed) tee.destroy(asError(reported));
      throw reported;
    }
  }

  /** Status of a partial ingest for `ref`, or undefined if there is none. */
  async ingestStatus(ref: string): Promise<IngestStatus | undefined> {
    const dir = this.ingestDir(ref);
    const state = await readIngestState(dir);
    if (!state || state.ref !== ref) return undefined;
    let offset = 0;
    try {
      offset = (await stat(join(dir, 'data'))).size;
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
    return { ...state, offset };
  }

  /** Lists partial ingests (for GC / diagnostics). */
  async listIngests(): Promise<IngestStatus[]> {
    let names: string[];
    try {
      names = await readdir(join(this.root, 'ingest'));
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return [];
      throw err;
    }
    const out: IngestStatus[] = [];
    for (const name of names) {
      if (name.startsWith('.')) continue;
      const state = await readIngestState(join(this.root, 'ingest', name));
      if (!state) continue;
      const status = await this.ingestStatus(state.ref);
      if (status) out.push(status);
    }
    return out;
  }

  /** Discards a partial ingest (no error if there is none). Waits for an ingest in progress on the ref. */
  async abortIngest(ref: string): Promise<void> {
    const release = await this.locks.acquire(`ref:${ref}`);
    try {
      await rm(this.ingestDir(ref), { recursive: true, force: true });
    } finally {
      release();
    }
  }

  async delete(digest: Digest): Promise<void> {
    const release = await this.locks.acquire(`digest:${digest}`);
    try {
      await unlink(this.blobPath(digest));
    } catch (err) {
      throw mapNotFound(err, digest);
    } finally {
      release();
    }
  }

  async list(): Promise<Digest[]> {
    const out: Digest[] = [];
    for (const algorithm of ['sha256', 'sha512'] as const) {
      let names: string[];
      try {
        names = await readdir(join(this.root, 'blobs', algorithm));
      } catch (err) {
        if (errnoCode(err) === 'ENOENT') continue;
        throw err;
      }
      for (const name of names) {
        const candidate = `${algorithm}:${name}`;
        if (isDigest(candidate)) out.push(candidate);
      }
    }
    return out.sort();
  }

  // ---------------------------------------------------------------------------------------------

  private ingestDir(ref: string): string {
    return join(this.root, 'ingest', digestHex(sha256(ref)));
  }

  private async replayCommitted(digest: Digest, tee: Writable | undefined): Promise<void> {
    if (!tee) return;
    const stream = this.createReadStream(digest);
    try {
      for await (const chunk of stream) await writeTee(tee, chunk as Buffer);
    } finally {
      stream.destroy();
    }
  }

  private async ingestLocked(
    ref: string,
    expected: ExpectedBlob,
    openAt: (offset: number) => Promise<Readable>,
    options: IngestOptions,
  ): Promise<void> {
    const dir = this.ingestDir(ref);
    const dataPath = join(dir, 'data');
    const algorithm = digestAlgorithm(expected.digest);
    const tee = options.tee;
    const signal = options.signal;
    signal?.throwIfAborted();

    let hasher: Hash = newHasher(algorithm);
    let offset = 0;

    // Resume a previous partial ingest of the same ref and blob, or start afresh.
    const state = await readIngestState(dir);
    let resumed = false;
    if (state && state.ref === ref && state.expected === expected.digest && state.total === expected.size) {
      const replay = await this.rehash(dataPath, expected.size, hasher, tee);
      if (replay !== undefined) {
        offset = replay;
        resumed = true;
        await writeFile(join(dir, 'updatedat'), new Date().toISOString());
      } else {
        hasher = newHasher(algorithm);
      }
    }
    if (!resumed) {
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
      const now = new Date().toISOString();
      await writeFile(join(dir, 'ref'), ref);
      await writeFile(join(dir, 'expected'), expected.digest);
      await writeFile(join(dir, 'total'), String(expected.size));
      await writeFile(join(dir, 'startedat'), now);
      await writeFile(join(dir, 'updatedat'), now);
      await writeFile(dataPath, '');
    }
    options.onProgress?.(offset);

    const attempts = Math.max(1, Math.floor(options.attempts ?? 1));
    const isRetryable = options.isRetryable ?? defaultRetryable;
    const baseDelay = options.retryDelayMs ?? 250;
    let failures = 0;

    const fh: FileHandle = await open(dataPath, 'a');
    let closed = false;
    try {
      while (offset < expected.size) {
        const startOffset = offset;
        try {
          signal?.throwIfAborted();
          const stream = await openAt(offset);
          const onAbort = (): void => {
            stream.destroy(asError(signal?.reason ?? new Error('aborted')));
          };
          signal?.addEventListener('abort', onAbort, { once: true });
          try {
            for await (const raw of stream) {
              const chunk: Buffer = typeof raw === 'string' ? Buffer.from(raw) : (raw as Buffer);
              if (offset + chunk.length > expected.size) {
                // Size is checked before the digest: more bytes than the descriptor says is fatal.
                await this.discard(dir, fh);
                closed = true;
                throw new DigestMismatchError('size', ref, expected, { size: offset + chunk.length, atLeast: true });
              }
              hasher.update(chunk);
              await writeAll(fh, chunk);
              offset += chunk.length;
              if (tee) {
                try {
                  await writeTee(tee, chunk);
                } catch (err) {
                  throw new TeeFailure(err);
                }
              }
              options.onProgress?.(offset);
            }
          } finally {
            signal?.removeEventListener('abort', onAbort);
            stream.destroy();
          }
          if (offset < expected.size) {
            throw unavailable(`unexpected EOF reading ${expected.digest}: got ${offset} of ${expected.size} bytes`);
          }
        } catch (err) {
          if (err instanceof DigestMismatchError || err instanceof TeeFailure) throw err;
          if (signal?.aborted) throw err;
          // Progress resets the failure budget: a server that keeps dropping the connection after
          // sending something still converges, since every attempt resumes from `offset`.
          if (offset > startOffset) failures = 0;
          failures += 1;
          if (failures >= attempts || !isRetryable(err)) throw err;
          await delay(Math.min(baseDelay * 2 ** (failures - 1), 5000), signal);
        }
      }

      // Commit: fsync, size check, digest check, rename into blobs/, fsync dir.
      await fh.sync();
      await fh.close();
      closed = true;
      const onDisk = (await stat(dataPath)).size;
      if (onDisk !== expected.size) {
        await this.discard(dir);
        throw new DigestMismatchError('size', ref, expected, { size: onDisk });
      }
      const actual = `${algorithm}:${hasher.digest('hex')}` as Digest;
      if (actual !== expected.digest) {
        await this.discard(dir);
        throw new DigestMismatchError('digest', ref, expected, { size: onDisk, digest: actual });
      }
      await this.commitFile(dataPath, expected.digest);
      await rm(dir, { recursive: true, force: true });
    } finally {
      if (!closed) await fh.close().catch(() => undefined);
    }
  }

  /**
   * Re-hashes an existing partial data file (replaying it into the tee). Returns its size, or
   * undefined if it cannot be resumed (missing, or longer than the blob).
   */
  private async rehash(dataPath: string, size: number, hasher: Hash, tee: Writable | undefined): Promise<number | undefined> {
    let length: number;
    try {
      length = (await stat(dataPath)).size;
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return undefined;
      throw err;
    }
    if (length > size) return undefined;
    if (length === 0) return 0;
    const stream = fsCreateReadStream(dataPath, { end: length - 1, highWaterMark: 256 * 1024 });
    let seen = 0;
    try {
      for await (const raw of stream) {
        const chunk = raw as Buffer;
        hasher.update(chunk);
        seen += chunk.length;
        if (tee) {
          try {
            await writeTee(tee, chunk);
          } catch (err) {
            throw new TeeFailure(err);
          }
        }
      }
    } finally {
      stream.destroy();
    }
    return seen;
  }

  private async discard(dir: string, fh?: FileHandle): Promise<void> {
    if (fh) await fh.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }

  /** chmod read-only, rename into blobs/, fsync the blobs dir. A concurrent commit of the same digest wins silently. */
  private async commitFile(source: string, digest: Digest): Promise<void> {
    const target = this.blobPath(digest);
    const blobsDir = join(this.root, 'blobs', digestAlgorithm(digest));
    await mkdir(blobsDir, { recursive: true });
    await chmod(source, 0o444);
    if (await this.has(digest)) return;
    await rename(source, target);
    await fsyncDir(blobsDir);
  }
}

// -----------------------------------------------------------------------------------------------

function checkDigest(digest: string): asserts digest is Digest {
  if (!isDigest(digest)) throw invalidArgument(`invalid digest "${digest}": expected sha256:<64 hex> or sha512:<128 hex>`);
}

function mapNotFound(err: unknown, digest: Digest): unknown {
  if (isBerthError(err)) return err;
  if (errnoCode(err) === 'ENOENT') return notFound(`content ${digest} not found`);
  return err;
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

async function readIngestState(dir: string): Promise<Omit<IngestStatus, 'offset'> | undefined> {
  try {
    const [ref, expected, total] = await Promise.all([
      readFile(join(dir, 'ref'), 'utf8'),
      readFile(join(dir, 'expected'), 'utf8'),
      readFile(join(dir, 'total'), 'utf8'),
    ]);
    const totalNumber = Number(total);
    if (!isDigest(expected) || !Number.isSafeInteger(totalNumber) || totalNumber < 0) return undefined;
    const status: Omit<IngestStatus, 'offset'> = { ref, expected, total: totalNumber };
    const started = await readFile(join(dir, 'startedat'), 'utf8').catch(() => undefined);
    const updated = await readFile(join(dir, 'updatedat'), 'utf8').catch(() => undefined);
    if (started) status.startedAt = new Date(started);
    if (updated) status.updatedAt = new Date(updated);
    return status;
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}

async function writeAll(fh: FileHandle, chunk: Buffer): Promise<void> {
  let written = 0;
  while (written < chunk.length) {
    const { bytesWritten } = await fh.write(chunk, written, chunk.length - written);
    written += bytesWritten;
  }
}

/** Writes to a consumer stream honouring backpressure; rejects if the consumer errors or closes. */
async function writeTee(tee: Writable, chunk: Buffer): Promise<void> {
  if (tee.destroyed || tee.writableEnded) {
    throw tee.errored ?? new Error('tee stream closed before the blob was complete');
  }
  if (tee.write(chunk)) return;
  await new Promise<void>((resolve, reject) => {
    const cleanup = (): void => {
      tee.off('drain', onDrain);
      tee.off('error', onError);
      tee.off('close', onClose);
    };
    const onDrain = (): void => {
      cleanup();
      resolve();
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const onClose = (): void => {
      cleanup();
      reject(tee.errored ?? new Error('tee stream closed before the blob was complete'));
    };
    tee.on('drain', onDrain);
    tee.on('error', onError);
    tee.on('close', onClose);
  });
}

function delay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(asError(signal.reason));
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(asError(signal?.reason));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

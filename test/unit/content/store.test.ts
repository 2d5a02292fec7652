import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { PassThrough, Readable, Writable } from 'node:stream';
import { ContentStore, DigestMismatchError } from '../../../src/content/store.js';
import { sha256, type Digest } from '../../../src/core/digest.js';
import { isBerthError } from '../../../src/core/errors.js';

const here = dirname(fileURLToPath(import.meta.url));

/** A source that serves `data` from an offset in `chunk`-sized pieces, recording every open. */
function source(data: Buffer, opts: { chunk?: number; failAfter?: number[]; delayMs?: number } = {}) {
  const opens: number[] = [];
  const failAfter = [...(opts.failAfter ?? [])];
  const open = async (offset: number): Promise<Readable> => {
    opens.push(offset);
    const limit = failAfter.shift();
    const chunk = opts.chunk ?? 1024;
    let pos = offset;
    let sent = 0;
    // highWaterMark 1: read() is only called once everything pushed was consumed, so a simulated
    // connection drop loses no already-delivered bytes.
    return new Readable({
      highWaterMark: 1,
      read() {
        const go = () => {
          if (limit !== undefined && sent >= limit) {
            this.destroy(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
            return;
          }
          if (pos >= data.length) {
            this.push(null);
            return;
          }
          let n = Math.min(chunk, data.length - pos);
          if (limit !== undefined) n = Math.min(n, limit - sent);
          this.push(data.subarray(pos, pos + n));
          pos += n;
          sent += n;
        };
        if (opts.delayMs) setTimeout(go, opts.delayMs);
        else go();
      },
    });
  };
  return { open, opens };
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function ls(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch {
    return [];
  }
}

describe('ContentStore', () => {
  let root: string;
  let store: ContentStore;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-content-'));
    store = new ContentStore(join(root, 'content'));
    await store.init();
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('writeBlob stores exact bytes under blobs/sha256/<hex>, read back by all readers', async () => {
    const data = Buffer.from('{"schemaVersion":2}\n');
    const digest = await store.writeBlob(data);
    assert.equal(digest, sha256(data));
    assert.equal(store.blobPath(digest), join(root, 'content', 'blobs', 'sha256', digest.slice(7)));
    assert.ok(await store.has(digest));
    assert.deepEqual(await store.readBytes(digest), data);
    assert.equal(await store.size(digest), data.length);
    assert.deepEqual(await collect(store.createReadStream(digest)), data);
    assert.ok((await store.list()).includes(digest));
    const mode = (await stat(store.blobPath(digest))).mode & 0o777;
    assert.equal(mode, 0o444);
    // idempotent
    assert.equal(await store.writeBlob(data, digest), digest);
  });

  test('writeBlob with a wrong expected digest fails and stores nothing', async () => {
    const data = Buffer.from('abc');
    const wrong = sha256('abd');
    await assert.rejects(store.writeBlob(data, wrong), (err: unknown) => {
      assert.ok(err instanceof DigestMismatchError);
      assert.equal(err.code, 'failed-precondition');
      assert.match(err.message, /digest mismatch: expected sha256:[0-9a-f]{64}, got sha256:/);
      return true;
    });
    assert.equal(await store.has(sha256(data)), false);
    assert.equal(await store.has(wrong), false);
  });

  test('missing blobs are not-found errors', async () => {
    const d = sha256('nope');
    await assert.rejects(store.readBytes(d), (e: unknown) => isBerthError(e, 'not-found'));
    await assert.rejects(store.size(d), (e: unknown) => isBerthError(e, 'not-found'));
    assert.throws(() => store.createReadStream(d), (e: unknown) => isBerthError(e, 'not-found'));
    await assert.rejects(store.delete(d), (e: unknown) => isBerthError(e, 'not-found'));
    await assert.rejects(store.readBytes('sha256:xyz' as Digest), (e: unknown) => isBerthError(e, 'invalid-argument'));
  });

  test('delete removes a blob', async () => {
    const d = await store.writeBlob(Buffer.from('to delete'));
    await store.delete(d);
    assert.equal(await store.has(d), false);
    assert.ok(!(await store.list()).includes(d));
  });

  test('ingest verifies and commits; progress reported; ingest dir removed', async () => {
    const data = randomBytes(100_000);
    const digest = sha256(data);
    const src = source(data, { chunk: 7000 });
    const progress: number[] = [];
    await store.ingest('layer-a', { digest, size: data.length }, src.open, { onProgress: (n) => progress.push(n) });
    assert.deepEqual(src.opens, [0]);
    assert.deepEqual(await store.readBytes(digest), data);
    assert.equal(progress[0], 0);
    assert.equal(progress[progress.length - 1], data.length);
    assert.deepEqual(await ls(join(root, 'content', 'ingest')), []);
  });

  test('ingest of an existing blob returns without calling open', async () => {
    const data = Buffer.from('already here');
    const digest = await store.writeBlob(data);
    let called = false;
    await store.ingest('x', { digest, size: data.length }, async () => {
      called = true;
      return Readable.from([]);
    });
    assert.equal(called, false);
  });

  test('transient failure is retried with the offset already stored (attempts)', async () => {
    const data = randomBytes(50_000);
    const digest = sha256(data);
    const src = source(data, { chunk: 4096, failAfter: [20_000, 10_000] });
    await store.ingest('retry', { digest, size: data.length }, src.open, { attempts: 5, retryDelayMs: 1 });
    assert.deepEqual(src.opens, [0, 20_000, 30_000]);
    assert.deepEqual(await store.readBytes(digest), data);
  });

  test('a failed ingest keeps its partial data and a later ingest of the same ref resumes (re-hash)', async () => {
    const data = randomBytes(64_000);
    const digest = sha256(data);
    const first = source(data, { chunk: 1000, failAfter: [25_000] });
    await assert.rejects(store.ingest('resume-me', { digest, size: data.length }, first.open), /socket hang up/);
    assert.equal(await store.has(digest), false);
    const status = await store.ingestStatus('resume-me');
    assert.equal(status?.offset, 25_000);
    assert.equal(status?.total, data.length);
    assert.equal(status?.expected, digest);
    assert.equal((await store.listIngests()).length, 1);
    assert.deepEqual(await ls(join(root, 'content', 'blobs', 'sha256')).then((l) => l.includes(digest.slice(7))), false);

    const second = source(data, { chunk: 3000 });
    const tee = new PassThrough();
    const teed = collect(tee);
    await store.ingest('resume-me', { digest, size: data.length }, second.open, { tee });
    assert.deepEqual(second.opens, [25_000]);
    assert.deepEqual(await store.readBytes(digest), data);
    // the tee got the whole blob, the resumed prefix replayed from disk
    assert.deepEqual(await teed, data);
    assert.equal(await store.ingestStatus('resume-me'), undefined);
  });

  test('too many bytes: size mismatch, ingest discarded, nothing in blobs', async () => {
    const data = randomBytes(10_000);
    const digest = sha256(data.subarray(0, 9_000));
    const src = source(data);
    await assert.rejects(store.ingest('too-long', { digest, size: 9_000 }, src.open, { attempts: 5 }), (err: unknown) => {
      assert.ok(err instanceof DigestMismatchError);
      assert.equal(err.kind, 'size');
      assert.equal(err.code, 'failed-precondition');
      assert.match(err.message, /size mismatch: expected 9000 bytes, got at least/);
      return true;
    });
    assert.deepEqual(src.opens, [0]);
    assert.equal(await store.has(digest), false);
    assert.equal(await store.ingestStatus('too-long'), undefined);
  });

  test('wrong bytes: digest mismatch names expected and actual, ingest discarded', async () => {
    const good = randomBytes(20_000);
    const bad = Buffer.from(good);
    bad[123] ^= 0xff;
    const digest = sha256(good);
    const tee = new PassThrough();
    const teeError = new Promise<unknown>((resolve) => tee.on('error', resolve));
    tee.resume();
    await assert.rejects(store.ingest('bad', { digest, size: good.length }, source(bad).open, { tee }), (err: unknown) => {
      assert.ok(err instanceof DigestMismatchError);
      assert.equal(err.kind, 'digest');
      assert.equal(err.actual.digest, sha256(bad));
      assert.ok(err.message.includes(digest) && err.message.includes(sha256(bad)));
      return true;
    });
    assert.ok((await teeError) instanceof DigestMismatchError, 'tee learns the mismatch');
    assert.equal(await store.has(digest), false);
    assert.equal(await store.has(sha256(bad)), false);
    assert.equal(await store.ingestStatus('bad'), undefined);
    assert.ok(!(await store.list()).includes(digest));
  });

  test('a source that keeps ending early: unavailable "unexpected EOF" after the attempts, partial kept', async () => {
    const data = randomBytes(5000);
    const digest = sha256(data);
    const opens: number[] = [];
    const open = async (offset: number) => {
      opens.push(offset);
      return Readable.from(offset < 3000 ? [data.subarray(offset, 3000)] : []);
    };
    await assert.rejects(store.ingest('short', { digest, size: data.length }, open, { attempts: 2, retryDelayMs: 1 }), (err: unknown) => {
      assert.ok(isBerthError(err, 'unavailable'));
      assert.match(err.message, /unexpected EOF .*got 3000 of 5000 bytes/);
      return true;
    });
    assert.deepEqual(opens, [0, 3000]);
    assert.equal(await store.has(digest), false);
    assert.equal((await store.ingestStatus('short'))?.offset, 3000);
    await store.abortIngest('short');
    assert.equal(await store.ingestStatus('short'), undefined);
  });

  test('two concurrent ingests of the same ref: one download, both succeed', async () => {
    const data = randomBytes(80_000);
    const digest = sha256(data);
    const src = source(data, { chunk: 2000, delayMs: 1 });
    await Promise.all([
      store.ingest('same', { digest, size: data.length }, src.open),
      store.ingest('same', { digest, size: data.length }, src.open),
    ]);
    assert.deepEqual(src.opens, [0]);
    assert.deepEqual(await store.readBytes(digest), data);
  });

  test('two concurrent ingests of the same digest under different refs do not corrupt each other', async () => {
    const data = randomBytes(80_000);
    const digest = sha256(data);
    const a = source(data, { chunk: 2000, delayMs: 1 });
    const b = source(data, { chunk: 3000, delayMs: 1 });
    await Promise.all([
      store.ingest('ref-a', { digest, size: data.length }, a.open),
      store.ingest('ref-b', { digest, size: data.length }, b.open),
    ]);
    assert.equal(a.opens.length + b.opens.length, 1);
    assert.deepEqual(await store.readBytes(digest), data);
    assert.deepEqual(await store.listIngests(), []);
  });

  test('tee applies backpressure: the download waits for a slow consumer', async () => {
    const data = randomBytes(256 * 1024);
    const digest = sha256(data);
    let served = 0;
    const open = async (offset: number): Promise<Readable> => {
      let pos = offset;
      return new Readable({
        highWaterMark: 1024,
        read() {
          if (pos >= data.length) return void this.push(null);
          const n = Math.min(4096, data.length - pos);
          this.push(data.subarray(pos, pos + n));
          pos += n;
          served = pos;
        },
      });
    };
    const received: Buffer[] = [];
    let maxLead = 0;
    let consumed = 0;
    const slow = new Writable({
      highWaterMark: 8192,
      write(chunk: Buffer, _enc, cb) {
        setTimeout(() => {
          received.push(chunk);
          consumed += chunk.length;
          maxLead = Math.max(maxLead, served - consumed);
          cb();
        }, 1);
      },
    });
    const finished = new Promise((resolve) => slow.on('finish', resolve));
    await store.ingest('tee-bp', { digest, size: data.length }, open, { tee: slow });
    await finished;
    assert.deepEqual(Buffer.concat(received), data);
    assert.ok(maxLead < 96 * 1024, `download ran ahead of the consumer by ${maxLead} bytes`);
  });

  test('a failing tee stops the ingest and keeps the partial for resume', async () => {
    const data = randomBytes(64 * 1024);
    const digest = sha256(data);
    let seen = 0;
    const tee = new Writable({
      write(chunk: Buffer, _e, cb) {
        seen += chunk.length;
        cb(seen > 16 * 1024 ? new Error('unpack failed') : null);
      },
    });
    tee.on('error', () => undefined);
    await assert.rejects(store.ingest('tee-fail', { digest, size: data.length }, source(data, { chunk: 4096 }).open, { tee, attempts: 5 }), /unpack failed/);
    assert.equal(await store.has(digest), false);
    const st = await store.ingestStatus('tee-fail');
    assert.ok(st && st.offset > 0 && st.offset < data.length);
    await store.ingest('tee-fail', { digest, size: data.length }, source(data).open);
    assert.deepEqual(await store.readBytes(digest), data);
  });

  test('tee of an already-present blob receives the stored bytes', async () => {
    const data = randomBytes(3000);
    const digest = await store.writeBlob(data);
    const tee = new PassThrough();
    const got = collect(tee);
    await store.ingest('present', { digest, size: data.length }, async () => {
      throw new Error('must not open');
    }, { tee });
    assert.deepEqual(await got, data);
  });

  test('abort signal stops an ingest', async () => {
    const data = randomBytes(200_000);
    const digest = sha256(data);
    const ac = new AbortController();
    const src = source(data, { chunk: 1000, delayMs: 2 });
    // Aborted once the download is under way (a fixed delay could fire before it starts on a busy machine).
    const timer = setInterval(() => {
      if (src.opens.length === 0) return;
      clearInterval(timer);
      setTimeout(() => ac.abort(new Error('cancelled by test')), 10);
    }, 2);
    await assert.rejects(store.ingest('abort', { digest, size: data.length }, src.open, { signal: ac.signal, attempts: 5 }), /cancelled by test/);
    assert.deepEqual(src.opens, [0]);
    assert.equal(await store.has(digest), false);
  });

  test('a stale ingest for a different expected blob under the same ref is discarded, not resumed', async () => {
    const a = randomBytes(10_000);
    const b = randomBytes(12_000);
    await assert.rejects(store.ingest('reused-ref', { digest: sha256(a), size: a.length }, source(a, { failAfter: [4000] }).open));
    const src = source(b);
    await store.ingest('reused-ref', { digest: sha256(b), size: b.length }, src.open);
    assert.deepEqual(src.opens, [0]);
    assert.deepEqual(await store.readBytes(sha256(b)), b);
  });

  test('a killed process leaves only ingest/ leftovers, which a later ingest resumes', async () => {
    const killRoot = join(root, 'killed');
    const data = randomBytes(2 * 1024 * 1024);
    const digest = sha256(data);
    const dataFile = join(root, 'killed-source.bin');
    await writeFile(dataFile, data);
    const storeModule = join(here, '..', '..', '..', 'src', 'content', 'store.js');
    const script = `
      import { ContentStore } from ${JSON.stringify(storeModule)};
      import { createReadStream } from 'node:fs';
      import { Transform } from 'node:stream';
      const store = new ContentStore(${JSON.stringify(killRoot)});
      await store.init();
      let sent = 0;
      await store.ingest('killme', { digest: ${JSON.stringify(digest)}, size: ${data.length} }, async (offset) => {
        const slow = new Transform({ transform(chunk, _e, cb) {
          sent += chunk.length;
          if (sent > 600000) process.stdout.write('PROGRESS\\n');
          setTimeout(() => cb(null, chunk), 5);
        } });
        return createReadStream(${JSON.stringify(dataFile)}, { start: offset, highWaterMark: 65536 }).pipe(slow);
      });
      process.stdout.write('DONE\\n');
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        if (d.toString().includes('DONE')) reject(new Error('child finished before it was killed'));
        if (d.toString().includes('PROGRESS')) {
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.on('error', reject);
    });
    await new Promise((resolve) => child.on('exit', resolve));

    const resumed = new ContentStore(killRoot);
    await resumed.init();
    assert.equal(await resumed.has(digest), false);
    assert.deepEqual(await ls(join(killRoot, 'blobs', 'sha256')), [], 'nothing partial under blobs/');
    const st = await resumed.ingestStatus('killme');
    assert.ok(st && st.offset > 0 && st.offset < data.length, `partial offset ${st?.offset}`);
    const src = source(data, { chunk: 65536 });
    await resumed.ingest('killme', { digest, size: data.length }, src.open);
    assert.deepEqual(src.opens, [st.offset]);
    assert.deepEqual(await readFile(resumed.blobPath(digest)), data);
    assert.deepEqual(await ls(join(killRoot, 'ingest')), []);
  });
});

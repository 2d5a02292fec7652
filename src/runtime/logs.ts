/**
 * Reading conmon's k8s-file logs: `<RFC3339Nano> <stdout|stderr> <F|P> <bytes>\n`.
 * F closes a line; P is a fragment whose line continues in the next record.
 */
import { open } from 'node:fs/promises';
import { fstatSync, readSync, statSync, watch, type FSWatcher } from 'node:fs';

export interface LogEntry {
  /** RFC3339Nano in UTC with a Z, as Docker prints it. */
  timestamp: string;
  /** Seconds since the epoch with fraction, for since/until filters. */
  time: number;
  stream: 'stdout' | 'stderr';
  /** The bytes the container wrote, with the newline restored for full lines. */
  data: Buffer;
}

const NL = 0x0a;
const SP = 0x20;

export function parseLogRecord(line: Buffer): LogEntry | undefined {
  const s1 = line.indexOf(SP);
  if (s1 < 0) return undefined;
  const s2 = line.indexOf(SP, s1 + 1);
  if (s2 < 0) return undefined;
  const s3 = line.indexOf(SP, s2 + 1);
  const rawTime = line.subarray(0, s1).toString('latin1');
  const stream = line.subarray(s1 + 1, s2).toString('latin1');
  if (stream !== 'stdout' && stream !== 'stderr') return undefined;
  const tag = line.subarray(s2 + 1, s3 < 0 ? line.length : s3).toString('latin1');
  const content = s3 < 0 ? Buffer.alloc(0) : line.subarray(s3 + 1);
  const data = tag === 'P' ? Buffer.from(content) : Buffer.concat([content, Buffer.from([NL])]);
  return { timestamp: toUtc(rawTime), time: parseTime(rawTime), stream, data };
}

/** conmon writes `+00:00`-style offsets; Docker shows the same instant as `…Z`. */
function toUtc(raw: string): string {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$/.exec(raw);
  if (!m) return raw;
  if (m[3] === 'Z' || m[3] === '+00:00') return `${m[1]}${m[2] ?? ''}Z`;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  return `${new Date(ms).toISOString().slice(0, 19)}${m[2] ?? ''}Z`;
}

function parseTime(raw: string): number {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$/.exec(raw);
  if (!m) return 0;
  return Date.parse(`${m[1]}${m[3]}`) / 1000 + Number(`0${m[2] ?? ''}`);
}

export interface ReadLogsOptions {
  follow: boolean;
  /** Keep only the last N entries of what exists when reading starts; undefined = all. */
  tail?: number;
  since?: number;
  until?: number;
  /** Resolves when the container has exited; following stops after draining what was written. */
  exited?: Promise<unknown>;
  signal?: AbortSignal;
  /** Byte offset to start reading at (attach starts at the end of what was already logged). */
  fromOffset?: number;
  onEntry: (entry: LogEntry) => void | Promise<void>;
}

/**
 * What the last read after an exit takes synchronously: `run` and `attach` end as soon as the
 * container's last output is out, and a read through the thread pool would wait behind the
 * teardown that follows the exit. A container that wrote more than this at the end is read
 * the usual way.
 */
const FINAL_SYNC_READ_BYTES = 256 * 1024;

/**
 * Streams a log file's entries, optionally following it until the container exits. A follower
 * also follows the file conmon puts in the log's place when it reaches its size limit
 * (--log-size-max: a new file renamed over the old one): the old file is read to its end, then
 * the new one from its start.
 */
export async function readLogs(path: string, options: ReadLogsOptions): Promise<void> {
  let position = options.fromOffset ?? 0;
  let carry = Buffer.alloc(0);
  const keep = (e: LogEntry): boolean =>
    (options.since === undefined || e.time >= options.since) && (options.until === undefined || e.time <= options.until);

  let handle = await open(path, 'r').catch(() => undefined);
  let inode = handle ? fstatSync(handle.fd).ino : undefined;
  const buf = Buffer.alloc(64 * 1024);
  /** Reads to the end of the file; the first `syncBytes` bytes without leaving the event loop. */
  const readAvailable = async (collect?: LogEntry[], syncBytes = 0): Promise<void> => {
    if (!handle) return;
    let syncLeft = syncBytes;
    for (;;) {
      const bytesRead = syncLeft > 0 ? readSync(handle.fd, buf, 0, buf.length, position) : (await handle.read(buf, 0, buf.length, position)).bytesRead;
      if (bytesRead === 0) return;
      syncLeft -= bytesRead;
      position += bytesRead;
      const chunk = carry.length ? Buffer.concat([carry, buf.subarray(0, bytesRead)]) : buf.subarray(0, bytesRead);
      let start = 0;
      for (let nl = chunk.indexOf(NL, start); nl >= 0; nl = chunk.indexOf(NL, start)) {
        const entry = parseLogRecord(chunk.subarray(start, nl));
        start = nl + 1;
        if (!entry || !keep(entry)) continue;
        if (collect) collect.push(entry);
        else await options.onEntry(entry);
      }
      carry = Buffer.from(chunk.subarray(start));
    }
  };
  /** After the current file was read to its end: moves to the file now at `path`, if it is another one. */
  const switchToReplacement = async (): Promise<boolean> => {
    const now = statSync(path, { throwIfNoEntry: false });
    if (!now || now.ino === inode) return false;
    const previous = handle;
    handle = await open(path, 'r').catch(() => undefined);
    inode = handle ? fstatSync(handle.fd).ino : undefined;
    previous?.close().catch(() => undefined);
    position = 0;
    carry = Buffer.alloc(0);
    return true;
  };

  try {
    if (options.tail !== undefined) {
      const all: LogEntry[] = [];
      await readAvailable(all);
      for (const entry of options.tail === 0 ? [] : all.slice(-options.tail)) await options.onEntry(entry);
    } else {
      await readAvailable();
    }
    if (!options.follow || options.signal?.aborted) return;

    let exited = false;
    // Set by every wake-up, so one that comes while a read is under way is not lost.
    let poked = false;
    let wake: (() => void) | undefined;
    const poke = (): void => {
      poked = true;
      const w = wake;
      wake = undefined;
      w?.();
    };
    void options.exited?.then(() => {
      exited = true;
      poke();
    });
    options.signal?.addEventListener('abort', poke, { once: true });
    let watcher: FSWatcher | undefined;
    const watchPath = (): void => {
      watcher?.close();
      try {
        watcher = watch(path, poke);
      } catch {
        watcher = undefined;
      }
    };
    watchPath();
    // inotify can miss a rename-based reopen; a slow timer is the safety net.
    const timer = setInterval(poke, 500);
    try {
      while (!options.signal?.aborted) {
        const last = exited;
        poked = false;
        await readAvailable(undefined, last ? FINAL_SYNC_READ_BYTES : 0);
        if (await switchToReplacement()) {
          watchPath();
          continue;
        }
        if (last) return;
        if (!poked) {
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
        }
      }
    } finally {
      clearInterval(timer);
      watcher?.close();
    }
  } finally {
    // Not awaited: the stream ends now, the descriptor closes in the background.
    handle?.close().catch(() => undefined);
  }
}

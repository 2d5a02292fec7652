/**
 * Starting the helper programs berthd runs on every container operation (conmon, runc) with
 * posix_spawn(3) instead of child_process.spawn.
 *
 * Why: libuv starts a child with fork(2), which copies berthd's page tables while the event
 * loop waits — 5–6 ms per spawn at berthd's ~90 MB, three spawns per `docker run`. glibc's
 * posix_spawn uses clone(CLONE_VM | CLONE_VFORK): the parent waits only until the child has
 * exec'd (≈ 1 ms, whatever berthd's size). No npm package wraps it; the call itself is in the
 * FFI module (libc.ts: posixSpawn, waitpidNoHang), this module manages the children.
 *
 * What the child gets: the given argv and environment, the working directory, its fds 0… from
 * `fds` ('ignore' → /dev/null, 'pipe' → a pipe whose read end the parent gets as a stream, or an
 * fd of berthd's), every signal at its default disposition and none blocked (berthd ignores
 * SIGPIPE; runc and conmon must not inherit that), and optionally a new session. Every other
 * fd of berthd is close-on-exec (Node opens them so), so nothing else leaks into the child.
 *
 * Exit statuses are collected with waitpid(pid, WNOHANG) for our own PIDs only, on SIGCHLD:
 * libuv reaps just the children it started, so neither steals the other's status.
 */
import { closeSync, openSync } from 'node:fs';
import { Socket } from 'node:net';
import { constants as osConstants } from 'node:os';
import { BerthError, errnoCode } from './errors.js';
import { pipe, posixSpawn, waitpidNoHang } from './libc.js';

export type ChildFd = 'ignore' | 'pipe' | number;

export interface SpawnOptions {
  /** What the child's fds 0, 1, 2, … are. */
  fds: readonly ChildFd[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Start a new session (setsid): the child outlives berthd's process group. */
  newSession?: boolean;
}

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SpawnedChild {
  pid: number;
  /** The read ends of the 'pipe' fds, by child fd number. */
  pipes: Map<number, Socket>;
  exited: Promise<ChildExit>;
}

const waiting = new Map<number, (exit: ChildExit) => void>();
let reaperInstalled = false;
/**
 * While a child runs: keeps the event loop alive (as libuv's own process handles do; the
 * SIGCHLD listener does not) and reaps now and then in case a coalesced signal was missed.
 */
let pendingTimer: NodeJS.Timeout | undefined;
const FALLBACK_REAP_MS = 200;

function reap(): void {
  for (const [pid, resolve] of waiting) {
    const status = waitpidNoHang(pid);
    if (status === undefined) continue;
    waiting.delete(pid);
    resolve(decodeStatus(status));
  }
  if (waiting.size === 0 && pendingTimer) {
    clearInterval(pendingTimer);
    pendingTimer = undefined;
  }
}

function decodeStatus(status: number): ChildExit {
  const termSignal = status & 0x7f;
  if (termSignal === 0) return { code: (status >> 8) & 0xff, signal: null };
  const name = Object.entries(osConstants.signals).find(([, n]) => n === termSignal)?.[0];
  return { code: null, signal: (name ?? null) as NodeJS.Signals | null };
}

function environ(env: NodeJS.ProcessEnv): string[] {
  return Object.entries(env)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([k, v]) => `${k}=${v}`);
}

/** Starts `file` (searched in PATH unless it has a slash) with `args`; throws when it cannot. */
export function spawnProcess(file: string, args: readonly string[], options: SpawnOptions): SpawnedChild {
  if (!reaperInstalled) {
    process.on('SIGCHLD', reap);
    reaperInstalled = true;
  }
  const parentEnds = new Map<number, number>();
  const closeInParent: number[] = [];
  try {
    const fdMap = options.fds.map((what, childFd) => {
      if (what === 'ignore') {
        const devNull = openSync('/dev/null', 'r+');
        closeInParent.push(devNull);
        return devNull;
      }
      if (what === 'pipe') {
        const [readEnd, writeEnd] = pipe();
        parentEnds.set(childFd, readEnd);
        closeInParent.push(writeEnd);
        return writeEnd;
      }
      return what;
    });
    let childPid: number;
    try {
      childPid = posixSpawn(file, [file, ...args], environ(options.env ?? process.env), { fdMap, cwd: options.cwd, newSession: options.newSession });
    } catch (err) {
      throw new BerthError('internal', `cannot start ${file}: ${errnoCode(err) ?? String(err)}`, { cause: err });
    }
    const exited = new Promise<ChildExit>((resolve) => waiting.set(childPid, resolve));
    pendingTimer ??= setInterval(reap, FALLBACK_REAP_MS);
    // An exit before the line above would have left its SIGCHLD with nobody to reap for.
    reap();
    const pipes = new Map<number, Socket>();
    for (const [childFd, fd] of parentEnds) pipes.set(childFd, new Socket({ fd, readable: true, writable: false }));
    parentEnds.clear();
    return { pid: childPid, pipes, exited };
  } finally {
    for (const fd of closeInParent) closeSync(fd);
    for (const fd of parentEnds.values()) closeSync(fd);
  }
}

/** Runs `file` to completion and returns its stdout and stderr (both collected in memory). */
export async function runProcess(file: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<{ exit: ChildExit; stdout: string; stderr: string }> {
  const child = spawnProcess(file, args, { fds: ['ignore', 'pipe', 'pipe'], ...options });
  const collect = (fd: number): Promise<string> =>
    new Promise((resolve, reject) => {
      const stream = child.pipes.get(fd);
      if (!stream) return resolve('');
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', reject);
      stream.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    });
  const [stdout, stderr, exit] = await Promise.all([collect(1), collect(2), child.exited]);
  return { exit, stdout, stderr };
}

/**
 * Starting the helper programs berthd runs on every container operation (conmon, runc) with
 * posix_spawn(3) instead of child_process.spawn.
 *
 * Why: libuv starts a child with fork(2), which copies berthd's page tables while the event
 * loop waits — 5–6 ms per spawn at berthd's ~90 MB, three spawns per `docker run`. glibc's
 * posix_spawn uses clone(CLONE_VM | CLONE_VFORK): the parent waits only until the child has
 * exec'd (≈ 1 ms, whatever berthd's size). No npm package wraps it; koffi (already used for
 * mount(2) and friends) reaches glibc directly.
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
import koffi from 'koffi';
import { closeSync, openSync } from 'node:fs';
import { Socket } from 'node:net';
import { constants as osConstants } from 'node:os';
import { BerthError } from './errors.js';
import { pipe } from './libc.js';

const libc = koffi.load('libc.so.6');

const posixSpawnp = libc.func('int posix_spawnp(_Out_ int *pid, const char *file, void *fileActions, void *attributes, const char **argv, const char **envp)');
const actionsInit = libc.func('int posix_spawn_file_actions_init(void *fileActions)');
const actionsDestroy = libc.func('int posix_spawn_file_actions_destroy(void *fileActions)');
const actionsDup2 = libc.func('int posix_spawn_file_actions_adddup2(void *fileActions, int fd, int newFd)');
const actionsChdir = libc.func('int posix_spawn_file_actions_addchdir_np(void *fileActions, const char *path)');
const attrInit = libc.func('int posix_spawnattr_init(void *attributes)');
const attrDestroy = libc.func('int posix_spawnattr_destroy(void *attributes)');
const attrSetFlags = libc.func('int posix_spawnattr_setflags(void *attributes, short flags)');
const attrSetSigDefault = libc.func('int posix_spawnattr_setsigdefault(void *attributes, void *signals)');
const attrSetSigMask = libc.func('int posix_spawnattr_setsigmask(void *attributes, void *signals)');
const sigEmptySet = libc.func('int sigemptyset(void *signals)');
const waitpidFn = libc.func('int waitpid(int pid, _Out_ int *status, int options)');

// glibc's x86_64/aarch64 layouts, with room to spare: the library only writes inside them.
const FILE_ACTIONS_SIZE = 128;
const ATTRIBUTES_SIZE = 512;
const SIGSET_SIZE = 128;
const POSIX_SPAWN_SETSIGDEF = 0x04;
const POSIX_SPAWN_SETSIGMASK = 0x08;
const POSIX_SPAWN_SETSID = 0x80;
const WNOHANG = 1;

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
  const status = [0];
  for (const [pid, resolve] of waiting) {
    if (waitpidFn(pid, status, WNOHANG) !== pid) continue;
    waiting.delete(pid);
    resolve(decodeStatus(status[0] ?? 0));
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
  const actions = Buffer.alloc(FILE_ACTIONS_SIZE);
  const attributes = Buffer.alloc(ATTRIBUTES_SIZE);
  const allSignals = Buffer.alloc(SIGSET_SIZE);
  const noSignals = Buffer.alloc(SIGSET_SIZE);
  actionsInit(actions);
  attrInit(attributes);
  const parentEnds = new Map<number, number>();
  const closeInParent: number[] = [];
  try {
    // Every bit set rather than sigfillset(), which leaves out glibc's internal signals 32 and
    // 33: those the spawned child would otherwise start with ignored (libuv's children do not).
    allSignals.fill(0xff);
    sigEmptySet(noSignals);
    attrSetSigDefault(attributes, allSignals);
    attrSetSigMask(attributes, noSignals);
    attrSetFlags(attributes, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | (options.newSession ? POSIX_SPAWN_SETSID : 0));
    if (options.cwd !== undefined) actionsChdir(actions, options.cwd);
    options.fds.forEach((what, childFd) => {
      let source: number;
      if (what === 'ignore') {
        source = openSync('/dev/null', 'r+');
        closeInParent.push(source);
      } else if (what === 'pipe') {
        const [readEnd, writeEnd] = pipe();
        parentEnds.set(childFd, readEnd);
        closeInParent.push(writeEnd);
        source = writeEnd;
      } else {
        source = what;
      }
      // The fds opened above are far above the child's 0…n, so dup2 always clears close-on-exec.
      actionsDup2(actions, source, childFd);
    });
    const pid = [0];
    const argv = [file, ...args, null];
    const result = posixSpawnp(pid, file, actions, attributes, argv, [...environ(options.env ?? process.env), null]);
    if (result !== 0) {
      const code = Object.entries(osConstants.errno).find(([, n]) => n === result)?.[0] ?? `errno ${result}`;
      throw new BerthError('internal', `cannot start ${file}: ${code}`);
    }
    const childPid = pid[0] ?? 0;
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
    actionsDestroy(actions);
    attrDestroy(attributes);
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

/**
 * Starting a container under conmon, the per-container monitor that outlives berthd.
 * Contract (containers/conmon): the sync pipe fd is named by _OCI_SYNCPIPE, the start pipe by
 * _OCI_STARTPIPE; conmon waits for a byte on the start pipe, double-forks, runs `runc create`,
 * and writes one JSON line `{"data": pid}` (negative with "message" on failure). berthd runs `runc start` itself afterwards. On exit conmon
 * writes the decimal exit status to <exit-dir>/<id>; output goes to a k8s-file log.
 */
import type { Readable } from 'node:stream';
import { openSync, closeSync, mkdirSync, readFileSync, writeSync, constants as fsConstants } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BerthError, errnoCode } from '../core/errors.js';
import { readTextIfPresent } from '../core/read-text.js';
import { pipe } from '../core/libc.js';
import { spawnProcess, type SpawnedChild } from '../core/spawn.js';
import type { ProcessMover } from './monitor-cgroup.js';
import { runcMessage, type Runc } from './runc.js';

export interface ConmonPaths {
  /** One directory for all containers' exit files, watched with inotify. */
  exitDir: string;
  /** Short directory for attach-socket symlinks (sun_path is 108 bytes). */
  socketDir: string;
}

export interface ConmonCreateOptions {
  id: string;
  name: string;
  bundle: string;
  logPath: string;
  tty: boolean;
  openStdin: boolean;
  /** Keep the container's stdin open when an attached client leaves (OpenStdin without StdinOnce). */
  leaveStdinOpen: boolean;
  paths: ConmonPaths;
  runc: Runc;
  conmonBinary: string;
  /** Seconds to wait for `runc create` before giving up. */
  timeoutSeconds?: number;
  /** Bytes the log may reach: a line that would take it further starts the file afresh. */
  logSizeMax?: number;
  /** conmon's own cgroup (see monitor-cgroup.ts); without one it stays in berthd's. */
  cgroup?: ProcessMover;
}

export interface ConmonCreated {
  pid: number;
  conmonPid: number;
}

export function conmonFiles(bundle: string): { pidFile: string; conmonPidFile: string; runtimeLog: string; persistDir: string; attachSocket: string; ctlFifo: string; conmonLog: string } {
  return {
    pidFile: join(bundle, 'pidfile'),
    conmonPidFile: join(bundle, 'conmon.pid'),
    runtimeLog: join(bundle, 'runtime.log'),
    persistDir: join(bundle, 'persist'),
    attachSocket: join(bundle, 'attach'),
    ctlFifo: join(bundle, 'ctl'),
    conmonLog: join(bundle, 'conmon.log'),
  };
}

interface CommonArgs {
  cid: string;
  cuuid: string;
  runc: Runc;
  bundle: string;
  pidFile: string;
  name: string;
  exitDir: string;
  persistDir: string;
  socketDir: string;
  logPath: string;
  tty: boolean;
  openStdin: boolean;
}

/** The flags every conmon invocation takes (Podman's sharedConmonArgs is the model). */
function commonArgs(o: CommonArgs): string[] {
  return [
    '--api-version', '1',
    '-c', o.cid,
    '-u', o.cuuid,
    '-r', o.runc.binary,
    '-b', o.bundle,
    '-p', o.pidFile,
    '-n', o.name,
    '--exit-dir', o.exitDir,
    '-0', o.persistDir,
    '--socket-dir-path', o.socketDir,
    '-l', `k8s-file:${o.logPath}`,
    '--log-level', 'error',
    '--syslog',
    // conmon fsyncs the log at every exit unless told not to: 1.5 ms before the exit is even
    // reported here, far more on a busy disk. dockerd's json-file logger never syncs either.
    '--no-sync-log',
    ...o.runc.globalArgs().flatMap((a) => ['--runtime-arg', a]),
    ...(o.tty ? ['-t'] : []),
    ...(o.openStdin ? ['-i'] : []),
  ];
}

/**
 * Starts conmon with the sync pipe as fd 3. Its own diagnostics go to a file, never to a
 * pipe: it outlives berthd, and a pipe whose reader died would hand it EPIPE. It runs in
 * `cwd` (the bundle): on an OOM kill conmon also writes an "oom" file into its working directory.
 */
function spawnConmon(binary: string, args: string[], conmonLog: string, cwd: string): Launched {
  const stderrFd = openSync(conmonLog, 'a');
  const [startRead, startWrite] = pipe();
  const env: NodeJS.ProcessEnv = { ...process.env, _OCI_SYNCPIPE: '3', _OCI_STARTPIPE: '4' };
  delete env.NOTIFY_SOCKET;
  let child: SpawnedChild;
  try {
    child = spawnProcess(binary, args, { fds: ['ignore', 'ignore', stderrFd, 'pipe', startRead], env, newSession: true, cwd });
  } catch (err) {
    closeSync(startWrite);
    throw err;
  } finally {
    closeSync(stderrFd);
    closeSync(startRead);
  }
  const sync = child.pipes.get(3);
  if (!sync) {
    // Cannot happen (fd 3 was asked for as a pipe), but must not leave conmon waiting on its start pipe.
    process.kill(child.pid, 'SIGKILL');
    closeSync(startWrite);
    throw new BerthError('internal', 'conmon: no sync pipe');
  }
  let state: 'waiting' | 'proceeded' | 'cancelled' = 'waiting';
  return {
    pid: child.pid,
    sync,
    proceed() {
      if (state !== 'waiting') return;
      state = 'proceeded';
      try {
        writeSync(startWrite, '1');
      } catch (err) {
        // A conmon that already exited (bad arguments) reports through its log and the sync pipe's end.
        if (errnoCode(err) !== 'EPIPE') throw err;
      } finally {
        closeSync(startWrite);
      }
    },
    async cancel() {
      if (state !== 'waiting') return;
      state = 'cancelled';
      // Killed before the start pipe closes: on EOF conmon would go on to run the runtime.
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch (err) {
        if (errnoCode(err) !== 'ESRCH') throw err;
      }
      closeSync(startWrite);
      sync.destroy();
      await child.exited;
    },
  };
}

/**
 * A started conmon that waits on its start pipe: conmon reads one byte from _OCI_STARTPIPE
 * before it forks (the contract Podman and CRI-O use to move it into a cgroup first). berthd
 * starts it while it still prepares the bundle, so conmon's own start-up overlaps that work.
 */
interface Launched {
  pid: number;
  sync: Readable;
  /** Lets conmon run the runtime: the bundle (or exec process spec) must be complete. */
  proceed(): void;
  /** Stops a conmon that was not told to proceed; nothing of it is left. */
  cancel(): Promise<void>;
}

export interface ConmonLaunch<T> {
  /** Lets conmon run the runtime and resolves with what it reports. */
  proceed(): Promise<T>;
  /** Stops conmon if it was not told to proceed (the preparation failed); a no-op after proceed(). */
  cancel(): Promise<void>;
}

/**
 * conmon's move into its own cgroup, started as soon as it is spawned and not awaited (see
 * monitor-cgroup.ts). conmon forks its monitor when released, quite likely before that move
 * has landed: follow() then moves the monitor too, once the move of its parent is done.
 */
function moveToCgroup(cgroup: ProcessMover | undefined, spawnedPid: number): { follow(monitorPid: number): void } {
  if (!cgroup) return { follow: () => undefined };
  const moving = cgroup.move(spawnedPid);
  return {
    follow(monitorPid) {
      if (Number.isInteger(monitorPid) && monitorPid > 0 && monitorPid !== spawnedPid) void moving.then(() => cgroup.move(monitorPid));
    },
  };
}

/** Directories every container's conmon shares (exit files, socket links): made once per berthd. */
const sharedDirs = new Set<string>();
function ensureSharedDir(dir: string): void {
  if (sharedDirs.has(dir)) return;
  mkdirSync(dir, { recursive: true });
  sharedDirs.add(dir);
}

/**
 * Starts conmon for `runc create`, waiting on its start pipe; proceed() lets it create the
 * container and resolves with the container's init PID.
 */
export async function launchConmonCreate(options: ConmonCreateOptions): Promise<ConmonLaunch<ConmonCreated>> {
  const files = conmonFiles(options.bundle);
  // Synchronous: conmon is spawned as early as possible on the start path.
  mkdirSync(files.persistDir, { recursive: true });
  for (const dir of [options.paths.exitDir, options.paths.socketDir]) ensureSharedDir(dir);
  const args = [
    ...commonArgs({
      cid: options.id,
      cuuid: options.id,
      runc: options.runc,
      bundle: options.bundle,
      pidFile: files.pidFile,
      name: options.name,
      exitDir: options.paths.exitDir,
      persistDir: files.persistDir,
      socketDir: options.paths.socketDir,
      logPath: options.logPath,
      tty: options.tty,
      openStdin: options.openStdin,
    }),
    '-P', files.conmonPidFile,
    '--runtime-arg', '--log-format=json',
    '--runtime-arg', `--log=${files.runtimeLog}`,
  ];
  if (options.openStdin && options.leaveStdinOpen) args.push('--leave-stdin-open');
  if (options.timeoutSeconds) args.push('-T', String(options.timeoutSeconds));
  if (options.logSizeMax) args.push('--log-size-max', String(options.logSizeMax));

  const launched = spawnConmon(options.conmonBinary, args, files.conmonLog, options.bundle);
  const monitor = moveToCgroup(options.cgroup, launched.pid);
  return {
    proceed: async () => {
      launched.proceed();
      const created = await createReply(launched.sync, files);
      monitor.follow(created.conmonPid);
      return created;
    },
    cancel: () => launched.cancel(),
  };
}

async function createReply(sync: Readable, files: ReturnType<typeof conmonFiles>): Promise<ConmonCreated> {
  const reply = await new Promise<string>((resolve, reject) => {
    let buffered = '';
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString('utf8');
      if (buffered.includes('\n') || buffered.trim().endsWith('}')) {
        sync.off('data', onData);
        resolve(buffered);
      }
    };
    sync.on('data', onData);
    sync.on('end', () => resolve(buffered));
    sync.on('error', reject);
  });
  sync.destroy();

  const parsed = parseSyncReply(reply);
  if (parsed === undefined || parsed.data < 0) {
    throw new BerthError('internal', `runc create failed: ${readRuntimeError(files.runtimeLog, files.conmonLog) || parsed?.message || 'conmon exited without a reply'}`);
  }
  const conmonPid = Number(readFileSync(files.conmonPidFile, 'utf8').trim());
  return { pid: parsed.data, conmonPid };
}

function parseSyncReply(text: string): { data: number; message?: string } | undefined {
  const line = text.split('\n').find((l) => l.trim().startsWith('{'));
  if (!line) return undefined;
  try {
    const value = JSON.parse(line) as { data?: unknown; message?: unknown };
    if (typeof value.data !== 'number') return undefined;
    return { data: value.data, ...(typeof value.message === 'string' ? { message: value.message } : {}) };
  } catch {
    return undefined;
  }
}

/** runc's --log-format=json lines carry the real reason ("exec: foo: not found" and the like). */
function readRuntimeError(runtimeLog: string, conmonLog: string): string {
  const read = (path: string): string => {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return '';
    }
  };
  const messages: string[] = [];
  for (const line of read(runtimeLog).split('\n')) {
    if (!line.trim()) continue;
    try {
      const entry = JSON.parse(line) as { level?: string; msg?: string };
      if (entry.level === 'error' && entry.msg) messages.push(entry.msg);
    } catch {
      messages.push(runcMessage(line));
    }
  }
  if (messages.length > 0) return messages.join('; ');
  return read(conmonLog).trim().split('\n').filter((l) => l && !l.includes('oom_score_adj')).join('; ');
}

export interface ConmonExecOptions {
  containerId: string;
  execId: string;
  name: string;
  /** The exec session's own directory: conmon's bundle for it (attach socket, ctl FIFO), log and exit files. */
  dir: string;
  /** An OCI `process` object (runtime-spec config.md), written as the --exec-process-spec file. */
  processSpecPath: string;
  tty: boolean;
  openStdin: boolean;
  runc: Runc;
  conmonBinary: string;
  /** conmon's own cgroup (see monitor-cgroup.ts); without one it stays in berthd's. */
  cgroup?: ProcessMover;
}

export interface ConmonExecStarted {
  pid: number;
  /** Resolves with the exit status conmon reports on the sync pipe (128+signal for signals). */
  exited: Promise<number>;
}

/**
 * `conmon --exec`: conmon runs `runc exec` for the process spec; on the sync pipe it reports
 * the process's PID, then its exit status. Each session has its own directory so its attach
 * socket, control FIFO and exit file never collide with the container's. conmon waits on its
 * start pipe until proceed(): the process spec need not exist before then.
 */
export async function launchConmonExec(options: ConmonExecOptions): Promise<ConmonLaunch<ConmonExecStarted>> {
  const exitDir = join(options.dir, 'exits');
  const persistDir = join(options.dir, 'persist');
  const socketDir = join(options.dir, 's');
  const conmonPidFile = join(options.dir, 'conmon.pid');
  for (const dir of [exitDir, persistDir, socketDir]) mkdirSync(dir, { recursive: true });
  const args = [
    ...commonArgs({
      cid: options.containerId,
      cuuid: options.execId,
      runc: options.runc,
      bundle: options.dir,
      pidFile: join(options.dir, 'pid'),
      name: options.name,
      exitDir,
      persistDir,
      socketDir,
      logPath: join(options.dir, 'log'),
      tty: options.tty,
      openStdin: options.openStdin,
    }),
    '--exec',
    '--exec-process-spec', options.processSpecPath,
    '-P', conmonPidFile,
  ];
  const launched = spawnConmon(options.conmonBinary, args, join(options.dir, 'conmon.log'), options.dir);
  const monitor = moveToCgroup(options.cgroup, launched.pid);
  return {
    proceed: async () => {
      launched.proceed();
      const started = await execReplies(launched.sync, options.dir, persistDir);
      // conmon's parent wrote the file before it exited, long before `runc exec` reported.
      monitor.follow(Number(readTextIfPresent(conmonPidFile)?.trim()));
      return started;
    },
    cancel: () => launched.cancel(),
  };
}

async function execReplies(sync: Readable, dir: string, persistDir: string): Promise<ConmonExecStarted> {
  const replies: Array<{ data: number; message?: string }> = [];
  const waiters: Array<() => void> = [];
  let buffered = '';
  let ended = false;
  const notify = (): void => {
    for (const w of waiters.splice(0)) w();
  };
  sync.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    let nl = buffered.indexOf('\n');
    while (nl >= 0) {
      const reply = parseSyncReply(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
      if (reply) replies.push(reply);
      nl = buffered.indexOf('\n');
    }
    notify();
  });
  sync.on('end', () => {
    ended = true;
    notify();
  });
  sync.on('error', () => {
    ended = true;
    notify();
  });
  const nth = async (n: number): Promise<{ data: number; message?: string } | undefined> => {
    while (replies.length <= n && !ended) await new Promise<void>((r) => waiters.push(r));
    return replies[n];
  };

  const started = await nth(0);
  if (!started || started.data < 0) {
    sync.destroy();
    const conmonLog = join(dir, 'conmon.log');
    const reason = started?.message ? runcMessage(started.message.trim()) : readRuntimeError(join(dir, 'runtime.log'), conmonLog);
    throw new BerthError('internal', `OCI runtime exec failed: ${reason || 'conmon exited without a reply'}`);
  }
  const exited = nth(1).then(async (reply) => {
    sync.destroy();
    if (reply) return reply.data;
    // berthd lost the pipe (conmon died): conmon's persisted exit file is the next best source.
    const text = await readFile(join(persistDir, 'exit'), 'utf8').catch(() => '');
    return text.trim() ? Number.parseInt(text.trim(), 10) : 255;
  });
  return { pid: started.data, exited };
}

/**
 * Resizes a TTY through conmon's control FIFO in `dir` (a bundle or an exec session's
 * directory): "1 <height> <width>\n". Opened non-blocking: with conmon gone, a blocking
 * open of a FIFO without a reader would hang berthd.
 */
export function resizeTerminal(dir: string, height: number, width: number): void {
  let fd: number;
  try {
    fd = openSync(join(dir, 'ctl'), fsConstants.O_WRONLY | fsConstants.O_NONBLOCK);
  } catch (err) {
    throw new BerthError('conflict', `cannot resize: the terminal's monitor is not listening (${err instanceof Error ? err.message : String(err)})`);
  }
  try {
    writeSync(fd, `1 ${height} ${width}\n`);
  } finally {
    closeSync(fd);
  }
}

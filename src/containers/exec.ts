/**
 * Exec sessions (`docker exec`): a process started in a running container by conmon's exec
 * mode. Sessions live in memory, as in dockerd; their output is a k8s-file log in the
 * session directory, read the same way as a container's.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { conflict, invalidArgument, notFound } from '../core/errors.js';
import { writeScratchFileSync } from '../core/fs-atomic.js';
import type { Process } from '../oci/runtime-spec.js';
import { connectAttachSocket, type AttachWriter } from '../runtime/attach-socket.js';
import { launchConmonExec } from '../runtime/conmon.js';
import type { ProcessMover } from '../runtime/monitor-cgroup.js';
import type { Runc } from '../runtime/runc.js';
import { detectHostFacts, mergeEnv, toRuntimeJson } from '../runtime/spec.js';
import { resolveUser } from '../runtime/user.js';
import type { ContainerManager } from './manager.js';

export interface ExecConfig {
  cmd: string[];
  env: string[];
  user: string;
  workingDir: string;
  tty: boolean;
  attachStdin: boolean;
  attachStdout: boolean;
  attachStderr: boolean;
  privileged: boolean;
  detachKeys: string;
  consoleSize?: { height: number; width: number };
}

export interface ExecSession {
  id: string;
  containerId: string;
  config: ExecConfig;
  running: boolean;
  started: boolean;
  exitCode: number | null;
  pid: number;
  dir: string;
}

/** Emits `create` (session), `start` (session), `exit` (execId, exitCode). */
export class ExecManager extends EventEmitter {
  private readonly sessions = new Map<string, ExecSession>();

  constructor(
    private readonly containers: ContainerManager,
    private readonly runtime: { runc: Runc; conmonBinary: string; monitorCgroup?: ProcessMover },
  ) {
    super();
    this.setMaxListeners(0);
    // A removed container takes its sessions (and their directories, inside its bundle) with it.
    containers.on('remove', (id: string) => {
      for (const [execId, s] of this.sessions) if (s.containerId === id) this.sessions.delete(execId);
    });
  }

  create(containerIdOrName: string, config: ExecConfig): ExecSession {
    const record = this.containers.get(containerIdOrName);
    if (record.state.status === 'paused') throw conflict(`Container ${record.id} is paused, unpause the container before exec`);
    if (record.state.status !== 'running') throw conflict(`Container ${record.id} is not running`);
    if (config.cmd.length === 0) throw invalidArgument('No exec command specified');
    if (config.workingDir && !config.workingDir.startsWith('/')) throw invalidArgument(`the working directory '${config.workingDir}' is invalid, it needs to be an absolute path`);
    const id = randomBytes(32).toString('hex');
    const session: ExecSession = {
      id,
      containerId: record.id,
      config,
      running: false,
      started: false,
      exitCode: null,
      pid: 0,
      dir: join(this.containers.bundle(record.id), 'exec', id.slice(0, 12)),
    };
    this.sessions.set(id, session);
    this.emit('create', session);
    return session;
  }

  get(id: string): ExecSession {
    const s = this.sessions.get(id) ?? [...this.sessions.values()].find((x) => x.id.startsWith(id) && id.length >= 12);
    if (!s) throw notFound(`No such exec instance: ${id}`);
    return s;
  }

  logPath(session: ExecSession): string {
    return join(session.dir, 'log');
  }

  connectStdin(session: ExecSession): AttachWriter {
    return connectAttachSocket(session.dir);
  }

  /** Starts the session's process; resolves once it runs (its exit is announced by `exit`). */
  async start(id: string): Promise<ExecSession> {
    const session = this.get(id);
    if (session.started) throw conflict(`Error: Exec command ${session.id} has already run`);
    const record = this.containers.get(session.containerId);
    if (record.state.status !== 'running') throw conflict(`Container ${record.id} is not running`);
    session.started = true;
    const bundle = this.containers.bundle(record.id);
    const c = session.config;
    const specPath = join(session.dir, 'process.json');
    // conmon's log, sockets and files live in the session's directory; conmon starts now and
    // waits on its start pipe while the process spec is written (launchConmonExec).
    mkdirSync(session.dir, { recursive: true });
    const launching = launchConmonExec({
      containerId: record.id,
      execId: session.id,
      name: record.name,
      dir: session.dir,
      processSpecPath: specPath,
      tty: c.tty,
      openStdin: c.attachStdin,
      runc: this.runtime.runc,
      conmonBinary: this.runtime.conmonBinary,
      ...(this.runtime.monitorCgroup ? { cgroup: this.runtime.monitorCgroup } : {}),
    });
    try {
      writeScratchFileSync(specPath, toRuntimeJson(await this.processSpec(bundle, c)), 0o600);
    } catch (err) {
      await launching.then((launch) => launch.cancel(), () => undefined);
      throw await this.failStart(session, err);
    }
    try {
      const started = await (await launching).proceed();
      session.pid = started.pid;
      session.running = true;
      this.emit('start', session);
      void started.exited.then((code) => {
        session.running = false;
        session.exitCode = code;
        this.emit('exit', session.id, code);
      });
    } catch (err) {
      throw await this.failStart(session, err);
    }
    return session;
  }

  /** A session whose process could not start: dockerd's exit code for it (127 not found, else 126), no directory left. */
  private async failStart(session: ExecSession, err: unknown): Promise<unknown> {
    session.exitCode = /no such file|not found/i.test(String(err)) ? 127 : 126;
    this.emit('exit', session.id, session.exitCode);
    await rm(session.dir, { recursive: true, force: true });
    return err;
  }

  /** The exec's OCI process: the container's, with the session's command, env, user, cwd and TTY. */
  private async processSpec(bundle: string, c: ExecConfig): Promise<Process> {
    // Synchronous reads (here and in resolveUser): an exec waits for them, and a thread-pool
    // round trip costs more than reading a small file.
    const config = readFileSync(join(bundle, 'config.json'), 'utf8');
    const user = c.user ? await resolveUser(join(bundle, 'rootfs'), c.user) : undefined;
    const base = JSON.parse(config) as { process: Process };
    const process: Process = {
      ...base.process,
      terminal: c.tty,
      args: c.cmd,
      env: mergeEnv(c.env, base.process.env ?? []),
      cwd: c.workingDir || base.process.cwd,
      ...(user ? { user: { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids } } : {}),
      ...(c.tty && c.consoleSize ? { consoleSize: c.consoleSize } : {}),
    };
    if (!c.tty) delete process.consoleSize;
    if (c.privileged) {
      // moby's exec --privileged: every capability berthd itself holds; the container's
      // seccomp profile, namespaces and cgroup still apply.
      const all = detectHostFacts().capabilities;
      process.capabilities = { bounding: [...all], effective: [...all], permitted: [...all] };
    }
    return process;
  }

  /** Forgets a finished session and deletes its directory (health probes leave nothing behind). */
  async discard(id: string): Promise<void> {
    const session = this.sessions.get(id);
    if (!session) return;
    this.sessions.delete(id);
    await rm(session.dir, { recursive: true, force: true });
  }

  /** Resolves with the exit code once the session's process has exited. */
  waitExit(session: ExecSession): Promise<number> {
    if (session.started && !session.running && session.exitCode !== null) return Promise.resolve(session.exitCode);
    return new Promise((resolve) => {
      const onExit = (id: string, code: number): void => {
        if (id !== session.id) return;
        this.off('exit', onExit);
        resolve(code);
      };
      this.on('exit', onExit);
    });
  }
}

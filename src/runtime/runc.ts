/** The OCI runtime driver: runc's CLI, with its state kept under berth's exec-root. */
import { existsSync, mkdirSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { BerthError, notFound } from '../core/errors.js';
import { runProcess } from '../core/spawn.js';

export interface RuntimeState {
  id: string;
  pid: number;
  status: 'creating' | 'created' | 'running' | 'paused' | 'stopped';
  bundle: string;
}

async function run(binary: string, args: string[]): Promise<string> {
  const { exit, stdout, stderr } = await runProcess(binary, args);
  if (exit.code === 0) return stdout;
  const text = (stderr || stdout || `exit ${exit.signal ?? exit.code}`).trim();
  throw new BerthError(/does not exist|not found/i.test(text) ? 'not-found' : 'internal', `${binary} ${args[2] ?? ''}: ${runcMessage(text)}`);
}

/** runc prints logrus lines (`time=… level=error msg="…"`); users want the msg. */
export function runcMessage(text: string): string {
  const msgs = [...text.matchAll(/msg="((?:[^"\\]|\\.)*)"/g)].map((m) => (m[1] ?? '').replace(/\\"/g, '"'));
  return msgs.length > 0 ? msgs.join('; ') : text;
}

export class Runc {
  /** The state root exists (runc makes it at its first create; the watch needs it before). */
  private rootMade = false;

  constructor(
    readonly binary: string,
    readonly root: string,
  ) {}

  /** Global flags that conmon must pass through when it runs `runc create`. */
  globalArgs(): string[] {
    return [`--root=${this.root}`];
  }

  /**
   * Tells when a `runc create` under way has saved the container's state (`<root>/<id>/state.json`,
   * written once the container's init is set up, before its seccomp filter is compiled and
   * long before `runc create` exits): from then on `runc start` finds the container created
   * and waits in its exec FIFO for the init to be ready. Watched with inotify, from before
   * `runc create` makes the directory. `saved` never rejects: without inotify it stays
   * pending, and the caller goes by `runc create`'s own end. close() when no longer needed.
   */
  watchStateSaved(id: string): { saved: Promise<void>; close(): void } {
    const dir = join(this.root, id);
    const stateFile = join(dir, 'state.json');
    let rootWatcher: FSWatcher | undefined;
    let dirWatcher: FSWatcher | undefined;
    let closed = false;
    let resolveSaved: () => void = () => undefined;
    const saved = new Promise<void>((resolve) => (resolveSaved = resolve));
    const close = (): void => {
      closed = true;
      rootWatcher?.close();
      dirWatcher?.close();
    };
    const check = (): void => {
      if (closed || !existsSync(stateFile)) return;
      close();
      resolveSaved();
    };
    const watchDir = (): void => {
      if (closed || dirWatcher) return;
      try {
        dirWatcher = watch(dir, (_event, name) => {
          if (name === 'state.json') check();
        }).on('error', close);
      } catch {
        return;
      }
      rootWatcher?.close();
      // It may have been saved before the watch began.
      check();
    };
    try {
      if (!this.rootMade) mkdirSync(this.root, { recursive: true });
      this.rootMade = true;
      rootWatcher = watch(this.root, (_event, name) => {
        if (name === id) watchDir();
      }).on('error', close);
    } catch {
      // No inotify watch to be had: `saved` stays pending.
    }
    return { saved, close };
  }

  async start(id: string): Promise<void> {
    await run(this.binary, ['--root', this.root, 'start', id]);
  }

  async kill(id: string, signal: number, all = false): Promise<void> {
    await run(this.binary, ['--root', this.root, 'kill', ...(all ? ['--all'] : []), id, String(signal)]);
  }

  /** Freezes every process of the container (cgroup freezer). */
  async pause(id: string): Promise<void> {
    await run(this.binary, ['--root', this.root, 'pause', id]);
  }

  async resume(id: string): Promise<void> {
    await run(this.binary, ['--root', this.root, 'resume', id]);
  }

  /** Applies new cgroup limits to a live container (`resourcesFile`: an OCI linux.resources JSON). */
  async update(id: string, resourcesFile: string): Promise<void> {
    await run(this.binary, ['--root', this.root, 'update', '--resources', resourcesFile, id]);
  }

  /** PIDs of every process in the container (host PID namespace). */
  async pids(id: string): Promise<number[]> {
    const out = await run(this.binary, ['--root', this.root, 'ps', '--format', 'json', id]);
    const parsed = JSON.parse(out) as unknown;
    return Array.isArray(parsed) ? parsed.filter((p): p is number => typeof p === 'number') : [];
  }

  /** Idempotent: a container runc no longer knows is already deleted. */
  async delete(id: string): Promise<void> {
    try {
      await run(this.binary, ['--root', this.root, 'delete', '--force', id]);
    } catch (err) {
      if (err instanceof BerthError && err.code === 'not-found') return;
      throw err;
    }
  }

  async state(id: string): Promise<RuntimeState> {
    const out = await run(this.binary, ['--root', this.root, 'state', id]);
    const parsed = JSON.parse(out) as RuntimeState;
    if (!parsed || typeof parsed.pid !== 'number') throw notFound(`runc has no container ${id}`);
    return parsed;
  }
}

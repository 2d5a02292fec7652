/**
 * Container lifecycle: create → start (conmon + runc) → exit (seen in the exit dir) →
 * remove. Records live in SQLite; the running processes live under conmon, so berthd
 * can die and come back (recover()) without the containers noticing.
 */
import { EventEmitter } from 'node:events';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, truncateSync, watch, type FSWatcher } from 'node:fs';
import { mkdir, readFile, rm, readdir, writeFile } from 'node:fs/promises';
import { join, resolve as resolvePath } from 'node:path';
import type Database from 'better-sqlite3';
import type { Digest } from '../core/digest.js';
import { StatementCache } from '../core/sql-statements.js';
import { BerthError, conflict, errnoCode, invalidArgument, notFound, errorMessage } from '../core/errors.js';
import { writeFileAtomic, writeScratchFileSync } from '../core/fs-atomic.js';
import { MNT_DETACH, MS_NODEV, MS_NOEXEC, MS_NOSUID, mount, umount2 } from '../core/libc.js';
import { logger } from '../core/log.js';
import { readMountInfo } from '../core/mountinfo.js';
import { readTextIfPresent } from '../core/read-text.js';
import { settleAll } from '../core/settle.js';
import type { ImageRuntimeConfig } from '../oci/image.js';
import { conmonFiles, launchConmonCreate, type ConmonCreated } from '../runtime/conmon.js';
import type { ProcessMover } from '../runtime/monitor-cgroup.js';
import { connectAttachSocket, type AttachWriter } from '../runtime/attach-socket.js';
import type { Runc } from '../runtime/runc.js';
import { DEFAULT_SHM_SIZE, detectHostFacts, generateSpec, resolveArgs, toRuntimeJson, type SpecInput } from '../runtime/spec.js';
import { oomKillCount } from '../runtime/cgroups.js';
import { emptyResources, mergeResourcesUpdate, ociResourcesForUpdate, type ResourcesUpdate } from '../runtime/resources.js';
import { resolveUser } from '../runtime/user.js';
import { parseSignal } from '../runtime/signals.js';
import type { OverlaySnapshotter } from '../snapshots/overlay.js';
import type { VolumeStore } from '../volumes/store.js';
import type { NetworkManager } from '../network/manager.js';
import type { ContainerNetworkState, EndpointRequest } from '../network/types.js';
import type { MountPoint } from '../volumes/mount-spec.js';
import { prepareSandbox, type Sandbox } from './sandbox.js';
import type { ContainerRecord, ContainerSpecRequest, ContainerState, HealthState } from './types.js';
import { randomName } from './names.js';
import { top, type TopResult } from './top.js';
import { containerChanges, type Change } from './diff.js';
import { hostCpuCount, limitsSpecInput, resourceHost } from './limits.js';
import { checkLogConfig } from './log-config.js';
import { policyWantsRestart, RestartScheduler, validateRestartPolicy, type RestartPolicy } from './restart.js';
import { anonymousVolumes, ContainerMounts, usesVolume, type ResolvedMounts } from './mounts.js';
import { directorySize } from '../core/du.js';

const log = logger('containers');

export interface ContainerManagerOptions {
  db: Database.Database;
  /** `<data-root>/containers`: one bundle directory per container. */
  containersDir: string;
  /** `<exec-root>`: exit files and attach sockets (tmpfs). */
  execRoot: string;
  runc: Runc;
  conmonBinary: string;
  snapshots: OverlaySnapshotter;
  /** Containers' cgroups are `<cgroupParent>/<id>`. */
  cgroupParent: string;
  /** Where each container's conmon goes. */
  monitorCgroup?: ProcessMover;
  /** The init binary `--init` bind-mounts into containers (catatonit). */
  initBinary: string;
  network: NetworkManager;
  volumes: VolumeStore;
}

export interface CreateInput {
  name?: string;
  imageId: Digest;
  imageConfig: ImageRuntimeConfig;
  chainIds: Digest[];
  request: ContainerSpecRequest;
}

export type WaitCondition = 'not-running' | 'next-exit' | 'removed';

/** What a container that stopped running let go of. */
interface Released {
  networkIds: string[];
  volumes: MountPoint[];
}

const namePattern = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
const emptyState = (): ContainerState => ({
  status: 'created',
  pid: 0,
  conmonPid: 0,
  exitCode: 0,
  error: '',
  startedAt: '0001-01-01T00:00:00Z',
  finishedAt: '0001-01-01T00:00:00Z',
  oomKilled: false,
});

/**
 * Emits `create` (id), `start` (id), `exit` (id, code), `kill` (id, signal number), `stop` (id),
 * `pause` (id), `unpause` (id), `restart` (id), `rename` (id, old name), `remove` (id, code, record),
 * `prune` (bytes reclaimed); the API
 * adds `attach` (id) and `resize` (id, height, width), the health monitor `health_status`
 * (id, status). engine/container-events.ts turns them into Docker events. For the network
 * and volume events: `connect` / `disconnect` (id, network ID), `mount` / `unmount` (id, MountPoint).
 */
export class ContainerManager extends EventEmitter {
  private readonly db: Database.Database;
  private readonly statements: StatementCache;
  private readonly exitDir: string;
  private readonly socketDir: string;
  /** One empty file per container frozen for a copy: what recover() must thaw after a crash. */
  private readonly frozenDir: string;
  private exitWatcher: FSWatcher | undefined;
  /** Per-container serialisation of lifecycle operations. */
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly restarts = new RestartScheduler();
  private readonly mounts: ContainerMounts;
  /**
   * Names of containers being created: the row is inserted only after the snapshot is
   * prepared, and concurrent creates must not both pick (or both be given) the same name.
   */
  private readonly creatingNames = new Set<string>();
  /**
   * Work that follows an exit or a removal, off the path of the client waiting for it: the
   * runtime teardown of an exited container (runc delete, rootfs unmount; ≈ 20 ms of every
   * `run --rm`), and the files of a removed one. Whatever needs the container quiet again
   * (start, removal, a rootfs mount for cp/export) awaits its entry first; image garbage
   * collection and shutdown await all of them. A crash meanwhile leaves leftovers that
   * recover() clears: runc state, mounts and directories of containers without a record.
   */
  private readonly pendingTeardowns = new Map<string, Promise<void>>();
  private readonly pendingRemovals = new Set<Promise<void>>();
  /** list()'s copy of the containers table, by ID (loaded on first use). */
  private cache: Map<string, ContainerRecord> | undefined;

  constructor(private readonly options: ContainerManagerOptions) {
    super();
    this.setMaxListeners(0);
    this.db = options.db;
    this.statements = new StatementCache(this.db);
    this.exitDir = join(options.execRoot, 'exits');
    this.socketDir = join(options.execRoot, 's');
    this.frozenDir = join(options.execRoot, 'frozen-for-copy');
    this.mounts = new ContainerMounts(options.volumes, (idOrName) => this.get(idOrName));
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS containers (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, record TEXT NOT NULL);
    `);
  }

  async init(): Promise<void> {
    await mkdir(this.options.containersDir, { recursive: true });
    await mkdir(this.exitDir, { recursive: true });
    await mkdir(this.socketDir, { recursive: true });
    await mkdir(this.frozenDir, { recursive: true });
    this.exitWatcher = watch(this.exitDir, (_event, filename) => {
      if (filename) void this.onExitFile(filename.toString());
    });
    await this.recover();
  }

  /** Stops watching; resolves once the teardowns and removals under way have finished. */
  async close(): Promise<void> {
    this.exitWatcher?.close();
    this.restarts.close();
    await this.settled();
  }

  /** Resolves when every teardown and removal started so far has finished. */
  async settled(): Promise<void> {
    await Promise.all([...this.pendingTeardowns.values(), ...this.pendingRemovals]);
  }

  /** A prepared statement, compiled once: find() and save() run several times per container start. */
  private sql(text: string): Database.Statement {
    return this.statements.get(text);
  }

  bundle(id: string): string {
    return join(this.options.containersDir, id);
  }

  /** A writer to the container's stdin through conmon (only for containers created with OpenStdin). */
  connectStdin(id: string): AttachWriter {
    return connectAttachSocket(this.bundle(id));
  }

  logPath(id: string): string {
    return join(this.bundle(id), 'ctr.log');
  }

  // ---- records -------------------------------------------------------------

  /**
   * Every record, from an in-memory copy of the table: `ps` with 1000 containers must not
   * parse 1000 JSON documents per call. The copy is loaded once and kept in step by the only
   * three writes to the table (INSERT in create, save(), DELETE in removeLocked); a new write
   * must update it too. The returned objects are shared: callers read them and never mutate
   * them (find()/get() hand out private copies for read-modify-save).
   */
  list(): ContainerRecord[] {
    if (!this.cache) {
      this.cache = new Map();
      for (const r of this.sql('SELECT record FROM containers').all() as { record: string }[]) {
        const record = JSON.parse(r.record) as ContainerRecord;
        this.cache.set(record.id, record);
      }
    }
    return [...this.cache.values()];
  }

  /**
   * The record of a full container ID from the in-memory copy, shared and not to be mutated:
   * for readers on every container event (health checks, the events stream), where find()'s
   * query and parse would run several times per start.
   */
  peek(id: string): Readonly<ContainerRecord> | undefined {
    if (!this.cache) this.list();
    return this.cache?.get(id);
  }

  find(idOrName: string): ContainerRecord | undefined {
    const key = idOrName.startsWith('/') ? idOrName.slice(1) : idOrName;
    let row = this.sql('SELECT record FROM containers WHERE id = ? OR name = ?').get(key, key) as { record: string } | undefined;
    if (!row && /^[a-f0-9]+$/.test(key)) {
      const rows = this.sql('SELECT record FROM containers WHERE id LIKE ?').all(`${key}%`) as { record: string }[];
      if (rows.length > 1) throw invalidArgument(`multiple containers found with provided prefix: ${key}`);
      row = rows[0];
    }
    return row ? (JSON.parse(row.record) as ContainerRecord) : undefined;
  }

  get(idOrName: string): ContainerRecord {
    const found = this.find(idOrName);
    if (!found) throw notFound(`No such container: ${idOrName}`);
    return found;
  }

  private save(record: ContainerRecord): void {
    const json = JSON.stringify(record);
    this.sql('UPDATE containers SET record = ?, name = ? WHERE id = ?').run(json, record.name, record.id);
    this.cache?.set(record.id, JSON.parse(json) as ContainerRecord);
  }

  /** Keeps the health monitor's state with the record (read back after a berthd restart). */
  saveHealth(id: string, health: HealthState): void {
    const record = this.find(id);
    if (!record) return;
    record.health = health;
    this.save(record);
  }

  private setNetworkState(id: string, state: ContainerNetworkState | undefined): void {
    const record = this.find(id);
    if (!record) return;
    if (state) record.network = state;
    else delete record.network;
    this.save(record);
  }

  /** Patches the state, and with `network` replaces the network state too, in one write. */
  private updateState(id: string, patch: Partial<ContainerState>, network?: { state: ContainerNetworkState | undefined }): ContainerRecord | undefined {
    const record = this.find(id);
    if (!record) return undefined;
    record.state = { ...record.state, ...patch };
    if (network?.state) record.network = network.state;
    else if (network) delete record.network;
    this.save(record);
    return record;
  }

  private async serialize<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(id) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(fn);
    this.locks.set(id, next);
    try {
      return await next;
    } finally {
      if (this.locks.get(id) === next) this.locks.delete(id);
    }
  }

  // ---- create ---------------------------------------------------------------

  async create(input: CreateInput): Promise<ContainerRecord> {
    let name = input.name ?? '';
    if (name) {
      if (!namePattern.test(name)) throw invalidArgument(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
      name = name.replace(/^\//, '');
    } else {
      // moby's generateAndReserveName: random names (a digit appended after the first try),
      // then a random hex name, so a crowded name space cannot make create loop forever.
      const taken = (n: string): boolean => n === '' || this.find(n) !== undefined || this.creatingNames.has(n);
      for (let retry = 0; retry < 6 && taken(name); retry++) name = randomName() + (retry > 0 ? String(randomInt(10)) : '');
      if (taken(name)) name = randomBytes(6).toString('hex');
    }
    const existing = this.sql('SELECT id FROM containers WHERE name = ?').get(name) as { id: string } | undefined;
    if (existing) {
      throw conflict(`Conflict. The container name "/${name}" is already in use by container "${existing.id}". You have to remove (or rename) that container to be able to reuse that name.`);
    }
    if (this.creatingNames.has(name)) throw conflict(`Conflict. The container name "/${name}" is already in use.`);
    this.creatingNames.add(name);
    try {
      return await this.createNamed(name, input);
    } finally {
      this.creatingNames.delete(name);
    }
  }

  private async createNamed(name: string, input: CreateInput): Promise<ContainerRecord> {
    const id = randomBytes(32).toString('hex');
    const args = resolveArgs(input.imageConfig, input.request.cmd, input.request.entrypoint);
    const record: ContainerRecord = {
      id,
      name,
      created: new Date().toISOString(),
      imageId: input.imageId,
      imageConfig: input.imageConfig,
      chainIds: input.chainIds,
      request: input.request,
      path: args[0] ?? '',
      args: args.slice(1),
      state: emptyState(),
      restartCount: 0,
    };
    const bundle = this.bundle(id);
    const mounts = await this.mounts.resolve(id, input.request, input.imageConfig.Volumes ?? {});
    record.mounts = mounts.points;
    try {
      mkdirSync(bundle, { recursive: true });
      await this.options.snapshots.prepareActive(id, input.chainIds);
      if (mounts.copies.length > 0) await this.copyUp(id, mounts);
      this.sql('INSERT INTO containers (id, name, record) VALUES (?, ?, ?)').run(id, name, JSON.stringify(record));
      this.cache?.set(id, structuredClone(record));
      this.mounts.release(id, mounts);
    } catch (err) {
      await this.mounts.discard(id, mounts);
      await this.options.snapshots.removeActive(id).catch(() => undefined);
      await rm(bundle, { recursive: true, force: true });
      if (errnoCode(err) === 'SQLITE_CONSTRAINT_UNIQUE') throw conflict(`Conflict. The container name "/${name}" is already in use.`);
      throw err;
    }
    this.emit('create', id);
    return record;
  }

  /** Fills the container's new volumes from its image (the rootfs is mounted just for the copy). */
  private async copyUp(id: string, mounts: ResolvedMounts): Promise<void> {
    const rootfs = join(this.bundle(id), 'rootfs');
    await mkdir(rootfs, { recursive: true });
    await this.options.snapshots.mountActive(id, rootfs);
    try {
      await this.mounts.populate(mounts, rootfs, this.running());
    } finally {
      await this.options.snapshots.unmountActive(id, rootfs);
    }
  }

  private running(): ContainerRecord[] {
    return this.list().filter((c) => c.state.status === 'running' || c.state.status === 'paused');
  }

  /** IDs of the containers (in any state) whose mounts include the volume. */
  usingVolume(name: string): string[] {
    return this.list().filter((c) => usesVolume(c, name)).map((c) => c.id);
  }

  // ---- start ----------------------------------------------------------------

  /**
   * Starts the container. `beforeStart` runs after `runc create` (the log file and attach
   * socket exist) and before `runc start`, so attached clients miss no output.
   */
  async start(idOrName: string, beforeStart?: (logOffset: number) => Promise<void> | void): Promise<ContainerRecord> {
    const initial = this.get(idOrName);
    return this.serialize(initial.id, async () => {
      const record = this.get(initial.id);
      if (record.state.status === 'running' || record.state.status === 'paused' || record.state.status === 'restarting') return record;
      if (record.state.status === 'removing' || record.state.status === 'dead') {
        throw conflict(`cannot start container ${record.id}: container is marked for removal`);
      }
      // A start through the API begins the restart policy afresh (moby ResetRestartManager).
      this.restarts.forget(record.id);
      record.restartCount = 0;
      record.manuallyStopped = false;
      this.save(record);
      try {
        return await this.startLocked(record, beforeStart);
      } catch (err) {
        const failure = classifyStartError(err);
        const released = await this.cleanupAfterStop(record.id);
        this.updateState(record.id, { status: record.state.status === 'created' ? 'created' : 'exited', error: failure.message, exitCode: failure.exitCode, pid: 0, conmonPid: 0 });
        // Attached clients and waiters learn the outcome as if the process had exited.
        this.emit('exit', record.id, failure.exitCode);
        this.announceRelease(record.id, released);
        if (record.request.autoRemove) await this.removeLocked(record.id, true).catch(() => undefined);
        throw failure;
      }
    });
  }

  private async startLocked(record: ContainerRecord, beforeStart?: (logOffset: number) => Promise<void> | void): Promise<ContainerRecord> {
    const id = record.id;
    const req = record.request;
    await this.pendingTeardowns.get(id);
    const { maxSize: logSizeMax } = checkLogConfig(req.logConfig?.config ?? {});
    // conmon starts now and waits on its start pipe while the bundle is made (launchConmonCreate).
    const launching = launchConmonCreate({
      id,
      name: record.name,
      bundle: this.bundle(id),
      logPath: this.logPath(id),
      tty: req.tty,
      openStdin: req.openStdin,
      // dockerd closes a StdinOnce container's stdin after the first attach only without a
      // TTY: `run -it` then detach must leave the shell's terminal open for `attach`.
      leaveStdinOpen: req.tty || !req.stdinOnce,
      paths: { exitDir: this.exitDir, socketDir: this.socketDir },
      runc: this.options.runc,
      conmonBinary: this.options.conmonBinary,
      ...(this.options.monitorCgroup ? { cgroup: this.options.monitorCgroup } : {}),
      ...(logSizeMax ? { logSizeMax } : {}),
    });
    let sandbox: Sandbox;
    try {
      // conmon counts only what it writes itself: a log already past the limit starts afresh
      // now, where json-file would at the next line.
      if (logSizeMax && logSize(this.logPath(id)) >= logSizeMax) truncateSync(this.logPath(id), 0);
      sandbox = await this.prepareBundle(record);
    } catch (err) {
      await launching.then((launch) => launch.cancel(), () => undefined);
      throw err;
    }
    const launch = await launching;
    // `runc start` need not wait for `runc create` to end, only for it to save the container's
    // state: runc start then waits in the container's exec FIFO until the init is ready, and
    // its own start-up (5 ms and more) runs beside the rest of the create, the seccomp filter
    // above all. Not with a TTY: conmon then reaps its children while `runc create` runs, and
    // a container that exited before conmon knew its PID would lose its exit status.
    const stateSaved = req.tty ? undefined : this.options.runc.watchStateSaved(id);
    const reported = launch.proceed();
    let created: ConmonCreated;
    let networkState: ContainerNetworkState | undefined;
    let logOffset: number;
    let starting: Promise<void> | undefined;
    try {
      // The CNI attachments run while runc creates the container: both only need the pinned namespace.
      [, networkState] = await settleAll([stateSaved ? Promise.race([stateSaved.saved, reported]) : reported, sandbox.connect()] as const);
      // Where this start's output begins, taken before anything can be written to the log.
      logOffset = logSize(this.logPath(id));
      starting = this.options.runc.start(id);
      // Awaited below, after conmon's report: a failure meanwhile must not count as unhandled.
      starting.catch(() => undefined);
      created = await reported;
    } catch (err) {
      // Nothing of this start may still be under way when the caller cleans up: neither runc
      // create (a failed network attachment does not wait for it above) nor an early runc start
      // (it fails along with a create that failed after saving the state).
      await Promise.allSettled([reported, starting]);
      throw err;
    } finally {
      stateSaved?.close();
    }
    // runc start runs while attached clients are released and the record and the events are
    // written: the container's process only waits for runc. An exit meanwhile waits for this
    // start (both hold the container's lock), so every attach follows the log before it.
    let running: ContainerRecord | undefined;
    try {
      if (beforeStart) await beforeStart(logOffset);
      running = this.updateState(id, {
        status: 'running',
        pid: created.pid,
        conmonPid: created.conmonPid,
        exitCode: 0,
        error: '',
        oomKilled: false,
        startedAt: new Date().toISOString(),
        finishedAt: '0001-01-01T00:00:00Z',
      }, { state: networkState });
      // dockerd's order: network connect, volume mount, then (after runc start) container start.
      if (running) {
        for (const networkId of this.joinedNetworkIds(running, networkState)) this.emit('connect', id, networkId);
        for (const point of running.mounts ?? []) if (point.type === 'volume') this.emit('mount', id, point);
      }
    } finally {
      await starting;
    }
    if (!running) throw notFound(`No such container: ${id}`);
    this.emit('start', id);
    // A process that exits instantly may have written its exit file before the watcher saw it.
    void this.onExitFile(id);
    return running;
  }

  /** The bundle of a container about to start: rootfs mounted, /etc files and config.json written. */
  private async prepareBundle(record: ContainerRecord): Promise<Sandbox> {
    const id = record.id;
    const bundle = this.bundle(id);
    const rootfs = join(bundle, 'rootfs');
    const req = record.request;
    // Nothing here depends on another step but the user lookup, which reads the mounted rootfs:
    // run them side by side (every one finishes before a failure is handled, so the cleanup
    // never races a mount still under way).
    const [user, sandbox, { mounts, rootfsPropagation }, limits] = await settleAll([
      (async () => {
        mkdirSync(rootfs, { recursive: true });
        await this.options.snapshots.mountActive(id, rootfs, { volatile: req.autoRemove });
        return resolveUser(rootfs, req.user || record.imageConfig.User || '', req.groupAdd);
      })(),
      prepareSandbox({
        record,
        bundle,
        network: this.options.network,
        bundleOf: (other) => this.bundle(other),
        findContainer: (other) => this.get(other),
      }),
      this.mounts.prepareStart(record),
      limitsSpecInput(req, detectHostFacts().cgroupV2, this.options.initBinary),
    ] as const);
    rmSync(join(this.exitDir, id), { force: true });
    rmSync(join(conmonFiles(bundle).persistDir, 'exit'), { force: true });
    const host = detectHostFacts();
    const spec = generateSpec({
      containerId: id,
      rootfs,
      image: record.imageConfig,
      cmd: req.cmd,
      entrypoint: req.entrypoint,
      env: req.env,
      workingDir: req.workingDir || undefined,
      user,
      hostname: sandbox.hostname,
      domainname: req.domainname || undefined,
      tty: req.tty,
      consoleSize: req.consoleSize,
      openStdin: req.openStdin,
      networkMode: sandbox.mode,
      readonlyRootfs: req.readonlyRootfs,
      capAdd: req.capAdd,
      capDrop: req.capDrop,
      privileged: req.privileged,
      shmSize: req.shmSize || undefined,
      ...limits,
      etcFiles: sandbox.etcFiles,
      mounts,
      ...(rootfsPropagation ? { rootfsPropagation } : {}),
      ...this.namespaceChoices(record),
      cgroupsPath: this.cgroupsPath(record),
      cgroupV2: host.cgroupV2,
      // The host's capability set: `--privileged` and `--cap-add ALL` get no more than berthd has.
      host,
    });
    if (sandbox.hostname === undefined && spec.hostname !== undefined) delete spec.hostname;
    writeScratchFileSync(join(bundle, 'config.json'), toRuntimeJson(spec));
    return sandbox;
  }

  /**
   * The spec's PID, IPC and UTS namespaces and its /dev/shm for the request's modes, as moby's
   * WithNamespaces and setupIpcDirs make them. A `container:` mode joins that container's
   * namespace: it must be running, and for IPC its mode must be shareable (or host), whose
   * /dev/shm the joiner then shares. Checked at every start: the other container may be gone.
   */
  private namespaceChoices(record: ContainerRecord): Pick<SpecInput, 'pidNamespace' | 'ipcNamespace' | 'utsNamespace' | 'cgroupNamespace' | 'shm'> {
    const req = record.request;
    const out: Pick<SpecInput, 'pidNamespace' | 'ipcNamespace' | 'utsNamespace' | 'cgroupNamespace' | 'shm'> = {};
    const donor = (ref: string, notFoundMessage: string): ContainerRecord => {
      const other = this.find(ref);
      if (!other) throw notFound(notFoundMessage);
      if (other.state.status === 'restarting') throw conflict(`Container ${other.id} is restarting, wait until the container is running`);
      if (other.state.status !== 'running' && other.state.status !== 'paused') throw conflict(`container ${other.id} is not running`);
      return other;
    };
    const pidMode = req.pidMode ?? '';
    if (pidMode === 'host') out.pidNamespace = 'host';
    else if (pidMode.startsWith('container:')) {
      const ref = pidMode.slice('container:'.length);
      out.pidNamespace = { path: `/proc/${donor(ref, `cannot join PID of a non running container: ${ref}`).state.pid}/ns/pid` };
    }
    const ipcMode = req.ipcMode ?? '';
    if (ipcMode === 'shareable') {
      out.shm = { source: this.mountShareableShm(record) };
    } else if (ipcMode === 'host') {
      out.ipcNamespace = 'host';
      out.shm = { source: '/dev/shm' };
    } else if (ipcMode === 'none') {
      out.shm = 'none';
    } else if (ipcMode.startsWith('container:')) {
      const ref = ipcMode.slice('container:'.length);
      const other = donor(ref, `can't join IPC of container ${ref}: No such container: ${ref}`);
      const otherMode = other.request.ipcMode ?? '';
      if (otherMode === 'host') {
        out.ipcNamespace = 'host';
        out.shm = { source: '/dev/shm' };
      } else if (otherMode === 'shareable' && hasOwnFilesystem(this.shmPath(other.id))) {
        out.ipcNamespace = { path: `/proc/${other.state.pid}/ns/ipc` };
        out.shm = { source: this.shmPath(other.id) };
      } else {
        throw conflict(`can't join IPC of container ${ref}: non-shareable IPC (hint: use IpcMode:shareable for the donor container)`);
      }
    }
    if (req.utsMode === 'host') out.utsNamespace = 'host';
    if (req.cgroupnsMode) out.cgroupNamespace = req.cgroupnsMode === 'private';
    return out;
  }

  /** The host-side /dev/shm of a container whose IPC namespace can be joined (moby's ShmPath). */
  private shmPath(id: string): string {
    return join(this.bundle(id), 'shm');
  }

  /**
   * `--ipc shareable`: the container's /dev/shm is a tmpfs mounted on the host, as dockerd's
   * setupIpcDirs does, so that a container joining its IPC namespace binds the same one. A
   * tmpfs in the container's own mount namespace could not be bound into another.
   */
  private mountShareableShm(record: ContainerRecord): string {
    const path = this.shmPath(record.id);
    mkdirSync(path, { recursive: true, mode: 0o700 });
    if (!hasOwnFilesystem(path)) {
      mount('shm', path, 'tmpfs', MS_NOSUID | MS_NODEV | MS_NOEXEC, `mode=1777,size=${record.request.shmSize || DEFAULT_SHM_SIZE}`);
    }
    return path;
  }

  private unmountShareableShm(id: string): void {
    const path = this.shmPath(id);
    if (hasOwnFilesystem(path)) umount2(path, MNT_DETACH);
  }

  // ---- exit -----------------------------------------------------------------

  /**
   * Called for every exit-dir event and once after each start. Duplicates are harmless:
   * the file is read inside the container's lock and handleExit ignores containers that
   * are no longer running. A guard that skipped "already handling" calls would lose the
   * exit when the event arrives while a previous call is still reading a missing file.
   */
  private async onExitFile(id: string): Promise<void> {
    if (!/^[a-f0-9]{64}$/.test(id)) return;
    await this.serialize(id, async () => {
      // '' while it is missing: the exit has not happened, or was handled already.
      const text = readTextIfPresent(join(this.exitDir, id)) ?? '';
      if (text.trim() === '') return;
      await this.handleExit(id, Number.parseInt(text.trim(), 10));
    });
  }

  private async handleExit(id: string, exitCode: number): Promise<void> {
    const record = this.find(id);
    if (!record || (record.state.status !== 'running' && record.state.status !== 'paused')) return;
    const persist = conmonFiles(this.bundle(id)).persistDir;
    // The cgroup's OOM-kill counter must be read before `runc delete` removes the cgroup.
    // Synchronous reads of small files: a `run --rm` waits for this.
    const oomFile = existsSync(join(persist, 'oom'));
    const oomKills = oomKillCount(this.cgroupsPath(record), detectHostFacts().cgroupV2);
    const finishedAt = fileModified(join(this.exitDir, id)) ?? new Date().toISOString();
    const oomKilled = oomFile || oomKills > 0;
    const released = this.beginTeardown(id);
    const code = Number.isFinite(exitCode) ? exitCode : 255;
    const restartDelay = this.restarts.afterExit(
      id,
      record.request.restartPolicy,
      { exitCode: code, manuallyStopped: record.manuallyStopped ?? false, restartCount: record.restartCount },
      Date.parse(finishedAt) - Date.parse(record.state.startedAt),
    );
    const exited = this.updateState(id, { status: restartDelay === undefined ? 'exited' : 'restarting', pid: 0, conmonPid: 0, exitCode: code, finishedAt, oomKilled });
    log.debug('container exited', { id, exitCode });
    this.emit('exit', id, exitCode);
    this.announceRelease(id, released);
    if (restartDelay !== undefined && exited) {
      exited.restartCount++;
      this.save(exited);
      this.restarts.schedule(id, restartDelay, () => void this.restartByPolicy(id));
      return;
    }
    if (record.request.autoRemove) {
      await this.removeLocked(id, true).catch((err: unknown) => log.warn('auto-remove failed', { id, error: errorMessage(err) }));
    }
  }

  private cgroupsPath(record: ContainerRecord): string {
    return `${(record.request.cgroupParent || this.options.cgroupParent).replace(/\/+$/, '')}/${record.id}`;
  }

  /** The restart a policy scheduled; a stop, kill or removal meanwhile cancels it. */
  private async restartByPolicy(id: string): Promise<void> {
    await this.serialize(id, async () => {
      const record = this.find(id);
      if (!record || record.state.status !== 'restarting') return;
      try {
        await this.startLocked(record);
      } catch (err) {
        const failure = classifyStartError(err);
        log.warn('restart by policy failed', { id, error: failure.message });
        this.announceRelease(id, await this.cleanupAfterStop(id));
        this.updateState(id, { status: 'exited', error: failure.message, exitCode: failure.exitCode, pid: 0, conmonPid: 0 });
      }
    });
  }

  /**
   * Settles a container whose restart is pending after a stop or kill through the API: it
   * stays exited. False when no restart was pending.
   */
  private cancelPendingRestart(id: string): boolean {
    if (this.find(id)?.state.status !== 'restarting') return false;
    this.restarts.cancel(id);
    const record = this.updateState(id, { status: 'exited' });
    if (record) {
      record.manuallyStopped = true;
      this.save(record);
    }
    return true;
  }

  /**
   * moby killWithSignal: the stop signal (or SIGKILL, or any signal when the container has no
   * custom stop signal) means the coming exit must not restart it; any kill marks a manual stop.
   */
  private markManualStop(record: ContainerRecord, signalNumber: number): void {
    const custom = record.request.stopSignal || record.imageConfig.StopSignal;
    if (!custom || signalNumber === 9 || parseSignal(custom).number === signalNumber) this.restarts.markExitOnNext(record.id);
    record.manuallyStopped = true;
    this.save(record);
  }

  /**
   * The stopped container's record updates now (see releaseAfterStop), its runtime teardown in
   * the background (see pendingTeardowns), after one still under way for it.
   */
  private beginTeardown(id: string): Released {
    const released = this.releaseAfterStop(id);
    const previous = this.pendingTeardowns.get(id);
    const job = (previous ?? Promise.resolve())
      // Two turns of the event loop later: the exit's waiters (`run --rm` waits for the removal
      // that follows) are answered, and the attached streams' ends are on the wire (a socket's
      // shutdown waits for the next poll phase), before spawning runc holds the event loop.
      .then(() => new Promise((resolve) => setImmediate(() => setImmediate(resolve))))
      .then(() => this.teardownRuntime(id))
      .catch((err: unknown) => log.warn('teardown after exit failed', { id, error: errorMessage(err) }))
      .finally(() => {
        if (this.pendingTeardowns.get(id) === job) this.pendingTeardowns.delete(id);
      });
    this.pendingTeardowns.set(id, job);
    return released;
  }

  /**
   * Everything a stopped container must not keep: runc state, exit file, rootfs mount. Returns
   * the networks and volumes a running container let go of, for announceRelease().
   */
  private async cleanupAfterStop(id: string): Promise<Released> {
    const released = this.releaseAfterStop(id);
    await this.teardownRuntime(id);
    return released;
  }

  /** The record's side of a stop: mounts and networks let go of (the CNI DELs run in the background). */
  private releaseAfterStop(id: string): Released {
    const record = this.find(id);
    if (record) this.mounts.afterStop(record, () => this.running());
    const wasRunning = record?.state.status === 'running' || record?.state.status === 'paused';
    const released: Released = {
      networkIds: wasRunning ? this.joinedNetworkIds(record, record.network) : [],
      volumes: wasRunning ? (record.mounts ?? []).filter((p) => p.type === 'volume') : [],
    };
    // The CNI DELs run in the background (crash-safe, and the next start of this container waits for them).
    void this.options.network.teardown(id);
    this.setNetworkState(id, undefined);
    return released;
  }

  /** The runtime's side of a stop: runc state, exit file, attach socket link, rootfs mount. */
  private async teardownRuntime(id: string): Promise<void> {
    await Promise.all([
      this.options.runc.delete(id).catch((err: unknown) => log.warn('runc delete failed', { id, error: errorMessage(err) })),
      rm(join(this.exitDir, id), { force: true }),
      rm(join(this.socketDir, id), { force: true }),
      this.options.snapshots.unmountActive(id, join(this.bundle(id), 'rootfs')),
      Promise.resolve().then(() => this.unmountShareableShm(id)),
    ]);
  }

  /**
   * The networks a running container is on, for its connect and disconnect events: its
   * endpoints, or the predefined host or none network whose mode it has (dockerd announces
   * those too; a container: mode joins no network).
   */
  private joinedNetworkIds(record: ContainerRecord, state: ContainerNetworkState | undefined): string[] {
    const mode = record.request.network.mode;
    if (mode === 'host' || mode === 'none') {
      const predefined = this.options.network.store.find(mode);
      return predefined ? [predefined.id] : [];
    }
    return (state?.endpoints ?? []).map((e) => e.networkId);
  }

  /** After the container's `exit` (dockerd: die, then network disconnect and volume unmount). */
  private announceRelease(id: string, released: Released): void {
    for (const networkId of released.networkIds) this.emit('disconnect', id, networkId);
    for (const point of released.volumes) this.emit('unmount', id, point);
  }

  /** Resolves with the exit code when the condition holds (Docker's wait conditions). */
  wait(idOrName: string, condition: WaitCondition = 'not-running', signal?: AbortSignal): Promise<{ exitCode: number; error?: string }> {
    const record = this.get(idOrName);
    const id = record.id;
    const running = (): boolean => {
      const s = this.find(id)?.state.status;
      return s === 'running' || s === 'paused' || s === 'restarting';
    };
    if (condition === 'not-running' && !running()) return Promise.resolve({ exitCode: record.state.exitCode });
    return new Promise((resolve, reject) => {
      const cleanup = (): void => {
        this.off('exit', onExit);
        this.off('remove', onRemove);
        signal?.removeEventListener('abort', onAbort);
      };
      const onExit = (exitId: string, code: number): void => {
        if (exitId !== id || condition === 'removed') return;
        cleanup();
        resolve({ exitCode: code });
      };
      let lastCode = record.state.exitCode;
      const onRemove = (removedId: string, code: number): void => {
        if (removedId !== id) return;
        lastCode = code;
        cleanup();
        resolve({ exitCode: lastCode });
      };
      const onAbort = (): void => {
        cleanup();
        reject(new BerthError('unavailable', 'wait cancelled'));
      };
      this.on('exit', onExit);
      this.on('remove', onRemove);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  // ---- signals --------------------------------------------------------------

  async kill(idOrName: string, signal = 'SIGKILL'): Promise<void> {
    const record = this.get(idOrName);
    const parsed = parseSignal(signal);
    if (this.cancelPendingRestart(record.id)) return;
    if (record.state.status !== 'running' && record.state.status !== 'paused') {
      throw conflict(`Cannot kill container: ${idOrName}: Container ${record.id} is not running`);
    }
    this.markManualStop(record, parsed.number);
    await this.options.runc.kill(record.id, parsed.number);
    this.emit('kill', record.id, parsed.number);
    if (parsed.number === 9 || parsed.number === 15) await this.thawIfPaused(record.id);
  }

  /** Stop signal, then SIGKILL after the timeout (Docker: image StopSignal or SIGTERM, 10 s). */
  async stop(idOrName: string, timeoutSeconds?: number, signal?: string): Promise<boolean> {
    const record = this.get(idOrName);
    if (this.cancelPendingRestart(record.id)) return true;
    if (record.state.status !== 'running' && record.state.status !== 'paused') return false;
    const stopSignal = parseSignal(signal || record.request.stopSignal || record.imageConfig.StopSignal || 'SIGTERM');
    this.restarts.markExitOnNext(record.id);
    record.manuallyStopped = true;
    this.save(record);
    const timeout = timeoutSeconds ?? record.request.stopTimeout ?? 10;
    const exited = this.wait(record.id, 'not-running');
    if (timeout !== 0) {
      await this.options.runc.kill(record.id, stopSignal.number).catch(() => undefined);
      this.emit('kill', record.id, stopSignal.number);
    }
    await this.thawIfPaused(record.id);
    const inTime = timeout < 0 ? await exited.then(() => true) : await Promise.race([exited.then(() => true), delay(timeout * 1000).then(() => false)]);
    if (!inTime) {
      await this.options.runc.kill(record.id, 9, true).catch(() => undefined);
      this.emit('kill', record.id, 9);
      await exited;
    }
    this.emit('stop', record.id);
    return true;
  }

  /**
   * docker restart (moby containerRestart): a running container is stopped (kill, die, stop),
   * then started (start), then `restart` is emitted. Restarts by policy emit no `restart`.
   */
  async restart(idOrName: string, timeoutSeconds: number | undefined, signal: string | undefined, beforeStart?: (logOffset: number) => Promise<void> | void): Promise<void> {
    const record = this.get(idOrName);
    await this.stop(record.id, timeoutSeconds, signal);
    await this.start(record.id, beforeStart);
    this.emit('restart', record.id);
  }

  // ---- root filesystem access (cp, export) ----------------------------------------------

  /**
   * Runs `fn` with the container's root filesystem mounted at `rootfs`: a live container's own
   * mount, or for a stopped one a mount made for `fn` and removed after it, held under the
   * container's lock so a concurrent start waits. With `freeze`, a running container's processes
   * are frozen meanwhile, so they cannot swap paths under a writer (docker cp into it).
   */
  async withRootfs<T>(idOrName: string, options: { freeze?: boolean }, fn: (rootfs: string) => Promise<T>): Promise<T> {
    const record = this.get(idOrName);
    const rootfs = join(this.bundle(record.id), 'rootfs');
    const live = (): ContainerRecord | undefined => {
      const current = this.get(record.id);
      return current.state.status === 'running' || current.state.status === 'paused' ? current : undefined;
    };
    const useLive = async (current: ContainerRecord): Promise<T> => {
      if (!options.freeze || current.state.status !== 'running') return fn(rootfs);
      const marker = join(this.frozenDir, record.id);
      await writeFile(marker, '');
      await this.options.runc.pause(record.id);
      try {
        return await fn(rootfs);
      } finally {
        await this.options.runc
          .resume(record.id)
          .then(() => rm(marker, { force: true }))
          .catch((err: unknown) => log.warn('thaw after copy failed', { id: record.id, error: errorMessage(err) }));
      }
    };
    const running = live();
    if (running) return useLive(running);
    return this.serialize(record.id, async () => {
      const startedMeanwhile = live();
      if (startedMeanwhile) return useLive(startedMeanwhile);
      await this.pendingTeardowns.get(record.id);
      await mkdir(rootfs, { recursive: true });
      await this.options.snapshots.mountActive(record.id, rootfs);
      try {
        return await fn(rootfs);
      } finally {
        await this.options.snapshots.unmountActive(record.id, rootfs);
      }
    });
  }

  // ---- top, prune ------------------------------------------------------------------

  async top(idOrName: string, psArgs: string): Promise<TopResult> {
    const record = this.get(idOrName);
    if (record.state.status !== 'running' && record.state.status !== 'paused') throw conflict(`Container ${record.id} is not running`);
    return top(await this.options.runc.pids(record.id), psArgs);
  }

  /** Filesystem changes against the image (docker diff). */
  async diff(idOrName: string): Promise<Change[]> {
    const record = this.get(idOrName);
    const lowers = [...record.chainIds].reverse().map((c) => this.options.snapshots.layerPath(c));
    return containerChanges(this.options.snapshots.activeUpperPath(record.id), lowers);
  }

  /** Removes every container that is not running and that `selects` picks; returns their IDs and the bytes their upper dirs held. */
  async prune(selects: (record: ContainerRecord) => boolean): Promise<{ ids: string[]; reclaimed: number }> {
    const ids: string[] = [];
    let reclaimed = 0;
    for (const record of this.list()) {
      if (record.state.status !== 'exited' && record.state.status !== 'created' && record.state.status !== 'dead') continue;
      if (!selects(record)) continue;
      const size = await directorySize(this.options.snapshots.activeUpperPath(record.id));
      await this.serialize(record.id, () => this.removeLocked(record.id));
      ids.push(record.id);
      reclaimed += size;
    }
    this.emit('prune', reclaimed);
    return { ids, reclaimed };
  }

  // ---- pause, rename ------------------------------------------------------------

  async pause(idOrName: string): Promise<void> {
    const record = this.get(idOrName);
    await this.serialize(record.id, async () => {
      const current = this.get(record.id);
      if (current.state.status === 'paused') throw conflict(`Container ${record.id} is already paused`);
      if (current.state.status !== 'running') throw conflict(`Container ${record.id} is not running`);
      await this.options.runc.pause(record.id);
      this.updateState(record.id, { status: 'paused' });
      this.emit('pause', record.id);
    });
  }

  async unpause(idOrName: string): Promise<void> {
    const record = this.get(idOrName);
    await this.serialize(record.id, async () => {
      const current = this.get(record.id);
      if (current.state.status !== 'paused') throw conflict(`Container ${record.id} is not paused`);
      await this.options.runc.resume(record.id);
      this.updateState(record.id, { status: 'running' });
      this.emit('unpause', record.id);
    });
  }

  /** A frozen process only acts on a signal once thawed: stop and kill thaw it first (as dockerd does). */
  private async thawIfPaused(id: string): Promise<void> {
    if (this.find(id)?.state.status !== 'paused') return;
    await this.options.runc.resume(id).catch(() => undefined);
    this.updateState(id, { status: 'running' });
  }

  rename(idOrName: string, newName: string): void {
    const record = this.get(idOrName);
    if (!newName) throw invalidArgument('Neither old nor new names may be empty');
    if (!namePattern.test(newName)) throw invalidArgument(`Invalid container name (${newName}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    const name = newName.replace(/^\//, '');
    if (name === record.name) throw conflict(`Renaming a container with the same name as its current name`);
    const holder = this.sql('SELECT id FROM containers WHERE name = ?').get(name) as { id: string } | undefined;
    if (holder) throw conflict(`Conflict. The container name "/${name}" is already in use by container "${holder.id}". You have to remove (or rename) that container to be able to reuse that name.`);
    const oldName = record.name;
    record.name = name;
    this.save(record);
    this.emit('rename', record.id, oldName);
  }

  // ---- network connect/disconnect ------------------------------------------------

  /** `network connect`: recorded for the next start, and attached now when the container runs. */
  async connectNetwork(idOrName: string, endpoint: EndpointRequest): Promise<void> {
    const initial = this.get(idOrName);
    await this.serialize(initial.id, async () => {
      const record = this.get(initial.id);
      const mode = this.options.network.resolveMode(record.request.network);
      if (mode.kind !== 'networks') throw invalidArgument('container sharing network namespace with another container or host cannot be connected to any other network');
      const network = this.options.network.store.get(endpoint.network);
      if (network.driver !== 'bridge') throw invalidArgument(`container cannot be disconnected from host network or connected to host network`);
      const joined = mode.networks.some((n) => n.id === network.id);
      if (joined) throw conflict(`endpoint with name ${record.name} already exists in network ${network.name}`);
      const wanted = { ...endpoint, network: network.name };
      this.options.network.resolveMode({ ...record.request.network, endpoints: [...record.request.network.endpoints, wanted] });
      const state = record.network;
      if (state && (record.state.status === 'running' || record.state.status === 'paused')) {
        const used = new Set(state.endpoints.map((e) => e.ifName));
        let n = 0;
        while (used.has(`eth${n}`)) n++;
        const attached = await this.options.network.attach(record.id, state.sandboxKey, network, wanted, `eth${n}`, [], {
          containerName: record.name,
          hostname: record.request.hostname,
          dns: record.request.network.dns,
        });
        state.endpoints.push(attached);
      }
      record.request.network.endpoints.push(wanted);
      this.save(record);
      // dockerd announces a connect only when the container runs; a stopped one connects at its start.
      if (state && (record.state.status === 'running' || record.state.status === 'paused')) this.emit('connect', record.id, network.id);
    });
  }

  async disconnectNetwork(idOrName: string, networkName: string): Promise<void> {
    const initial = this.get(idOrName);
    await this.serialize(initial.id, async () => {
      const record = this.get(initial.id);
      const network = this.options.network.store.get(networkName);
      const mode = this.options.network.resolveMode(record.request.network);
      const index = mode.kind === 'networks' ? mode.networks.findIndex((n) => n.id === network.id) : -1;
      if (index < 0) throw invalidArgument(`container ${record.id} is not connected to network ${network.name}`);
      const endpoint = record.network?.endpoints.find((e) => e.networkId === network.id);
      if (endpoint) {
        await this.options.network.detach(record.id, network.id);
        if (record.network) record.network.endpoints = record.network.endpoints.filter((e) => e !== endpoint);
      }
      record.request.network.endpoints.splice(index, 1);
      this.save(record);
      // dockerd announces a disconnect whether the container runs or not.
      this.emit('disconnect', record.id, network.id);
    });
  }

  // ---- remove ---------------------------------------------------------------

  /** `removeVolumes` (`rm -v`): the container's anonymous volumes go with it. */
  async remove(idOrName: string, force: boolean, removeVolumes = false): Promise<void> {
    const record = this.get(idOrName);
    if (record.state.status === 'restarting' && !force) {
      throw conflict(`cannot remove container "/${record.name}": container is restarting: stop the container before removing or force remove`);
    }
    this.cancelPendingRestart(record.id);
    const status = this.get(record.id).state.status;
    if (status === 'running' || status === 'paused') {
      if (!force) {
        throw conflict(`cannot remove container "/${record.name}": container is running: stop the container before removing or force remove`);
      }
      this.restarts.markExitOnNext(record.id);
      const exited = this.wait(record.id, 'not-running');
      await this.options.runc.kill(record.id, 9, true).catch(() => undefined);
      this.emit('kill', record.id, 9);
      await this.thawIfPaused(record.id);
      await Promise.race([exited, delay(10_000)]);
    }
    await this.serialize(record.id, () => this.removeLocked(record.id, removeVolumes));
  }

  /**
   * The record goes first, so the name is free and `wait --condition removed` (the end of every
   * `run --rm`) returns at once; the promise resolves when the files are gone too.
   */
  private async removeLocked(id: string, removeVolumes = false): Promise<void> {
    const record = this.find(id);
    if (!record) return;
    // A forced removal racing the exit file: the exit has not been processed yet.
    if (record.state.status === 'running' || record.state.status === 'paused') this.announceRelease(id, this.beginTeardown(id));
    this.sql('DELETE FROM containers WHERE id = ?').run(id);
    this.cache?.delete(id);
    this.restarts.forget(id);
    // Anonymous volumes go before the event, as in moby: once `run --rm` returns they are gone.
    // Not awaited when there is nothing to remove: the waiters on `remove` answer sooner.
    if (removeVolumes && anonymousVolumes(record).length > 0) await this.mounts.removeAnonymous(record);
    this.emit('remove', id, record.state.exitCode, record);
    const removal = this.removeFiles(id);
    this.pendingRemovals.add(removal);
    try {
      await removal;
    } finally {
      this.pendingRemovals.delete(removal);
    }
  }

  /** A removed container's rootfs mount, snapshot, bundle and exit file. */
  private async removeFiles(id: string): Promise<void> {
    await this.pendingTeardowns.get(id);
    await this.options.snapshots.unmountActive(id, join(this.bundle(id), 'rootfs')).catch(() => undefined);
    this.unmountShareableShm(id);
    await Promise.all([
      this.options.snapshots.removeActive(id),
      rm(this.bundle(id), { recursive: true, force: true }),
      rm(join(this.exitDir, id), { force: true }),
    ]);
  }

  // ---- update -------------------------------------------------------------------

  /**
   * docker update: new limits and restart policy, applied to the live cgroup (`runc update`)
   * when the container runs and kept in the record, so the next start uses them too.
   */
  async update(idOrName: string, change: { resources?: ResourcesUpdate; restartPolicy?: RestartPolicy }): Promise<string[]> {
    const initial = this.get(idOrName);
    return this.serialize(initial.id, async () => {
      const record = this.get(initial.id);
      const cannot = (message: string): string => `Cannot update container ${record.id}: ${message}`;
      if (record.state.status === 'removing' || record.state.status === 'dead') throw conflict(cannot('container is marked for removal and cannot be "update"'));
      const request = { ...record.request };
      let warnings: string[] = [];
      if (change.restartPolicy && change.restartPolicy.name !== '') {
        validateRestartPolicy(change.restartPolicy);
        if (record.request.autoRemove && change.restartPolicy.name !== 'no') {
          throw conflict(cannot('Restart policy cannot be updated because AutoRemove is enabled for the container'));
        }
        request.restartPolicy = change.restartPolicy;
      }
      if (change.resources) {
        try {
          ({ resources: request.resources, warnings } = mergeResourcesUpdate(record.request.resources ?? emptyResources(), change.resources, resourceHost(), hostCpuCount()));
        } catch (err) {
          if (err instanceof BerthError && err.code === 'conflict') throw conflict(cannot(err.message));
          throw err;
        }
        if (record.state.status === 'running' || record.state.status === 'paused') {
          const file = join(this.bundle(record.id), 'resources.json');
          await writeFileAtomic(file, JSON.stringify(ociResourcesForUpdate(request.resources, detectHostFacts().cgroupV2)), 0o600, { durable: false });
          try {
            await this.options.runc.update(record.id, file);
          } catch (err) {
            // The kernel refuses e.g. a memory limit below what the container already uses.
            throw invalidArgument(cannot(errorMessage(err)));
          } finally {
            await rm(file, { force: true });
          }
        }
      }
      record.request = request;
      this.save(record);
      return warnings;
    });
  }

  /** At berthd start: stopped containers their restart policy wants running (moby daemon.restore). */
  async startByRestartPolicy(): Promise<void> {
    for (const record of this.list()) {
      const { state } = record;
      if (state.status !== 'exited' || state.startedAt.startsWith('0001-')) continue;
      const facts = { exitCode: state.exitCode, manuallyStopped: record.manuallyStopped ?? false, restartCount: record.restartCount };
      if (!policyWantsRestart(record.request.restartPolicy, facts)) continue;
      await this.serialize(record.id, async () => {
        const current = this.find(record.id);
        if (!current || current.state.status !== 'exited') return;
        try {
          await this.startLocked(current);
        } catch (err) {
          const failure = classifyStartError(err);
          log.warn('start by restart policy failed', { id: record.id, error: failure.message });
          this.announceRelease(record.id, await this.cleanupAfterStop(record.id));
          this.updateState(record.id, { status: 'exited', error: failure.message, exitCode: failure.exitCode, pid: 0, conmonPid: 0 });
        }
      });
    }
  }

  // ---- recovery ---------------------------------------------------------------

  /**
   * Reconciles records with reality after berthd (re)starts: containers whose exit file
   * appeared meanwhile get their real exit code; ones whose monitor is gone without an
   * exit file (reboot, killed conmon) are marked exited with 255, as Docker does.
   */
  async recover(): Promise<void> {
    const exitFiles = new Set(await readdir(this.exitDir).catch(() => [] as string[]));
    // Only the containers a copy froze are asked for their state: one `runc state` per running
    // container made a start with 500 of them take 15 s.
    const frozenForCopy = new Set(await readdir(this.frozenDir).catch(() => [] as string[]));
    for (const record of this.list()) {
      const { id, state } = record;
      if (state.status !== 'running' && state.status !== 'paused' && state.status !== 'restarting') continue;
      if (exitFiles.has(id)) {
        await this.onExitFile(id);
        continue;
      }
      if (state.conmonPid > 0 && processAlive(state.conmonPid)) {
        if (record.network) await this.options.network.restore(id, record.network, record.request.network.dns);
        if (state.status === 'running' && frozenForCopy.has(id)) await this.thawLeftFrozen(id);
        continue;
      }
      // Monitor gone and no exit file: read conmon's persisted copy, if any.
      const persisted = await readFile(join(conmonFiles(this.bundle(id)).persistDir, 'exit'), 'utf8').catch(() => '');
      const code = persisted.trim() ? Number.parseInt(persisted.trim(), 10) : 255;
      const released = await this.serialize(id, async () => {
        const what = await this.cleanupAfterStop(id);
        this.updateState(id, { status: 'exited', pid: 0, conmonPid: 0, exitCode: code, finishedAt: new Date().toISOString() });
        return what;
      });
      this.emit('exit', id, code);
      this.announceRelease(id, released);
      if (record.request.autoRemove) await this.serialize(id, () => this.removeLocked(id, true));
    }
    const running = this.list().filter((r) => r.state.status === 'running' || r.state.status === 'paused').map((r) => r.id);
    // Markers of containers that stopped or went away meanwhile: nothing of theirs is frozen.
    for (const id of frozenForCopy) if (!running.includes(id)) await rm(join(this.frozenDir, id), { force: true });
    await this.options.network.sweep(new Set(running));
    await this.collectOrphans();
  }

  /**
   * What a container removed just before a crash may have left (its record goes before its
   * files): runc state, the rootfs mount, the snapshot and the bundle of IDs without a record.
   */
  private async collectOrphans(): Promise<void> {
    await this.settled();
    const known = new Set(this.list().map((r) => r.id));
    const orphan = (name: string): boolean => /^[a-f0-9]{64}$/.test(name) && !known.has(name);
    const [runtimeStates, bundles, snapshots] = await Promise.all([
      readdir(this.options.runc.root).catch(() => [] as string[]),
      readdir(this.options.containersDir).catch(() => [] as string[]),
      this.options.snapshots.listActive(),
    ]);
    const ids = new Set([...runtimeStates, ...bundles, ...snapshots].filter(orphan));
    for (const id of ids) {
      log.info('removing leftovers of a removed container', { id });
      await this.options.runc.delete(id).catch((err: unknown) => log.warn('runc delete of a leftover failed', { id, error: errorMessage(err) }));
      await this.removeFiles(id).catch((err: unknown) => log.warn('removing a leftover failed', { id, error: errorMessage(err) }));
    }
    // A stopped container has no runtime state, no monitor and no rootfs mount, unless berthd
    // died while starting it (after the mount or `runc create`, before the record said
    // running), before the teardown of its exit, or while copying from its rootfs. Runtime
    // state would make its next `runc create` fail; a mount would be left behind for good.
    const withState = new Set(runtimeStates);
    const mountPoints = new Set((await readMountInfo()).map((m) => m.mountPoint));
    for (const record of this.list()) {
      const { id, state } = record;
      if (state.status === 'running' || state.status === 'paused') continue;
      const mounted = mountPoints.has(resolvePath(this.bundle(id), 'rootfs')) || mountPoints.has(resolvePath(this.shmPath(id)));
      if (!withState.has(id) && !mounted) continue;
      log.info('clearing what a crash left of a stopped container', { id, status: state.status });
      // Its conmon, if the start got that far: killed first, so that it cannot report the
      // exit that `runc delete --force` causes after the container has been started again.
      if (withState.has(id)) killLeftoverConmon(conmonFiles(this.bundle(id)).conmonPidFile, id);
      await this.teardownRuntime(id).catch((err: unknown) => log.warn('clearing a leftover failed', { id, error: errorMessage(err) }));
    }
  }

  /**
   * A copy into a running container (withRootfs with `freeze`) freezes it for the copy; a
   * berthd that died meanwhile left it frozen. The record says running, not paused, so the
   * user did not pause it: thaw it.
   */
  private async thawLeftFrozen(id: string): Promise<void> {
    const live = await this.options.runc.state(id).catch(() => undefined);
    if (live?.status === 'paused') {
      log.warn('thawing a container a copy left frozen', { id });
      const thawed = await this.options.runc.resume(id).then(
        () => true,
        (err: unknown) => {
          log.warn('thaw failed', { id, error: errorMessage(err) });
          return false;
        },
      );
      if (!thawed) return;
    }
    await rm(join(this.frozenDir, id), { force: true });
  }

  /** For `rmi`: is any container (in any state) using this image? */
  usingImage(imageId: string): ContainerRecord[] {
    return this.list().filter((c) => c.imageId === imageId);
  }
}

/**
 * moby's translateContainerdStartErr: a missing executable is the user's mistake (400,
 * exit code 127), a non-executable one 126; anything else is the engine's (500, 128).
 */
function classifyStartError(err: unknown): BerthError & { exitCode: number } {
  const message = errorMessage(err);
  let code: BerthError['code'] = err instanceof BerthError ? err.code : 'internal';
  let exitCode = 128;
  if (/executable file not found|no such file or directory/i.test(message)) {
    code = 'invalid-argument';
    exitCode = 127;
  } else if (/permission denied/i.test(message)) {
    code = 'invalid-argument';
    exitCode = 126;
  }
  return Object.assign(new BerthError(code, message), { exitCode });
}

/**
 * SIGKILLs the conmon that `pidFile` names if it still runs for container `id`: the PID in a
 * file left by a crash may belong to another process by now, so its command line must name
 * conmon and the container.
 */
function killLeftoverConmon(pidFile: string, id: string): void {
  let pid: number;
  let argv: string[];
  try {
    pid = Number.parseInt(readFileSync(pidFile, 'utf8').trim(), 10);
    argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return;
  }
  const monitorOf = argv[0]?.endsWith('conmon') === true && argv.some((arg, i) => arg === '-c' && argv[i + 1] === id);
  if (!monitorOf) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch (err) {
    if (errnoCode(err) !== 'ESRCH') throw err;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) === 'EPERM';
  }
}

/** Both outcomes, once both have settled; the first failure is rethrown after that. */
function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** The log's length now: where an attach that begins at this start reads from. */
function logSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** When conmon wrote the exit file: the container's FinishedAt. */
function fileModified(path: string): string | undefined {
  try {
    return statSync(path).mtime.toISOString();
  } catch {
    return undefined;
  }
}

/**
 * A filesystem of its own is mounted at `path` (another device than its parent's): enough for
 * the shareable /dev/shm tmpfs, and two stats where core/mountinfo's isMountPoint parses all
 * of mountinfo, on a path every teardown takes.
 */
function hasOwnFilesystem(path: string): boolean {
  try {
    return statSync(path).dev !== statSync(join(path, '..')).dev;
  } catch {
    return false;
  }
}

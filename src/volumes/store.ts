/**
 * The volume store: named volumes of the `local` driver. Each volume's data lives in
 * `<root>/<name>/_data`; its record (driver, options, labels, creation time) in the engine's
 * SQLite database. Which containers use a volume is the containers' business: the store asks
 * through `usedBy`, so a volume is never removed while any container record refers to it.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { StatementCache } from '../core/sql-statements.js';
import { conflict, invalidArgument, notFound } from '../core/errors.js';
import { MNT_DETACH, mount, MS_BIND, MS_REC, MS_REMOUNT, umount2 } from '../core/libc.js';
import { isMountPoint } from '../core/mountinfo.js';
import { localMount, needsMount, validateLocalOptions } from './local-options.js';
import { directorySize } from '../core/du.js';

export const LOCAL_DRIVER = 'local';
/** Docker (API ≥ 1.42) labels the volumes it creates for a container; prune removes only these unless asked for all. */
export const ANONYMOUS_LABEL = 'com.docker.volume.anonymous';

export interface VolumeRecord {
  name: string;
  driver: string;
  /** RFC 3339, seconds precision (what dockerd shows). */
  createdAt: string;
  labels: Record<string, string>;
  /** The driver options (DriverOpts) as given. */
  options: Record<string, string>;
}

export interface CreateVolumeOptions {
  /** Empty: a generated 64-hex name. */
  name?: string;
  driver?: string;
  options?: Record<string, string>;
  labels?: Record<string, string>;
}

export interface VolumeFilters {
  dangling?: boolean;
  names?: string[];
  drivers?: string[];
  /** `key` or `key=value`. */
  labels?: string[];
}

export interface VolumeStoreOptions {
  db: Database.Database;
  /** `<data-root>/volumes`. */
  root: string;
  /** IDs of the containers whose records refer to the volume. */
  usedBy: (name: string) => string[];
}

const namePattern = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
const REMOVING_PREFIX = '.removing-';

/** Docker's local-driver name rule; it also keeps every name a single path component inside the root. */
export function validateVolumeName(name: string): void {
  if (!namePattern.test(name) || name.length > 255) {
    throw invalidArgument(
      `"${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`,
    );
  }
}

export function isAnonymous(volume: VolumeRecord): boolean {
  return Object.prototype.hasOwnProperty.call(volume.labels, ANONYMOUS_LABEL);
}

/** Emits `create` (record), `remove` (record) and `prune` (bytes reclaimed); engine/volume-events.ts turns them into Docker events. */
export class VolumeStore extends EventEmitter {
  private readonly db: Database.Database;
  private readonly statements: StatementCache;
  /** Containers being created hold their volumes before their record exists. */
  private readonly held = new Map<string, Set<string>>();

  constructor(private readonly options: VolumeStoreOptions) {
    super();
    this.db = options.db;
    this.db.exec('CREATE TABLE IF NOT EXISTS volumes (name TEXT PRIMARY KEY, record TEXT NOT NULL);');
    this.statements = new StatementCache(this.db);
  }

  async init(): Promise<void> {
    await mkdir(this.options.root, { recursive: true, mode: 0o701 });
    // Removals interrupted by a crash: the record is gone, the renamed directory is finished off.
    for (const entry of await readdir(this.options.root)) {
      if (entry.startsWith(REMOVING_PREFIX)) await rm(join(this.options.root, entry), { recursive: true, force: true });
    }
  }

  /** The host directory containers see: `<root>/<name>/_data`. */
  dataPath(name: string): string {
    validateVolumeName(name);
    return join(this.options.root, name, '_data');
  }

  list(filters: VolumeFilters = {}): VolumeRecord[] {
    const rows = this.statements.get('SELECT record FROM volumes ORDER BY name').all() as { record: string }[];
    return rows.map((r) => JSON.parse(r.record) as VolumeRecord).filter((v) => this.matches(v, filters));
  }

  find(name: string): VolumeRecord | undefined {
    const row = this.statements.get('SELECT record FROM volumes WHERE name = ?').get(name) as { record: string } | undefined;
    return row ? (JSON.parse(row.record) as VolumeRecord) : undefined;
  }

  get(name: string): VolumeRecord {
    const found = this.find(name);
    if (!found) throw notFound(`get ${name}: no such volume`);
    return found;
  }

  /** Creates the volume, or returns the existing one of that name (Docker's create is idempotent). */
  async create(request: CreateVolumeOptions = {}): Promise<VolumeRecord> {
    const driver = request.driver || LOCAL_DRIVER;
    if (driver !== LOCAL_DRIVER) throw notFound(`error looking up volume plugin ${driver}: plugin "${driver}" not found`);
    const name = request.name || randomBytes(32).toString('hex');
    const options = request.options ?? {};
    try {
      validateVolumeName(name);
      validateLocalOptions(options);
    } catch (err) {
      throw invalidArgument(`create ${name}: ${err instanceof Error ? err.message : String(err)}`);
    }
    const existing = this.find(name);
    // dockerd's volume service announces every create, also one that finds the volume there.
    if (existing) {
      this.emit('create', existing);
      return existing;
    }
    const record: VolumeRecord = {
      name,
      driver,
      createdAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      labels: { ...(request.labels ?? {}) },
      options: { ...options },
    };
    await mkdir(join(this.options.root, name, '_data'), { recursive: true, mode: 0o755 });
    // The directory before the record: a crash in between leaves an unlisted directory that a
    // later create of the same name simply reuses.
    this.statements.get('INSERT OR IGNORE INTO volumes (name, record) VALUES (?, ?)').run(name, JSON.stringify(record));
    const created = this.get(name);
    this.emit('create', created);
    return created;
  }

  /** Keeps the volume from being removed until released (a container create in flight). */
  hold(name: string, holder: string): void {
    const holders = this.held.get(name) ?? new Set<string>();
    holders.add(holder);
    this.held.set(name, holders);
  }

  release(name: string, holder: string): void {
    const holders = this.held.get(name);
    if (!holders) return;
    holders.delete(holder);
    if (holders.size === 0) this.held.delete(name);
  }

  users(name: string): string[] {
    return [...new Set([...this.options.usedBy(name), ...(this.held.get(name) ?? [])])];
  }

  /** 404 unless `force`; 409 while any container (running or not) refers to it. */
  async remove(name: string, force = false): Promise<void> {
    const volume = this.find(name);
    if (!volume) {
      if (force) return;
      throw notFound(`get ${name}: no such volume`);
    }
    const users = this.users(name);
    if (users.length > 0) throw conflict(`remove ${name}: volume is in use - [${users.join(', ')}]`);
    this.deactivate(name);
    const dir = join(this.options.root, name);
    const doomed = join(this.options.root, `${REMOVING_PREFIX}${name}-${randomBytes(4).toString('hex')}`);
    const moved = await rename(dir, doomed).then(() => true, () => false);
    this.statements.get('DELETE FROM volumes WHERE name = ?').run(name);
    this.emit('remove', volume);
    if (moved) await rm(doomed, { recursive: true, force: true });
  }

  /** Removes unused volumes: anonymous ones only, unless `all`; returns their names and size. */
  async prune(all: boolean, labels: { include: string[]; exclude: string[] }): Promise<{ names: string[]; reclaimed: number }> {
    const names: string[] = [];
    let reclaimed = 0;
    for (const volume of this.list()) {
      if (!all && !isAnonymous(volume)) continue;
      if (!labels.include.every((l) => labelMatches(volume, l))) continue;
      if (labels.exclude.some((l) => labelMatches(volume, l))) continue;
      if (this.users(volume.name).length > 0) continue;
      const size = await directorySize(this.dataPath(volume.name));
      await this.remove(volume.name);
      names.push(volume.name);
      reclaimed += size;
    }
    this.emit('prune', reclaimed);
    return { names, reclaimed };
  }

  /**
   * Makes a volume with driver options (tmpfs, a device, a bind of a host path) available at
   * its data path; plain volumes are directories and need nothing. Idempotent.
   */
  activate(name: string): void {
    const volume = this.get(name);
    if (!needsMount(volume.options)) return;
    const target = this.dataPath(name);
    if (isMountPoint(target)) return;
    const m = localMount(volume.options);
    try {
      mount(m.source, target, m.fstype, m.flags, m.data);
      // A bind ignores the other flags; they take effect on a remount (what mount(8) does for `bind,ro`).
      if (m.flags & MS_BIND && m.flags & ~(MS_BIND | MS_REC)) mount('', target, null, m.flags | MS_REMOUNT, null);
    } catch (err) {
      throw invalidArgument(`error while mounting volume '${target}': failed to mount local volume: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** Undoes activate() once no running container needs the volume. */
  deactivate(name: string): void {
    const volume = this.find(name);
    if (volume && !needsMount(volume.options)) return;
    const target = join(this.options.root, name, '_data');
    if (!isMountPoint(target)) return;
    try {
      umount2(target, MNT_DETACH);
    } catch {
      // Already gone: nothing to undo.
    }
  }

  private matches(volume: VolumeRecord, filters: VolumeFilters): boolean {
    if (filters.names && filters.names.length > 0 && !filters.names.some((n) => volume.name.includes(n))) return false;
    if (filters.drivers && filters.drivers.length > 0 && !filters.drivers.includes(volume.driver)) return false;
    if (filters.labels && !filters.labels.every((l) => labelMatches(volume, l))) return false;
    if (filters.dangling !== undefined && (this.users(volume.name).length === 0) !== filters.dangling) return false;
    return true;
  }
}

/** `key` (present) or `key=value` (present with that value). */
function labelMatches(volume: VolumeRecord, filter: string): boolean {
  const eq = filter.indexOf('=');
  const key = eq < 0 ? filter : filter.slice(0, eq);
  if (!Object.prototype.hasOwnProperty.call(volume.labels, key)) return false;
  return eq < 0 || volume.labels[key] === filter.slice(eq + 1);
}


/** The composition root: opens the stores, wires the modules, and offers the operations the APIs call. */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ContentStore } from '../content/store.js';
import type { Digest } from '../core/digest.js';
import { conflict, failedPrecondition, notFound, errorMessage } from '../core/errors.js';
import { logger } from '../core/log.js';
import { resolveExecutable } from '../core/which.js';
import { ImageStore, type ImageRecord } from '../images/store.js';
import { CredentialStore, StaticCredentials, type AuthConfig } from '../registry/auth.js';
import { RegistryClient } from '../registry/client.js';
import { familiarName, parseReference, tryParseReference } from '../registry/reference.js';
import { formatPlatform, normalizePlatform, parsePlatform, platformMatches } from '../registry/platform.js';
import { MonitorCgroup } from '../runtime/monitor-cgroup.js';
import { Runc } from '../runtime/runc.js';
import { OverlaySnapshotter, type LayerFormat } from '../snapshots/overlay.js';
import { squashfsSupport } from '../snapshots/squashfs.js';
import { ContainerManager } from '../containers/manager.js';
import { mergeLogConfig } from '../containers/log-config.js';
import { NetworkManager } from '../network/manager.js';
import { ExecManager } from '../containers/exec.js';
import { HealthMonitor } from '../containers/health.js';
import { prepareCreateRequest } from '../containers/limits.js';
import { VolumeStore } from '../volumes/store.js';
import type { ContainerRecord, ContainerSpecRequest } from '../containers/types.js';
import type { EngineConfig } from './config.js';
import { ensureDefaultImage } from './default-image.js';
import { claimDataRoot } from './pidfile.js';
import { executePull, preparePull, type PreparedPull, type PullDeps, type PullResult } from './pull.js';
import type { ProgressSink } from './progress.js';
import { EventBus } from './events.js';
import { publishContainerEvents } from './container-events.js';
import { publishNetworkEvents } from './network-events.js';
import { publishVolumeEvents } from './volume-events.js';

const log = logger('engine');

export class Engine {
  readonly db: Database.Database;
  readonly content: ContentStore;
  readonly snapshots: OverlaySnapshotter;
  readonly images: ImageStore;
  readonly containers: ContainerManager;
  readonly network: NetworkManager;
  readonly volumes: VolumeStore;
  readonly execs: ExecManager;
  readonly health: HealthMonitor;
  readonly registry: RegistryClient;
  readonly events = new EventBus();
  readonly startedAt = new Date();
  private pullsInFlight = 0;
  private gcPending = false;
  private gcRunning: Promise<void> | undefined;

  private constructor(
    readonly config: EngineConfig,
    private readonly releaseDataRoot: () => void,
    layerFormat: LayerFormat,
  ) {
    this.db = new Database(join(config.dataRoot, 'berth.db'));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.content = new ContentStore(join(config.dataRoot, 'content'));
    this.snapshots = new OverlaySnapshotter(join(config.dataRoot, 'snapshots'), { layerFormat });
    this.images = new ImageStore(this.db);
    this.registry = new RegistryClient({ insecureRegistries: config.insecureRegistries, credentials: new CredentialStore() });
    const runc = new Runc(resolveExecutable(config.runtimePath), join(config.execRoot, 'runc'));
    const conmonBinary = resolveExecutable(config.conmonPath);
    // In use = named by any container record, whatever its state (Docker's volume references).
    this.volumes = new VolumeStore({ db: this.db, root: join(config.dataRoot, 'volumes'), usedBy: (name) => this.containers.usingVolume(name) });
    this.network = new NetworkManager({
      db: this.db,
      execRoot: config.execRoot,
      pluginDirs: config.cniPluginDirs,
      defaultBridge: config.bridge,
      defaultBridgeIp: config.bip,
      addressPools: config.defaultAddressPools,
      dnsServers: config.dns,
    });
    // conmon's cgroup sits beside the containers' (`<cgroup-parent>/conmon`, as Podman's libpod_parent/conmon).
    const monitorCgroup = new MonitorCgroup(`${config.cgroupParent.replace(/\/+$/, '')}/conmon`);
    this.containers = new ContainerManager({
      db: this.db,
      containersDir: join(config.dataRoot, 'containers'),
      execRoot: config.execRoot,
      runc,
      conmonBinary,
      snapshots: this.snapshots,
      cgroupParent: config.cgroupParent,
      monitorCgroup,
      initBinary: config.initPath,
      network: this.network,
      volumes: this.volumes,
    });
    this.execs = new ExecManager(this.containers, { runc, conmonBinary, monitorCgroup });
    this.health = new HealthMonitor(this.containers, this.execs);
    publishContainerEvents(this.containers, this.execs, this.events);
    publishVolumeEvents(this.volumes, this.containers, this.events);
    publishNetworkEvents(this.network, this.containers, this.events);
  }

  static async open(config: EngineConfig): Promise<Engine> {
    await mkdir(config.dataRoot, { recursive: true, mode: 0o711 });
    await mkdir(config.execRoot, { recursive: true, mode: 0o711 });
    const layerFormat = await chooseLayerFormat(config.layerFormat);
    const release = claimDataRoot(config.dataRoot);
    // Staging of load/import/commit (engine/image-archive.ts): whatever a crash left there is garbage.
    await rm(join(config.dataRoot, 'tmp'), { recursive: true, force: true });
    const engine = new Engine(config, release, layerFormat);
    await engine.content.init();
    await engine.snapshots.init();
    await engine.network.init();
    await engine.volumes.init();
    await engine.containers.init();
    engine.health.init();
    try {
      await ensureDefaultImage(engine, config.busyboxPath);
    } catch (err) {
      log.warn('could not create the bundled busybox image', { error: errorMessage(err) });
    }
    await engine.containers.startByRestartPolicy();
    return engine;
  }

  /** Stops watching; waits (briefly) for network teardowns in flight. Containers keep running. */
  async close(): Promise<void> {
    this.health.close();
    await this.containers.close();
    await this.network.close();
    this.registry.close();
    this.db.close();
    this.releaseDataRoot();
  }

  // ---- images -----------------------------------------------------------------

  private pullDeps(auth?: AuthConfig, domain?: string): PullDeps {
    const registry =
      auth && domain && (auth.username || auth.identityToken || auth.registryToken)
        ? new RegistryClient({ insecureRegistries: this.config.insecureRegistries, credentials: new StaticCredentials({ [domain]: auth }) })
        : this.registry;
    return { content: this.content, registry, snapshots: this.snapshots, images: this.images, concurrency: this.config.maxConcurrentDownloads };
  }

  /** Resolves the reference; errors here (unknown manifest, unreachable registry) precede any progress output. */
  async preparePull(ref: string, auth?: AuthConfig): Promise<{ prepared: PreparedPull; run: (progress: ProgressSink) => Promise<PullResult> }> {
    const domain = parseReference(ref).domain;
    const deps = this.pullDeps(auth, domain);
    // A collection that started before this pull must not see its new blobs and layers.
    while (this.gcRunning) await this.gcRunning;
    this.pullsInFlight++;
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      this.pullsInFlight--;
      if (this.pullsInFlight === 0 && this.gcPending) void this.collectGarbage();
    };
    try {
      const prepared = await preparePull(deps, ref);
      return {
        prepared,
        run: (progress) =>
          executePull(deps, prepared, progress)
            .then((result) => {
              this.imageEvent('pull', result.reference.familiar, familiarName(result.reference), result.image);
              return result;
            })
            .finally(finish),
      };
    } catch (err) {
      finish();
      throw err;
    }
  }

  /**
   * Runs `fn` as garbage collection treats a pull: blobs and layers it stores before the
   * image record exists are not swept meanwhile (load, import, commit use it).
   */
  async withContentLease<T>(fn: () => Promise<T>): Promise<T> {
    while (this.gcRunning) await this.gcRunning;
    this.pullsInFlight++;
    try {
      return await fn();
    } finally {
      this.pullsInFlight--;
      if (this.pullsInFlight === 0 && this.gcPending) void this.collectGarbage();
    }
  }

  /** Name, `name:tag`, `name@digest`, full or short image ID → the image. */
  resolveImage(nameOrId: string): ImageRecord {
    const byId = this.images.idForPrefix(nameOrId);
    if (byId && (nameOrId.startsWith('sha256:') || nameOrId.length >= 12 || !tryParseReference(nameOrId))) return this.images.get(byId);
    const ref = tryParseReference(nameOrId);
    if (ref) {
      if (ref.digest) {
        const repoDigest = `${ref.name}@${ref.digest}`;
        const found = this.images.list().find((img) => img.repoDigests.includes(repoDigest) || img.manifestDigest === ref.digest);
        if (found) return found;
      } else if (ref.tag) {
        const id = this.images.idForName(`${ref.name}:${ref.tag}`);
        if (id) return this.images.get(id);
      }
    }
    if (byId) return this.images.get(byId);
    // Not an ID and not a valid reference: report why the reference is malformed (400).
    if (!ref) parseReference(nameOrId);
    throw notFound(`No such image: ${nameOrId}`);
  }

  /** Docker's names for an image: RepoTags in familiar form. */
  repoTags(image: ImageRecord): string[] {
    return this.images.namesFor(image.id).map((n) => parseReference(n).familiar);
  }

  repoDigests(image: ImageRecord): string[] {
    return image.repoDigests.map((d) => parseReference(d).familiar);
  }

  tagImage(source: string, repo: string, tag?: string): void {
    const image = this.resolveImage(source);
    const target = parseReference(tag ? `${repo}:${tag}` : repo);
    if (target.digest) throw conflict('refusing to create a tag with a digest reference');
    this.images.tag(image.id, `${target.name}:${target.tag ?? 'latest'}`);
    this.imageEvent('tag', image.id, target.familiar, image);
  }

  /** dockerd's LogImageEvent: the image's labels plus `name`. */
  private imageEvent(action: string, actorId: string, name: string, image: ImageRecord): void {
    this.events.publish('image', action, { ID: actorId, Attributes: { ...(image.config.config?.Labels ?? {}), name } });
  }

  /** Untag and delete events for the entries of an rmi or prune result (dockerd names the image by its ID). */
  private removalEvents(image: ImageRecord, entries: Array<{ Untagged?: string; Deleted?: string }>): void {
    for (const entry of entries) {
      if (entry.Untagged !== undefined) this.imageEvent('untag', image.id, image.id, image);
      if (entry.Deleted !== undefined) this.imageEvent('delete', image.id, image.id, image);
    }
  }

  /**
   * Docker's rmi: removing a name that is one of several only untags; removing the last
   * name (or by ID) deletes the image unless a container uses it (then 409 unless forced).
   */
  async removeImage(nameOrId: string, force: boolean): Promise<Array<{ Untagged?: string; Deleted?: string }>> {
    const image = this.resolveImage(nameOrId);
    const names = this.images.namesFor(image.id);
    const isId = (nameOrId.startsWith('sha256:') || /^[a-f0-9]{1,64}$/.test(nameOrId)) && this.images.idForPrefix(nameOrId) === image.id;
    const ref = isId ? undefined : tryParseReference(nameOrId);
    const byName = ref && !ref.digest ? `${ref.name}:${ref.tag ?? 'latest'}` : undefined;
    const result: Array<{ Untagged?: string; Deleted?: string }> = [];
    const users = this.containers.usingImage(image.id);

    if (byName && names.includes(byName) && (names.length > 1 || (users.length > 0 && force))) {
      this.images.untag(byName);
      result.push({ Untagged: parseReference(byName).familiar });
      if (names.length > 1 || users.length > 0) {
        this.removalEvents(image, result);
        return result;
      }
    }
    if (users.length > 0) {
      const user = users[0] as ContainerRecord;
      const running = users.find((c) => c.state.status === 'running');
      if (!force || running) {
        const what = byName ? `repository reference "${parseReference(byName).familiar}"` : `image ${image.id.slice(7, 19)}`;
        throw conflict(
          `conflict: unable to ${force ? 'remove' : 'delete'} ${what} (${running ? 'cannot be forced' : 'must be forced'}) - container ${(running ?? user).id.slice(0, 12)} is using its referenced image ${image.id.slice(7, 19)}`,
        );
      }
    }
    if (!byName && names.length > 1 && !force) {
      throw conflict(`conflict: unable to delete ${image.id.slice(7, 19)} (must be forced) - image is referenced in multiple repositories`);
    }
    for (const name of this.images.namesFor(image.id)) {
      result.push({ Untagged: parseReference(name).familiar });
    }
    for (const d of image.repoDigests) result.push({ Untagged: parseReference(d).familiar });
    this.images.delete(image.id);
    result.push({ Deleted: image.id });
    this.removalEvents(image, result);
    await this.collectGarbage();
    return result;
  }

  /** Docker's image history: newest first; only the top entry carries the image ID and tags. */
  async imageHistory(nameOrId: string): Promise<Array<{ Id: string; Created: number; CreatedBy: string; Tags: string[] | null; Size: number; Comment: string }>> {
    const image = this.resolveImage(nameOrId);
    const history = image.config.history ?? image.chainIds.map(() => ({}));
    let layer = 0;
    const entries = [];
    for (const h of history as Array<{ created?: string; created_by?: string; comment?: string; empty_layer?: boolean }>) {
      let size = 0;
      if (!h.empty_layer) {
        const chain = image.chainIds[layer++];
        size = chain ? ((await this.snapshots.layerInfo(chain))?.size ?? 0) : 0;
      }
      entries.push({
        Id: '<missing>',
        Created: h.created ? Math.floor(Date.parse(h.created) / 1000) : 0,
        CreatedBy: h.created_by ?? '',
        Tags: null as string[] | null,
        Size: size,
        Comment: h.comment ?? '',
      });
    }
    entries.reverse();
    const top = entries[0];
    if (top) {
      top.Id = image.id;
      const tags = this.repoTags(image);
      top.Tags = tags.length ? tags : null;
    }
    return entries;
  }

  /** Removes dangling images (no name), or with `all` every image no container uses; of those, the ones `selects` picks. */
  async pruneImages(all: boolean, selects: (image: ImageRecord) => boolean): Promise<{ deleted: Array<{ Untagged?: string; Deleted?: string }>; reclaimed: number }> {
    const used = new Set(this.containers.list().map((c) => c.imageId));
    const deleted: Array<{ Untagged?: string; Deleted?: string }> = [];
    let reclaimed = 0;
    for (const image of this.images.list()) {
      if (used.has(image.id)) continue;
      const names = this.images.namesFor(image.id);
      if (!all && names.length > 0) continue;
      if (!selects(image)) continue;
      const entries: Array<{ Untagged?: string; Deleted?: string }> = [];
      for (const name of names) entries.push({ Untagged: parseReference(name).familiar });
      for (const d of image.repoDigests) entries.push({ Untagged: parseReference(d).familiar });
      this.images.delete(image.id);
      entries.push({ Deleted: image.id });
      this.removalEvents(image, entries);
      deleted.push(...entries);
      reclaimed += image.size;
    }
    if (deleted.length > 0) await this.collectGarbage();
    this.events.publish('image', 'prune', { ID: '', Attributes: { reclaimed: String(reclaimed) } });
    return { deleted, reclaimed };
  }

  /**
   * Removes snapshots and blobs no image references any more (layers in use by containers are
   * kept). A pull's blobs and layers belong to no image until it completes, so collection
   * waits until no pull is in flight (containerd protects them with a lease instead).
   */
  async collectGarbage(): Promise<void> {
    if (this.pullsInFlight > 0) {
      this.gcPending = true;
      return;
    }
    this.gcPending = false;
    const run = this.sweep();
    this.gcRunning = run.catch(() => undefined);
    try {
      await run;
    } finally {
      this.gcRunning = undefined;
    }
  }

  private async sweep(): Promise<void> {
    // A container removed a moment ago may still hold its snapshot on its layers.
    await this.containers.settled();
    const keepChains = this.images.referencedChainIds();
    for (const c of this.containers.list()) for (const chain of c.chainIds) keepChains.add(chain);
    for (const chain of await this.snapshots.listLayers()) {
      if (!keepChains.has(chain)) await this.snapshots.removeLayer(chain).catch((err: unknown) => log.warn('snapshot gc', { chain, error: errorMessage(err) }));
    }
    const keepBlobs = new Set<string>();
    for (const image of this.images.list()) {
      keepBlobs.add(image.id);
      keepBlobs.add(image.manifestDigest);
      for (const l of image.layers) keepBlobs.add(l.digest);
      for (const rd of image.repoDigests) keepBlobs.add(rd.slice(rd.indexOf('@') + 1));
    }
    for (const blob of await this.content.list()) {
      if (!keepBlobs.has(blob)) await this.content.delete(blob as Digest).catch(() => undefined);
    }
  }

  // ---- containers ----------------------------------------------------------------

  /** Creates a container; `warnings` are dockerd's create warnings (e.g. a discarded option). */
  /**
   * `platform` (create's query, `docker run --platform`): the image must be for that platform,
   * as dockerd's GetImage checks; otherwise a 404 the docker CLI answers by pulling for it.
   */
  async createContainer(name: string | undefined, request: ContainerSpecRequest, platform?: string): Promise<ContainerRecord & { warnings: string[] }> {
    const image = this.resolveImage(request.image);
    if (platform) {
      const wanted = parsePlatform(platform);
      const actual = normalizePlatform({ os: image.config.os, architecture: image.config.architecture, ...(image.config.variant ? { variant: image.config.variant } : {}) });
      if (!platformMatches(wanted, actual)) {
        throw notFound(`image with reference ${request.image} was found but its platform (${formatPlatform(actual)}) does not match the specified platform (${formatPlatform(wanted)})`);
      }
    }
    const prepared = await prepareCreateRequest({ ...request, logConfig: mergeLogConfig(request.logConfig, this.config.logConfig) }, image.config.config?.Healthcheck);
    const record = await this.containers.create({ name, imageId: image.id, imageConfig: image.config.config ?? {}, chainIds: image.chainIds, request: prepared.request });
    return Object.assign(record, { warnings: prepared.warnings });
  }
}

/** 'auto' is squashfs where it works here; asking for squashfs where it does not is an error. */
async function chooseLayerFormat(wanted: EngineConfig['layerFormat']): Promise<LayerFormat> {
  if (wanted === 'dir') return 'dir';
  const support = await squashfsSupport();
  if (support.available) return 'squashfs';
  if (wanted === 'squashfs') throw failedPrecondition(`overlay.layer_format=squashfs is not usable here: ${support.reason ?? 'unknown reason'}`);
  log.info('storing layers as directories: squashfs layers are not usable here', { reason: support.reason });
  return 'dir';
}

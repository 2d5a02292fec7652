/**
 * In-process keyed mutex. Waiters queue in FIFO order per key; acquiring several keys at once takes
 * them in the order given, so callers that always pass keys in the same category order
 * (e.g. ref before digest) cannot deadlock.
 */
export type Release = () => void;

export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  /** Resolves once `key` is held; call the returned function exactly once to release it. */
  async acquire(key: string): Promise<Release> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => held);
    this.tails.set(key, tail);
    await previous;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      release();
      // Drop the map entry when nobody queued behind us.
      if (this.tails.get(key) === tail) this.tails.delete(key);
    };
  }

  async acquireAll(keys: readonly string[]): Promise<Release> {
    const releases: Release[] = [];
    try {
      for (const key of keys) releases.push(await this.acquire(key));
    } catch (err) {
      for (const r of releases.reverse()) r();
      throw err;
    }
    return () => {
      for (const r of releases.reverse()) r();
    };
  }

  isLocked(key: string): boolean {
    return this.tails.has(key);
  }
}

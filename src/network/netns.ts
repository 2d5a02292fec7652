/**
 * Pinned network namespaces: a new namespace bind-mounted onto a file, so it outlives any
 * process in it and can be handed to runc (spec `namespaces[].path`) and to CNI plugins
 * (CNI_NETNS) before the container's process exists — and torn down after it is gone.
 *
 * The namespace is made on Node's main thread: unshare(CLONE_NEWNET) moves only the calling
 * thread, the bind mount of /proc/thread-self/ns/net pins the new namespace, and setns()
 * returns the thread to the host namespace. These calls are synchronous, so no other
 * JavaScript (and no socket creation) runs while the thread is away; libuv's worker threads
 * never leave the host namespace. This costs microseconds where spawning `ip netns add` or
 * `unshare --net=FILE` costs milliseconds on every container start.
 */
import { openSync, rmSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { errnoCode } from '../core/errors.js';
import { CLONE_NEWNET, MNT_DETACH, MS_BIND, interfaceUp, mount, setns, umount2, unshare } from '../core/libc.js';

let hostNamespaceFd: number | undefined;

/** Creates a network namespace pinned at `path` (the file is created), with its loopback up. */
export function createPinnedNetns(path: string): void {
  hostNamespaceFd ??= openSync('/proc/thread-self/ns/net', 'r');
  writeFileSync(path, '', { mode: 0o444 });
  let moved = false;
  try {
    unshare(CLONE_NEWNET);
    moved = true;
    mount('/proc/thread-self/ns/net', path, null, MS_BIND, null);
    interfaceUp('lo');
  } catch (err) {
    if (moved) returnToHost();
    unpinQuietly(path);
    throw err;
  }
  returnToHost();
}

function returnToHost(): void {
  try {
    setns(hostNamespaceFd as number, CLONE_NEWNET);
  } catch (err) {
    // The main thread stuck in a container's namespace would send berthd's own traffic
    // there: stopping is the only safe answer.
    process.stderr.write(`berthd: cannot return to the host network namespace: ${String(err)}\n`);
    process.exit(70);
  }
}

function unpinQuietly(path: string): void {
  try {
    umount2(path, MNT_DETACH);
  } catch {
    // Not mounted: nothing to undo.
  }
  rmSync(path, { force: true });
}

/** Unpins and deletes the namespace file; the namespace dies once no process is left in it. Idempotent. */
export async function removePinnedNetns(path: string): Promise<void> {
  try {
    umount2(path, MNT_DETACH);
  } catch (err) {
    if (errnoCode(err) !== 'EINVAL' && errnoCode(err) !== 'ENOENT') throw err;
  }
  await rm(path, { force: true });
}

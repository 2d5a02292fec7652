/**
 * One berthd per data root: two daemons on the same root would both handle every exit and
 * remove each other's containers. The pid file is checked against a live berthd process.
 */
import { readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { failedPrecondition } from '../core/errors.js';

function liveBerthd(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('berthd');
  } catch {
    return false;
  }
}

export function claimDataRoot(dataRoot: string): () => void {
  const path = join(dataRoot, 'berthd.pid');
  let existing = Number.NaN;
  try {
    existing = Number(readFileSync(path, 'utf8').trim());
  } catch {
    // no pid file: the root is free
  }
  if (liveBerthd(existing)) {
    throw failedPrecondition(`another berthd (pid ${existing}) is using the data root ${dataRoot}; stop it first or pass a different --data-root`);
  }
  writeFileSync(path, `${process.pid}\n`);
  return () => {
    try {
      if (Number(readFileSync(path, 'utf8').trim()) === process.pid) rmSync(path, { force: true });
    } catch {
      // already gone
    }
  };
}

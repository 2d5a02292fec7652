/**
 * Terminal resizes spaced out per terminal. conmon 2.1.6 (Debian 12) applies only the first
 * "height width" line it finds in one read of its internal window-size pipe, so two resizes
 * in quick succession — the docker CLI's `attach` sends height+1,width+1 and then the real
 * size, to make the shell redraw — could leave the terminal at the wrong size. The first
 * resize is written at once; later ones within SPACING_MS are coalesced and the latest is
 * written when the interval has passed, so the last requested size always wins.
 */
import { resizeTerminal } from './conmon.js';

const SPACING_MS = 50;
const queued = new Map<string, { size?: { height: number; width: number } }>();

/** Resizes the TTY whose conmon control FIFO is in `dir` (throws as resizeTerminal does). */
export function resizeTerminalSpaced(dir: string, height: number, width: number): void {
  const entry = queued.get(dir);
  if (entry) {
    entry.size = { height, width };
    return;
  }
  resizeTerminal(dir, height, width);
  const fresh: { size?: { height: number; width: number } } = {};
  queued.set(dir, fresh);
  const flush = (): void => {
    const size = fresh.size;
    delete fresh.size;
    if (!size) {
      queued.delete(dir);
      return;
    }
    try {
      resizeTerminal(dir, size.height, size.width);
    } catch {
      // the monitor went away meanwhile: nothing left to resize
      queued.delete(dir);
      return;
    }
    setTimeout(flush, SPACING_MS).unref();
  };
  setTimeout(flush, SPACING_MS).unref();
}

import { readFileSync } from 'node:fs';

/**
 * A small file's text, read synchronously, or undefined when it cannot be read (missing,
 * gone meanwhile, not permitted): for /proc and /sys facts and for files a monitor may not
 * have written yet.
 */
export function readTextIfPresent(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

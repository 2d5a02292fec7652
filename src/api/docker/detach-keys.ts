/**
 * Detach keys on the daemon side of an attach (moby's term.ToBytes and the escape proxy that
 * dockerd puts on a TTY container's attached stdin): the sequence is swallowed and ends the
 * attach, leaving the container running.
 */
import { invalidArgument } from '../../core/errors.js';

/** ctrl-p, ctrl-q: dockerd's default. */
export const DEFAULT_DETACH_KEYS: readonly number[] = [16, 17];

/**
 * term.ToBytes: a comma-separated list of single characters and `ctrl-<c>` where <c> is a
 * letter or one of `@ [ \ ] ^ _`. Anything else is the client's mistake (400).
 */
export function parseDetachKeys(spec: string): number[] {
  const bad = (): Error => invalidArgument(`Invalid detach keys (${spec}) provided`);
  const out: number[] = [];
  for (const key of spec.split(',')) {
    const k = key.trim();
    if (k.length === 1) {
      out.push(k.charCodeAt(0));
      continue;
    }
    const m = /^ctrl-(.)$/i.exec(k);
    if (!m) throw bad();
    const c = (m[1] ?? '').toLowerCase();
    const code = c.charCodeAt(0);
    if (code >= 97 && code <= 122) out.push(code - 96);
    else if (c === '@') out.push(0);
    else if (c === '[') out.push(27);
    else if (c === '\\') out.push(28);
    else if (c === ']') out.push(29);
    else if (c === '^') out.push(30);
    else if (c === '_') out.push(31);
    else throw bad();
  }
  if (out.length === 0) throw bad();
  return out;
}

/**
 * Finds the detach sequence in a byte stream. Unlike moby's proxy, which only matches when
 * every key arrives in a read of its own (a terminal typing), this matches across any
 * chunking, so API clients that send the keys in one write detach too. A partial match is
 * held back and released when the next byte does not continue it.
 */
export class DetachScanner {
  private matched = 0;
  constructor(private readonly keys: readonly number[]) {}

  /** The bytes to forward, and whether the sequence completed (bytes after it are dropped). */
  scan(chunk: Buffer): { forward: Buffer; detach: boolean } {
    const forward: number[] = [];
    for (const byte of chunk) {
      if (byte === this.keys[this.matched]) {
        this.matched++;
        if (this.matched === this.keys.length) {
          this.matched = 0;
          return { forward: Buffer.from(forward), detach: true };
        }
        continue;
      }
      forward.push(...this.keys.slice(0, this.matched));
      this.matched = 0;
      if (byte === this.keys[0]) this.matched = 1;
      else forward.push(byte);
    }
    return { forward: Buffer.from(forward), detach: false };
  }
}

import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { BerthError } from './errors.js';

/** Absolute path of an executable, looked up in PATH (conmon needs absolute runtime paths). */
export function resolveExecutable(name: string, searchPath = process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'): string {
  const candidates = isAbsolute(name) || name.includes('/') ? [name] : searchPath.split(delimiter).filter(Boolean).map((dir) => join(dir, name));
  for (const candidate of [...candidates, ...(isAbsolute(name) ? [] : ['/usr/sbin', '/usr/bin', '/sbin'].map((d) => join(d, name)))]) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      continue;
    }
  }
  throw new BerthError('failed-precondition', `${name} not found in PATH: install it (Debian package "${name}")`);
}

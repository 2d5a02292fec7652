/**
 * /proc/self/mountinfo, parsed once here for every module that asks what is mounted where
 * (proc(5): `ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL…] - FSTYPE SOURCE SUPEROPTIONS`).
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

/** One line of mountinfo, the parts berth uses. */
export interface MountInfo {
  mountPoint: string;
  /** Propagation tags such as `shared:12` or `master:3`. */
  optionalFields: string[];
  fsType: string;
  superOptions: string;
}

const MOUNTINFO = '/proc/self/mountinfo';

/** Mountinfo escapes space, tab, newline and backslash as \ooo. */
function unescapeMountField(value: string): string {
  return value.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(Number.parseInt(oct, 8)));
}

export function parseMountInfo(text: string): MountInfo[] {
  const out: MountInfo[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const fields = line.split(' ');
    const sep = fields.indexOf('-', 6);
    if (sep < 0 || fields.length < sep + 4) continue;
    out.push({
      mountPoint: unescapeMountField(fields[4] ?? ''),
      optionalFields: fields.slice(6, sep),
      fsType: fields[sep + 1] ?? '',
      superOptions: unescapeMountField(fields[sep + 3] ?? ''),
    });
  }
  return out;
}

export async function readMountInfo(): Promise<MountInfo[]> {
  return parseMountInfo(await readFile(MOUNTINFO, 'utf8'));
}

export function readMountInfoSync(): MountInfo[] {
  return parseMountInfo(readFileSync(MOUNTINFO, 'utf8'));
}

/** Is `path` itself a mount point? */
export function isMountPoint(path: string): boolean {
  return readMountInfoSync().some((m) => m.mountPoint === path);
}

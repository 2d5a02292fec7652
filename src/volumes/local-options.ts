/**
 * The `local` volume driver's options (DriverOpts), as Docker's local driver takes them:
 * `type`, `device` and `o` are what mount(8) would get (`mount -t type -o o device _data`);
 * `size` asks for a quota. The `o` string is split into mount flags and filesystem data the
 * way moby/sys/mount parses it.
 */
import { invalidArgument } from '../core/errors.js';
import { ramInBytes } from '../core/units.js';
import { MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY, MS_REC } from '../core/libc.js';

const MS_SYNCHRONOUS = 0x10;
const MS_MANDLOCK = 0x40;
const MS_DIRSYNC = 0x80;
const MS_NOATIME = 0x400;
const MS_NODIRATIME = 0x800;
const MS_RELATIME = 0x200000;
const MS_STRICTATIME = 0x1000000;

const validOptions = new Set(['type', 'o', 'device', 'size']);
/** An option that needs others: a device without a type (or the reverse) cannot be mounted. */
const requiredWith: Record<string, string[]> = { device: ['type'], type: ['device'], o: ['device', 'type'] };

/** Checks DriverOpts for `volume create` (moby's validateOpts): 400 with the offending option. */
export function validateLocalOptions(options: Record<string, string>): void {
  for (const key of Object.keys(options)) {
    if (!validOptions.has(key)) throw invalidArgument(`invalid option: "${key}"`);
  }
  if (options.size !== undefined) {
    let size: number;
    try {
      size = ramInBytes(options.size);
    } catch {
      throw invalidArgument(`invalid size: '${options.size}'`);
    }
    // berth has no project quota support (nor does Docker on overlay without xfs pquota).
    if (size > 0) throw invalidArgument('quota size requested but no quota support');
  }
  for (const [key, needs] of Object.entries(requiredWith)) {
    if (options[key] === undefined) continue;
    for (const need of needs) if (options[need] === undefined) throw invalidArgument(`missing required option: "${need}"`);
  }
  if (options.type !== undefined && !/^[a-zA-Z0-9_.-]+$/.test(options.type)) throw invalidArgument(`invalid filesystem type: "${options.type}"`);
}

/** Whether the volume is a mount of its own (tmpfs, a bind of a host path, a device) rather than a plain directory. */
export function needsMount(options: Record<string, string>): boolean {
  return options.type !== undefined || options.device !== undefined;
}

/** A flag option sets (or with `clear`, clears) bits of mount(2)'s flags. */
const flagOptions: Record<string, { flag: number; clear: boolean }> = {
  defaults: { flag: 0, clear: false },
  ro: { flag: MS_RDONLY, clear: false },
  rw: { flag: MS_RDONLY, clear: true },
  suid: { flag: MS_NOSUID, clear: true },
  nosuid: { flag: MS_NOSUID, clear: false },
  dev: { flag: MS_NODEV, clear: true },
  nodev: { flag: MS_NODEV, clear: false },
  exec: { flag: MS_NOEXEC, clear: true },
  noexec: { flag: MS_NOEXEC, clear: false },
  sync: { flag: MS_SYNCHRONOUS, clear: false },
  async: { flag: MS_SYNCHRONOUS, clear: true },
  dirsync: { flag: MS_DIRSYNC, clear: false },
  mand: { flag: MS_MANDLOCK, clear: false },
  nomand: { flag: MS_MANDLOCK, clear: true },
  atime: { flag: MS_NOATIME, clear: true },
  noatime: { flag: MS_NOATIME, clear: false },
  diratime: { flag: MS_NODIRATIME, clear: true },
  nodiratime: { flag: MS_NODIRATIME, clear: false },
  relatime: { flag: MS_RELATIME, clear: false },
  norelatime: { flag: MS_RELATIME, clear: true },
  strictatime: { flag: MS_STRICTATIME, clear: false },
  nostrictatime: { flag: MS_STRICTATIME, clear: true },
  bind: { flag: MS_BIND, clear: false },
  rbind: { flag: MS_BIND | MS_REC, clear: false },
};

export interface LocalMount {
  source: string;
  fstype: string | null;
  flags: number;
  data: string | null;
}

/** What mount(2) gets for a volume's options; `type=none,o=bind,device=/path` is a bind mount. */
export function localMount(options: Record<string, string>): LocalMount {
  let flags = 0;
  const data: string[] = [];
  for (const option of (options.o ?? '').split(',')) {
    if (option === '') continue;
    const known = flagOptions[option];
    if (!known) {
      data.push(option);
      continue;
    }
    flags = known.clear ? flags & ~known.flag : flags | known.flag;
  }
  const fstype = options.type && options.type !== 'none' ? options.type : null;
  return { source: options.device ?? '', fstype, flags, data: data.length > 0 ? data.join(',') : null };
}

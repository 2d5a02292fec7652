/**
 * Device nodes for a container: `--device` mappings (moby oci.DevicesFromPath) and, for a
 * privileged container, every device of the host (runc's devices.HostDevices walk of /dev).
 */
import { existsSync } from 'node:fs';
import { lstat, readdir, stat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { errnoCode, errorMessage, invalidArgument } from '../core/errors.js';
import { DEVICE_CGROUP_RULE } from '../core/go-parse.js';
import type { LinuxDevice, LinuxDeviceCgroup } from '../oci/runtime-spec.js';
import type { DeviceMapping } from './resources.js';

const S_IFMT = 0o170000n;
const S_IFCHR = 0o020000n;
const S_IFBLK = 0o060000n;

/** Linux's new_encode_dev layout of a dev_t. */
function majorOf(rdev: bigint): number {
  return Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
}

function minorOf(rdev: bigint): number {
  return Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
}

/** The device node at `path`, or undefined when it is not a character or block device. */
async function deviceAt(path: string, followLinks: boolean): Promise<Omit<LinuxDevice, 'path'> | undefined> {
  const s = followLinks ? await stat(path, { bigint: true }) : await lstat(path, { bigint: true });
  const kind = s.mode & S_IFMT;
  if (kind !== S_IFCHR && kind !== S_IFBLK) return undefined;
  return {
    type: kind === S_IFCHR ? 'c' : 'b',
    major: majorOf(s.rdev),
    minor: minorOf(s.rdev),
    fileMode: Number(s.mode & 0o7777n),
    uid: Number(s.uid),
    gid: Number(s.gid),
  };
}

/** Directories runc skips when it lists the host's devices. */
const SKIPPED_DIRS = new Set(['pts', 'shm', 'fd', 'mqueue', '.lxc', '.lxd-mounts', '.udev']);

async function walkDevices(dir: string, skipDirs: boolean): Promise<Array<{ hostPath: string; device: Omit<LinuxDevice, 'path'> }>> {
  const out: Array<{ hostPath: string; device: Omit<LinuxDevice, 'path'> }> = [];
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (skipDirs && SKIPPED_DIRS.has(entry.name)) continue;
      out.push(...(await walkDevices(path, skipDirs)));
      continue;
    }
    if (skipDirs && entry.name === 'console') continue;
    const device = await deviceAt(path, false).catch(() => undefined);
    if (device) out.push({ hostPath: path, device });
  }
  return out;
}

export interface ResolvedDevices {
  devices: LinuxDevice[];
  rules: LinuxDeviceCgroup[];
}

/** Every device node under the host's /dev, at the same path, for a privileged container. */
export async function hostDevices(): Promise<LinuxDevice[]> {
  return (await walkDevices('/dev', true)).map(({ hostPath, device }) => ({ path: hostPath, ...device }));
}

/**
 * `--device HOST[:CONTAINER[:PERMS]]`: a device node, or a directory whose device nodes are
 * mapped below CONTAINER. Errors name the mapping, as dockerd's do.
 */
export async function resolveDeviceMappings(mappings: readonly DeviceMapping[]): Promise<ResolvedDevices> {
  const devices: LinuxDevice[] = [];
  const rules: LinuxDeviceCgroup[] = [];
  const add = (path: string, d: Omit<LinuxDevice, 'path'>, access: string): void => {
    devices.push({ path, ...d });
    rules.push({ allow: true, type: d.type, major: d.major ?? 0, minor: d.minor ?? 0, access });
  };
  for (const m of mappings) {
    const fail = (why: string): never => {
      throw invalidArgument(`error gathering device information while adding custom device "${m.pathOnHost}": ${why}`);
    };
    let isDir = false;
    try {
      isDir = (await stat(m.pathOnHost)).isDirectory();
    } catch (err) {
      fail(errnoCode(err) === 'ENOENT' ? 'no such file or directory' : errorMessage(err));
    }
    if (!isDir) {
      const device = await deviceAt(m.pathOnHost, true).catch((err: unknown) => fail(errorMessage(err)));
      if (!device) fail('not a device node');
      else add(m.pathInContainer, device, m.cgroupPermissions);
      continue;
    }
    const found = await walkDevices(m.pathOnHost, false);
    if (found.length === 0) fail('no device nodes in directory');
    for (const { hostPath, device } of found) {
      add(posix.join(m.pathInContainer, posix.relative(m.pathOnHost, hostPath)), device, m.cgroupPermissions);
    }
  }
  return { devices, rules };
}

/**
 * The numbers of the block devices that block I/O limits name, by path (moby stats them at start;
 * berth at create too, so a bad path is a 400 before anything is made). The kernel applies these
 * limits to whole disks only: a partition is refused here rather than by runc at start.
 */
export async function blockDeviceNumbers(paths: readonly string[]): Promise<Map<string, { major: number; minor: number }>> {
  const out = new Map<string, { major: number; minor: number }>();
  for (const path of paths) {
    let s;
    try {
      s = await stat(path, { bigint: true });
    } catch (err) {
      throw invalidArgument(`stat ${path}: ${errnoCode(err) === 'ENOENT' ? 'no such file or directory' : errorMessage(err)}`);
    }
    if ((s.mode & S_IFMT) !== S_IFBLK) throw invalidArgument(`${path} is not a block device`);
    const numbers = { major: majorOf(s.rdev), minor: minorOf(s.rdev) };
    if (existsSync(`/sys/dev/block/${numbers.major}:${numbers.minor}/partition`)) {
      throw invalidArgument(`${path} is a partition: block I/O limits apply to whole disks`);
    }
    out.set(path, numbers);
  }
  return out;
}

/**
 * `--device-cgroup-rule 'c 1:3 mr'` (moby AppendDevicePermissionsFromCgroupRules): an allow rule
 * for the device cgroup; `*` for a number matches every one (the OCI field left out).
 */
export function deviceRulesFromCgroupRules(rules: readonly string[]): LinuxDeviceCgroup[] {
  return rules.map((rule) => {
    const m = DEVICE_CGROUP_RULE.exec(rule);
    if (!m) throw invalidArgument(`invalid device cgroup rule format: '${rule}'`);
    const [, type, major, minor, access] = m as unknown as [string, 'a' | 'c' | 'b', string, string, string];
    return {
      allow: true,
      type,
      ...(major === '*' ? {} : { major: Number(major) }),
      ...(minor === '*' ? {} : { minor: Number(minor) }),
      access,
    };
  });
}

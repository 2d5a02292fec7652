/**
 * Resolving a Docker `User` string (`""`, `name`, `uid`, `name:group`, `uid:gid`, `uid:group`,
 * `name:gid`) against a container rootfs's /etc/passwd and /etc/group, with the semantics of
 * runc's libcontainer/user GetExecUser plus moby's getUser (daemon/oci_linux.go):
 *
 * - a numeric user is a uid even when a user has that name; a numeric uid missing from passwd is
 *   allowed (gid 0 unless given, home "");
 * - an unknown name fails: `unable to find user NAME: no matching entries in passwd file`;
 * - with no explicit group, the supplementary groups are the /etc/group entries listing the
 *   matched user name (so also for root when User is empty);
 * - `groupAdd` entries (`--group-add`) are looked up by name or gid, numeric ones need not exist;
 * - a missing passwd/group file is treated as empty (only numeric ids then resolve).
 *
 * The rootfs is a container's filesystem, so its /etc/passwd may be a symlink pointing anywhere:
 * paths are resolved with securejoin semantics (every symlink is evaluated as if the rootfs were
 * `/`, so nothing outside it is ever read), and the final open uses O_NOFOLLOW.
 */
import { closeSync, constants as fsConstants, fstatSync, openSync, readFileSync } from 'node:fs';
import { errnoCode, invalidArgument } from '../core/errors.js';
import { goAtoi } from '../core/go-parse.js';
import { isNoSuchPath, resolveInRoot, type ResolvedPath } from '../core/rootfs-path.js';

const MIN_ID = 0;
const MAX_ID = 2 ** 31 - 1;
/** /etc/passwd and /etc/group larger than this are refused rather than read into memory. */
const MAX_DB_FILE = 32 * 1024 * 1024;

export interface ExecUser {
  uid: number;
  gid: number;
  /**
   * What goes into the runtime spec's `process.user.additionalGids`, built like moby's getUser:
   * the primary gid first, then the supplementary groups from /etc/group, then `groupAdd`
   * (duplicates removed, first occurrence kept).
   */
  additionalGids: number[];
  /** Supplementary gids found in /etc/group for the matched user (runc's ExecUser.Sgids). */
  sgids: number[];
  /** Home directory from passwd, `""` when the user has no passwd entry. */
  home: string;
}

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

export interface GroupEntry {
  name: string;
  gid: number;
  list: string[];
}

const rangeError = (): Error => invalidArgument(`uids and gids must be in range ${MIN_ID}-${MAX_ID}`);

/** Go's bufio.ScanLines: split on \n and drop one trailing \r per line. */
function scanLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const raw of scanLines(text)) {
    const line = raw.trim();
    if (line === '') continue;
    // name:password:UID:GID:GECOS:directory:shell — conversion errors give 0, like runc.
    const parts = line.split(':');
    out.push({
      name: parts[0] ?? '',
      uid: goAtoi(parts[2] ?? '') ?? 0,
      gid: goAtoi(parts[3] ?? '') ?? 0,
      home: parts[5] ?? '',
    });
  }
  return out;
}

export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of scanLines(text)) {
    if (line === '') continue;
    // group_name:password:GID:user_list
    const parts = line.split(':');
    const list = parts[3] ?? '';
    out.push({ name: parts[0] ?? '', gid: goAtoi(parts[2] ?? '') ?? 0, list: list === '' ? [] : list.split(',') });
  }
  return out;
}

/**
 * Resolves a User string against passwd/group file contents (`undefined` = file absent).
 * Pure; resolveUser() does the reading.
 */
export function resolveUserFromData(
  userSpec: string,
  passwd: string | undefined,
  group: string | undefined,
  groupAdd: readonly string[] = [],
): ExecUser {
  // runc parseLine: split on ':' and take the first two fields.
  const specParts = userSpec.split(':');
  const userArg = specParts[0] ?? '';
  const groupArg = specParts[1] ?? '';
  const uidArg = goAtoi(userArg);
  const gidArg = goAtoi(groupArg);

  let uid = 0;
  let gid = 0;
  let home = '';
  let sgids: number[] = [];

  const users = passwd === undefined ? [] : parsePasswd(passwd);
  const match = users.find((u) => {
    if (userArg === '') return u.uid === 0; // default: the current (root) uid
    if (uidArg !== undefined) return u.uid === uidArg;
    return u.name === userArg;
  });

  let matchedUserName = '';
  if (match) {
    matchedUserName = match.name;
    uid = match.uid;
    gid = match.gid;
    home = match.home;
  } else if (userArg !== '') {
    if (uidArg === undefined) throw invalidArgument(`unable to find user ${userArg}: no matching entries in passwd file`);
    if (uidArg < MIN_ID || uidArg > MAX_ID) throw rangeError();
    uid = uidArg;
  }

  if (groupArg !== '' || matchedUserName !== '') {
    const groups = group === undefined ? [] : parseGroup(group);
    if (groupArg !== '') {
      const g = groups.find((e) => (gidArg !== undefined ? e.gid === gidArg : e.name === groupArg));
      if (g) {
        gid = g.gid;
      } else {
        if (gidArg === undefined) throw invalidArgument(`unable to find group ${groupArg}: no matching entries in group file`);
        if (gidArg < MIN_ID || gidArg > MAX_ID) throw rangeError();
        gid = gidArg;
      }
    } else {
      sgids = groups.filter((e) => e.list.includes(matchedUserName)).map((e) => e.gid);
    }
  }

  const added = groupAdd.length > 0 ? additionalGroups(groupAdd, group) : [];
  const additionalGids = dedupe([gid, ...sgids, ...added]);
  return { uid, gid, additionalGids, sgids, home };
}

/** runc GetAdditionalGroups: each entry is a group name or gid; numeric ones need not exist. */
function additionalGroups(groupAdd: readonly string[], group: string | undefined): number[] {
  const groups = group === undefined ? [] : parseGroup(group);
  const out: number[] = [];
  for (const ag of groupAdd) {
    const g = groups.find((e) => e.name === ag || String(e.gid) === ag);
    if (g) {
      out.push(g.gid);
      continue;
    }
    const n = goAtoi(ag);
    if (n === undefined) throw invalidArgument(`Unable to find group ${ag}`);
    if (n < MIN_ID || n > MAX_ID) throw rangeError();
    out.push(n);
  }
  return out;
}

function dedupe(ids: number[]): number[] {
  return [...new Set(ids)];
}

/**
 * Reads a regular file at `path` inside `root` without leaving root; `undefined` if it does not
 * exist or is not a regular file (a FIFO or device is never opened blocking). Synchronous: it
 * is on the path of every start and exec, and a few syscalls on two small files cost less than
 * a thread-pool round trip each.
 */
export function readFileInRoot(root: string, path: string): string | undefined {
  let resolved: ResolvedPath;
  try {
    resolved = resolveInRoot(root, path, { followFinal: true });
  } catch (err) {
    if (isNoSuchPath(err)) return undefined;
    throw err;
  }
  let fd: number;
  try {
    if (resolved.name === '') return undefined;
    fd = openSync(resolved.hostPath(), fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK | fsConstants.O_NOCTTY);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP' || code === 'ENXIO') return undefined;
    throw err;
  } finally {
    resolved.close();
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return undefined;
    if (st.size > MAX_DB_FILE) throw invalidArgument(`${path} in the container is too large (${st.size} bytes)`);
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * Resolves a Docker User string against `<rootfs>/etc/passwd` and `<rootfs>/etc/group`.
 * Errors are BerthError invalid-argument with runc's messages, as rejections (the reads are
 * synchronous, the function async like the other start steps it runs beside).
 */
export async function resolveUser(rootfs: string, userSpec: string, groupAdd: readonly string[] = []): Promise<ExecUser> {
  const passwd = readFileInRoot(rootfs, '/etc/passwd');
  const group = readFileInRoot(rootfs, '/etc/group');
  return resolveUserFromData(userSpec, passwd, group, groupAdd);
}

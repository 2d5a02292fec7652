/**
 * `--security-opt` (moby daemon_unix.go parseSecurityOpt), `--sysctl` (the namespacing rules
 * runc enforces at start, checked here at create so the user hears about them first) and
 * `--cap-add/--cap-drop` names.
 */
import { BerthError, invalidArgument } from '../core/errors.js';
import { goParseBool } from '../core/go-parse.js';
import { parseSeccompProfile, type SeccompChoice } from './seccomp.js';
import { normalizeCapability } from './spec.js';

export interface SecurityOptions {
  noNewPrivileges: boolean;
  seccomp: SeccompChoice;
}

/**
 * `no-new-privileges[=bool]`, `seccomp=unconfined|builtin|<profile JSON>` (the docker CLI
 * sends a profile file's content, not its path). AppArmor and SELinux are not part of berth:
 * only their "off" settings are accepted.
 */
export function parseSecurityOpts(opts: readonly string[]): SecurityOptions {
  const out: SecurityOptions = { noNewPrivileges: false, seccomp: 'default' };
  for (const opt of opts) {
    if (opt === 'no-new-privileges') {
      out.noNewPrivileges = true;
      continue;
    }
    let sep = opt.indexOf('=');
    if (sep < 0) sep = opt.indexOf(':');
    if (sep < 0) throw invalidArgument(`invalid --security-opt 1: "${opt}"`);
    const key = opt.slice(0, sep);
    const value = opt.slice(sep + 1);
    switch (key) {
      case 'no-new-privileges': {
        const b = goParseBool(value);
        if (b === undefined) throw invalidArgument(`invalid --security-opt 2: "${opt}"`);
        out.noNewPrivileges = b;
        break;
      }
      case 'seccomp':
        if (value === 'unconfined') out.seccomp = 'unconfined';
        else if (value === 'builtin' || value === '') out.seccomp = 'default';
        else if (value.trimStart().startsWith('{')) out.seccomp = parseSeccompProfile(value);
        else throw invalidArgument(`opening seccomp profile (${value}) failed: the docker CLI sends the file's content; pass a file that exists on the client`);
        break;
      case 'apparmor':
        if (value !== 'unconfined') throw new BerthError('not-implemented', `AppArmor profiles are not supported by berth: "${opt}"`);
        break;
      case 'label':
        if (value !== 'disable') throw new BerthError('not-implemented', `SELinux labels are not supported by berth: "${opt}"`);
        break;
      default:
        throw invalidArgument(`invalid --security-opt 2: "${opt}"`);
    }
  }
  return out;
}

const IPC_SYSCTLS = new Set(['kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced']);

/** runc's sysctl validation: only namespaced sysctls, and net.* only with a network namespace. */
export function validateSysctls(sysctls: Record<string, string>, hostNetwork: boolean): void {
  for (const [key, value] of Object.entries(sysctls)) {
    if (typeof value !== 'string') throw invalidArgument(`sysctl ${key}: value must be a string`);
    if (IPC_SYSCTLS.has(key) || key.startsWith('fs.mqueue.')) continue;
    if (key.startsWith('net.')) {
      if (hostNetwork) throw invalidArgument(`sysctl "${key}" not allowed in host network namespace`);
      continue;
    }
    if (key === 'kernel.domainname') continue;
    if (key === 'kernel.hostname') throw invalidArgument('sysctl "kernel.hostname" is not allowed as it conflicts with the OCI "hostname" field');
    throw invalidArgument(`sysctl "${key}" is not in a separate kernel namespace`);
  }
}

/** Validates `--cap-add` / `--cap-drop` names at create, as dockerd does (not only at start). */
export function validateCapabilities(add: readonly string[], drop: readonly string[]): void {
  for (const [field, list] of [['CapAdd', add], ['CapDrop', drop]] as const) {
    for (const cap of list) {
      try {
        normalizeCapability(cap);
      } catch (err) {
        throw invalidArgument(`invalid ${field}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }
}

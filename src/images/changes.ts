/**
 * The `changes` of `docker commit -c` and `docker import -c`: Dockerfile instructions applied to an
 * image config, as moby's BuildFromConfig does. Only the instructions that change the config are
 * allowed (CMD, ENTRYPOINT, ENV, EXPOSE, HEALTHCHECK, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME,
 * WORKDIR); anything else is "<X> is not a valid change command". `$VAR`/`${VAR}` are expanded
 * from the config's Env in ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME and WORKDIR.
 */
import { posix } from 'node:path';
import { invalidArgument } from '../core/errors.js';
import type { HealthConfig, ImageRuntimeConfig } from '../oci/image.js';

const allowed = new Set(['cmd', 'entrypoint', 'env', 'expose', 'healthcheck', 'label', 'onbuild', 'stopsignal', 'user', 'volume', 'workdir']);

/** Joins continuation lines and drops comments: one string per instruction. */
function instructions(changes: readonly string[]): string[] {
  const out: string[] = [];
  let pending = '';
  for (const raw of changes.join('\n').split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (pending === '' && /^\s*(#|$)/.test(line)) continue;
    if (/\\\s*$/.test(line)) {
      pending += line.replace(/\\\s*$/, '');
      continue;
    }
    out.push((pending + line).trim());
    pending = '';
  }
  if (pending.trim()) out.push(pending.trim());
  return out;
}

/** JSON form `["a","b"]`; undefined when the text is not a JSON array of strings (then it is shell form). */
function jsonArgs(text: string): string[] | undefined {
  if (!text.startsWith('[')) return undefined;
  try {
    const parsed = JSON.parse(text) as unknown;
    if (Array.isArray(parsed) && parsed.every((s) => typeof s === 'string')) return parsed as string[];
  } catch {
    // shell form
  }
  return undefined;
}

function commandArgs(text: string): string[] {
  return jsonArgs(text) ?? ['/bin/sh', '-c', text];
}

function expand(text: string, env: readonly string[]): string {
  const lookup = (name: string): string => {
    const hit = [...env].reverse().find((e) => e.startsWith(`${name}=`));
    return hit ? hit.slice(name.length + 1) : '';
  };
  return text.replace(/\\\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (m, braced: string | undefined, bare: string | undefined) => {
    if (m === '\\$') return '$';
    return lookup(braced ?? bare ?? '');
  });
}

/** Splits `k=v k2="v 2"` words honouring double/single quotes and backslash escapes. */
function words(text: string): string[] {
  const out: string[] = [];
  let current = '';
  let quote: '"' | "'" | undefined;
  let any = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < text.length) current += text[++i];
      else current += c;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      any = true;
    } else if (c === '\\' && i + 1 < text.length) {
      current += text[++i];
      any = true;
    } else if (/\s/.test(c)) {
      if (any) out.push(current);
      current = '';
      any = false;
    } else {
      current += c;
      any = true;
    }
  }
  if (quote) throw invalidArgument(`unterminated quote in "${text}"`);
  if (any) out.push(current);
  return out;
}

/** ENV/LABEL arguments: `k=v ...`, or the legacy single-pair form `k v with spaces`. */
function pairs(keyword: string, text: string, env: readonly string[]): Array<[string, string]> {
  const list = words(text);
  if (list.length === 0) throw invalidArgument(`${keyword} requires at least one argument`);
  if (!(list[0] as string).includes('=')) {
    if (list.length < 2) throw invalidArgument(`${keyword} must have two arguments`);
    const key = list[0] as string;
    return [[key, expand(text.slice(text.indexOf(key) + key.length).trim(), env)]];
  }
  return list.map((w) => {
    const eq = w.indexOf('=');
    if (eq <= 0) throw invalidArgument(`${keyword} names can not be blank: "${w}"`);
    return [w.slice(0, eq), expand(w.slice(eq + 1), env)];
  });
}

const durationUnits: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** A Go duration ("30s", "1m30s") in nanoseconds. */
function goDuration(flag: string, text: string): number {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) throw invalidArgument(`invalid duration for --${flag}: "${text}"`);
  return Math.round(parts.reduce((sum, p) => sum + Number(p[1]) * (durationUnits[p[2] as string] ?? 0), 0));
}

function healthcheck(text: string): HealthConfig {
  if (/^none$/i.test(text)) return { Test: ['NONE'] };
  const health: HealthConfig = {};
  let rest = text;
  for (;;) {
    const m = /^--([a-z-]+)=(\S+)\s+/.exec(rest);
    if (!m) break;
    const [, flag, value] = m as unknown as [string, string, string];
    if (flag === 'interval') health.Interval = goDuration(flag, value);
    else if (flag === 'timeout') health.Timeout = goDuration(flag, value);
    else if (flag === 'start-period') health.StartPeriod = goDuration(flag, value);
    else if (flag === 'start-interval') health.StartInterval = goDuration(flag, value);
    else if (flag === 'retries') {
      if (!/^\d+$/.test(value)) throw invalidArgument(`invalid value for --retries: "${value}"`);
      health.Retries = Number(value);
    } else throw invalidArgument(`unknown flag: --${flag}`);
    rest = rest.slice(m[0].length);
  }
  const cmd = /^cmd\s+(.*)$/is.exec(rest);
  if (!cmd) throw invalidArgument('HEALTHCHECK requires CMD or NONE');
  const args = jsonArgs((cmd[1] as string).trim());
  health.Test = args ? ['CMD', ...args] : ['CMD-SHELL', (cmd[1] as string).trim()];
  return health;
}

/** Applies `changes` to a copy of `base`; throws 'invalid-argument' naming the bad instruction. */
export function applyChanges(base: ImageRuntimeConfig, changes: readonly string[]): ImageRuntimeConfig {
  const config: ImageRuntimeConfig = structuredClone(base);
  let cmdSet = false;
  for (const line of instructions(changes)) {
    const m = /^(\S+)(?:\s+([\s\S]*))?$/.exec(line);
    const keyword = (m?.[1] ?? '').toLowerCase();
    const args = (m?.[2] ?? '').trim();
    if (!allowed.has(keyword)) throw invalidArgument(`${m?.[1] ?? line} is not a valid change command`);
    if (args === '') throw invalidArgument(`${keyword.toUpperCase()} requires at least one argument`);
    const env = config.Env ?? [];
    switch (keyword) {
      case 'cmd':
        config.Cmd = commandArgs(args);
        cmdSet = true;
        break;
      case 'entrypoint':
        config.Entrypoint = commandArgs(args);
        // An ENTRYPOINT resets CMD unless CMD was given in the same changes (moby dispatchers.go).
        if (!cmdSet) config.Cmd = null;
        break;
      case 'env':
        for (const [k, v] of pairs('ENV', args, env)) {
          const list = (config.Env ?? []).filter((e) => !e.startsWith(`${k}=`));
          list.push(`${k}=${v}`);
          config.Env = list;
        }
        break;
      case 'label':
        config.Labels = { ...(config.Labels ?? {}) };
        for (const [k, v] of pairs('LABEL', args, env)) config.Labels[k] = v;
        break;
      case 'expose':
        config.ExposedPorts = { ...(config.ExposedPorts ?? {}) };
        for (const port of words(expand(args, env))) {
          const pm = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(port);
          if (!pm) throw invalidArgument(`invalid containerPort: ${port}`);
          const first = Number(pm[1]);
          const last = pm[2] ? Number(pm[2]) : first;
          if (first < 1 || last > 65535 || last < first) throw invalidArgument(`invalid range of ports: ${port}`);
          for (let p = first; p <= last; p++) config.ExposedPorts[`${p}/${(pm[3] ?? 'tcp').toLowerCase()}`] = {};
        }
        break;
      case 'user':
        config.User = expand(args, env);
        break;
      case 'workdir': {
        const dir = expand(args, env);
        config.WorkingDir = posix.resolve(config.WorkingDir || '/', dir);
        break;
      }
      case 'volume': {
        const list = jsonArgs(args) ?? words(expand(args, env));
        config.Volumes = { ...(config.Volumes ?? {}) };
        for (const v of list) {
          if (!v.trim()) throw invalidArgument('VOLUME specified can not be an empty string');
          config.Volumes[v] = {};
        }
        break;
      }
      case 'stopsignal':
        config.StopSignal = expand(args, env);
        break;
      case 'healthcheck':
        config.Healthcheck = healthcheck(args);
        break;
      case 'onbuild': {
        const trigger = (/^(\S+)/.exec(args)?.[1] ?? '').toUpperCase();
        if (trigger === 'ONBUILD' || trigger === 'FROM' || trigger === 'MAINTAINER') throw invalidArgument(`${trigger} isn't allowed as an ONBUILD trigger`);
        config.OnBuild = [...(config.OnBuild ?? []), args];
        break;
      }
    }
  }
  return config;
}

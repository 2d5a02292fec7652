/**
 * CNI plugin chains, invoked as the spec says (CNI SPEC 1.0): each plugin binary gets its
 * config on stdin and CNI_* in the environment; ADD runs the list in order, each plugin
 * seeing the previous result as prevResult; DEL runs it in reverse, every plugin seeing the
 * final ADD result. Callers persist that result (and the exact list) so DEL after a crash
 * tears down exactly what ADD set up.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { BerthError } from '../core/errors.js';

export const CNI_VERSION = '1.0.0';

export interface CniPluginConfig {
  type: string;
  capabilities?: Record<string, boolean>;
  [key: string]: unknown;
}

export interface CniConflist {
  cniVersion: string;
  name: string;
  plugins: CniPluginConfig[];
}

export interface CniInterface {
  name: string;
  mac?: string;
  sandbox?: string;
}

export interface CniIpConfig {
  address: string;
  gateway?: string;
  interface?: number;
}

export interface CniResult {
  cniVersion: string;
  interfaces?: CniInterface[];
  ips?: CniIpConfig[];
  routes?: Array<{ dst: string; gw?: string }>;
  dns?: Record<string, unknown>;
}

export interface CniRuntime {
  containerId: string;
  netns: string;
  ifName: string;
  /** Values for the plugins' declared capabilities (portMappings, ips, mac…): the runtimeConfig. */
  capabilityArgs?: Record<string, unknown>;
}

/** The per-plugin config: the plugin's own keys plus name, cniVersion, runtimeConfig and prevResult. */
function pluginInput(list: CniConflist, plugin: CniPluginConfig, runtime: CniRuntime, prevResult: CniResult | undefined): string {
  const runtimeConfig: Record<string, unknown> = {};
  for (const [capability, enabled] of Object.entries(plugin.capabilities ?? {})) {
    const value = runtime.capabilityArgs?.[capability];
    if (enabled && value !== undefined) runtimeConfig[capability] = value;
  }
  const config: Record<string, unknown> = { ...plugin, cniVersion: list.cniVersion, name: list.name };
  if (Object.keys(runtimeConfig).length > 0) config.runtimeConfig = runtimeConfig;
  if (prevResult) config.prevResult = prevResult;
  return JSON.stringify(config);
}

function invoke(pluginDirs: readonly string[], command: 'ADD' | 'DEL', plugin: CniPluginConfig, input: string, runtime: CniRuntime): Promise<string> {
  const binary = join(pluginDirs[0] ?? '/usr/lib/cni', plugin.type);
  // A DEL runs after the container is gone, off anyone's critical path: at a lower priority it
  // leaves the CPU to the starts it would otherwise slow down.
  const [file, args] = command === 'DEL' ? ['nice', ['-n', '10', binary]] : [binary, []];
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      env: {
        PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
        CNI_COMMAND: command,
        CNI_CONTAINERID: runtime.containerId,
        CNI_NETNS: runtime.netns,
        CNI_IFNAME: runtime.ifName,
        CNI_PATH: pluginDirs.join(':'),
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => stdout.push(b));
    child.stderr.on('data', (b: Buffer) => stderr.push(b));
    child.on('error', (err) => reject(new BerthError('failed-precondition', `CNI plugin ${plugin.type} cannot run (${binary}): ${err.message}; install containernetworking-plugins`)));
    child.on('close', (code) => {
      const out = Buffer.concat(stdout).toString();
      if (code === 0) return resolve(out);
      let message = Buffer.concat(stderr).toString().trim() || out.trim();
      try {
        const parsed = JSON.parse(out) as { msg?: string; details?: string };
        if (parsed.msg) message = parsed.details ? `${parsed.msg}: ${parsed.details}` : parsed.msg;
      } catch {
        // Not the spec's error JSON: keep the raw output.
      }
      reject(new BerthError('internal', `CNI plugin ${plugin.type} failed (${command}): ${message}`));
    });
    child.stdin.end(input);
  });
}

/** Runs ADD through the list; on a failure, DELs what ran so far (the spec's cleanup) and rethrows. */
export async function cniAdd(pluginDirs: readonly string[], list: CniConflist, runtime: CniRuntime): Promise<CniResult> {
  let result: CniResult | undefined;
  for (const plugin of list.plugins) {
    try {
      const out = await invoke(pluginDirs, 'ADD', plugin, pluginInput(list, plugin, runtime, result), runtime);
      result = JSON.parse(out) as CniResult;
    } catch (err) {
      await cniDel(pluginDirs, list, runtime, result).catch(() => undefined);
      throw err;
    }
  }
  return result ?? { cniVersion: list.cniVersion };
}

/** DEL in reverse order; every plugin runs even when an earlier one failed; the first failure is rethrown. */
export async function cniDel(pluginDirs: readonly string[], list: CniConflist, runtime: CniRuntime, addResult: CniResult | undefined): Promise<void> {
  let failure: unknown;
  for (const plugin of [...list.plugins].reverse()) {
    await invoke(pluginDirs, 'DEL', plugin, pluginInput(list, plugin, runtime, addResult), runtime).catch((err: unknown) => {
      failure ??= err;
    });
  }
  if (failure) throw failure;
}

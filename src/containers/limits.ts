/**
 * Limits and security options of a container: checked (with dockerd's defaults filled in)
 * when it is created or updated, and turned into the spec's part at every start.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { invalidArgument, unavailable } from '../core/errors.js';
import type { HealthConfig } from '../oci/image.js';
import type { LinuxDevice, LinuxDeviceCgroup } from '../oci/runtime-spec.js';
import { blockDeviceNumbers, deviceRulesFromCgroupRules, hostDevices, resolveDeviceMappings } from '../runtime/devices.js';
import {
  blkioDevicePaths,
  emptyResources,
  ociResources,
  ociRlimits,
  readResourceHost,
  validateResources,
  type ContainerResources,
  type ResourceHost,
} from '../runtime/resources.js';
import { parseSecurityOpts, validateCapabilities, validateSysctls } from '../runtime/security.js';
import { detectHostFacts, type SpecInput } from '../runtime/spec.js';
import { validateHealthcheck } from './health.js';
import { validateRestartPolicy } from './restart.js';
import type { ContainerSpecRequest } from './types.js';

export function resourceHost(): ResourceHost {
  return readResourceHost(detectHostFacts().cgroupV2);
}

export const hostCpuCount = (): number => availableParallelism();

/**
 * The checks dockerd makes at create (verifyContainerSettings) and its defaults; returns the
 * request to store and the warnings for the reply.
 */
export async function prepareCreateRequest(
  request: ContainerSpecRequest,
  imageHealthcheck: HealthConfig | undefined,
): Promise<{ request: ContainerSpecRequest; warnings: string[] }> {
  validateRestartPolicy(request.restartPolicy);
  if (request.autoRemove && request.restartPolicy.name !== 'no' && request.restartPolicy.name !== '') {
    throw invalidArgument("can't create 'AutoRemove' container with restart policy");
  }
  validateCapabilities(request.capAdd, request.capDrop);
  parseSecurityOpts(request.securityOpt ?? []);
  validateSysctls(request.sysctls ?? {}, request.network.mode === 'host');
  const host = resourceHost();
  const oomScoreAdj = request.oomScoreAdj ?? 0;
  if (!Number.isInteger(oomScoreAdj) || oomScoreAdj < -1000 || oomScoreAdj > 1000) {
    throw invalidArgument(`Invalid value ${oomScoreAdj}, range for oom score adj is [-1000, 1000]`);
  }
  if (oomScoreAdj < host.oomScoreAdj && !host.canRaiseLimits) {
    throw invalidArgument(`OomScoreAdj ${oomScoreAdj} is below the engine's own (${host.oomScoreAdj}) and berthd lacks CAP_SYS_RESOURCE to lower it`);
  }
  const { resources, warnings } = validateResources(request.resources ?? emptyResources(), host, hostCpuCount());
  // dockerd finds a missing device only at start; berth says so at create.
  await resolveDeviceMappings(resources.devices);
  await blockDeviceNumbers(blkioDevicePaths(resources));
  const healthcheck = mergeHealthcheck(request.healthcheck, imageHealthcheck);
  if (healthcheck) validateHealthcheck(healthcheck);
  return { request: { ...request, resources, ...(healthcheck ? { healthcheck } : {}) }, warnings };
}

/** daemon/commit.go merge(): the request's healthcheck fields, the image's where unset. */
export function mergeHealthcheck(user: HealthConfig | undefined, image: HealthConfig | undefined): HealthConfig | undefined {
  if (!user) return image ? { ...image } : undefined;
  if (!image) return { ...user };
  const merged: HealthConfig = { ...user };
  if (!user.Test || user.Test.length === 0) merged.Test = image.Test;
  for (const key of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries'] as const) {
    if (!user[key] && image[key]) merged[key] = image[key];
  }
  return merged;
}

/** The spec fields for the request's limits, devices and security options (read at start). */
export async function limitsSpecInput(request: ContainerSpecRequest, cgroupV2: boolean, initBinary: string): Promise<Partial<SpecInput>> {
  const resources: ContainerResources = request.resources ?? emptyResources();
  // Checked again: berthd may have been restarted with lower rlimits or fewer CPUs since the create.
  validateResources(resources, resourceHost(), hostCpuCount(), 'update');
  if (request.init && !existsSync(initBinary)) throw unavailable(`--init: the init binary ${initBinary} is missing (install catatonit, or start berthd with --init-path)`);
  const security = parseSecurityOpts(request.securityOpt ?? []);
  const mapped = await resolveDeviceMappings(resources.devices);
  let devices: LinuxDevice[] = mapped.devices;
  const deviceRules: LinuxDeviceCgroup[] = [...mapped.rules, ...deviceRulesFromCgroupRules(request.deviceCgroupRules ?? [])];
  if (request.privileged) {
    const paths = new Set(devices.map((d) => d.path));
    devices = [...devices, ...(await hostDevices()).filter((d) => !paths.has(d.path))];
  }
  return {
    resources: ociResources(resources, cgroupV2, await blockDeviceNumbers(blkioDevicePaths(resources))),
    ...(devices.length > 0 ? { devices } : {}),
    ...(deviceRules.length > 0 ? { deviceRules } : {}),
    ...(resources.ulimits.length > 0 ? { rlimits: ociRlimits(resources.ulimits) } : {}),
    ...(request.oomScoreAdj ? { oomScoreAdj: request.oomScoreAdj } : {}),
    ...(request.sysctls && Object.keys(request.sysctls).length > 0 ? { sysctls: request.sysctls } : {}),
    noNewPrivileges: security.noNewPrivileges,
    seccomp: security.seccomp,
    ...(request.init ? { initBinary } : {}),
    ...(request.annotations ? { annotations: request.annotations } : {}),
    ...(request.maskedPaths ? { maskedPaths: request.maskedPaths } : {}),
    ...(request.readonlyPaths ? { readonlyPaths: request.readonlyPaths } : {}),
  };
}

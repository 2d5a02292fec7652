/**
 * `update`: POST /containers/{id}/update with docker's UpdateConfig body (the Resources
 * fields, zero meaning "unchanged", and RestartPolicy when --restart is given). Prints each
 * container updated, as docker does.
 */
import { FlagError, intFlag, parseRestartPolicy, sizeFlag, uint16Flag, type ContainerFlags } from '../create-config.js';
import { CliError } from '../errors.js';
import { api, println } from '../io.js';
import { forEachContainer } from './containers.js';
import { c } from './run.js';

/** The run flags `update` takes again, with the same parsing. */
export type UpdateFlags = Pick<
  ContainerFlags,
  'blkioWeight' | 'memory' | 'memorySwap' | 'memoryReservation' | 'cpus' | 'cpuShares' | 'cpuQuota' | 'cpuPeriod' | 'cpusetCpus' | 'cpusetMems' | 'pidsLimit' | 'restart'
>;

/** The UpdateConfig body for the flags (exported for the unit tests). */
export function updateBody(f: UpdateFlags): Record<string, unknown> {
  let nanoCpus = 0;
  if (f.cpus !== undefined) {
    const n = Number(f.cpus);
    if (!Number.isFinite(n) || n < 0) throw new FlagError(`invalid argument "${f.cpus}" for "--cpus" flag: failed to parse ${f.cpus} as a rational number`);
    nanoCpus = Math.round(n * 1e9);
  }
  const body: Record<string, unknown> = {
    BlkioWeight: uint16Flag(f.blkioWeight, '--blkio-weight'),
    CpuShares: intFlag(f.cpuShares, '--cpu-shares'),
    Memory: sizeFlag(f.memory, '--memory'),
    NanoCpus: nanoCpus,
    CpuPeriod: intFlag(f.cpuPeriod, '--cpu-period'),
    CpuQuota: intFlag(f.cpuQuota, '--cpu-quota'),
    CpusetCpus: f.cpusetCpus ?? '',
    CpusetMems: f.cpusetMems ?? '',
    MemoryReservation: sizeFlag(f.memoryReservation, '--memory-reservation'),
    MemorySwap: sizeFlag(f.memorySwap, '--memory-swap', true),
  };
  if (f.pidsLimit !== undefined) body['PidsLimit'] = intFlag(f.pidsLimit, '--pids-limit');
  if (f.restart !== undefined) body['RestartPolicy'] = parseRestartPolicy(f.restart);
  return body;
}

export async function updateCmd(names: string[], f: UpdateFlags): Promise<number> {
  let body: Record<string, unknown>;
  try {
    body = updateBody(f);
  } catch (e) {
    if (e instanceof FlagError) throw new CliError(`${e.message}\n\nUsage:  berth update [OPTIONS] CONTAINER [CONTAINER...]\n\nRun 'berth update --help' for more information`, 125);
    throw e;
  }
  if (Object.values(f).every((v) => v === undefined)) throw new CliError('you must provide one or more flags when using this command', 1);
  // As docker: the names of the containers updated, then every warning on stdout, then the errors.
  const warnings: string[] = [];
  try {
    return await forEachContainer(names, async (n) => {
      const r = await api().json<{ Warnings?: string[] | null }>({ method: 'POST', path: `${c(n)}/update`, body });
      warnings.push(...(r?.Warnings ?? []));
    });
  } finally {
    if (warnings.length > 0) println(warnings.join('\n'));
  }
}

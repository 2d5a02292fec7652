/**
 * `docker top`: the host's `ps` with the caller's arguments, keeping only the container's
 * processes — moby's approach (daemon/top_unix.go), so titles and columns are ps's own.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { invalidArgument } from '../core/errors.js';

const execFileAsync = promisify(execFile);

export interface TopResult {
  Titles: string[];
  Processes: string[][];
}

export async function top(pids: number[], psArgs: string): Promise<TopResult> {
  const args = psArgs.trim() ? psArgs.trim().split(/\s+/) : ['-ef'];
  if (args.some((a) => /[;&|`$<>]/.test(a))) throw invalidArgument(`invalid ps arguments: ${psArgs}`);
  let stdout: string;
  try {
    ({ stdout } = await execFileAsync('ps', args, { maxBuffer: 16 * 1024 * 1024 }));
  } catch (err) {
    throw invalidArgument(`ps ${args.join(' ')} failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  return filterPsOutput(stdout, new Set(pids));
}

/** Splits ps output into columns (the last takes the rest of the line) and keeps rows whose PID is wanted. */
export function filterPsOutput(output: string, pids: Set<number>): TopResult {
  const lines = output.split('\n').filter((l) => l.trim() !== '');
  const titles = (lines[0] ?? '').trim().split(/\s+/);
  const pidIndex = titles.indexOf('PID');
  if (pidIndex < 0) throw invalidArgument('Couldn\'t find PID field in ps output');
  const processes: string[][] = [];
  for (const line of lines.slice(1)) {
    const fields = line.trim().split(/\s+/);
    const row = [...fields.slice(0, titles.length - 1), fields.slice(titles.length - 1).join(' ')];
    if (pids.has(Number(row[pidIndex]))) processes.push(row);
  }
  return { Titles: titles, Processes: processes };
}

/**
 * `diff CONTAINER` (also `container diff`), as docker CLI 28 prints it
 * (cli/command/container/diff.go, formatter "{{.Type}} {{.Path}}"): GET /containers/{id}/changes,
 * one "C|A|D /path" line per change, in the daemon's order.
 */
import { CliError } from '../errors.js';
import { api, out } from '../io.js';
import { c } from './run.js';

interface Change {
  Path: string;
  /** 0 modified, 1 added, 2 deleted (the API's ChangeType). */
  Kind: number;
}

const CHANGE_LETTER: Readonly<Record<number, string>> = { 0: 'C', 1: 'A', 2: 'D' };

export async function diffCmd(container: string): Promise<number> {
  if (container === '') throw new CliError('Container name cannot be empty', 1);
  const changes = await api().json<Change[] | null>({ method: 'GET', path: `${c(container)}/changes` });
  // An unknown kind prints an empty type, as docker's diffContext.Type does.
  out((changes ?? []).map((change) => `${CHANGE_LETTER[change.Kind] ?? ''} ${change.Path}\n`).join(''));
  return 0;
}

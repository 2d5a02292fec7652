/**
 * Process-level plumbing shared by the commands: the API client for this invocation, output
 * helpers, terminal restoration and a clean exit that lets pending output drain first.
 */
import { createInterface } from 'node:readline';
import { ApiClient } from './client.js';
import { parseHost, resolveHostSetting } from './host.js';

let client: ApiClient | undefined;
let hostFlag: string | undefined;

export function setHostFlag(flag: string | undefined): void {
  hostFlag = flag;
}

/** The one API client of this process (created on first use). */
export function api(): ApiClient {
  client ??= new ApiClient(parseHost(resolveHostSetting(hostFlag, process.env)));
  return client;
}

export function out(s: string): void {
  process.stdout.write(s);
}

export function println(s = ''): void {
  process.stdout.write(`${s}\n`);
}

export function eprintln(s = ''): void {
  process.stderr.write(`${s}\n`);
}

const cleanups: Array<() => void> = [];

/** Registers something to undo before the process exits (e.g. a terminal in raw mode). */
export function onExit(fn: () => void): void {
  cleanups.push(fn);
}

function runCleanups(): void {
  while (cleanups.length > 0) {
    const fn = cleanups.pop();
    try {
      fn?.();
    } catch {
      // best effort
    }
  }
}

process.on('exit', runCleanups);

function drained(stream: NodeJS.WriteStream): Promise<void> {
  if (stream.writableLength === 0 || stream.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    stream.once('drain', resolve);
    stream.once('error', () => resolve());
    stream.once('close', () => resolve());
  });
}

/** Ends the process with `code` once stdout/stderr have been flushed. */
export async function exit(code: number): Promise<never> {
  runCleanups();
  client?.close();
  await Promise.all([drained(process.stdout), drained(process.stderr)]);
  process.exit(code);
}

/** A [y/N] question on stdout; anything but y/yes (or no stdin at all) is no. */
export async function confirm(question: string): Promise<boolean> {
  process.stdout.write(question);
  const rl = createInterface({ input: process.stdin });
  const answer = await new Promise<string>((resolve) => {
    rl.once('line', resolve);
    rl.once('close', () => resolve(''));
  });
  rl.close();
  return /^y(es)?$/i.test(answer.trim());
}

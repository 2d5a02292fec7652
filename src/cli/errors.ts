/**
 * CLI error types. Every failure ends as one message on stderr and an exit status, chosen as
 * the docker CLI chooses them: 1 for daemon/API errors, 125 for `run`/`create` failures and flag
 * errors, 126/127 for start errors about permissions / missing executables.
 */

/** A failure with an exact stderr message ('' prints nothing) and exit status. */
export class CliError extends Error {
  readonly exitCode: number;

  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

/** A 4xx/5xx from the daemon. `message` is the daemon's own text; `display` is what docker prints. */
export class ApiError extends Error {
  readonly status: number;
  readonly display: string;

  constructor(status: number, message: string, display?: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.display = display ?? `Error response from daemon: ${message}`;
  }

  get isNotFound(): boolean {
    return this.status === 404;
  }
}

/** The daemon socket could not be reached. */
export class DaemonUnreachableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DaemonUnreachableError';
  }
}

/** The text docker would print for an error. */
export function displayError(err: unknown): string {
  if (err instanceof ApiError) return err.display;
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Exit status 125/126/127 for `run`/`start` errors, by docker's toStatusError rules. */
export function runErrorStatus(message: string): number {
  if (
    message.includes('executable file not found') ||
    message.includes('no such file or directory') ||
    message.includes('system cannot find the file specified')
  ) {
    return 127;
  }
  if (message.includes('permission denied') || message.includes('is a directory')) return 126;
  return 125;
}

/** docker's withHelp(): "docker: <err>\n\nRun 'docker run --help' for more information". */
export function withHelp(err: unknown, command: string): CliError {
  const text = displayError(err);
  return new CliError(`berth: ${text}\n\nRun 'berth ${command} --help' for more information`, runErrorStatus(text));
}

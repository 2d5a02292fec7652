/**
 * A bad flag value of run/create, found before anything is sent. Messages that start with
 * "invalid argument" are flag-parse errors (docker prints usage with them); the rest are
 * printed as `berth: <message>` with a hint to --help.
 */
export class FlagError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FlagError';
  }
}

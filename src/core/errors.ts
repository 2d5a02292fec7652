/**
 * One error class for the whole engine. The code is a closed set of categories
 * (containerd's errdefs); only the API edge maps them to HTTP statuses.
 */
export type ErrorCode =
  | 'not-found'
  | 'already-exists'
  | 'conflict'
  | 'invalid-argument'
  | 'failed-precondition'
  | 'forbidden'
  | 'unauthorized'
  | 'unavailable'
  | 'not-implemented'
  | 'internal';

export class BerthError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BerthError';
    this.code = code;
  }
}

export const notFound = (message: string): BerthError => new BerthError('not-found', message);
export const invalidArgument = (message: string): BerthError => new BerthError('invalid-argument', message);
export const conflict = (message: string): BerthError => new BerthError('conflict', message);
export const alreadyExists = (message: string): BerthError => new BerthError('already-exists', message);
export const forbidden = (message: string): BerthError => new BerthError('forbidden', message);
export const failedPrecondition = (message: string): BerthError => new BerthError('failed-precondition', message);
export const unavailable = (message: string, cause?: unknown): BerthError =>
  new BerthError('unavailable', message, { cause });

export function isBerthError(err: unknown, code?: ErrorCode): err is BerthError {
  return err instanceof BerthError && (code === undefined || err.code === code);
}

/** Node system errors carry `code` strings like ENOENT; this narrows them without `any`. */
export function errnoCode(err: unknown): string | undefined {
  if (err && typeof err === 'object' && 'code' in err && typeof (err as { code: unknown }).code === 'string') {
    return (err as { code: string }).code;
  }
  return undefined;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

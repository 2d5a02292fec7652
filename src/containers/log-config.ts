/**
 * A container's log options. conmon writes every container's log in the k8s-file format that
 * `logs` reads; to clients the driver is json-file, and of json-file's options berth carries
 * out `max-size` with one file: conmon's --log-size-max starts the file afresh when a line would
 * take it past the size, as json-file does when it keeps a single file. The checks and their
 * texts are moby's (jsonfilelog.ValidateLogOpt and New); moby makes New's at start, berth at
 * create, so a bad option never gets as far as a container that cannot start.
 */
import { BerthError, invalidArgument } from '../core/errors.js';
import { goAtoi, goParseBool } from '../core/go-parse.js';
import { fromHumanSize } from '../core/units.js';

export const LOG_DRIVER = 'json-file';

export interface LogConfig {
  type: string;
  config: Record<string, string>;
}

/** json-file options that change what is stored with each line (`logs --details`): not kept by conmon. */
const ATTRIBUTE_OPTIONS: readonly string[] = ['env', 'env-regex', 'labels', 'labels-regex', 'tag'];

/** What berth does with a checked configuration: the byte limit of the log file, if any. */
export interface LogLimits {
  maxSize?: number;
}

/**
 * Checks a json-file configuration; returns what conmon is to enforce. Errors name the option as
 * dockerd does (400), and options berth cannot honour are refused (501) rather than ignored.
 */
export function checkLogConfig(config: Record<string, string>): LogLimits {
  const unsupported: string[] = [];
  for (const key of Object.keys(config)) {
    if (ATTRIBUTE_OPTIONS.includes(key)) unsupported.push(key);
    else if (key !== 'max-size' && key !== 'max-file' && key !== 'compress') throw invalidArgument(`unknown log opt '${key}' for ${LOG_DRIVER} log driver`);
  }
  let maxSize: number | undefined;
  const sizeText = config['max-size'];
  if (sizeText !== undefined) {
    try {
      maxSize = fromHumanSize(sizeText);
    } catch (err) {
      throw invalidArgument(err instanceof Error ? err.message : String(err));
    }
    if (maxSize <= 0) throw invalidArgument('max-size must be a positive number');
  }
  let maxFiles = 1;
  const filesText = config['max-file'];
  if (filesText !== undefined) {
    const parsed = goAtoi(filesText);
    if (parsed === undefined) throw invalidArgument(`strconv.Atoi: parsing ${JSON.stringify(filesText)}: invalid syntax`);
    maxFiles = parsed;
    if (maxFiles < 1) throw invalidArgument('max-file cannot be less than 1');
    if (maxFiles > 1) unsupported.push('max-file above 1');
  }
  const compressText = config['compress'];
  const compress = compressText === undefined ? false : goParseBool(compressText);
  if (compress === undefined) throw invalidArgument(`strconv.ParseBool: parsing ${JSON.stringify(compressText)}: invalid syntax`);
  if (compress && (maxFiles === 1 || maxSize === undefined)) {
    throw invalidArgument('compress cannot be true when max-file is less than 2 or max-size is not set');
  }
  if (unsupported.length > 0) {
    throw new BerthError('not-implemented', `not supported by berth yet: log-opt ${unsupported.join(', ')} (conmon keeps one log file of plain records)`);
  }
  return maxSize === undefined ? {} : { maxSize };
}

/**
 * The configuration a container gets (moby's mergeAndVerifyLogConfig): no type means the
 * daemon's, and a container of the daemon's type takes each daemon option it does not set.
 */
export function mergeLogConfig(requested: LogConfig | undefined, daemonDefault: LogConfig): LogConfig {
  const type = requested?.type || daemonDefault.type;
  const config = { ...(requested?.config ?? {}) };
  if (type === daemonDefault.type) {
    for (const [key, value] of Object.entries(daemonDefault.config)) if (!(key in config)) config[key] = value;
  }
  if (type !== LOG_DRIVER) throw new BerthError('not-implemented', `not supported by berth yet: log driver ${type} (berth logs as ${LOG_DRIVER})`);
  checkLogConfig(config);
  return { type, config };
}

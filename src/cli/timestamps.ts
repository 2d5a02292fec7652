/**
 * Times on the command line. formatRfc3339: Go's time.RFC3339 / RFC3339Nano-fixed layouts in
 * local time, as the docker CLI prints times. getTimestamp is timetypes.GetTimestamp from the docker CLI: turns `--since`/`--until` values into what the
 * daemon's logs/events endpoints take. Durations ("10m", "1h30m") become Unix seconds relative to
 * now; dates/RFC 3339 times become "seconds.nanoseconds" (local time unless a zone is given);
 * Unix timestamps pass through unchanged.
 */
import { parseGoDuration } from '../core/units.js';

/** "2006-01-02T15:04:05[.fraction]Z07:00" in local time; `fraction` is the digits after the point. */
export function formatRfc3339(d: Date, fraction?: string): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  const off = -d.getTimezoneOffset();
  const zone = off === 0 ? 'Z' : `${off > 0 ? '+' : '-'}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`;
  const seconds = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return `${seconds}${fraction === undefined ? '' : `.${fraction}`}${zone}`;
}

export function getTimestamp(value: string, now: Date = new Date()): string {
  const d = value !== '0' ? parseGoDuration(value) : undefined;
  if (d !== undefined) return String(Math.floor((now.getTime() - d) / 1000));

  if (value.includes('-')) {
    const hasZone = /[zZ+]/.test(value) || (value.match(/-/g)?.length ?? 0) === 3;
    let v = value;
    if (/^\d{4}-\d{2}-\d{2}$/.test(v)) v += 'T00:00:00';
    else if (/^\d{4}-\d{2}-\d{2}T\d{2}$/.test(v)) v += ':00:00';
    else if (/^\d{4}-\d{2}-\d{2}T\d{2}(?=Z|[+-]\d{2}:?\d{2}$)/.test(v) && !/T\d{2}:/.test(v)) {
      v = v.replace(/T(\d{2})/, 'T$1:00:00');
    }
    if (hasZone && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?=Z|[+-])/.test(v) && !/T\d{2}:\d{2}:\d{2}/.test(v)) {
      v = v.replace(/T(\d{2}:\d{2})/, 'T$1:00');
    }
    if (/^\d{4}-\d{2}-\d{2}$/.test(value) && hasZone) v = value;
    const ms = Date.parse(v);
    if (Number.isNaN(ms)) throw new Error(`failed to parse value as time or duration: "${value}"`);
    const frac = /\.(\d+)/.exec(v.split('T')[1] ?? '');
    const nanos = frac ? Number((frac[1] ?? '0').padEnd(9, '0').slice(0, 9)) : 0;
    const seconds = Math.floor(ms / 1000);
    return `${seconds}.${String(nanos).padStart(9, '0')}`;
  }
  if (/^\d+(\.\d{1,9})?$/.test(value)) return value;
  throw new Error(`failed to parse value as time or duration: "${value}"`);
}

/**
 * Human-readable sizes and durations, byte-for-byte as the docker CLI prints them
 * (github.com/docker/go-units: size.go HumanSizeWithPrecision/BytesSize/RAMInBytes,
 * duration.go HumanDuration) plus Go's `%g` and time.ParseDuration/Duration.String,
 * which those functions and the CLI's flags rely on.
 */

const DECIMAL_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];
const BINARY_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB', 'ZiB', 'YiB'];

/** Go's fmt `%.<precision>g` for a finite float64 (strconv.FormatFloat(x, 'g', precision, 64)). */
export function formatG(x: number, precision: number): string {
  if (!Number.isFinite(x)) return x > 0 ? '+Inf' : x < 0 ? '-Inf' : 'NaN';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const p = Math.max(1, precision);
  const exp = x.toExponential(p - 1); // "-d.ddde+X"
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(exp);
  if (!m) return String(x);
  const sign = m[1] ?? '';
  const digits = ((m[2] ?? '') + (m[3] ?? '')).replace(/0+$/, '') || '0';
  const e = Number(m[4]);
  if (e < -4 || e >= p) {
    const mant = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const ae = Math.abs(e);
    return `${sign}${mant}e${e < 0 ? '-' : '+'}${ae < 10 ? '0' : ''}${ae}`;
  }
  const decimals = Math.max(digits.length - (e + 1), 0);
  return Number(exp).toFixed(decimals);
}

function scale(size: number, base: number, units: readonly string[]): [number, string] {
  let i = 0;
  while (size >= base && i < units.length - 1) {
    size /= base;
    i++;
  }
  return [size, units[i] ?? 'B'];
}

/** units.HumanSizeWithPrecision: decimal (1000-based) units, `%.<p>g`. `docker images` uses p=3. */
export function humanSizeWithPrecision(size: number, precision: number): string {
  const [v, unit] = scale(size, 1000, DECIMAL_UNITS);
  return formatG(v, precision) + unit;
}

/** units.HumanSize: "4.26MB"-style with 4 significant digits ("1.982MB"). */
export function humanSize(size: number): string {
  return humanSizeWithPrecision(size, 4);
}

/** units.BytesSize: binary (1024-based) units, `%.4g` ("23.54GiB"). */
export function bytesSize(size: number): string {
  const [v, unit] = scale(size, 1024, BINARY_UNITS);
  return formatG(v, 4) + unit;
}

/** units.HumanDuration of a span in milliseconds ("Less than a second", "About a minute", …). */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(ms / 60_000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.trunc(ms / 3_600_000 + 0.5);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(ms / 3_600_000 / 24 / 365)} years`;
}

const RAM_MULT: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** units.RAMInBytes: "64m" → 67108864 (binary multipliers, optional "i"/"b" suffixes). */
export function ramInBytes(value: string): number {
  const m = /^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(value);
  if (!m) throw new Error(`invalid size: '${value}'`);
  const size = Number.parseFloat(m[1] ?? '');
  if (Number.isNaN(size)) throw new Error(`invalid size: '${value}'`);
  return Math.trunc(size * (RAM_MULT[(m[2] ?? '').toLowerCase()] ?? 1));
}

const DECIMAL_MULT: Record<string, number> = { k: 1e3, m: 1e6, g: 1e9, t: 1e12, p: 1e15 };

/**
 * units.FromHumanSize (go-units 0.5): "10m" → 10000000, SI multipliers, an optional space, a
 * suffix of at most "kib"/"kb"/"k" or "b"; with Go's error texts.
 */
export function fromHumanSize(text: string): number {
  const sep = Math.max(...[...'01234567890. '].map((c) => text.lastIndexOf(c)));
  if (sep === -1) throw new Error(`invalid size: '${text}'`);
  const num = text[sep] === ' ' ? text.slice(0, sep) : text.slice(0, sep + 1);
  let suffix = text.slice(sep + 1);
  // strconv.ParseFloat's grammar for what this can hold: digits and at most one point.
  if (!/^[+-]?(\d+\.?\d*|\.\d+)$/.test(num)) throw new Error(`strconv.ParseFloat: parsing "${num}": invalid syntax`);
  let size = Number.parseFloat(num);
  if (size < 0) throw new Error(`invalid size: '${text}'`);
  if (suffix === '') return Math.trunc(size);
  const badSuffix = new Error(`invalid suffix: '${suffix.toLowerCase()}'`);
  if (suffix.length > 3) throw new Error(`invalid suffix: '${suffix}'`);
  suffix = suffix.toLowerCase();
  if (suffix[0] === 'b') {
    if (suffix.length > 1) throw badSuffix;
    return Math.trunc(size);
  }
  const mult = DECIMAL_MULT[suffix[0] ?? ''];
  if (mult === undefined) throw badSuffix;
  size *= mult;
  if ((suffix.length === 2 && suffix[1] !== 'b') || (suffix.length === 3 && suffix.slice(1) !== 'ib')) throw badSuffix;
  return Math.trunc(size);
}

const DURATION_UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3,
  'μs': 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** time.ParseDuration ("1h30m", "1.5s", "300ms"); returns milliseconds, or undefined if invalid. */
export function parseGoDuration(value: string): number | undefined {
  if (value === '0' || value === '+0' || value === '-0') return 0;
  const m = /^([-+]?)((?:\d*\.?\d*[a-zµμ]+)+)$/.exec(value);
  if (!m) return undefined;
  let total = 0;
  const re = /(\d*\.?\d*)([a-zµμ]+)/g;
  let part: RegExpExecArray | null;
  let consumed = 0;
  while ((part = re.exec(m[2] ?? '')) !== null) {
    const num = part[1] ?? '';
    const unit = DURATION_UNITS[part[2] ?? ''];
    if (num === '' || num === '.' || unit === undefined) return undefined;
    total += Number.parseFloat(num) * unit;
    consumed += part[0].length;
  }
  if (consumed !== (m[2] ?? '').length) return undefined;
  return m[1] === '-' ? -total : total;
}

/** time.Duration.String() for a whole number of seconds ("1h2m3s", "2m0s", "5s", "0s"). */
export function goDurationSeconds(totalSeconds: number): string {
  let s = Math.round(totalSeconds);
  if (s === 0) return '0s';
  const neg = s < 0;
  s = Math.abs(s);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  let out = '';
  if (h > 0) out = `${h}h${m}m${sec}s`;
  else if (m > 0) out = `${m}m${sec}s`;
  else out = `${sec}s`;
  return neg ? `-${out}` : out;
}
